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

/// Stream framing for SIP over TCP: the length of the first complete message in `buffer`
/// (headers + Content-Length body), 0 if more bytes are needed, or nullopt if the buffer can never
/// hold a valid message (no Content-Length, or headers larger than `max_header_bytes`).
std::optional<std::size_t> sipMessageLength(std::string_view buffer,
                                            std::size_t max_header_bytes = 65536);

}  // namespace mediapath::probes
