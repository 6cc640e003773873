#include "probes/turn_probe.h"

#include <utility>

#include "net/event_loop.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"
#include "probes/quality.h"
#include "probes/stun_answer.h"
#include "probes/turn_client.h"

namespace mediapath::probes {
namespace {

enum class Phase { kIdle, kChallenge, kAllocate, kRelease };

class TurnProbe final : public AddressProbe {
 public:
  explicit TurnProbe(const ProbeContext& context)
      : AddressProbe(context), deadline_(context.loop->get()) {}

 private:
  void exchange(const net::SocketAddress& address) override {
    remote_ = address;
    // A fresh agent and socket (a new 5-tuple) per round: no stale transaction or allocation of
    // an earlier round can interfere.
    client_.reset(target().username, target().password);
    socket_ = std::make_unique<net::UdpSocket>(context().loop->get(),
                                               context().resources->socketBudget());
    int rc = socket_->bind(net::anyAddressLike(remote_));
    if (rc == 0) {
      rc = socket_->startReceive(
          [this](std::span<const std::uint8_t> data, const net::SocketAddress& from) {
            if (from == remote_) onDatagram(data);
          });
    }
    armDeadline(deadline_, target().timeout,
                rc == 0 ? std::string() : "UDP socket: " + net::uvErrorText(rc),
                [this](std::string error) { finish(std::move(error)); });
    if (rc == 0) sendAllocate();
  }

  void stopExchange() override {
    deadline_.stop();
    socket_.reset();
    phase_ = Phase::kIdle;
  }

  void sendAllocate() {
    phase_ = client_.authenticated() ? Phase::kAllocate : Phase::kChallenge;
    send(client_.allocate(remote_.isIPv6()));
  }

  void sendRelease() {
    phase_ = Phase::kRelease;
    // The release is best effort: the allocation result is already known, and an unreleased
    // allocation expires on the server by itself.
    deadline_.start(target().timeout, [this] { finish({}); });
    send(client_.refresh(0));
  }

  void send(std::span<const std::uint8_t> request) {
    if (request.empty()) {
      // libnice returns 0 when the message does not fit its buffer: never send an empty datagram
      // (the round would end as a misleading timeout).
      deadline_.start(std::chrono::milliseconds(0), [this] {
        finish(phase_ == Phase::kRelease ? std::string()
                                         : "cannot build the TURN request (too large)");
      });
      return;
    }
    sent_at_ = nowFrom(context().clock);
    if (phase_ != Phase::kRelease) ++result().sent;
    int rc = socket_->send(remote_, request);
    if (rc != 0) {
      std::string error = "send to " + remote_.toString() + ": " + net::uvErrorText(rc);
      deadline_.start(std::chrono::milliseconds(0), [this, error] { finish(error); });
    }
  }

  void onDatagram(std::span<const std::uint8_t> data) {
    if (phase_ == Phase::kIdle) return;
    if (data.size() > TurnClient::kMaxAnswerBytes && phase_ != Phase::kRelease) {
      // Only the server's address reaches here (on a fresh port): it sent more than any TURN
      // answer needs. Say so rather than drop it and report a timeout.
      finish("TURN answer of " + std::to_string(data.size()) + " bytes (limit " +
             std::to_string(TurnClient::kMaxAnswerBytes) + ")");
      return;
    }
    if (!client_.accept(data)) return;
    auto now = nowFrom(context().clock);
    ProbeResult& r = result();
    if (phase_ == Phase::kRelease) {
      finish({});
      return;
    }
    ++r.received;
    TurnAnswer answer = readTurnAnswer(client_.answer());
    if (answer.kind == TurnAnswer::Kind::kSuccess) {
      double rtt = millisecondsBetween(sent_at_, now);
      r.rtt = RttStats{rtt, rtt, rtt};
      r.rtt_samples_ms = {rtt};
      jitter_.add(rtt);
      r.jitter_ms = jitter_.jitterMs();
      r.loss = 0;
      r.mos = estimateMos(rtt, r.jitter_ms.value_or(0.0), 0.0);
      if (answer.relayed) r.relayed_address = answer.relayed->toString();
      if (answer.mapped) r.mapped_address = answer.mapped->toString();
      r.ok = true;
      sendRelease();
      return;
    }
    std::string error = client_.takeChallenge(answer, phase_ == Phase::kChallenge);
    if (!error.empty()) {
      finish(std::move(error));
      return;
    }
    sendAllocate();
  }

  void finish(std::string error) {
    stopExchange();
    ProbeResult& r = result();
    if (!r.ok) r.loss = r.sent > 0 ? 1.0 - static_cast<double>(r.received) / r.sent : 1.0;
    report(std::move(error));
  }

  net::UvTimer deadline_;
  std::unique_ptr<net::UdpSocket> socket_;
  net::SocketAddress remote_;
  Phase phase_ = Phase::kIdle;
  TurnClient client_;
  std::chrono::steady_clock::time_point sent_at_;
  JitterEstimator jitter_;
};

}  // namespace

std::unique_ptr<Probe> makeTurnProbe(const ProbeContext& context) {
  return std::make_unique<TurnProbe>(context);
}

}  // namespace mediapath::probes
