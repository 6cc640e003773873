#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mediapath::net {

enum class RecordType { kA, kAAAA, kSRV };

struct SrvRecord {
  std::string target;
  std::uint16_t port = 0;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
};

/// Outcome of one lookup. `ok` false carries a short human error: "NXDOMAIN", "SERVFAIL",
/// "timeout", "no A records".
struct ResolveResult {
  bool ok = false;
  std::string error;
  std::vector<std::string> addresses;  ///< textual IPs (A/AAAA), in answer order
  std::vector<SrvRecord> srv;          ///< SRV answers
  std::chrono::seconds ttl{0};         ///< smallest TTL in the answer
  std::chrono::microseconds lookup_time{0};
  bool from_cache = false;
};

using ResolveCallback = std::function<void(const ResolveResult&)>;

/// Per-lookup knobs. The defaults are what a probe needing an address wants; the dns probe sets
/// `bypass_cache` because it measures a real lookup.
struct ResolveOptions {
  bool bypass_cache = false;             ///< always query (the answer still refreshes the cache)
  std::chrono::milliseconds timeout{0};  ///< 0: the resolver's configured query timeout
};

/// Asynchronous name resolution on the agent's loop. Never blocks. An IP literal is answered
/// at once (through the callback, on a later loop iteration) without a query.
///
/// Thread safety: loop thread only. The callback never runs after cancelAll() or destruction.
class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual void resolve(const std::string& name, RecordType type, ResolveCallback callback) = 0;
  /// resolve() with options. Resolvers without a cache or timeouts (test fakes) may keep this
  /// default, which ignores the options.
  virtual void resolveWithOptions(const std::string& name, RecordType type,
                                  const ResolveOptions& options, ResolveCallback callback) {
    (void)options;
    resolve(name, type, std::move(callback));
  }
  /// Drops every pending callback (used when the owner goes away).
  virtual void cancelAll() = 0;
};

}  // namespace mediapath::net
