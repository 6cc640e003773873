// libFuzzer target for what the resolver does with a DNS server's reply (net/dns_answer.cc:
// c-ares' record parsers plus our TTL reading): any bytes must be read or rejected without a
// crash, and what comes out must be safe to print and consistent.
#include <ares.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "net/dns_answer.h"
#include "net/text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mediapath::net::RecordType;
  if (size > 65535) return 0;  // larger than any DNS message
  int length = static_cast<int>(size);
  auto smallest = mediapath::net::minAnswerTtl(data, length);
  // RFC 2181 §8: never more than 2^31-1 (the resolver then caps it at dns.max_ttl).
  if (smallest && (smallest->count() < 0 || smallest->count() > 0x7fffffff)) std::abort();

  for (RecordType type : {RecordType::kA, RecordType::kAAAA, RecordType::kSRV}) {
    mediapath::net::ResolveResult result;
    int rc = mediapath::net::parseDnsAnswer(type, data, length, result);
    if (rc != ARES_SUCCESS) {
      if (mediapath::net::aresErrorText(rc, type).empty()) std::abort();
      continue;
    }
    if (result.addresses.empty() && result.srv.empty()) std::abort();
    if (result.ttl.count() < 0) std::abort();
    // Names and addresses from the peer end up in errors, logs and the status page: c-ares must
    // have refused anything that is not plain text.
    for (const auto& a : result.addresses) {
      if (mediapath::net::printable(a, a.size()) != a) std::abort();
    }
    for (const auto& s : result.srv) {
      if (mediapath::net::printable(s.target, s.target.size()) != s.target) std::abort();
    }
  }
  return 0;
}
