#pragma once

// The real genesys-emulator binary over HTTPS, with a CA and server certificate made by the
// openssl CLI for each test, plus small helpers to drive a GenesysClient on a loop.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/http_client.h"
#include "reporter/genesys/genesys_client.h"
#include "tests/support/process.h"

namespace mediapath::testing {

inline constexpr const char* kGenesysClientId = "it-client-7f3a";
inline constexpr const char* kGenesysSecret = "it-secret-Zq81-never-print-me";

/// Runs an openssl command; fails the test (and throws) when it does not exit 0.
inline void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = runCommand(argv);
  if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.output);
}

/// A CA, a server certificate for 127.0.0.1/localhost signed by it, and an unrelated CA.
struct TestPki {
  std::string ca;
  std::string wrong_ca;
  std::string cert;
  std::string key;

  explicit TestPki(const TempDir& dir) {
    ca = dir.file("ca.pem");
    wrong_ca = dir.file("wrong-ca.pem");
    cert = dir.file("server.pem");
    key = dir.file("server.key");
    const std::vector<std::string> ec{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                      "-nodes"};
    auto req = [&](std::vector<std::string> extra) {
      std::vector<std::string> a{"req"};
      a.insert(a.end(), ec.begin(), ec.end());
      a.insert(a.end(), extra.begin(), extra.end());
      openssl(a);
    };
    req({"-x509", "-days", "2", "-subj", "/CN=mediapath test CA", "-keyout", dir.file("ca.key"),
         "-out", ca});
    req({"-x509", "-days", "2", "-subj", "/CN=someone else", "-keyout", dir.file("wrong.key"),
         "-out", wrong_ca});
    req({"-subj", "/CN=127.0.0.1", "-keyout", key, "-out", dir.file("server.csr")});
    std::string ext = dir.write("server.ext",
                                "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                "basicConstraints=CA:FALSE\n"
                                "extendedKeyUsage=serverAuth\n");
    openssl({"x509", "-req", "-in", dir.file("server.csr"), "-CA", ca, "-CAkey", dir.file("ca.key"),
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert});
  }
};

/// Reads a whole file ("" when missing).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Which shapes the emulator speaks (`--schema`): the real platform's (its default) or the seed
/// tutorial's (Location media fields, `status`, JSON Patch). Every test says which it relies on.
enum class EmulatorSchema { kPlatform, kSeed };

