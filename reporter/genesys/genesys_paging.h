#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace mediapath::net {
class Clock;
}  // namespace mediapath::net

namespace mediapath::reporter {

/// How far a paged read may go before it is stopped with an error. A platform (or an impostor)
/// that repeats a cursor, repeats a page or never stops paging must end in a clear error within
/// these bounds, not in an endless loop that grows without limit.
struct PagingLimits {
  std::size_t max_pages = 500;
  std::size_t max_records = 50000;
  std::size_t max_bytes = std::size_t{256} << 20;  ///< bodies as received, all pages together
  std::chrono::milliseconds deadline{std::chrono::minutes(5)};  ///< from the first page asked
};

/// The bounds of one paged read, page by page: a page cap, a record cap, a byte cap, an overall
/// deadline on an injected clock, and a repeated cursor or repeated page (the same key twice)
/// detected. Pure logic, no I/O.
///
/// Thread safety: none; one read on the loop thread.
class PagingGuard {
 public:
  /// `what` names the read in errors ("audit results of query q-1"); the deadline starts now.
  PagingGuard(std::string what, const PagingLimits& limits, const net::Clock& clock);

  /// Records a page: `key` identifies what the next request will ask for (the next cursor, or a
  /// fingerprint of the page's content for pageNumber paging; empty on the last page), `shown`
  /// how an error names it ("cursor \"abc\""), `records` and `bytes` what the page added.
  /// Returns why paging must stop now, or nullopt to go on.
  std::optional<std::string> onPage(const std::string& key, std::string_view shown,
                                    std::size_t records, std::size_t bytes);

  std::size_t pages() const { return pages_; }
  std::size_t records() const { return records_; }

 private:
  std::string what_;
  PagingLimits limits_;
  const net::Clock& clock_;
  std::chrono::steady_clock::time_point started_;
  std::set<std::string> seen_;
  std::size_t pages_ = 0;
  std::size_t records_ = 0;
  std::size_t bytes_ = 0;
};

/// A short fingerprint of a page's content (FNV-1a of its text), for PagingGuard keys when the
/// platform pages by number and a repeated page has no cursor to show it.
std::string pageFingerprint(std::string_view text);

}  // namespace mediapath::reporter
