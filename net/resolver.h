#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
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

/// Asynchronous name resolution on the agent's loop. Never blocks. An IP literal is answered
/// at once (through the callback, on a later loop iteration) without a query.
///
/// Thread safety: loop thread only. The callback never runs after cancelAll() or destruction.
class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual void resolve(const std::string& name, RecordType type, ResolveCallback callback) = 0;
  /// Drops every pending callback (used when the owner goes away).
  virtual void cancelAll() = 0;
};

}  // namespace mediapath::net
