#include "reporter/genesys/genesys_paging.h"

#include <cstdint>
#include <cstdio>

#include "net/clock.h"
#include "net/text.h"

namespace mediapath::reporter {

PagingGuard::PagingGuard(std::string what, const PagingLimits& limits, const net::Clock& clock)
    : what_(std::move(what)), limits_(limits), clock_(clock), started_(clock.now()) {}

std::optional<std::string> PagingGuard::onPage(const std::string& key, std::string_view shown,
                                               std::size_t records, std::size_t bytes) {
  ++pages_;
  records_ += records;
  bytes_ += bytes;
  std::string stop = what_ + ": stopped after " + std::to_string(pages_) + " pages: ";
  if (!key.empty() && !seen_.insert(key).second) {
    return stop + "the API repeated " + std::string(shown) + " (it would page forever)";
  }
  if (records_ > limits_.max_records) {
    return stop + "more than " + std::to_string(limits_.max_records) +
           " records (the cap; narrow the query)";
  }
  if (bytes_ > limits_.max_bytes) {
    return stop + "more than " + std::to_string(limits_.max_bytes) + " bytes (the cap)";
  }
  if (pages_ >= limits_.max_pages && !key.empty()) {
    return stop + "the page cap of " + std::to_string(limits_.max_pages) +
           " pages was reached and the API still offers more";
  }
  if (!key.empty() && clock_.now() - started_ >= limits_.deadline) {
    return stop + "still paging after " + net::formatDuration(limits_.deadline) + " (the deadline)";
  }
  return std::nullopt;
}

std::string pageFingerprint(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "#%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace mediapath::reporter
