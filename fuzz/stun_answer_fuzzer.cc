// libFuzzer target for what the stun and turn probes read from a STUN/TURN server's answer
// (probes/stun_answer.cc on top of libnice's attribute readers): any datagram must be read or
// rejected without a crash, and a challenge accepted as answerable must give a request that fits.
extern "C" {
#include <stun/stunagent.h>
#include <stun/usages/turn.h>
}

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "probes/stun_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mediapath::probes::TurnAnswer;
  // The probes see only what stun_agent_validate accepted: whole, well-framed messages. Its
  // transaction-id match is what a fuzzer cannot guess, so the framing check stands in for it.
  if (stun_message_validate_buffer_length(data, size, true) != static_cast<int>(size)) return 0;
  std::vector<std::uint8_t> bytes(data, data + size);
  StunAgent agent{};
  stun_agent_init(&agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                  static_cast<StunAgentUsageFlags>(STUN_AGENT_USAGE_LONG_TERM_CREDENTIALS |
                                                   STUN_AGENT_USAGE_USE_FINGERPRINT));
  StunMessage message{};
  message.agent = &agent;
  message.buffer = bytes.data();
  message.buffer_len = size;

  auto binding = mediapath::probes::readBindingAnswer(message);
  if (binding.success && binding.error_code) std::abort();

  // The relay probe's CreatePermission / ChannelBind answers: a success carries no address, and
  // only an error can be a challenge.
  auto peer = mediapath::probes::readTurnPeerAnswer(message);
  if (peer.kind == TurnAnswer::Kind::kSuccess && (peer.relayed || peer.challenge)) std::abort();
  if (peer.kind != TurnAnswer::Kind::kError && peer.challenge) std::abort();

  auto turn = mediapath::probes::readTurnAnswer(message);
  if (turn.kind != TurnAnswer::Kind::kError && turn.challenge) std::abort();
  if (turn.challenge && turn.challenge_problem.empty()) {
    // The probe answers such a challenge: with ordinary credentials the authenticated Allocate
    // (REALM and NONCE echoed) must fit the probe's 2048-byte request buffer.
    std::array<std::uint8_t, 2048> request{};
    StunMessage out{};
    std::array<std::uint8_t, 5> user{'a', 'g', 'e', 'n', 't'};
    std::array<std::uint8_t, 6> pass{'s', 'e', 'c', 'r', 'e', 't'};
    std::size_t len = stun_usage_turn_create(&agent, &out, request.data(), request.size(), &message,
                                             STUN_USAGE_TURN_REQUEST_PORT_NORMAL, -1, -1,
                                             user.data(), user.size(), pass.data(), pass.size(),
                                             STUN_USAGE_TURN_COMPATIBILITY_RFC5766);
    if (len == 0 || len > request.size()) std::abort();
  }
  return 0;
}
