// impairment-relay: a UDP relay adding seeded per-direction delay, jitter and loss. See README.md.
#include <uv.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "net/atomic_file.h"
#include "net/event_loop.h"
#include "net/uv_handle.h"
#include "tools/impairment_relay/relay.h"

namespace relay = mediapath::tools::relay;
namespace net = mediapath::net;

namespace {

struct DirectionFlags {
  std::string delay = "0ms";
  std::string jitter = "0ms";
  std::string loss = "0";

  relay::DirectionSpec spec() const {
    relay::DirectionSpec s;
    s.delay = relay::parseDuration(delay);
    s.jitter = relay::parseDuration(jitter);
    s.loss = relay::parseLoss(loss);
    return s;
  }
};

}  // namespace

// NOLINTNEXTLINE(bugprone-exception-escape): a test tool; a bad flag may end it with terminate
int main(int argc, char** argv) {
  CLI::App app{"UDP relay adding seeded delay, jitter and loss per direction (test tool)"};
  std::string listen = "127.0.0.1:0";
  std::string upstream;
  std::string port_file;
  std::string log_path;
  std::uint64_t seed = 1;
  unsigned idle_timeout_s = 60;
  bool no_reorder = false;
  DirectionFlags up;
  DirectionFlags down;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--upstream", upstream, "HOST:PORT to forward to")->required();
  app.add_option("--port-file", port_file, "write the bound listening port to this file");
  app.add_option("--seed", seed, "PRNG seed: the same seed gives the same per-packet decisions")
      ->capture_default_str();
  app.add_option("--up-delay", up.delay, "client->upstream delay (e.g. 20ms)")
      ->capture_default_str();
  app.add_option("--up-jitter", up.jitter, "client->upstream jitter, uniform +-")
      ->capture_default_str();
  app.add_option("--up-loss", up.loss, "client->upstream loss ratio (0.1 or 10%)")
      ->capture_default_str();
  app.add_option("--down-delay", down.delay, "upstream->client delay")->capture_default_str();
  app.add_option("--down-jitter", down.jitter, "upstream->client jitter, uniform +-")
      ->capture_default_str();
  app.add_option("--down-loss", down.loss, "upstream->client loss ratio")->capture_default_str();
  app.add_flag("--no-reorder", no_reorder,
               "hold a packet at least until the previous one of its client and direction left");
  app.add_option("--idle-timeout", idle_timeout_s, "seconds before an idle client is forgotten")
      ->capture_default_str();
  app.add_option("--log", log_path, "JSON Lines file: one line per packet");
  CLI11_PARSE(app, argc, argv);

  relay::RelayOptions options;
  try {
    options.listen = relay::parseHostPort(listen);
    options.upstream = relay::parseHostPort(upstream);
    options.up = up.spec();
    options.down = down.spec();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "impairment-relay: %s\n", e.what());
    return 2;
  }
  options.seed = seed;
  options.reorder = !no_reorder;
  options.idle_timeout = std::chrono::seconds(idle_timeout_s);
  options.log_path = log_path;

  try {
    net::EventLoop loop;
    relay::Relay relay(loop, options);
    if (!port_file.empty()) {
      net::writeFileAtomically(port_file, std::to_string(relay.port()) + "\n");
    }
    std::printf("impairment-relay listening on %s:%u -> %s\n", options.listen.host.c_str(),
                relay.port(), upstream.c_str());
    std::fflush(stdout);

    // SIGTERM/SIGINT: close everything so the loop runs dry and the log is complete.
    struct Stopper {
      relay::Relay* relay;
      net::UvHandle<uv_signal_t>* signals[2];
    };
    net::UvHandle<uv_signal_t> sigterm;
    net::UvHandle<uv_signal_t> sigint;
    Stopper stopper{&relay, {&sigterm, &sigint}};
    for (auto [handle, signum] : {std::pair{&sigterm, SIGTERM}, std::pair{&sigint, SIGINT}}) {
      uv_signal_init(loop.get(), handle->get());
      handle->markInitialized();
      handle->get()->data = &stopper;
      uv_signal_start(
          handle->get(),
          [](uv_signal_t* h, int) {
            auto* s = static_cast<Stopper*>(h->data);
            s->relay->stop();
            for (auto* sig : s->signals) sig->close();
          },
          signum);
    }
    loop.run();

    const auto& st = relay.stats();
    std::fprintf(stderr,
                 "impairment-relay: stopped; up received=%llu dropped=%llu forwarded=%llu, "
                 "down received=%llu dropped=%llu forwarded=%llu, send errors=%llu, clients=%llu\n",
                 static_cast<unsigned long long>(st.received[0]),
                 static_cast<unsigned long long>(st.dropped[0]),
                 static_cast<unsigned long long>(st.forwarded[0]),
                 static_cast<unsigned long long>(st.received[1]),
                 static_cast<unsigned long long>(st.dropped[1]),
                 static_cast<unsigned long long>(st.forwarded[1]),
                 static_cast<unsigned long long>(st.send_errors),
                 static_cast<unsigned long long>(st.sessions));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "impairment-relay: %s\n", e.what());
    return 1;
  }
  return 0;
}
