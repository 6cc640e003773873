#include "probes/stun_answer.h"

extern "C" {
#include <stun/usages/bind.h>
#include <stun/usages/turn.h>
}

#include <sys/socket.h>

#include <algorithm>

namespace mediapath::probes {
namespace {

// libnice's readers take a non-const message but only read it.
StunMessage* mutableMessage(const StunMessage& message) {
  return const_cast<StunMessage*>(&message);
}

/// Where libnice writes one address it read, and what it wrote.
struct AddressOut {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);

  sockaddr* raw() { return reinterpret_cast<sockaddr*>(&storage); }
  std::optional<net::SocketAddress> address() const {
    if (storage.ss_family != AF_INET && storage.ss_family != AF_INET6) return std::nullopt;
    return net::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
  }
};

std::size_t utf8Characters(const std::uint8_t* bytes, std::size_t length) {
  // Continuation bytes (10xxxxxx) do not start a character.
  return static_cast<std::size_t>(
      std::count_if(bytes, bytes + length, [](std::uint8_t b) { return (b & 0xc0U) != 0x80U; }));
}

std::string checkAttribute(const StunMessage& message, StunAttribute attribute, const char* name) {
  std::uint16_t length = 0;
  const auto* value = static_cast<const std::uint8_t*>(
      stun_message_find(mutableMessage(message), attribute, &length));
  if (value == nullptr) return std::string("TURN challenge without ") + name;
  if (attribute == STUN_ATTRIBUTE_REALM &&
      emptyOnceTrimmed(std::string_view(reinterpret_cast<const char*>(value), length))) {
    return std::string(name) + " is empty (or only quotes and NULs)";
  }
  if (length > kMaxChallengeBytes || utf8Characters(value, length) > kMaxChallengeCharacters) {
    return std::string(name) + " is " + std::to_string(length) +
           " bytes (RFC 8489 allows fewer than 128 characters, at most 763 bytes)";
  }
  return {};
}

// The error half of a TURN answer: ERROR-CODE and whether REALM and NONCE make it a challenge.
// Leaves `out` kInvalid when there is no readable ERROR-CODE.
void readTurnError(const StunMessage& message, TurnAnswer& out) {
  if (stun_message_find_error(mutableMessage(message), &out.error_code) !=
      STUN_MESSAGE_RETURN_SUCCESS) {
    return;
  }
  out.kind = TurnAnswer::Kind::kError;
  out.challenge = stun_message_has_attribute(mutableMessage(message), STUN_ATTRIBUTE_NONCE) &&
                  stun_message_has_attribute(mutableMessage(message), STUN_ATTRIBUTE_REALM);
  if (out.challenge) out.challenge_problem = checkChallenge(message);
}

}  // namespace

BindingAnswer readBindingAnswer(const StunMessage& message) {
  BindingAnswer out;
  AddressOut mapped;
  AddressOut alternate;
  auto rc = stun_usage_bind_process(mutableMessage(message), mapped.raw(), &mapped.length,
                                    alternate.raw(), &alternate.length);
  if (rc == STUN_USAGE_BIND_RETURN_SUCCESS) {
    out.success = true;
    out.mapped = mapped.address();
    return out;
  }
  int code = 0;
  if (stun_message_find_error(mutableMessage(message), &code) == STUN_MESSAGE_RETURN_SUCCESS) {
    out.error_code = code;
  }
  return out;
}

TurnAnswer readTurnAnswer(const StunMessage& message) {
  TurnAnswer out;
  AddressOut relay;
  AddressOut mapped;
  AddressOut alternate;
  std::uint32_t bandwidth = 0;
  std::uint32_t lifetime = 0;
  auto rc = stun_usage_turn_process(mutableMessage(message), &relay.storage, &relay.length,
                                    &mapped.storage, &mapped.length, &alternate.storage,
                                    &alternate.length, &bandwidth, &lifetime,
                                    STUN_USAGE_TURN_COMPATIBILITY_RFC5766);
  if (rc == STUN_USAGE_TURN_RETURN_RELAY_SUCCESS || rc == STUN_USAGE_TURN_RETURN_MAPPED_SUCCESS) {
    out.kind = TurnAnswer::Kind::kSuccess;
    out.relayed = relay.address();
    if (rc == STUN_USAGE_TURN_RETURN_MAPPED_SUCCESS) out.mapped = mapped.address();
    return out;
  }
  if (rc == STUN_USAGE_TURN_RETURN_ALTERNATE_SERVER) {
    out.kind = TurnAnswer::Kind::kAlternate;
    return out;
  }
  readTurnError(message, out);
  return out;
}

TurnAnswer readTurnPeerAnswer(const StunMessage& message) {
  TurnAnswer out;
  if (stun_message_get_class(&message) == STUN_RESPONSE) {
    out.kind = TurnAnswer::Kind::kSuccess;
    return out;
  }
  readTurnError(message, out);
  return out;
}

bool emptyOnceTrimmed(std::string_view value) {
  return value.find_first_not_of(std::string_view("\"\0", 2)) == std::string_view::npos;
}

std::string checkChallenge(const StunMessage& message) {
  std::string problem = checkAttribute(message, STUN_ATTRIBUTE_REALM, "REALM");
  if (problem.empty()) problem = checkAttribute(message, STUN_ATTRIBUTE_NONCE, "NONCE");
  return problem;
}

}  // namespace mediapath::probes
