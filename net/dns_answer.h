#pragma once

// What the resolver makes of a DNS server's bytes, without a channel or a loop: pure functions,
// so that fuzz/dns_answer_fuzzer.cc reaches all of it (c-ares parses the records; we read TTLs).

#include <chrono>
#include <optional>
#include <string>

#include "net/resolver.h"

namespace mediapath::net {

/// Maps a c-ares status to the short error the rest of the agent shows: "NXDOMAIN", "SERVFAIL",
/// "timeout", "REFUSED", "no A records", ... Exposed for tests.
std::string aresErrorText(int status, RecordType type);

/// Smallest TTL over the answer section of a raw DNS reply (c-ares 1.18 reports no TTL for SRV).
/// nullopt when the reply cannot be parsed or has no answers.
std::optional<std::chrono::seconds> minAnswerTtl(const unsigned char* reply, int length);

/// Reads a raw reply (`abuf`, `alen` bytes, as c-ares hands it over) to a `type` query into `r`:
/// its addresses (A/AAAA, answer order) or SRV records (preference order) and the smallest TTL,
/// uncapped (the resolver applies max_ttl). Returns ARES_SUCCESS, or the c-ares status saying
/// why not (ARES_ENODATA, ARES_EBADRESP...).
int parseDnsAnswer(RecordType type, const unsigned char* abuf, int alen, ResolveResult& r);

}  // namespace mediapath::net
