#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mediapath::tools::emulator {

/// "250ms", "2s", "1m" → milliseconds; nullopt when malformed or without a unit.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

/// "10/s", "600/m" → requests per second; nullopt when malformed or not positive.
std::optional<double> parseRate(std::string_view text);

/// ISO-8601 instant: "2026-11-27T10:00:00Z", "...T10:00:00.123Z", "...T10:00:00+02:00".
std::optional<std::chrono::system_clock::time_point> parseIsoTime(std::string_view text);
/// "2026-11-27T10:00:00.123Z" (UTC, milliseconds).
std::string formatIsoTime(std::chrono::system_clock::time_point t);

struct Interval {
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point end;
};
/// "start/end" with both ends ISO-8601 instants and start < end.
std::optional<Interval> parseInterval(std::string_view text);

/// IPv4 or IPv6 CIDR with an explicit prefix length ("10.0.0.0/8", "2001:db8::/32"), as Go's
/// net.ParseCIDR accepts them (host bits may be set).
bool isValidCidr(std::string_view text);

/// A version-4 UUID string from two 64-bit random values.
std::string makeUuid(std::uint64_t hi, std::uint64_t lo);

/// Lower-case copy.
std::string toLower(std::string_view text);

/// Decodes an application/x-www-form-urlencoded body into a JSON object of strings.
nlohmann::json parseForm(std::string_view body);

/// The media type of a Content-Type value, lower-case, without parameters.
std::string mediaType(std::string_view content_type);

}  // namespace mediapath::tools::emulator

namespace mediapath::tools::emulator {

/// Writes `content` to a temporary file next to `path` and renames it over `path`, so readers
/// (a test polling a port file) see either nothing or the whole content. Throws
/// std::runtime_error naming the path. (Own copy rather than net's: the emulator links nothing
/// of the product but headers, so a half-finished change there cannot break the test harness.)
void writeFileAtomically(const std::string& path, const std::string& content);

/// Reads a whole file; throws std::runtime_error naming the path.
std::string readWholeFile(const std::string& path);

}  // namespace mediapath::tools::emulator
