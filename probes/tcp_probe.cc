#include "probes/tcp_probe.h"

#include <utility>

#include "net/event_loop.h"
#include "net/tcp_connection.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"

namespace mediapath::probes {
namespace {

class TcpProbe final : public AddressProbe {
 public:
  explicit TcpProbe(const ProbeContext& context)
      : AddressProbe(context), deadline_(context.loop->get()) {}

 private:
  void exchange(const net::SocketAddress& address) override {
    result().sent = 1;
    connection_ = connectTcp(
        address, deadline_, started_, [this](int status) { onConnected(status); },
        [this](std::string error) { finish(std::move(error)); });
  }

  void stopExchange() override {
    deadline_.stop();
    connection_.reset();
  }

  void onConnected(int status) {
    if (status != 0) {
      finish(net::uvErrorText(status));
      return;
    }
    double ms = millisecondsBetween(started_, nowFrom(context().clock));
    ProbeResult& r = result();
    // The kernel's handshake RTT where it has one (a fake clock's tests time by the clock alone).
    auto kernel =
        net::kernelTimeComparable(context().clock) ? connection_->handshakeRtt() : std::nullopt;
    if (kernel) {
      ms = std::chrono::duration<double, std::milli>(*kernel).count();
      r.timestamps = Timestamps::kKernel;
    }
    r.connect_ms = ms;
    r.received = 1;
    r.rtt = RttStats{ms, ms, ms};
    r.rtt_samples_ms = {ms};
    r.ok = true;
    finish({});
  }

  void finish(std::string error) {
    stopExchange();
    result().loss = result().sent > 0 && result().received == 0 ? 1.0 : 0.0;
    report(std::move(error));
  }

  net::UvTimer deadline_;
  std::unique_ptr<net::TcpConnection> connection_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

std::unique_ptr<Probe> makeTcpProbe(const ProbeContext& context) {
  return std::make_unique<TcpProbe>(context);
}

}  // namespace mediapath::probes
