#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.h"

namespace mediapath::agent {

/// The config is read whole into memory: a larger file (or an endless one such as /dev/zero) is
/// refused before it is parsed. The example config with every option is about 6 KiB.
constexpr std::size_t kMaxConfigBytes = std::size_t{4} << 20;  // 4 MiB
/// Objects and arrays inside each other; the config's own shape is at most 5 deep.
constexpr std::size_t kMaxConfigDepth = 64;
/// The longest duration a config key accepts (interval, timeout, min_hold, retry_budget...).
constexpr Duration kMaxConfigDuration = std::chrono::hours(24);

/// One problem found in a config: where (JSON pointer, empty for the whole file) and what.
struct Diagnostic {
  std::string pointer;
  std::string message;
};

struct LoadResult {
  std::optional<Config> config;  ///< set only when there are no errors
  std::vector<Diagnostic> errors;
};

/// Parses and checks a config: JSON with comments, strict keys, types, ranges, references and
/// cross-field rules. Reports every problem found, not only the first. `source` names the file in
/// messages and is stored in Config::source.
LoadResult parseConfig(std::string_view text, const std::string& source);

/// Reads `path` and parses it; a missing or unreadable file is a single diagnostic.
LoadResult loadConfigFile(const std::string& path);

/// "site.json: /targets/3/port: 70000 is not a valid port (1-65535)".
std::string formatDiagnostic(const std::string& source, const Diagnostic& d);

/// Parses "250ms", "5s", "2m", "1h" (also fractional "1.5s"). nullopt when malformed.
std::optional<Duration> parseDuration(std::string_view text);

/// Checks an IPv4/IPv6 CIDR. Returns an empty string when valid, else the problem; a CIDR with
/// host bits set names the network form ("has host bits set; did you mean 10.0.0.0/8?").
std::string checkCidr(std::string_view cidr);

/// True for an IPv4/IPv6 literal or a syntactically valid DNS name.
bool isValidHost(const std::string& host);

}  // namespace mediapath::agent
