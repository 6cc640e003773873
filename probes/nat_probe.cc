#include "probes/nat_probe.h"

extern "C" {
#include <stun/stunagent.h>
}

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "net/event_loop.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/nat_answer.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"
#include "probes/stun_answer.h"

namespace mediapath::probes {
namespace {

using Id = std::array<std::uint8_t, STUN_MESSAGE_TRANS_ID_LEN>;
using std::chrono::milliseconds;

enum class Step { kIdle, kBinding, kChangeBoth, kChangePort, kMappingII, kMappingIII, kHairpin };

constexpr milliseconds kMinWait{250};
constexpr int kLaterTests = 5;  // F-II, F-III, M-II, M-III, H share the second timeout
constexpr std::size_t kMaxAnswerBytes = 2048;

net::SocketAddress withPort(net::SocketAddress address, std::uint16_t port) {
  auto* sa = reinterpret_cast<sockaddr*>(&address.storage);
  if (sa->sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(sa)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(sa)->sin_port = htons(port);
  }
  return address;
}

bool sameIp(const net::SocketAddress& a, const net::SocketAddress& b) {
  return withPort(a, 0) == withPort(b, 0);
}

class NatProbe final : public AddressProbe {
 public:
  explicit NatProbe(const ProbeContext& context)
      : AddressProbe(context),
        peer_lookup_(context),
        test_timer_(context.loop->get()),
        round_timer_(context.loop->get()) {}

 private:
  void exchange(const net::SocketAddress& address) override {
    primary_ = address;
    // No FINGERPRINT: coturn (4.6.1) answers a CHANGE-REQUEST from the other address without
    // one, and an agent that adds FINGERPRINT refuses answers lacking it, which would read as
    // filtering. The transaction id still ties every answer to its request.
    stun_agent_init(&agent_, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    static_cast<StunAgentUsageFlags>(0));
    round_ = Round{};
    socket_ = std::make_unique<net::UdpSocket>(context().loop->get(),
                                               context().resources->socketBudget());
    int rc = socket_->bind(net::anyAddressLike(primary_));
    if (rc == 0) {
      rc =
          socket_->startReceive([this](std::span<const std::uint8_t> data,
                                       const net::SocketAddress& from) { onDatagram(data, from); });
    }
    // The whole round's bound (roundLength): only a slow peer lookup can reach it, since every
    // test's own wait is bounded.
    armDeadline(round_timer_, target().timeout * 2,
                rc == 0 ? std::string() : "UDP socket: " + net::uvErrorText(rc),
                [this](std::string error) { finish(std::move(error)); });
    if (rc != 0) return;
    if (!target().peer_host.empty()) {
      round_.peer_pending = true;
      peer_lookup_.start(target().peer_host, target().peer_port,
                         [this](const AddressLookup::Outcome& outcome) { onPeer(outcome); });
    }
    send(Step::kBinding, primary_, 0, target().timeout);
  }

  void stopExchange() override {
    test_timer_.stop();
    round_timer_.stop();
    peer_lookup_.cancel();
    socket_.reset();
    hairpin_socket_.reset();
    if (step_ != Step::kIdle && open_) stun_agent_forget_transaction(&agent_, id_.data());
    open_ = false;
    step_ = Step::kIdle;
  }

  // --- sending -----------------------------------------------------------------------------

  void send(Step step, const net::SocketAddress& to, std::uint32_t change, milliseconds wait) {
    forgetOpen();
    step_ = step;
    to_ = to;
    StunMessage msg{};
    std::size_t len = 0;
    if (stun_agent_init_request(&agent_, &msg, request_.data(), request_.size(), STUN_BINDING)) {
      if (change == 0 || stun_message_append32(&msg, static_cast<StunAttribute>(kAttrChangeRequest),
                                               change) == STUN_MESSAGE_RETURN_SUCCESS) {
        len = stun_agent_finish_message(&agent_, &msg, nullptr, 0);
      }
    }
    if (len == 0 || len > request_.size()) {
      later("cannot build the STUN Binding request");
      return;
    }
    stun_message_id(&msg, id_.data());
    open_ = step != Step::kHairpin;  // the hairpin request is never answered: nothing to forget
    request_len_ = len;
    net::UdpSocket& from = step == Step::kHairpin ? *hairpin_socket_ : *socket_;
    sent_at_ = nowFrom(context().clock);
    if (!transmit(from)) return;
    // One retransmission after half the wait, then the wait's end decides.
    test_timer_.start(wait / 2, [this, wait, &from] {
      if (!transmit(from)) return;
      test_timer_.start(wait - wait / 2, [this] { onNoAnswer(); });
    });
  }

  bool transmit(net::UdpSocket& from) {
    if (step_ == Step::kBinding) ++result().sent;
    int rc = from.send(to_, std::span<const std::uint8_t>(request_.data(), request_len_));
    if (rc == 0) return true;
    later("send to " + to_.toString() + ": " + net::uvErrorText(rc));
    return false;
  }

  /// Ends the round with `error` from the loop (never inside a send called from exchange()).
  void later(std::string error) {
    test_timer_.start(milliseconds(0), [this, error = std::move(error)] { finish(error); });
  }

