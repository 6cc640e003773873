#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Text every library prints the same way: numbers, durations, "did you mean" suggestions. Here,
// in the base library, so that the config loader, the probes, the CLI and the tools agree.

namespace mediapath::net {

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo of it:
/// within 1 edit for words of up to three letters ("MX" is not a typo of "A"), else within a
/// third of the word's length (at least 2). Ties go to the earlier candidate.
std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

/// ASCII case-insensitive equality, for protocol tokens (HTTP and SIP header names).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

/// `value` with exactly `decimals` digits after the point ("12.35" for 12.345, 2).
std::string formatFixed(double value, int decimals);

/// Milliseconds with the precision the figure has, for people reading tables: three decimals
/// below 1 ms (a loopback TCP connect of 2 µs is "0.002", not "0.0"), two below 10 ms, one above.
std::string formatMillis(double ms);

/// The largest unit that divides the duration, as humans write it in the config: "2h", "5m",
/// "2s", "1500ms" ("0ms" for zero).
std::string formatDuration(std::chrono::milliseconds duration);

/// Text from a peer made safe for a log line, a terminal or a JSON record: control bytes (CR, LF,
/// ESC, NUL, DEL...) and bytes that are not valid UTF-8 become "\\xNN" (valid UTF-8 stays
/// readable), and more than `max_bytes` bytes are cut with "..." — never inside a character — so a
/// peer cannot forge log lines, drive the terminal, flood the log or make a JSON writer throw.
std::string printable(std::string_view text, std::size_t max_bytes = 256);

}  // namespace mediapath::net
