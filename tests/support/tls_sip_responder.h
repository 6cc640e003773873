#pragma once
// A SIP-over-TLS responder for tests: tests/support/tls_sip_responder.py (Python's ssl module,
// i.e. OpenSSL on the server side too) on a free loopback port, answering OPTIONS with 200;
// certificates from tests/support/tls_pki.h. Stopped by PID when destroyed.

#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/tls_pki.h"

namespace mediapath::testing {

/// The responder process on a free loopback port, stopped by PID.
class TlsSipResponder {
 public:
  TlsSipResponder(const TempDir& dir, const TlsPki::Files& files,
                  const std::string& max_version = "1.3") {
    std::string port_file = dir.file("responder-" + std::to_string(++count_) + ".port");
    process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{
            "python3", MEDIAPATH_SOURCE_DIR "/tests/support/tls_sip_responder.py", "--cert",
            files.cert, "--key", files.key, "--port-file", port_file, "--max-version", max_version},
        port_file + ".log");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline && process_->running()) {
      std::string text = readAll(port_file);
      if (!text.empty() && text.back() == '\n') {
        port_ = static_cast<std::uint16_t>(std::stoi(text));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("TLS SIP responder did not start: " + process_->log());
  }
  std::uint16_t port() const { return port_; }
  std::string log() const { return process_->log(); }

 private:
  static std::string readAll(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) return {};
    char buf[32] = {};
    std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    return std::string(buf, n);
  }
  static inline int count_ = 0;
  std::unique_ptr<Subprocess> process_;
  std::uint16_t port_ = 0;
};

}  // namespace mediapath::testing
