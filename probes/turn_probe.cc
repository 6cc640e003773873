#include "probes/turn_probe.h"

#include <utility>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"
#include "probes/quality.h"
#include "probes/stun_answer.h"
#include "probes/turn_client.h"
#include "probes/turn_connection.h"

namespace mediapath::probes {
namespace {

enum class Phase { kIdle, kChallenge, kAllocate, kRelease };

class TurnProbe final : public AddressProbe {
 public:
  explicit TurnProbe(const ProbeContext& context)
      : AddressProbe(context),
        deadline_(context.loop->get()),
        kernel_time_(net::kernelTimeComparable(context.clock)) {}

 private:
  void exchange(const net::SocketAddress& address) override {
    remote_ = address;
    // A fresh agent and connection (a new 5-tuple) per round: no stale transaction or allocation
    // of an earlier round can interfere.
    client_.reset(target().username, target().password);
    connect_started_ = nowFrom(context().clock);
    std::string error = connection_.open(
        context(), target(), remote_,
        {.message = [this](std::span<const std::uint8_t> data) { onMessage(data); },
         .failed = [this](std::string why) { onConnectionFailed(std::move(why)); },
         .connected =
             [this] {
               // The queued Allocate leaves now: its RTT must not include the handshake.
               sent_at_ = nowFrom(context().clock);
               result().connect_ms = millisecondsBetween(connect_started_, sent_at_);
               connection_.noteTlsDetails(result());
             }});
    bool started = error.empty();
    // Over UDP the Allocate's answer is timed by its kernel receive stamp where the context's
    // clock can be compared with it (net/kernel_timestamp.h); over a stream by the loop.
    if (started && kernel_time_) connection_.enableReceiveTimestamps();
    armDeadline(deadline_, target().timeout, std::move(error),
                [this](std::string why) { finish(std::move(why)); });
    if (started) sendAllocate();
  }

  void stopExchange() override {
    deadline_.stop();
    connection_.close();
    phase_ = Phase::kIdle;
  }

  // Stream only: the server closed the connection, or sent what cannot be framed.
  void onConnectionFailed(std::string error) {
    // During the release the allocation's result is known; a server that closes the connection
    // then has released the allocation with it (RFC 8656 §2.1 ties the allocation to it).
    finish(phase_ == Phase::kRelease ? std::string() : std::move(error));
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
    int rc = connection_.send(request);
    if (rc != 0) {
      std::string error = "send to " + remote_.toString() + ": " + net::uvErrorText(rc);
      deadline_.start(std::chrono::milliseconds(0), [this, error] { finish(error); });
    }
  }

  void onMessage(std::span<const std::uint8_t> data) {
    if (phase_ == Phase::kIdle) return;
    if (data.size() > TurnClient::kMaxAnswerBytes && phase_ != Phase::kRelease) {
      // Only the server's address reaches here (on a fresh port): it sent more than any TURN
      // answer needs. Say so rather than drop it and report a timeout.
      finish("TURN answer of " + std::to_string(data.size()) + " bytes (limit " +
             std::to_string(TurnClient::kMaxAnswerBytes) + ")");
      return;
    }
    // Read before anything else: valid only during this callback.
    auto stamp = kernel_time_ ? connection_.receivedAt() : std::nullopt;
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
      // As stun's bursts (udp_burst.cc): a stamp before the request left or after the loop's
      // time can only come from a wall clock step, and the loop's time stands instead.
      if (stamp && *stamp >= sent_at_ && *stamp <= now) {
        now = *stamp;
        r.timestamps = Timestamps::kKernel;
      }
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
  TurnConnection connection_;
  std::chrono::steady_clock::time_point connect_started_;
  net::SocketAddress remote_;
  Phase phase_ = Phase::kIdle;
  TurnClient client_;
  std::chrono::steady_clock::time_point sent_at_;
  JitterEstimator jitter_;
  bool kernel_time_;  ///< the context's clock can be compared with kernel stamps
};

}  // namespace

std::unique_ptr<Probe> makeTurnProbe(const ProbeContext& context) {
  return std::make_unique<TurnProbe>(context);
}

}  // namespace mediapath::probes
