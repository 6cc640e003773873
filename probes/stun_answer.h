#pragma once

// Internal to probes/ (and fuzz/): what the stun and turn probes read from a validated answer,
// without sockets or a loop, so that every byte a server controls goes through code a fuzz target
// (fuzz/stun_answer_fuzzer.cc) can call.

extern "C" {
#include <stun/stunmessage.h>
}

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "net/socket_address.h"

namespace mediapath::probes {

/// RFC 8489 §14.9 and §14.10: REALM and NONCE "MUST be fewer than 128 characters", which is at
/// most 763 bytes of UTF-8. Longer values are the server's fault; echoing them would overflow the
/// request (the agent used to send an empty datagram and report a timeout).
inline constexpr std::size_t kMaxChallengeCharacters = 127;
inline constexpr std::size_t kMaxChallengeBytes = 763;

/// A Binding answer (RFC 5389): the mapped address of a success, or the ERROR-CODE of an error.
struct BindingAnswer {
  bool success = false;
  std::optional<net::SocketAddress> mapped;
  std::optional<int> error_code;  ///< an error answer with a readable ERROR-CODE
};

/// A TURN Allocate answer (RFC 5766/8656).
struct TurnAnswer {
  enum class Kind { kSuccess, kAlternate, kError, kInvalid };
  Kind kind = Kind::kInvalid;
  std::optional<net::SocketAddress> relayed;
  std::optional<net::SocketAddress> mapped;
  int error_code = 0;      ///< kError: the ERROR-CODE
  bool challenge = false;  ///< kError with REALM and NONCE: can be answered with credentials
  /// Why a challenge cannot be answered ("" when it can): names the attribute that is out of
  /// bounds, never its (peer-controlled) value.
  std::string challenge_problem;
};

BindingAnswer readBindingAnswer(const StunMessage& message);
TurnAnswer readTurnAnswer(const StunMessage& message);
/// A CreatePermission or ChannelBind answer (RFC 5766 §9, §11): kSuccess for a success response
/// (no addresses), else as readTurnAnswer's errors. libnice's turn usage reads Allocate and
/// Refresh answers only.
TurnAnswer readTurnPeerAnswer(const StunMessage& message);

/// libnice strips '"' from both ends and NULs from the end of the realm, username and password it
/// hashes into the long-term key, without a bound: when nothing would be left (an empty value
/// included) it reads out of bounds and crashes. True for such a value: it must not reach libnice.
bool emptyOnceTrimmed(std::string_view value);

/// "" when REALM and NONCE are within RFC 8489's bounds, else e.g. "NONCE is 1000 bytes (RFC 8489
/// allows fewer than 128 characters, at most 763 bytes)".
std::string checkChallenge(const StunMessage& message);

}  // namespace mediapath::probes
