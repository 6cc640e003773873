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
#include "probes/probe_resources.h"
#include "probes/probe_support.h"
#include "probes/stun_agent_pool.h"
#include "probes/stun_answer.h"
#include "probes/udp_burst.h"

namespace mediapath::probes {
namespace {

using Id = std::array<std::uint8_t, STUN_MESSAGE_TRANS_ID_LEN>;

class StunProbe final : public AddressProbe {
 public:
  explicit StunProbe(const ProbeContext& context)
      : AddressProbe(context), burst_(context, UdpBurst::Sharing::kStunTransactionId) {}

 private:
  void exchange(const net::SocketAddress& address) override {
    // A clean agent per round (see StunAgentPool): transactions of an earlier round are unknown to
    // it, so their late answers fail validation instead of matching.
    agent_ = context().resources->stunAgents().acquire();
    transactions_.assign(static_cast<std::size_t>(std::max(1, target().burst.packets)), {});
    mapped_ = nullptr;
    error_responses_ = 0;
    UdpBurst::Hooks hooks;
    hooks.make_request = [this](int index) { return makeRequest(index); };
    hooks.match_reply = [this](std::span<const std::uint8_t> data) { return matchReply(data); };
    burst_.start(net::anyAddressLike(address), address, target().burst, target().timeout,
                 std::move(hooks), [this](const UdpBurst::Outcome& burst) { onBurstDone(burst); });
  }

  void stopExchange() override {
    burst_.cancel();  // the shared socket stays open for the next round
    releaseAgent();
  }

  /// Forgets the round's unanswered transactions (answered ones were forgotten by
  /// stun_agent_validate) and returns the agent, as clean as stun_agent_init() leaves one.
  void releaseAgent() {
    if (!agent_) return;
    for (auto& t : transactions_) {
      if (t.open) stun_agent_forget_transaction(agent_.get(), t.id.data());
      t.open = false;
    }
    context().resources->stunAgents().release(std::move(agent_));
  }

  std::string makeRequest(int index) {
    std::array<std::uint8_t, 512> buffer{};
    StunMessage msg{};
    std::size_t len = stun_usage_bind_create(agent_.get(), &msg, buffer.data(), buffer.size());
    if (len > 0) {
      Transaction& t = transactions_[static_cast<std::size_t>(index)];
      stun_message_id(&msg, t.id.data());
      t.open = true;
    }
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
    for (std::size_t i = 0; i < transactions_.size(); ++i) {
      if (transactions_[i].open && transactions_[i].id == id) index = static_cast<int>(i);
    }
    if (!index) return std::nullopt;
    // A validated answer (success or error) closed its transaction in the agent.
    transactions_[static_cast<std::size_t>(*index)].open = false;
    BindingAnswer answer = readBindingAnswer(msg);
    if (answer.success) {
      if (answer.mapped) mapped_ = &mapped_text_.of(*answer.mapped);
      return index;
    }
    // An error response answers the request (the server is there) but is not a success.
    if (answer.error_code) {
      last_error_code_ = *answer.error_code;
      ++error_responses_;
    }
    return std::nullopt;
  }

  void onBurstDone(const UdpBurst::Outcome& burst) {
    ProbeResult& r = result();
    summarizeBurst(burst, jitter_, r);
    if (mapped_ != nullptr) r.mapped_address = *mapped_;
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
    releaseAgent();
    report(std::move(error));
  }

  struct Transaction {
    Id id{};
    bool open = false;  ///< sent and not yet answered: still remembered by agent_
  };

  UdpBurst burst_;
  std::unique_ptr<StunAgent> agent_;
  std::vector<Transaction> transactions_;
  AddressText mapped_text_;
  const std::string* mapped_ = nullptr;  ///< this round's mapped address (in mapped_text_)
  int error_responses_ = 0;
  int last_error_code_ = 0;
  JitterEstimator jitter_;
};

}  // namespace

std::unique_ptr<Probe> makeStunProbe(const ProbeContext& context) {
  return std::make_unique<StunProbe>(context);
}

}  // namespace mediapath::probes
