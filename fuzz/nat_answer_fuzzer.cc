// libFuzzer target for what the nat probe reads from a server's answer (probes/nat_answer.cc):
// OTHER-ADDRESS and RESPONSE-ORIGIN, attributes libnice does not parse for us. Any datagram must
// be read or rejected without a crash, and an address read must be one the probe can send to.
extern "C" {
#include <stun/stunagent.h>
}

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "probes/nat_answer.h"

namespace {

void checkAddress(const std::optional<mediapath::net::SocketAddress>& a) {
  if (!a) return;
  if (a->family() != AF_INET && a->family() != AF_INET6) std::abort();
  if (a->port() == 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The raw attribute value parser on any bytes.
  checkAddress(mediapath::probes::parseAddressAttribute(std::span(data, size)));

  // The probe sees only what stun_agent_validate accepted: whole, well-framed messages.
  if (stun_message_validate_buffer_length(data, size, true) != static_cast<int>(size)) return 0;
  std::vector<std::uint8_t> bytes(data, data + size);
  StunAgent agent{};
  stun_agent_init(&agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                  STUN_AGENT_USAGE_USE_FINGERPRINT);
  StunMessage message{};
  message.agent = &agent;
  message.buffer = bytes.data();
  message.buffer_len = size;
  auto answer = mediapath::probes::readNatAnswer(message);
  checkAddress(answer.other_address);
  checkAddress(answer.response_origin);
  return 0;
}
