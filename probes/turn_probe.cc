#include "probes/turn_probe.h"

extern "C" {
#include <stun/stunagent.h>
#include <stun/usages/turn.h>
}

#include <array>
#include <cstring>
#include <utility>

#include "net/event_loop.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"
#include "probes/quality.h"
#include "probes/stun_answer.h"

namespace mediapath::probes {
namespace {

constexpr auto kCompat = STUN_USAGE_TURN_COMPATIBILITY_RFC5766;
// RFC 5766 §14.7 (protocol 17 = UDP in the top byte) and RFC 6156 §4.1.1 (0x02 = IPv6).
constexpr std::uint32_t kTransportUdp = 0x11000000;
constexpr std::uint16_t kRequestedAddressFamily = 0x0017;
constexpr std::uint32_t kFamilyIPv6 = 0x02000000;

std::string turnErrorText(int code) {
  switch (code) {
    case 401:
      return "TURN 401 Unauthorized (check username/password_env)";
    case 403:
      return "TURN 403 Forbidden";
    case 437:
      return "TURN 437 Allocation Mismatch";
    case 438:
      return "TURN 438 Stale Nonce";
    case 441:
      return "TURN 441 Wrong Credentials";
    case 486:
      return "TURN 486 Allocation Quota Reached";
    case 508:
      return "TURN 508 Insufficient Capacity";
    default:
      return "TURN error " + std::to_string(code);
  }
}

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
    stun_agent_init(&agent_, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    static_cast<StunAgentUsageFlags>(STUN_AGENT_USAGE_LONG_TERM_CREDENTIALS |
                                                     STUN_AGENT_USAGE_USE_FINGERPRINT));
    have_challenge_ = false;
    stale_nonce_retries_ = 0;
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

  // libnice takes the credentials as non-const pointers but only reads them.
  std::uint8_t* username() { return bytes(target().username); }
  std::uint8_t* password() { return bytes(target().password); }
  static std::uint8_t* bytes(const std::string& s) {
    return const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(s.data()));
  }

  void sendAllocate() {
    StunMessage msg{};
    std::size_t len = 0;
    if (remote_.isIPv6()) {
      len = buildAllocate(msg, kFamilyIPv6);
    } else {
      len = stun_usage_turn_create(
          &agent_, &msg, request_.data(), request_.size(), have_challenge_ ? &challenge_ : nullptr,
          STUN_USAGE_TURN_REQUEST_PORT_NORMAL, -1, -1, username(), target().username.size(),
          password(), target().password.size(), kCompat);
    }
    phase_ = have_challenge_ ? Phase::kAllocate : Phase::kChallenge;
    send(len);
  }

  /// stun_usage_turn_create() plus REQUESTED-ADDRESS-FAMILY (RFC 6156): over IPv6 we ask for an
  /// IPv6 relay, which is what an IPv6 media path would use (and all an IPv6-only server has).
  /// libnice has no parameter for the attribute and a finished message cannot be extended.
  std::size_t buildAllocate(StunMessage& msg, std::uint32_t family) {
    if (!stun_agent_init_request(&agent_, &msg, request_.data(), request_.size(), STUN_ALLOCATE)) {
      return 0;
    }
    stun_message_append32(&msg, STUN_ATTRIBUTE_REQUESTED_TRANSPORT, kTransportUdp);
    stun_message_append32(&msg, static_cast<StunAttribute>(kRequestedAddressFamily), family);
    if (have_challenge_) {
      std::uint16_t len = 0;
      if (const void* realm = stun_message_find(&challenge_, STUN_ATTRIBUTE_REALM, &len)) {
        stun_message_append_bytes(&msg, STUN_ATTRIBUTE_REALM, realm, len);
      }
      if (const void* nonce = stun_message_find(&challenge_, STUN_ATTRIBUTE_NONCE, &len)) {
        stun_message_append_bytes(&msg, STUN_ATTRIBUTE_NONCE, nonce, len);
      }
      stun_message_append_bytes(&msg, STUN_ATTRIBUTE_USERNAME, username(),
                                target().username.size());
      return stun_agent_finish_message(&agent_, &msg, password(), target().password.size());
    }
    return stun_agent_finish_message(&agent_, &msg, nullptr, 0);
  }

