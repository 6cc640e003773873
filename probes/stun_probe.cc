#include "probes/stun_probe.h"

extern "C" {
#include <stun/stunagent.h>
#include <stun/usages/bind.h>
}

#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "net/event_loop.h"
#include "probes/probe_support.h"
#include "probes/udp_burst.h"

namespace mediapath::probes {
namespace {

class StunProbe final : public AddressProbe {
 public:
  explicit StunProbe(const ProbeContext& context)
      : AddressProbe(context), burst_(*context.loop, context.clock) {}

 private:
  void exchange(const net::SocketAddress& address) override {
    // A fresh agent per round: transactions of an earlier round are unknown to it, so their
    // late answers fail validation instead of matching.
    // Allocated for the round only: a StunAgent is ~12.8 KiB, and at 10,000 targets keeping one
    // per idle probe cost ~120 MiB.
    // Not value-initialised: stun_agent_init() sets every field a round reads, and zeroing
    // 12.8 KiB per round was a visible share of the agent's CPU at 10,000 targets.
    agent_ = std::make_unique_for_overwrite<StunAgent>();
    stun_agent_init(agent_.get(), STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_USE_FINGERPRINT);
    ids_.assign(static_cast<std::size_t>(std::max(1, target().burst.packets)), {});
    mapped_.clear();
    error_responses_ = 0;
    UdpBurst::Hooks hooks;
    hooks.make_request = [this](int index) { return makeRequest(index); };
    hooks.match_reply = [this](std::span<const std::uint8_t> data) { return matchReply(data); };
    burst_.start(net::anyAddressLike(address), address, target().burst, target().timeout,
                 std::move(hooks), [this](UdpBurst::Outcome burst) { onBurstDone(burst); });
  }

  void stopExchange() override {
    burst_.cancel();  // the socket stays open for the next round
    agent_.reset();
  }

  std::string makeRequest(int index) {
    std::array<std::uint8_t, 512> buffer{};
    StunMessage msg{};
    std::size_t len = stun_usage_bind_create(agent_.get(), &msg, buffer.data(), buffer.size());
    stun_message_id(&msg, ids_[static_cast<std::size_t>(index)].data());
    return std::string(reinterpret_cast<const char*>(buffer.data()), len);
  }

  std::optional<int> matchReply(std::span<const std::uint8_t> data) {
    if (!agent_) return std::nullopt;  // the round is over
    StunMessage msg{};
    // Validation matches the transaction id against this round's requests and checks the
    // FINGERPRINT; anything else (garbage, another round's reply) is ignored.
    if (stun_agent_validate(agent_.get(), &msg, data.data(), data.size(), nullptr, nullptr) !=
        STUN_VALIDATION_SUCCESS) {
      return std::nullopt;
    }
    Id id{};
    stun_message_id(&msg, id.data());
    std::optional<int> index;
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == id) index = static_cast<int>(i);
    }
    if (!index) return std::nullopt;
    sockaddr_storage mapped{};
    socklen_t mapped_len = sizeof(mapped);
    sockaddr_storage alternate{};
    socklen_t alternate_len = sizeof(alternate);
    auto rc = stun_usage_bind_process(&msg, reinterpret_cast<sockaddr*>(&mapped), &mapped_len,
                                      reinterpret_cast<sockaddr*>(&alternate), &alternate_len);
    if (rc == STUN_USAGE_BIND_RETURN_SUCCESS) {
      if (auto address = net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&mapped))) {
        mapped_ = address->toString();
      }
      return index;
    }
    // An error response answers the request (the server is there) but is not a success.
    int code = 0;
    if (stun_message_find_error(&msg, &code) == STUN_MESSAGE_RETURN_SUCCESS) {
      last_error_code_ = code;
      ++error_responses_;
    }
    return std::nullopt;
  }

  void onBurstDone(const UdpBurst::Outcome& burst) {
    ProbeResult& r = result();
    summarizeBurst(burst, jitter_, r);
    r.mapped_address = mapped_;
    r.ok = r.received > 0 && burst.error.empty();
    std::string error;
    if (!burst.error.empty()) {
      error = burst.error;
    } else if (r.received == 0 && error_responses_ > 0) {
      error = "STUN error " + std::to_string(last_error_code_);
    } else if (r.received == 0) {
      error = "timeout after " + formatDuration(target().timeout) + " (0/" +
              std::to_string(r.sent) + " replies)";
    }
    agent_.reset();
    report(std::move(error));
  }

  using Id = std::array<std::uint8_t, STUN_MESSAGE_TRANS_ID_LEN>;

  UdpBurst burst_;
  std::unique_ptr<StunAgent> agent_;
  std::vector<Id> ids_;
  std::string mapped_;
  int error_responses_ = 0;
  int last_error_code_ = 0;
  JitterEstimator jitter_;
};

}  // namespace

std::unique_ptr<Probe> makeStunProbe(const ProbeContext& context) {
  return std::make_unique<StunProbe>(context);
}

}  // namespace mediapath::probes
