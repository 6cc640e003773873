#include "probes/turn_client.h"

extern "C" {
#include <stun/usages/turn.h>
}

#include <cstring>

namespace mediapath::probes {
namespace {

constexpr auto kCompat = STUN_USAGE_TURN_COMPATIBILITY_RFC5766;
// RFC 5766 §14.7 (protocol 17 = UDP in the top byte) and RFC 6156 §4.1.1 (0x02 = IPv6).
constexpr std::uint32_t kTransportUdp = 0x11000000;
constexpr std::uint16_t kRequestedAddressFamily = 0x0017;
constexpr std::uint32_t kFamilyIPv6 = 0x02000000;

}  // namespace

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

void TurnClient::reset(const std::string& username, const std::string& password) {
  username_ = username;
  password_ = password;
  stun_agent_init(&agent_, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                  static_cast<StunAgentUsageFlags>(STUN_AGENT_USAGE_LONG_TERM_CREDENTIALS |
                                                   STUN_AGENT_USAGE_USE_FINGERPRINT));
  have_challenge_ = false;
  stale_nonce_retries_ = 0;
}

std::span<const std::uint8_t> TurnClient::allocate(bool ipv6) {
  StunMessage msg{};
  if (!ipv6) {
    return built(stun_usage_turn_create(&agent_, &msg, request_.data(), request_.size(),
                                        have_challenge_ ? &challenge_ : nullptr,
                                        STUN_USAGE_TURN_REQUEST_PORT_NORMAL, -1, -1, username(),
                                        username_.size(), password(), password_.size(), kCompat));
  }
  if (!stun_agent_init_request(&agent_, &msg, request_.data(), request_.size(), STUN_ALLOCATE)) {
    return {};
  }
  stun_message_append32(&msg, STUN_ATTRIBUTE_REQUESTED_TRANSPORT, kTransportUdp);
  stun_message_append32(&msg, static_cast<StunAttribute>(kRequestedAddressFamily), kFamilyIPv6);
  return finish(msg);
}

std::span<const std::uint8_t> TurnClient::refresh(std::uint32_t lifetime) {
  StunMessage msg{};
  return built(stun_usage_turn_create_refresh(
      &agent_, &msg, request_.data(), request_.size(), have_challenge_ ? &challenge_ : nullptr,
      static_cast<std::int32_t>(lifetime), username(), username_.size(), password(),
      password_.size(), kCompat));
}

std::span<const std::uint8_t> TurnClient::createPermission(const net::SocketAddress& peer) {
  StunMessage msg{};
  if (!stun_agent_init_request(&agent_, &msg, request_.data(), request_.size(),
                               STUN_CREATEPERMISSION)) {
    return {};
  }
  if (stun_message_append_xor_addr(&msg, STUN_ATTRIBUTE_XOR_PEER_ADDRESS, &peer.storage,
                                   sizeof(peer.storage)) != STUN_MESSAGE_RETURN_SUCCESS) {
    return {};
  }
  return finish(msg);
}

std::span<const std::uint8_t> TurnClient::channelBind(std::uint16_t channel,
                                                      const net::SocketAddress& peer) {
  StunMessage msg{};
  if (!stun_agent_init_request(&agent_, &msg, request_.data(), request_.size(), STUN_CHANNELBIND)) {
    return {};
  }
  // CHANNEL-NUMBER: the number in the top 16 bits, RFFU zero (RFC 5766 §14.1).
  if (stun_message_append32(&msg, STUN_ATTRIBUTE_CHANNEL_NUMBER,
                            static_cast<std::uint32_t>(channel) << 16) !=
          STUN_MESSAGE_RETURN_SUCCESS ||
      stun_message_append_xor_addr(&msg, STUN_ATTRIBUTE_XOR_PEER_ADDRESS, &peer.storage,
                                   sizeof(peer.storage)) != STUN_MESSAGE_RETURN_SUCCESS) {
    return {};
  }
  return finish(msg);
}

std::span<const std::uint8_t> TurnClient::finish(StunMessage& msg) {
  if (!have_challenge_) return built(stun_agent_finish_message(&agent_, &msg, nullptr, 0));
  std::uint16_t len = 0;
  if (const void* realm = stun_message_find(&challenge_, STUN_ATTRIBUTE_REALM, &len)) {
    stun_message_append_bytes(&msg, STUN_ATTRIBUTE_REALM, realm, len);
  }
  if (const void* nonce = stun_message_find(&challenge_, STUN_ATTRIBUTE_NONCE, &len)) {
    stun_message_append_bytes(&msg, STUN_ATTRIBUTE_NONCE, nonce, len);
  }
  stun_message_append_bytes(&msg, STUN_ATTRIBUTE_USERNAME, username(), username_.size());
  return built(stun_agent_finish_message(&agent_, &msg, password(), password_.size()));
}

bool TurnClient::accept(std::span<const std::uint8_t> datagram) {
  if (datagram.size() > answer_buffer_.size()) return false;
  std::memcpy(answer_buffer_.data(), datagram.data(), datagram.size());
  if (stun_agent_validate(&agent_, &answer_, answer_buffer_.data(), datagram.size(), nullptr,
                          nullptr) == STUN_VALIDATION_SUCCESS) {
    return true;
  }
  return acceptAllocationMismatch(datagram.size());
}

// coturn (4.6.1) answers an Allocate from a 5-tuple whose released allocation it still remembers
// (for about a second) with 437 and no MESSAGE-INTEGRITY; libnice refuses that as
// unauthenticated, and the round timed out instead of saying why. Taken only as exactly that
// error, to the Allocate outstanding (same transaction id): anyone on the path who could forge it
// could as well drop the packets, and the round fails either way.
bool TurnClient::acceptAllocationMismatch(std::size_t length) {
  constexpr std::size_t kIdOffset = 8;
  constexpr std::size_t kIdBytes = 12;
  if (stun_message_validate_buffer_length(answer_buffer_.data(), length, true) !=
      static_cast<int>(length)) {
    return false;
  }
  StunMessage msg{};
  msg.agent = &agent_;
  msg.buffer = answer_buffer_.data();
  msg.buffer_len = length;
  int code = 0;
  if (stun_message_get_class(&msg) != STUN_ERROR ||
      stun_message_get_method(&msg) != STUN_ALLOCATE ||
      stun_message_find_error(&msg, &code) != STUN_MESSAGE_RETURN_SUCCESS ||
      code != STUN_ERROR_ALLOCATION_MISMATCH ||
      std::memcmp(answer_buffer_.data() + kIdOffset, request_.data() + kIdOffset, kIdBytes) != 0) {
    return false;
  }
  StunTransactionId id;
  stun_message_id(&msg, id);
  stun_agent_forget_transaction(&agent_, id);
  answer_ = msg;
  return true;
}

std::string TurnClient::takeChallenge(const TurnAnswer& answer, bool expecting_challenge) {
  if (answer.kind == TurnAnswer::Kind::kAlternate) {
    return "TURN 300 Try Alternate (redirect not followed)";
  }
  if (answer.kind != TurnAnswer::Kind::kError) return "TURN invalid response";
  int code = answer.error_code;
  bool retry = answer.challenge && ((code == 401 && expecting_challenge) ||
                                    (code == 438 && stale_nonce_retries_++ < 1));
  if (!retry) return turnErrorText(code);
  if (!answer.challenge_problem.empty()) {
    // Echoing an out-of-bounds REALM or NONCE would not fit a request: say so, send nothing.
    return "TURN " + std::to_string(code) +
           " challenge cannot be answered: " + answer.challenge_problem;
  }
  if (emptyOnceTrimmed(username_) || emptyOnceTrimmed(password_)) {
    return "TURN username or password is empty once quotes are stripped: cannot authenticate";
  }
  // The expected challenge (or a fresh nonce): later requests answer it with credentials.
  std::memcpy(challenge_buffer_.data(), answer_buffer_.data(), answer_buffer_.size());
  challenge_ = answer_;
  challenge_.buffer = challenge_buffer_.data();
  have_challenge_ = true;
  return {};
}

}  // namespace mediapath::probes
