#include "probes/sip_message.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "net/text.h"

namespace mediapath::probes {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t'; }
bool isLineEnd(char c) { return c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (isSpace(s.front()) || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (isSpace(s.back()) || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

/// Position just past the blank line ending the headers, and where the headers end.
struct HeaderEnd {
  std::size_t headers_end;  ///< index of the blank line's first char
  std::size_t body_start;
};

std::optional<HeaderEnd> findHeaderEnd(std::string_view data, std::size_t from = 0) {
  // Accept "\r\n\r\n" and "\n\n" (and mixes such as "\n\r\n").
  for (std::size_t i = from; i < data.size(); ++i) {
    if (data[i] != '\n') continue;
    std::size_t j = i + 1;
    if (j < data.size() && data[j] == '\r') ++j;
    if (j < data.size() && data[j] == '\n') return HeaderEnd{i + 1, j + 1};
  }
  return std::nullopt;
}

/// Splits the header block into logical lines, joining folded continuation lines.
std::vector<std::string> logicalLines(std::string_view block) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t nl = block.find('\n', pos);
    std::string_view line =
        block.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? block.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (isSpace(line.front()) && !lines.empty()) {
      lines.back() += ' ';
      lines.back() += trim(line);
    } else {
      lines.emplace_back(line);
    }
  }
  return lines;
}

/// Splits at commas that are outside quotes and angle brackets.
std::vector<std::string> splitCommas(std::string_view value) {
  std::vector<std::string> out;
  bool quoted = false;
  int angle = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '"' && (i == 0 || value[i - 1] != '\\')) quoted = !quoted;
    if (quoted) continue;
    if (c == '<') ++angle;
    if (c == '>' && angle > 0) --angle;
    if (c == ',' && angle == 0) {
      auto part = trim(value.substr(start, i - start));
      if (!part.empty()) out.emplace_back(part);
      start = i + 1;
    }
  }
  auto last = trim(value.substr(start));
  if (!last.empty()) out.emplace_back(last);
  return out;
}

std::string viaBranch(std::string_view via) {
  std::size_t pos = 0;
  while ((pos = via.find(';', pos)) != std::string_view::npos) {
    ++pos;
    std::size_t end = via.find_first_of(";,", pos);
    std::string_view param =
        via.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    std::size_t eq = param.find('=');
    if (eq != std::string_view::npos &&
        net::equalsIgnoreCase(trim(param.substr(0, eq)), "branch")) {
      return std::string(trim(param.substr(eq + 1)));
    }
  }
  return {};
}

