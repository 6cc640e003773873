#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/clock.h"
#include "net/resolver.h"

namespace mediapath::net {

class EventLoop;

/// Answers remembered until their TTL runs out. Keyed by (name, record type); an entry lives for
/// the smallest TTL of its answer, so no record is used past its own TTL. Failures are not
/// cached: a name that failed is asked again next time.
///
/// Thread safety: none (the resolver's loop thread).
class DnsCache {
 public:
  explicit DnsCache(const Clock& clock, std::size_t max_entries = 1024)
      : clock_(clock), max_entries_(max_entries) {}

  /// Stores a successful result with ttl > 0 (others are ignored).
  void put(const std::string& name, RecordType type, const ResolveResult& result);
  /// The stored result with `ttl` lowered to what remains, or nullopt when absent or expired.
  std::optional<ResolveResult> get(const std::string& name, RecordType type);
  std::size_t size() const { return entries_.size(); }
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    ResolveResult result;
    std::chrono::steady_clock::time_point expires;
  };
  void evictExpired();

  const Clock& clock_;
  std::size_t max_entries_;
  std::map<std::pair<std::string, RecordType>, Entry> entries_;
};

struct AresOptions {
  /// "IP" or "IP:port" or "[IPv6]:port" entries; empty: the system resolver (/etc/resolv.conf).
  std::vector<std::string> servers;
  /// A lookup that has no answer after this fails with "timeout" (retries included).
  std::chrono::milliseconds query_timeout{2000};
  /// Send attempts per server within query_timeout.
  int tries = 2;
  bool cache = true;
};

/// c-ares 1.18 driven by a libuv loop: one uv_poll per socket c-ares opens
/// (ARES_OPT_SOCK_STATE_CB) and one uv_timer following ares_timeout(). Never blocks the loop.
///
/// Every callback runs from the loop (never inside resolve()), exactly once, unless cancelAll()
/// was called or the resolver was destroyed first. The resolver may be destroyed from inside
/// one of its callbacks.
///
/// Thread safety: loop thread only. `loop` and `clock` must outlive the resolver.
class AresResolver final : public Resolver {
 public:
  /// Throws std::runtime_error when c-ares cannot be initialised or a server is malformed.
  AresResolver(EventLoop& loop, AresOptions options, const Clock& clock);
  ~AresResolver() override;

  AresResolver(const AresResolver&) = delete;
  AresResolver& operator=(const AresResolver&) = delete;

  void resolve(const std::string& name, RecordType type, ResolveCallback callback) override;
  void resolveWithOptions(const std::string& name, RecordType type, const ResolveOptions& options,
                          ResolveCallback callback) override;
  void cancelAll() override;

  /// Lookups whose callback has not run yet.
  std::size_t pending() const;
  DnsCache& cache();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Maps a c-ares status to the short error the rest of the agent shows: "NXDOMAIN", "SERVFAIL",
/// "timeout", "REFUSED", "no A records", ... Exposed for tests.
std::string aresErrorText(int status, RecordType type);

/// Smallest TTL over the answer section of a raw DNS reply (c-ares 1.18 reports no TTL for SRV).
/// nullopt when the reply cannot be parsed or has no answers.
std::optional<std::chrono::seconds> minAnswerTtl(const unsigned char* reply, int length);

}  // namespace mediapath::net
