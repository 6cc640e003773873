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
#include "net/dns_answer.h"
#include "net/resolver.h"

namespace mediapath::net {

class EventLoop;

/// The longest a DNS answer is trusted, whatever TTL the server gave (`dns.max_ttl`): a TTL of
/// 2^31-1 s would otherwise pin an address until the config is reloaded (issue #19).
inline constexpr std::chrono::seconds kDefaultMaxDnsTtl{300};

/// Answers remembered until their TTL runs out. Keyed by (name, record type); an entry lives for
/// the smallest TTL of its answer, capped at `max_ttl`, so no record is used past its own TTL and
/// none for longer than the cap. Failures are not cached: a name that failed is asked again next
/// time.
///
/// Thread safety: none (the resolver's loop thread).
class DnsCache {
 public:
  explicit DnsCache(const Clock& clock, std::size_t max_entries = 1024,
                    std::chrono::seconds max_ttl = kDefaultMaxDnsTtl)
      : clock_(clock), max_entries_(max_entries), max_ttl_(max_ttl) {}

  /// Stores a successful result with ttl > 0 (others are ignored), for at most max_ttl.
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
  std::chrono::seconds max_ttl_;
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
  /// Answers are cached, and reported, with a TTL of at most this (see kDefaultMaxDnsTtl).
  std::chrono::seconds max_ttl = kDefaultMaxDnsTtl;
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

}  // namespace mediapath::net