  void forgetOpen() {
    if (open_) stun_agent_forget_transaction(&agent_, id_.data());
    open_ = false;
  }

  milliseconds shortWait() const {
    milliseconds four_rtt(static_cast<milliseconds::rep>(4 * round_.rtt_ms) + 1);
    return std::min(std::max(four_rtt, kMinWait), target().timeout / kLaterTests);
  }

  // --- receiving ---------------------------------------------------------------------------

  void onDatagram(std::span<const std::uint8_t> data, const net::SocketAddress& from) {
    if (step_ == Step::kHairpin) {
      // Our own request, sent from the second socket to X1, came back in through the NAT.
      // libnice's transaction id is the magic cookie and the 12-byte id (bytes 4-19).
      if (data.size() >= STUN_MESSAGE_TRANS_ID_POS + id_.size() &&
          std::equal(id_.begin(), id_.end(), data.begin() + STUN_MESSAGE_TRANS_ID_POS) &&
          stun_message_validate_buffer_length(data.data(), data.size(), true) ==
              static_cast<int>(data.size())) {
        result().hairpinning = true;
        done();
      }
      return;
    }
    if (step_ == Step::kIdle || !open_ || data.size() > answer_.size()) return;
    std::memcpy(answer_.data(), data.data(), data.size());
    StunMessage msg{};
    // Validation matches the transaction id of the request in flight (earlier tests' ids were
    // forgotten); anything else is ignored.
    if (stun_agent_validate(&agent_, &msg, answer_.data(), data.size(), nullptr, nullptr) !=
        STUN_VALIDATION_SUCCESS) {
      return;
    }
    Id id{};
    stun_message_id(&msg, id.data());
    if (id != id_) return;
    open_ = false;
    test_timer_.stop();
    BindingAnswer binding = readBindingAnswer(msg);
    NatAnswer nat = readNatAnswer(msg);
    onAnswer(binding, nat, from);
  }

  void onAnswer(const BindingAnswer& binding, const NatAnswer& nat,
                const net::SocketAddress& from) {
    std::optional<net::SocketAddress> mapped = binding.success ? binding.mapped : std::nullopt;
    switch (step_) {
      case Step::kBinding: {
        if (!mapped) {
          finish(binding.error_code ? "STUN error " + std::to_string(*binding.error_code)
                                    : "STUN answer without a mapped address");
          return;
        }
        ProbeResult& r = result();
        ++r.received;
        round_.rtt_ms = millisecondsBetween(sent_at_, nowFrom(context().clock));
        r.rtt = RttStats{round_.rtt_ms, round_.rtt_ms, round_.rtt_ms};
        r.rtt_samples_ms = {round_.rtt_ms};
        r.loss = 1.0 - 1.0 / r.sent;
        r.mapped_address = mapped->toString();
        round_.x1 = mapped;
        round_.other = nat.other_address;
        if (round_.other) {
          send(Step::kChangeBoth, primary_, kChangeIp | kChangePort, shortWait());
        } else {
          startMapping();  // not an RFC 5780 server: filtering stays unknown
        }
        return;
      }
      case Step::kChangeBoth:
        if (binding.success && !sameIp(from, primary_) && from.port() != primary_.port()) {
          round_.filtering = classifyFiltering(true, true, false);
          startMapping();
        } else {
          filteringUnsupported();  // a 420, or the server answered from an address we excluded
        }
        return;
      case Step::kChangePort:
        if (binding.success && sameIp(from, primary_) && from.port() != primary_.port()) {
          round_.filtering = classifyFiltering(true, false, true);
          startMapping();
        } else {
          filteringUnsupported();
        }
        return;
      case Step::kMappingII:
        if (!mapped) {
          round_.errors.push_back("no mapped address from " + to_.toString() + " (test II)");
          startHairpin();
          return;
        }
        round_.x2 = mapped;
        if (*round_.x1 == *mapped) {
          startHairpin();
          return;
        }
        startMappingIII(nat.other_address);
        return;
      case Step::kMappingIII:
        if (!mapped) {
          round_.errors.push_back("no mapped address from " + to_.toString() + " (test III)");
        } else {
          round_.x3 = mapped;
        }
        startHairpin();
        return;
      case Step::kHairpin:
      case Step::kIdle:
        return;
    }
  }

  void onNoAnswer() {
    open_ = false;
    forgetOpenTransaction();
    switch (step_) {
      case Step::kBinding:
        finish("timeout after " + formatDuration(target().timeout) + " (0/" +
               std::to_string(result().sent) + " replies)");
        return;
      case Step::kChangeBoth:
        send(Step::kChangePort, primary_, kChangePort, shortWait());
        return;
      case Step::kChangePort:
        round_.filtering = classifyFiltering(true, false, false);
        startMapping();
        return;
      case Step::kMappingII:
      case Step::kMappingIII:
        round_.errors.push_back("no answer from " + to_.toString() +
                                (step_ == Step::kMappingII ? " (test II)" : " (test III)"));
        startHairpin();
        return;
      case Step::kHairpin:
        result().hairpinning = false;
        done();
        return;
      case Step::kIdle:
        return;
    }
  }