template <typename T>
std::optional<T> parseNumber(std::string_view s) {
  s = trim(s);
  T value{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

std::string_view canonicalName(std::string_view name) {
  // Compact forms (RFC 3261 §7.3.3) of the headers we read.
  if (net::equalsIgnoreCase(name, "v")) return "via";
  if (net::equalsIgnoreCase(name, "i")) return "call-id";
  if (net::equalsIgnoreCase(name, "l")) return "content-length";
  return name;
}

bool fail(std::string* error, const char* why) {
  if (error != nullptr) *error = why;
  return false;
}

bool parseStatusLine(std::string_view line, SipResponse& out, std::string* error) {
  constexpr std::string_view kVersion = "SIP/2.0 ";
  if (line.size() < kVersion.size() ||
      !net::equalsIgnoreCase(line.substr(0, kVersion.size()), kVersion)) {
    return fail(error, "not a SIP/2.0 response");
  }
  line.remove_prefix(kVersion.size());
  while (!line.empty() && isSpace(line.front())) line.remove_prefix(1);
  if (line.size() < 3 || !std::all_of(line.begin(), line.begin() + 3, [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    return fail(error, "bad status code");
  }
  if (line.size() > 3 && !isSpace(line[3])) return fail(error, "bad status code");
  out.status_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (out.status_code < 100 || out.status_code > 699) return fail(error, "bad status code");
  out.reason = std::string(trim(line.substr(3)));
  return true;
}

/// Reads one logical header line into `out` (headers the probe does not use are skipped).
bool applyHeader(std::string_view line, SipResponse& out, std::string* error) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return fail(error, "header line without ':'");
  std::string_view name = canonicalName(trim(line.substr(0, colon)));
  std::string_view value = trim(line.substr(colon + 1));
  if (net::equalsIgnoreCase(name, "via")) {
    for (auto& via : splitCommas(value)) out.vias.push_back(std::move(via));
  } else if (net::equalsIgnoreCase(name, "call-id")) {
    out.call_id = std::string(value);
  } else if (net::equalsIgnoreCase(name, "cseq")) {
    std::size_t sp = value.find_first_of(" \t");
    if (sp == std::string_view::npos) return fail(error, "bad CSeq");
    out.cseq_number = parseNumber<std::uint32_t>(value.substr(0, sp));
    out.cseq_method = std::string(trim(value.substr(sp)));
    if (!out.cseq_number || out.cseq_method.empty()) return fail(error, "bad CSeq");
  } else if (net::equalsIgnoreCase(name, "content-length")) {
    out.content_length = parseNumber<std::size_t>(value);
    if (!out.content_length) return fail(error, "bad Content-Length");
  }
  return true;
}

}  // namespace

std::optional<SipResponse> parseSipResponse(std::string_view message, std::string* error) {
  // Keep-alive CRLFs may precede a message on a stream.
  while (!message.empty() && (message.front() == '\r' || message.front() == '\n')) {
    message.remove_prefix(1);
  }
  auto end = findHeaderEnd(message);
  std::string_view block = end ? message.substr(0, end->headers_end) : message;
  auto lines = logicalLines(block);
  if (lines.empty()) {
    fail(error, "empty message");
    return std::nullopt;
  }
  SipResponse out;
  if (!parseStatusLine(lines.front(), out, error)) return std::nullopt;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (!applyHeader(lines[i], out, error)) return std::nullopt;
  }
  if (!out.vias.empty()) out.top_via_branch = viaBranch(out.vias.front());
  return out;
}

void SipStreamFramer::append(std::string_view data) {
  if (failed()) return;
  buffer_.append(data);
  dropKeepAlives();
}

void SipStreamFramer::dropKeepAlives() {
  if (buffer_.empty() || !isLineEnd(buffer_.front())) return;  // no message start to skip to
  std::size_t n = 0;
  while (n < buffer_.size() && isLineEnd(buffer_[n])) ++n;
  buffer_.erase(0, n);
  keepalive_bytes_ += n;
  if (keepalive_bytes_ > max_) {
    fail("more than " + std::to_string(max_) + " bytes of keep-alive CRLFs and no message");
  }
}

void SipStreamFramer::fail(std::string why) {
  error_ = std::move(why);
  buffer_.clear();
  buffer_.shrink_to_fit();
}

std::optional<std::string> SipStreamFramer::next() {
  if (failed()) return std::nullopt;
  if (!length_) {
    auto end = findHeaderEnd(buffer_, scanned_);
    if (!end) {
      // Positions before the last two had all the bytes a blank line needs: never again.
      scanned_ = buffer_.size() < 2 ? 0 : buffer_.size() - 2;
      if (keepalive_bytes_ + buffer_.size() > max_) {
        fail("no end of headers within " + std::to_string(max_) + " bytes");
      }
      return std::nullopt;
    }
    if (keepalive_bytes_ + end->body_start > max_) {
      fail("headers longer than " + std::to_string(max_) + " bytes");
      return std::nullopt;
    }
    std::string why;
    auto parsed = parseSipResponse(std::string_view(buffer_).substr(0, end->body_start), &why);
    if (!parsed) {
      fail("unparsable response (" + why + ")");
      return std::nullopt;
    }
    // On a stream, a message without Content-Length cannot be delimited (RFC 3261 §18.3).
    if (!parsed->content_length) {
      fail("response without Content-Length");
      return std::nullopt;
    }
    if (*parsed->content_length > max_ - keepalive_bytes_ - end->body_start) {
      fail("message longer than " + std::to_string(max_) + " bytes");
      return std::nullopt;
    }
    length_ = end->body_start + *parsed->content_length;
  }
  if (buffer_.size() < *length_) return std::nullopt;
  std::string message = buffer_.substr(0, *length_);
  buffer_.erase(0, *length_);
  length_.reset();
  scanned_ = 0;
  keepalive_bytes_ = 0;
  dropKeepAlives();
  return message;
}

}  // namespace mediapath::probes