  void sendRelease() {
    StunMessage msg{};
    std::size_t len = stun_usage_turn_create_refresh(
        &agent_, &msg, request_.data(), request_.size(), &challenge_, 0, username(),
        target().username.size(), password(), target().password.size(), kCompat);
    phase_ = Phase::kRelease;
    // The release is best effort: the allocation result is already known, and an unreleased
    // allocation expires on the server by itself.
    deadline_.start(target().timeout, [this] { finish({}); });
    send(len);
  }

  void send(std::size_t len) {
    if (len == 0) {
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
    int rc = socket_->send(remote_, std::span<const std::uint8_t>(request_.data(), len));
    if (rc != 0) {
      std::string error = "send to " + remote_.toString() + ": " + net::uvErrorText(rc);
      deadline_.start(std::chrono::milliseconds(0), [this, error] { finish(error); });
    }
  }

  /// Keeps a copy of a response: libnice's message refers to its buffer, and the challenge is
  /// needed for the next request (REALM and NONCE).
  bool keepResponse(std::span<const std::uint8_t> data) {
    if (data.size() > response_buffer_.size()) return false;
    std::memcpy(response_buffer_.data(), data.data(), data.size());
    auto status = stun_agent_validate(&agent_, &response_, response_buffer_.data(), data.size(),
                                      nullptr, nullptr);
    return status == STUN_VALIDATION_SUCCESS;
  }

  void onDatagram(std::span<const std::uint8_t> data) {
    if (phase_ == Phase::kIdle) return;
    if (data.size() > response_buffer_.size() && phase_ != Phase::kRelease) {
      // Only the server's address reaches here (on a fresh port): it sent more than any TURN
      // answer needs. Say so rather than drop it and report a timeout.
      finish("TURN answer of " + std::to_string(data.size()) + " bytes (limit " +
             std::to_string(response_buffer_.size()) + ")");
      return;
    }
    if (!keepResponse(data)) return;
    auto now = nowFrom(context().clock);
    ProbeResult& r = result();
    if (phase_ == Phase::kRelease) {
      finish({});
      return;
    }
    ++r.received;
    TurnAnswer answer = readTurnAnswer(response_);
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
    if (answer.kind == TurnAnswer::Kind::kAlternate) {
      finish("TURN 300 Try Alternate (redirect not followed)");
      return;
    }
    if (answer.kind == TurnAnswer::Kind::kInvalid) {
      finish("TURN invalid response");
      return;
    }
    int code = answer.error_code;
    bool retry = answer.challenge && ((code == 401 && phase_ == Phase::kChallenge) ||
                                      (code == 438 && stale_nonce_retries_++ < 1));
    if (retry && !answer.challenge_problem.empty()) {
      // Echoing an out-of-bounds REALM or NONCE would not fit a request: say so, send nothing.
      finish("TURN " + std::to_string(code) +
             " challenge cannot be answered: " + answer.challenge_problem);
      return;
    }
    if (retry && (emptyOnceTrimmed(target().username) || emptyOnceTrimmed(target().password))) {
      finish("TURN username or password is empty once quotes are stripped: cannot authenticate");
      return;
    }
    if (retry) {
      // The expected challenge (or a fresh nonce): answer it with credentials.
      std::memcpy(challenge_buffer_.data(), response_buffer_.data(), response_buffer_.size());
      challenge_ = response_;
      challenge_.buffer = challenge_buffer_.data();
      have_challenge_ = true;
      sendAllocate();
      return;
    }
    finish(turnErrorText(code));
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
  StunAgent agent_{};
  std::array<std::uint8_t, 2048> request_{};
  std::array<std::uint8_t, 2048> response_buffer_{};
  StunMessage response_{};
  std::array<std::uint8_t, 2048> challenge_buffer_{};
  StunMessage challenge_{};
  bool have_challenge_ = false;
  int stale_nonce_retries_ = 0;
  std::chrono::steady_clock::time_point sent_at_;
  JitterEstimator jitter_;
};

}  // namespace

std::unique_ptr<Probe> makeTurnProbe(const ProbeContext& context) {
  return std::make_unique<TurnProbe>(context);
}

}  // namespace mediapath::probes