  // The wait ended with the request still open in the agent: forget it, or its slot leaks.
  void forgetOpenTransaction() { stun_agent_forget_transaction(&agent_, id_.data()); }

  void filteringUnsupported() {
    round_.filtering = NatBehaviour::kUnknown;
    startMapping();
  }

  // --- mapping ------------------------------------------------------------------------------

  void onPeer(const AddressLookup::Outcome& outcome) {
    round_.peer_pending = false;
    if (outcome.ok) {
      round_.peer = outcome.address;
    } else {
      round_.errors.push_back("peer " + target().peer_host + ": " + outcome.error);
    }
    if (round_.waiting_for_peer) {
      round_.waiting_for_peer = false;
      startMapping();
    }
  }

  void startMapping() {
    if (!target().peer_host.empty()) {
      if (round_.peer_pending) {
        step_ = Step::kIdle;  // no request in flight while the name resolves
        round_.waiting_for_peer = true;
        return;
      }
      if (round_.peer) {
        send(Step::kMappingII, *round_.peer, 0, shortWait());
      } else {
        startHairpin();  // the lookup's error is noted
      }
      return;
    }
    if (!round_.other) {
      startHairpin();  // no second server: mapping unknown
      return;
    }
    send(Step::kMappingII, withPort(*round_.other, primary_.port()), 0, shortWait());
  }

  /// Test III: another port of test II's IP, compared with what that IP's first port saw.
  void startMappingIII(const std::optional<net::SocketAddress>& second_other) {
    if (!target().peer_host.empty()) {
      if (second_other) {
        round_.same_ip_reference = round_.x2;
        send(Step::kMappingIII, withPort(*round_.peer, second_other->port()), 0, shortWait());
      } else if (round_.other) {
        round_.same_ip_reference = round_.x1;
        send(Step::kMappingIII, withPort(primary_, round_.other->port()), 0, shortWait());
      } else {
        startHairpin();  // not endpoint-independent, but neither server has a second port
      }
      return;
    }
    round_.same_ip_reference = round_.x2;
    send(Step::kMappingIII, *round_.other, 0, shortWait());
  }

  // --- hairpinning --------------------------------------------------------------------------

  void startHairpin() {
    hairpin_socket_ = std::make_unique<net::UdpSocket>(context().loop->get(),
                                                       context().resources->socketBudget());
    int rc = hairpin_socket_->bind(net::anyAddressLike(*round_.x1));
    if (rc != 0) {
      round_.errors.push_back("hairpin socket: " + net::uvErrorText(rc));
      done();
      return;
    }
    send(Step::kHairpin, *round_.x1, 0, shortWait());
  }

  void done() {
    ProbeResult& r = result();
    r.nat_mapping = std::string(natBehaviourName(
        classifyMapping(round_.x1, round_.x2, round_.x3, round_.same_ip_reference)));
    r.nat_filtering = std::string(natBehaviourName(round_.filtering));
    std::string error;
    for (const auto& e : round_.errors) error += (error.empty() ? "" : "; ") + e;
    r.ok = error.empty();
    finish(std::move(error));
  }

  void finish(std::string error) {
    stopExchange();
    ProbeResult& r = result();
    if (r.received == 0) r.loss = r.sent > 0 ? 1.0 : 0.0;
    if (r.nat_mapping.empty()) r.nat_mapping = "unknown";
    if (r.nat_filtering.empty()) r.nat_filtering = "unknown";
    report(std::move(error));
  }

  struct Round {
    double rtt_ms = 0;
    std::optional<net::SocketAddress> x1;  ///< test I: what the primary saw
    std::optional<net::SocketAddress> x2;  ///< test II: what the second server saw
    std::optional<net::SocketAddress> x3;  ///< test III: another port of test II's IP
    std::optional<net::SocketAddress> same_ip_reference;  ///< what x3 is compared with
    std::optional<net::SocketAddress> other;              ///< the primary server's OTHER-ADDRESS
    std::optional<net::SocketAddress> peer;  ///< the peer server's address, once resolved
    bool peer_pending = false;
    bool waiting_for_peer = false;
    NatBehaviour filtering = NatBehaviour::kUnknown;
    std::vector<std::string> errors;  ///< tests that could not complete
  };

  AddressLookup peer_lookup_;
  net::UvTimer test_timer_;
  net::UvTimer round_timer_;
  std::unique_ptr<net::UdpSocket> socket_;
  std::unique_ptr<net::UdpSocket> hairpin_socket_;
  net::SocketAddress primary_;
  net::SocketAddress to_;
  StunAgent agent_{};
  Step step_ = Step::kIdle;
  Id id_{};
  bool open_ = false;
  std::array<std::uint8_t, 512> request_{};
  std::size_t request_len_ = 0;
  std::array<std::uint8_t, kMaxAnswerBytes> answer_{};
  std::chrono::steady_clock::time_point sent_at_;
  Round round_;
};

}  // namespace

std::unique_ptr<Probe> makeNatProbe(const ProbeContext& context) {
  return std::make_unique<NatProbe>(context);
}

}  // namespace mediapath::probes
