#include "probes/tcp_probe.h"

#include <utility>

#include "net/event_loop.h"
#include "net/tcp_connection.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/probe_support.h"

namespace mediapath::probes {
namespace {

class TcpProbe final : public Probe {
 public:
  explicit TcpProbe(const ProbeContext& context)
      : context_(context), lookup_(context), deadline_(context.loop->get()) {}

  void start(const ProbeTarget& target, ProbeCallback callback) override {
    cancel();
    target_ = target;
    callback_ = std::move(callback);
    result_ = newResult(target);
    lookup_.start(target.host, target.port,
                  [this](AddressLookup::Outcome outcome) { onResolved(outcome); });
  }

  void cancel() override {
    lookup_.cancel();
    deadline_.stop();
    connection_.reset();
    callback_ = nullptr;
  }

 private:
  void onResolved(const AddressLookup::Outcome& outcome) {
    result_.dns_ms = outcome.dns_ms;
    if (!outcome.ok) {
      finish(outcome.error);
      return;
    }
    result_.address = outcome.address.toString();
    result_.sent = 1;
    connection_ = std::make_unique<net::TcpConnection>(context_.loop->get());
    started_ = nowFrom(context_.clock);
    int rc = connection_->connect(outcome.address, [this](int status) { onConnected(status); });
    if (rc != 0) {
      std::string error = net::uvErrorText(rc);
      deadline_.start(std::chrono::milliseconds(0), [this, error] { finish(error); });
      return;
    }
    deadline_.start(target_.timeout,
                    [this] { finish("timeout after " + formatDuration(target_.timeout)); });
  }

  void onConnected(int status) {
    if (status != 0) {
      finish(net::uvErrorText(status));
      return;
    }
    double ms = millisecondsBetween(started_, nowFrom(context_.clock));
    result_.connect_ms = ms;
    result_.received = 1;
    result_.rtt = RttStats{ms, ms, ms};
    result_.rtt_samples_ms = {ms};
    result_.ok = true;
    finish({});
  }

  void finish(std::string error) {
    deadline_.stop();
    connection_.reset();
    result_.error = std::move(error);
    result_.loss = result_.sent > 0 && result_.received == 0 ? 1.0 : 0.0;
    auto cb = std::move(callback_);
    callback_ = nullptr;
    if (cb) cb(std::move(result_));
  }

  ProbeContext context_;
  AddressLookup lookup_;
  net::UvTimer deadline_;
  std::unique_ptr<net::TcpConnection> connection_;
  ProbeTarget target_;
  ProbeCallback callback_;
  ProbeResult result_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

std::unique_ptr<Probe> makeTcpProbe(const ProbeContext& context) {
  return std::make_unique<TcpProbe>(context);
}

}  // namespace mediapath::probes
