#include "net/json_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mediapath::net {
namespace {

using json = nlohmann::json;

void appendToken(std::string& pointer, std::string_view token) {
  pointer += '/';
  pointer += escapePointerToken(token);
}

// nlohmann's messages start "[json.exception.parse_error.101] parse error at line 3, column 5: ";
// the position is reported by us, so keep only what follows.
std::string exceptionDetail(const std::string& what) {
  std::string detail = what;
  if (detail.rfind("[json.exception.", 0) == 0) {
    auto close = detail.find("] ");
    if (close != std::string::npos) detail.erase(0, close + 2);
  }
  if (detail.rfind("parse error", 0) == 0) {
    auto colon = detail.find(": ");
    if (colon != std::string::npos) detail.erase(0, colon + 2);
  }
  return detail;
}

// Builds the DOM through nlohmann's own SAX DOM builder, watching depth, keys and the path so
// that an error can name the pointer. Returning false stops the parser at once.
class BoundedSax {
 public:
  BoundedSax(json& result, std::string_view text, const JsonLimits& limits)
      : dom_(result, /*allow_exceptions=*/false), text_(text), limits_(limits) {}

  bool null() { return value() && dom_.null(); }
  bool boolean(bool v) { return value() && dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return value() && dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value() && dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return value() && dom_.number_float(v, s);
  }
  bool string(json::string_t& v) { return value() && dom_.string(v); }
  bool binary(json::binary_t& v) { return value() && dom_.binary(v); }

  bool start_object(std::size_t n) { return open(/*array=*/false) && dom_.start_object(n); }
  bool start_array(std::size_t n) { return open(/*array=*/true) && dom_.start_array(n); }
  bool end_object() {
    frames_.pop_back();
    return dom_.end_object();
  }
  bool end_array() {
    frames_.pop_back();
    return dom_.end_array();
  }

  bool key(json::string_t& k) {
    Frame& f = frames_.back();
    ++f.members;
    auto [it, fresh] = f.keys.try_emplace(k, f.members);
    f.token = k;
    if (!fresh && limits_.unique_keys) {
      fail(JsonInputError::Kind::kDuplicateKey, "duplicate key \"" + k + "\" (members " +
                                                    std::to_string(it->second) + " and " +
                                                    std::to_string(f.members) + " of this object)");
      return false;
    }
    return dom_.key(k);
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    JsonInputError e;
    e.kind = JsonInputError::Kind::kSyntax;
    std::tie(e.line, e.column) = lineColumnAt(text_, position == 0 ? 0 : position - 1);
    e.detail = exceptionDetail(ex.what());
    error_ = std::move(e);
    return false;
  }

  std::optional<JsonInputError>& error() { return error_; }

 private:
  struct Frame {
    bool array = false;
    std::size_t next_index = 0;
    std::size_t members = 0;
    std::string token;  // the member or element being read
    std::unordered_map<std::string, std::size_t> keys;
  };

  // Every value, scalar or container, takes the next index of an enclosing array.
  bool value() {
    if (!frames_.empty() && frames_.back().array) {
      frames_.back().token = std::to_string(frames_.back().next_index++);
    }
    return true;
  }

  bool open(bool array) {
    value();
    if (frames_.size() >= limits_.max_depth) {
      fail(JsonInputError::Kind::kTooDeep,
           "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
      return false;
    }
    frames_.push_back(Frame{array, 0, 0, {}, {}});
    return true;
  }

  void fail(JsonInputError::Kind kind, std::string detail) {
    JsonInputError e;
    e.kind = kind;
    for (const Frame& f : frames_) appendToken(e.pointer, f.token);
    e.detail = std::move(detail);
    error_ = std::move(e);
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::string_view text_;
  const JsonLimits& limits_;
  std::vector<Frame> frames_;
  std::optional<JsonInputError> error_;
};

}  // namespace

std::string escapePointerToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string JsonInputError::describe() const {
  if (line > 0) {
    return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + detail;
  }
  if (!pointer.empty()) return "at " + pointer + ": " + detail;
  return detail;
}

std::pair<std::size_t, std::size_t> lineColumnAt(std::string_view text, std::size_t byte) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

JsonInput parseJson(std::string_view text, const JsonLimits& limits) {
  JsonInput out;
  if (text.size() > limits.max_bytes) {
    JsonInputError e;
    e.kind = JsonInputError::Kind::kTooLarge;
    e.detail = "is " + std::to_string(text.size()) + " bytes, more than the limit of " +
               std::to_string(limits.max_bytes);
    out.error = std::move(e);
    return out;
  }
  BoundedSax sax(out.value, text, limits);
  bool ok = json::sax_parse(text, &sax, json::input_format_t::json, /*strict=*/true,
                            /*ignore_comments=*/limits.comments);
  if (!ok || sax.error()) {
    out.error = sax.error() ? std::move(*sax.error())
                            : JsonInputError{JsonInputError::Kind::kSyntax, "", 0, 0,
                                             "not a complete JSON document"};
    out.value = json();  // a partial document must never be mistaken for a result
  }
  return out;
}

FileInput readFileBounded(const std::string& path, std::size_t max_bytes) {
  FileInput out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    out.error = "is a directory";
    return out;
  }
  // Read in chunks up to one byte past the cap: that byte proves the file is too long without
  // trusting st_size (pipes and devices have none, /dev/zero never ends).
  char chunk[65536];
  while (out.text.size() <= max_bytes) {
    std::size_t want = std::min(sizeof chunk, max_bytes + 1 - out.text.size());
    ssize_t n = ::read(fd, chunk, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = std::strerror(errno);
      break;
    }
    if (n == 0) break;
    out.text.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (out.error.empty() && out.text.size() > max_bytes) {
    out.error = "is larger than " + std::to_string(max_bytes) + " bytes";
  }
  if (!out.error.empty()) out.text.clear();
  return out;
}

}  // namespace mediapath::net
