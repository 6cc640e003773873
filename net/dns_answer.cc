#include "net/dns_answer.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace mediapath::net {
namespace {

const char* typeName(RecordType type) {
  switch (type) {
    case RecordType::kA:
      return "A";
    case RecordType::kAAAA:
      return "AAAA";
    case RecordType::kSRV:
      return "SRV";
  }
  return "A";
}

// A and AAAA answers differ only in the record struct and the address family: one loop reads
// both, adding each address and lowering `ttl` to the smallest record TTL.
template <typename AddrTtl, typename Address>
int parseAddresses(int (*parse_reply)(const unsigned char*, int, hostent**, AddrTtl*, int*),
                   Address AddrTtl::*address, int family, const unsigned char* abuf, int alen,
                   ResolveResult& r, std::optional<std::chrono::seconds>& ttl) {
  AddrTtl ttls[64];
  int n = 64;
  int rc = parse_reply(abuf, alen, nullptr, ttls, &n);
  if (rc != ARES_SUCCESS) return rc;
  if (n == 0) return ARES_ENODATA;
  for (int i = 0; i < n; ++i) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, &(ttls[i].*address), buf, sizeof buf);
    r.addresses.emplace_back(buf);
    auto t = std::chrono::seconds(std::max(0, ttls[i].ttl));
    ttl = ttl ? std::min(*ttl, t) : t;
  }
  return ARES_SUCCESS;
}

}  // namespace

std::string aresErrorText(int status, RecordType type) {
  switch (status) {
    case ARES_ENOTFOUND:
      return "NXDOMAIN";
    case ARES_ESERVFAIL:
      return "SERVFAIL";
    case ARES_ETIMEOUT:
      return "timeout";
    case ARES_EREFUSED:
      return "REFUSED";
    case ARES_ENODATA:
      return std::string("no ") + typeName(type) + " records";
    case ARES_ECONNREFUSED:
      return "connection refused";
    case ARES_EFORMERR:
      return "FORMERR";
    case ARES_ENOTIMP:
      return "NOTIMP";
    case ARES_EBADRESP:
      return "malformed response";
    case ARES_EBADNAME:
      return "invalid name";
    case ARES_ECANCELLED:
      return "cancelled";
    default:
      return ares_strerror(status);
  }
}

std::optional<std::chrono::seconds> minAnswerTtl(const unsigned char* reply, int length) {
  if (reply == nullptr || length < 12) return std::nullopt;
  auto u16 = [reply](int at) { return (unsigned{reply[at]} << 8) | unsigned{reply[at + 1]}; };
  unsigned qdcount = u16(4);
  unsigned ancount = u16(6);
  if (ancount == 0) return std::nullopt;
  int pos = 12;
  auto skipName = [&]() -> bool {
    char* name = nullptr;
    long enclen = 0;
    if (ares_expand_name(reply + pos, reply, length, &name, &enclen) != ARES_SUCCESS) return false;
    ares_free_string(name);
    pos += static_cast<int>(enclen);
    return pos <= length;
  };
  for (unsigned i = 0; i < qdcount; ++i) {
    if (!skipName() || pos + 4 > length) return std::nullopt;
    pos += 4;
  }
  std::optional<std::uint32_t> smallest;
  for (unsigned i = 0; i < ancount; ++i) {
    if (!skipName() || pos + 10 > length) return std::nullopt;
    std::uint32_t ttl = (std::uint32_t{u16(pos + 4)} << 16) | u16(pos + 6);
    unsigned rdlength = u16(pos + 8);
    pos += 10 + static_cast<int>(rdlength);
    if (pos > length) return std::nullopt;
    // RFC 2181 §8: a TTL with the top bit set is treated as zero.
    if (ttl > 0x7fffffffU) ttl = 0;
    smallest = smallest ? std::min(*smallest, ttl) : ttl;
  }
  return std::chrono::seconds(*smallest);
}

int parseDnsAnswer(RecordType type, const unsigned char* abuf, int alen, ResolveResult& r) {
  std::optional<std::chrono::seconds> ttl = minAnswerTtl(abuf, alen);
  switch (type) {
    case RecordType::kA: {
      int rc =
          parseAddresses(ares_parse_a_reply, &ares_addrttl::ipaddr, AF_INET, abuf, alen, r, ttl);
      if (rc != ARES_SUCCESS) return rc;
      break;
    }
    case RecordType::kAAAA: {
      int rc = parseAddresses(ares_parse_aaaa_reply, &ares_addr6ttl::ip6addr, AF_INET6, abuf, alen,
                              r, ttl);
      if (rc != ARES_SUCCESS) return rc;
      break;
    }
    case RecordType::kSRV: {
      ares_srv_reply* srv = nullptr;
      int rc = ares_parse_srv_reply(abuf, alen, &srv);
      if (rc != ARES_SUCCESS) return rc;
      for (ares_srv_reply* s = srv; s != nullptr; s = s->next) {
        r.srv.push_back({s->host, s->port, s->priority, s->weight});
      }
      ares_free_data(srv);
      if (r.srv.empty()) return ARES_ENODATA;
      // Lowest priority first, then highest weight (RFC 2782 preference order without the
      // random weighted pick, so output is stable).
      std::stable_sort(r.srv.begin(), r.srv.end(), [](const SrvRecord& a, const SrvRecord& b) {
        return a.priority != b.priority ? a.priority < b.priority : a.weight > b.weight;
      });
      break;
    }
  }
  r.ttl = ttl.value_or(std::chrono::seconds(0));
  return ARES_SUCCESS;
}

}  // namespace mediapath::net