/// One emulator process on a free loopback port, stopped by PID when the object goes away.
class EmulatorProcess {
 public:
  EmulatorProcess(const TempDir& dir, const TestPki& pki, EmulatorSchema schema,
                  std::vector<std::string> extra = {}) {
    port_file_ = dir.file("emulator.port");
    request_log_ = dir.file("emulator-requests.jsonl");
    std::vector<std::string> argv{MEDIAPATH_EMULATOR_BINARY,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--port-file",
                                  port_file_,
                                  "--tls-cert",
                                  pki.cert,
                                  "--tls-key",
                                  pki.key,
                                  "--client-id",
                                  kGenesysClientId,
                                  "--client-secret-env",
                                  "EMULATOR_CLIENT_SECRET",
                                  "--request-log",
                                  request_log_,
                                  "--activation-delay",
                                  "300ms",
                                  "--schema",
                                  schema == EmulatorSchema::kSeed ? "seed" : "platform"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Subprocess>(
        argv, dir.file("emulator.log"),
        std::map<std::string, std::string>{{"EMULATOR_CLIENT_SECRET", kGenesysSecret}});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string text = slurp(port_file_);
      if (!text.empty() && text.back() == '\n') {
        port_ = std::stoi(text);
        break;
      }
      if (!process_->running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (port_ == 0) throw std::runtime_error("emulator did not start: " + process_->log());
    ca_ = pki.ca;
  }

  std::string baseUrl() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& requestLogPath() const { return request_log_; }
  std::string log() const { return process_->log(); }

  /// A call to the admin API (or any path) without auth; returns {status, parsed body}.
  std::pair<int, nlohmann::json> admin(const std::string& method, const std::string& path,
                                       const nlohmann::json& body = nullptr) const {
    net::EventLoop loop;
    std::pair<int, nlohmann::json> out{0, nullptr};
    {
      net::HttpClient http(loop, net::HttpClientOptions{ca_, 16 << 20, "test"});
      net::HttpRequest req;
      req.method = method;
      req.url = baseUrl() + path;
      if (!body.is_null()) {
        req.body = body.dump();
        req.headers = {{"Content-Type", "application/json"}};
      }
      http.send(req, [&](net::HttpResponse r) {
        out.first = r.status;
        if (!r.body.empty()) out.second = nlohmann::json::parse(r.body, nullptr, false);
        loop.stop();
      });
      loop.run();
    }
    loop.close();
    return out;
  }

  /// Arms a fault (README: POST /_emulator/faults).
  void fault(nlohmann::json spec) const {
    auto [status, body] = admin("POST", "/_emulator/faults", spec);
    ASSERT_EQ(status, 201) << body.dump();
  }

  /// The request log as parsed JSON.
  nlohmann::json requests() const { return admin("GET", "/_emulator/requests").second; }

  /// Logged requests whose path starts with `prefix` (and method, when given).
  std::vector<nlohmann::json> requestsTo(const std::string& prefix,
                                         const std::string& method = {}) const {
    std::vector<nlohmann::json> out;
    for (const auto& r : requests()) {
      if (r.value("path", "").rfind(prefix, 0) != 0) continue;
      if (!method.empty() && r.value("method", "") != method) continue;
      out.push_back(r);
    }
    return out;
  }

 private:
  std::unique_ptr<Subprocess> process_;
  std::string port_file_;
  std::string request_log_;
  std::string ca_;
  int port_ = 0;
};

/// A GenesysClient on its own loop, pointed at the emulator.
class ClientHarness {
 public:
  ClientHarness(const EmulatorProcess& emu, const std::string& ca_file,
                reporter::RetryOptions retry = fastRetry(), std::string secret = kGenesysSecret) {
    reporter::GenesysClientOptions o;
    o.endpoints = {emu.baseUrl(), emu.baseUrl()};
    o.client_id = kGenesysClientId;
    o.client_secret = std::move(secret);
    o.ca_file = ca_file;
    o.request_timeout = std::chrono::seconds(5);
    o.retry = retry;
    client_ = std::make_unique<reporter::GenesysClient>(loop_, o, clock_, random_);
    client_->setObserver(
        [this](const std::string& op, int status) { observed_.emplace_back(op, status); });
  }
  ~ClientHarness() {
    client_.reset();
    EXPECT_EQ(loop_.close(), 0);
  }

  static reporter::RetryOptions fastRetry() {
    reporter::RetryOptions r;
    r.initial_backoff = std::chrono::milliseconds(50);
    r.max_backoff = std::chrono::milliseconds(400);
    r.budget = std::chrono::seconds(10);
    return r;
  }

  /// Runs one call to completion on the loop.
  reporter::ApiResponse call(reporter::ApiCall c) {
    reporter::ApiResponse out;
    client_->call(std::move(c), [&](reporter::ApiResponse r) {
      out = std::move(r);
      loop_.stop();
    });
    loop_.run();
    return out;
  }

  reporter::GenesysClient& client() { return *client_; }
  net::EventLoop& loop() { return loop_; }
  const std::vector<std::pair<std::string, int>>& observed() const { return observed_; }

 private:
  net::EventLoop loop_;
  net::SystemClock clock_;
  net::SeededRandom random_{7};
  std::unique_ptr<reporter::GenesysClient> client_;
  std::vector<std::pair<std::string, int>> observed_;
};

}  // namespace mediapath::testing
