#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

// The one way external JSON enters the agent: the config file, Genesys API bodies, the state file
// and audit records. Every byte of it is hostile until parsed here, so the reader is bounded
// (size, nesting depth), refuses duplicate keys (a silent "last one wins" hides a typo or an
// attack), and never throws: every problem comes back as one error naming where it is. The
// parser is nlohmann's SAX parser, which is iterative, so depth costs heap, not stack.

namespace mediapath::net {

struct JsonLimits {
  std::size_t max_bytes = std::size_t{4} << 20;
  /// Objects and arrays inside each other; 64 is far beyond any shape the agent reads.
  std::size_t max_depth = 64;
  /// `//` and `/* */` comments, for files people write (the config).
  bool comments = false;
  /// Reject an object that names the same key twice.
  bool unique_keys = true;
};

struct JsonInputError {
  enum class Kind { kSyntax, kTooLarge, kTooDeep, kDuplicateKey };
  Kind kind = Kind::kSyntax;
  /// RFC 6901 pointer to the value at fault ("" for the document or when unknown).
  std::string pointer;
  /// 1-based position in the text (0 when it does not apply, e.g. too large).
  std::size_t line = 0;
  std::size_t column = 0;
  /// What is wrong, without the position: "syntax error while parsing value - unexpected '}'...",
  /// "nested deeper than 64 levels", "duplicate key \"port\" (members 2 and 5 of this object)".
  std::string detail;

  /// One sentence: "line 3, column 5: <detail>" or "at /a/b: <detail>" or the detail alone.
  std::string describe() const;
};

// NOLINTNEXTLINE(bugprone-exception-escape): a json member; an allocation failure ends the agent
struct JsonInput {
  nlohmann::json value;
  std::optional<JsonInputError> error;
  bool ok() const { return !error.has_value(); }
};

/// Parses `text` within `limits`. Never throws (short of bad_alloc).
JsonInput parseJson(std::string_view text, const JsonLimits& limits);

/// An RFC 6901 reference token: "~" becomes "~0" and "/" becomes "~1".
std::string escapePointerToken(std::string_view token);

/// "line L, column C" of byte offset `byte` in `text` (1-based).
std::pair<std::size_t, std::size_t> lineColumnAt(std::string_view text, std::size_t byte);

struct FileInput {
  std::string text;
  /// Empty on success; else why ("is a directory", "is larger than 4194304 bytes", strerror).
  std::string error;
  bool ok() const { return error.empty(); }
};

/// Reads at most `max_bytes` from `path`: a directory is an error, a longer file (or an endless
/// device such as /dev/zero) is an error after reading max_bytes + 1, never an allocation of
/// whatever the file claims. Never throws (short of bad_alloc).
FileInput readFileBounded(const std::string& path, std::size_t max_bytes);

}  // namespace mediapath::net
