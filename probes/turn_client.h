#pragma once

// Internal to probes/: the TURN client side (RFC 5766/8656) the turn and relay probes share —
// building the requests with long-term credentials, reading the server's answers and answering
// its 401/438 challenges. No sockets and no loop: each probe owns its socket and its round.

extern "C" {
#include <stun/stunagent.h>
}

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "net/socket_address.h"
#include "probes/stun_answer.h"
#include "probes/turn_framing.h"

namespace mediapath::probes {

/// "TURN 401 Unauthorized (check username/password_env)", "TURN 437 Allocation Mismatch", ...:
/// the numeric code and a fixed text, never the server's reason phrase.
std::string turnErrorText(int code);

/// One TURN client's transactions with one server: a libnice StunAgent with long-term
/// credentials, the request being sent, the last validated answer and the challenge (REALM,
/// NONCE) that authenticates the next requests. A new round starts with reset().
///
/// Not movable: libnice keeps pointers into it (the password, the challenge's buffer).
///
/// Thread safety: none; owned by one probe on the loop thread.
class TurnClient {
 public:
  /// The largest message accepted from the server; anything longer is not a TURN answer (over a
  /// stream, the framer stops at the same size).
  static constexpr std::size_t kMaxAnswerBytes = kMaxTurnStunBytes;

  TurnClient() = default;
  TurnClient(const TurnClient&) = delete;
  TurnClient& operator=(const TurnClient&) = delete;

  /// Forgets every transaction and the challenge, and takes the credentials for this round.
  void reset(const std::string& username, const std::string& password);

  // Each builder returns the request to send, or an empty span when libnice could not build it
  // (it did not fit): the caller must then fail the round rather than send nothing.

  /// Allocate: unauthenticated until a challenge was taken. `ipv6` asks for an IPv6 relay
  /// (REQUESTED-ADDRESS-FAMILY, RFC 6156), which libnice's turn usage cannot add.
  std::span<const std::uint8_t> allocate(bool ipv6);
  /// Refresh with LIFETIME `lifetime` seconds; 0 releases the allocation.
  std::span<const std::uint8_t> refresh(std::uint32_t lifetime);
  /// CreatePermission for `peer`'s IP (RFC 5766 §9). libnice declares a builder for it but
  /// libnice.so.10 does not export it, so the message is built attribute by attribute.
  std::span<const std::uint8_t> createPermission(const net::SocketAddress& peer);
  /// ChannelBind of `channel` (0x4000-0x4FFF) to `peer` (RFC 5766 §11).
  std::span<const std::uint8_t> channelBind(std::uint16_t channel, const net::SocketAddress& peer);

  /// Validates a datagram from the server as the answer to an outstanding request (libnice
  /// checks the transaction id, MESSAGE-INTEGRITY and FINGERPRINT, and forgets the transaction).
  /// False for anything else, including datagrams longer than kMaxAnswerBytes. One exception to
  /// the integrity check: a 437 Allocation Mismatch to the outstanding Allocate (see the .cc).
  bool accept(std::span<const std::uint8_t> datagram);
  /// The last accepted answer (valid until the next accept()).
  const StunMessage& answer() const { return answer_; }

  /// What to do with an error answer to a request: "" when it is a challenge to answer (REALM
  /// and NONCE are kept; send the request again), else the error that ends the round.
  /// `expecting_challenge`: the request was unauthenticated, so a 401 is the expected challenge;
  /// a 438 (stale nonce) is answered once per round.
  std::string takeChallenge(const TurnAnswer& answer, bool expecting_challenge);
  bool authenticated() const { return have_challenge_; }

 private:
  std::uint8_t* username() { return bytes(username_); }
  std::uint8_t* password() { return bytes(password_); }
  static std::uint8_t* bytes(std::string& s) { return reinterpret_cast<std::uint8_t*>(s.data()); }
  /// Adds REALM, NONCE and USERNAME (once challenged) and MESSAGE-INTEGRITY + FINGERPRINT.
  std::span<const std::uint8_t> finish(StunMessage& msg);
  std::span<const std::uint8_t> built(std::size_t len) const {
    return {request_.data(), len <= request_.size() ? len : 0};
  }

  std::string username_;
  std::string password_;
  StunAgent agent_{};
  bool acceptAllocationMismatch(std::size_t length);

  std::array<std::uint8_t, 2048> request_{};
  std::array<std::uint8_t, kMaxAnswerBytes> answer_buffer_{};
  StunMessage answer_{};
  std::array<std::uint8_t, kMaxAnswerBytes> challenge_buffer_{};
  StunMessage challenge_{};
  bool have_challenge_ = false;
  int stale_nonce_retries_ = 0;
};

}  // namespace mediapath::probes
