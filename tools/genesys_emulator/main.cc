// genesys-emulator: the Genesys Cloud API emulator for tests and the demo (see README.md).
// Thin main: parse options, build the Emulator, serve it over cpp-httplib until SIGTERM/SIGINT.
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigwait, not <csignal>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "net/clock.h"
#include "tools/genesys_emulator/emulator.h"
#include "tools/genesys_emulator/util.h"

namespace mediapath::tools::emulator {
namespace {

// Stalls wait on this so SIGTERM does not have to wait out a 30 s stall fault.
// NOLINTBEGIN(cppcoreguidelines-avoid-non-const-global-variables): shared with the signal thread.
std::mutex g_stop_mutex;
std::condition_variable g_stop_cv;
bool g_stopping = false;
// NOLINTEND(cppcoreguidelines-avoid-non-const-global-variables)

void stallFor(std::chrono::milliseconds duration) {
  std::unique_lock lock(g_stop_mutex);
  g_stop_cv.wait_for(lock, duration, [] { return g_stopping; });
}

// The "reset" fault: httplib does not expose the connection's socket, so it is found by its
// address pair. SO_LINGER 0 makes the later close() send a RST; shutdown() makes httplib's write
// of the response fail, so the client gets no HTTP answer at all.
void resetConnection(const httplib::Request& req) {
  for (int fd = 3; fd < 4096; ++fd) {
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof(peer), local_len = sizeof(local);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    auto port = [](const sockaddr_storage& ss) -> int {
      if (ss.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
      if (ss.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
      }
      return -1;
    };
    if (port(peer) != req.remote_port || port(local) != req.local_port) continue;
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ::shutdown(fd, SHUT_RDWR);
    return;
  }
}

HttpRequest toRequest(const httplib::Request& req) {
  HttpRequest out;
  out.method = req.method;
  out.path = req.path;
  // From the target, not req.params: httplib merges form-body fields into params, and a form
  // field (a client_secret) must not pass for a query parameter.
  auto question = req.target.find('?');
  if (question != std::string::npos) {
    nlohmann::json params = parseForm(req.target.substr(question + 1));
    for (const auto& [k, v] : params.items()) {
      out.query[k] = v.get<std::string>();
    }
  }
  for (const auto& [k, v] : req.headers) out.headers[toLower(k)] = v;
  out.body = req.body;
  out.remote_addr = req.remote_addr;
  return out;
}

bool isLoopbackHost(const std::string& host) { return host == "::1" || host.rfind("127.", 0) == 0; }

int run(int argc, char** argv) {
  CLI::App app{"genesys-emulator: an emulator of the Genesys Cloud Platform API"};
  std::string listen = "127.0.0.1:0", port_file, tls_cert, tls_key, client_id, client_secret,
              client_secret_env, activation_delay = "500ms", request_log, rate_limit, state_file,
              schema = "platform", home_region = "eu-central-1", permissions;
  bool permissions_given = false;
  long long expires_in = 86400;
  int burst = 0, conversations = 40;
  std::uint64_t seed = 1;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: pick a free port)");
  app.add_option("--port-file", port_file, "write the chosen port here once accepting");
  app.add_option("--tls-cert", tls_cert, "PEM certificate (chain): serve HTTPS");
  app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert");
  app.add_option("--client-id", client_id, "OAuth client id")->required();
  app.add_option("--client-secret", client_secret, "OAuth client secret");
  app.add_option("--client-secret-env", client_secret_env,
                 "environment variable holding the client secret");
  app.add_option("--expires-in", expires_in, "token lifetime in seconds")
      ->check(CLI::Range(1LL, 172800LL));
  app.add_option("--activation-delay", activation_delay, "Location pending → active delay (500ms)");
  app.add_option("--request-log", request_log, "append the request log here as JSON Lines");
  app.add_option("--rate-limit", rate_limit, "token bucket rate, N/s or N/m (off when absent)");
  app.add_option("--burst", burst, "token bucket size")->check(CLI::Range(1, 1000000));
  app.add_option("--seed", seed, "analytics data seed");
  app.add_option("--conversations", conversations, "conversations per analytics interval")
      ->check(CLI::Range(0, 100000));
  app.add_option("--state-file", state_file,
                 "load locations/trunks/sites from here, save on change");
  app.add_option("--schema", schema,
                 "Location shapes: platform (the real API, default) or seed (the tutorial's)");
  app.add_option("--home-region", home_region, "the org's home media region (eu-central-1)");
  app.add_option_function<std::string>(
      "--permissions",
      [&](const std::string& value) {
        permissions = value;
        permissions_given = true;
      },
      "comma-separated permissions of the OAuth client (default: all)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fail = [](const std::string& message) {
    std::cerr << "genesys-emulator: " << message << "\n";
    return 2;
  };
  if (!client_secret_env.empty()) {
    const char* value = std::getenv(client_secret_env.c_str());
    if (value == nullptr || *value == '\0') {
      return fail("environment variable " + client_secret_env + " is unset or empty");
    }
    client_secret = value;
  }
  if (client_secret.empty()) return fail("--client-secret or --client-secret-env is required");
  if (tls_cert.empty() != tls_key.empty()) return fail("--tls-cert and --tls-key go together");
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return fail("--listen must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";  // getaddrinfo might pick ::1 or a LAN name
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    return fail("--listen port is not a number");
  }
  if (port < 0 || port > 65535) return fail("--listen port out of range");
  bool tls = !tls_cert.empty();
  if (!tls && !isLoopbackHost(host)) {
    return fail("plain HTTP is served on loopback only; give --tls-cert/--tls-key for " + host);
  }

  EmulatorOptions options;
  options.client_id = client_id;
  options.client_secret = client_secret;
  options.expires_in = std::chrono::seconds(expires_in);
  auto delay = parseDuration(activation_delay);
  if (!delay) return fail("--activation-delay needs a unit: 500ms, 2s");
  options.activation_delay = *delay;
  if (!rate_limit.empty()) {
    auto rate = parseRate(rate_limit);
    if (!rate) return fail("--rate-limit must be N/s or N/m");
    options.rate_per_second = *rate;
  }
  options.burst = burst;
  options.seed = seed;
  options.conversations = conversations;
  options.request_log_path = request_log;
  options.state_file = state_file;
  auto parsed_schema = parseSchema(schema);
  if (!parsed_schema) return fail("--schema must be platform or seed");
  options.schema = *parsed_schema;
  if (!isKnownMediaRegion(home_region)) {
    return fail("--home-region " + home_region + " is not one of the emulated media regions");
  }
  options.home_region = home_region;
  if (permissions_given) {
    std::set<std::string> granted;
    std::size_t pos = 0;
    while (pos <= permissions.size()) {
      auto comma = permissions.find(',', pos);
      if (comma == std::string::npos) comma = permissions.size();
      std::string one = permissions.substr(pos, comma - pos);
      while (!one.empty() && one.front() == ' ') one.erase(0, 1);
      while (!one.empty() && one.back() == ' ') one.pop_back();
      if (!one.empty()) granted.insert(one);
      pos = comma + 1;
    }
    options.permissions = granted;
  }

  // Signals are taken by a sigwait in this thread; block them before httplib starts its workers
  // so they inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  net::SystemClock clock;
  net::SystemRandom random;
  std::unique_ptr<Emulator> emulator;
  try {
    emulator = std::make_unique<Emulator>(options, clock, random);
  } catch (const std::exception& e) {
    return fail(e.what());
  }

  std::unique_ptr<httplib::Server> server;
  if (tls) {
    auto ssl = std::make_unique<httplib::SSLServer>(tls_cert.c_str(), tls_key.c_str());
    if (!ssl->is_valid()) return fail("cannot load --tls-cert/--tls-key");
    server = std::move(ssl);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  // Bodies up to 8 MB reach the Emulator so it answers 413 with the platform's body above 512000.
  server->set_payload_max_length(std::size_t{8} * 1024 * 1024);
  server->set_keep_alive_timeout(2);
  auto handler = [&emulator](const httplib::Request& req, httplib::Response& res) {
    HttpResponse out = emulator->handle(toRequest(req));
    if (out.stall.count() > 0) stallFor(out.stall);
    if (out.reset) {
      resetConnection(req);
      res.set_header("Connection", "close");
      return;
    }
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    if (!out.body.empty()) res.set_content(out.body, out.content_type);
  };
  const char* kAny = R"(/.*)";
  server->Get(kAny, handler);
  server->Post(kAny, handler);
  server->Put(kAny, handler);
  server->Patch(kAny, handler);
  server->Delete(kAny, handler);
  server->Options(kAny, handler);

  int bound =
      port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return fail("cannot listen on " + listen);
  std::thread serving([&server] { server->listen_after_bind(); });
  while (!server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!port_file.empty()) {
    try {
      writeFileAtomically(port_file, std::to_string(bound) + "\n");
    } catch (const std::exception& e) {
      server->stop();
      serving.join();
      return fail(e.what());
    }
  }
  std::cout << "listening on " << (tls ? "https" : "http") << "://" << shown_host << ":" << bound
            << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  {
    std::lock_guard lock(g_stop_mutex);
    g_stopping = true;
  }
  g_stop_cv.notify_all();
  server->stop();
  serving.join();
  return 0;
}

}  // namespace
}  // namespace mediapath::tools::emulator

int main(int argc, char** argv) {
  try {
    return mediapath::tools::emulator::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "genesys-emulator: " << e.what() << "\n";
    return 1;
  }
}
