#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mediapath::probes {

/// The parts of a SIP response a probe needs to match it to its request and judge it
/// (RFC 3261 §7, §20). Hand-written because no packaged SIP parser is small enough to justify a
/// dependency; fuzzed by fuzz/sip_message_fuzzer.cc.
struct SipResponse {
  int status_code = 0;
  std::string reason;
  /// Every Via value, top first, split at commas (RFC 3261 §7.3.1).
  std::vector<std::string> vias;
  std::string top_via_branch;  ///< branch parameter of the top Via ("" if absent)
  std::string call_id;
  std::optional<std::uint32_t> cseq_number;
  std::string cseq_method;
  std::optional<std::size_t> content_length;
};

/// Parses a whole response (start line + headers; the body is ignored). Accepts CRLF or bare LF
/// line ends, folded header lines, compact header names (v, i, l) and any header-name case.
/// Returns nullopt for anything that is not a SIP/2.0 response with a 3-digit status; on failure
/// `error` (if given) says why.
std::optional<SipResponse> parseSipResponse(std::string_view message, std::string* error = nullptr);

/// The most bytes one message may take on a stream: the keep-alive CRLFs before it, its start
/// line and headers, and its body. An OPTIONS answer is a few hundred bytes; 16 KiB leaves room
/// for chatty servers while a hostile one is cut off long before it costs memory or time.
inline constexpr std::size_t kMaxSipMessageBytes = 16384;

/// Stream framing for SIP over TCP (RFC 3261 §18.3): bytes go in as they arrive, whole messages
/// come out. Keep-alive CRLFs (RFC 5626 §3.5.1) before a message are dropped but count toward its
/// `max_message_bytes`, so a peer sending only CRLFs fails as fast as one sending huge headers.
/// Each byte is searched for the end of the headers once: the search resumes where it stopped.
/// After an error the framer stays failed and returns no more messages.
///
/// Thread safety: none (one stream, one thread).
class SipStreamFramer {
 public:
  explicit SipStreamFramer(std::size_t max_message_bytes = kMaxSipMessageBytes)
      : max_(max_message_bytes) {}

  void append(std::string_view data);
  /// The next complete message (without the keep-alives before it), or nullopt when more bytes
  /// are needed or the stream failed (see error()).
  std::optional<std::string> next();
  bool failed() const { return !error_.empty(); }
  /// Why the stream can never frame a message: too many bytes before one, headers too long, no
  /// Content-Length, an unparsable start line. Contains no peer text.
  const std::string& error() const { return error_; }
  /// Bytes held (the message being read); never much more than max_message_bytes.
  std::size_t buffered() const { return buffer_.size(); }

 private:
  void dropKeepAlives();
  void fail(std::string why);

  std::size_t max_;
  std::string buffer_;                 ///< from the first byte of the current message on
  std::size_t keepalive_bytes_ = 0;    ///< CRLFs dropped before the current message
  std::size_t scanned_ = 0;            ///< buffer_ bytes already searched for the blank line
  std::optional<std::size_t> length_;  ///< the current message's length, once its headers are in
  std::string error_;
};

}  // namespace mediapath::probes
