#include "reporter/audit/audit_trail.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "net/atomic_file.h"
#include "net/clock.h"
#include "net/json_input.h"

namespace mediapath::reporter {
namespace {

// A record is a few KiB (the evidence of a handful of candidates); a longer line was not
// written by the agent.
constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

// The hash of a record covers its canonical form (nlohmann sorts keys; dump() has no spaces)
// without the `sha256` field itself.
std::string recordHash(nlohmann::json record) {
  record.erase("sha256");
  return sha256Hex(record.dump());
}

net::JsonInput parseLine(std::string_view line) {
  net::JsonLimits limits;
  limits.max_bytes = kMaxLineBytes;
  return net::parseJson(line, limits);
}

// "" when `path` is a regular file (or, with `missing_ok`, does not exist); else why not.
std::string notARegularFile(const std::string& path, bool missing_ok) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return errno == ENOENT && missing_ok ? "" : std::strerror(errno);
  }
  if (S_ISDIR(st.st_mode)) return "is a directory, not a file";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  return "";
}

std::string readAt(int fd, off_t offset, std::size_t length) {
  std::string out(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    ssize_t n = ::pread(fd, out.data() + got, length - got, offset + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

// The offset just past the last '\n' in [0, end): where the line containing end - 1 starts
// (0 when there is none). Reads backwards in blocks, so opening a long trail costs its tail.
off_t lineStartBefore(int fd, off_t end) {
  constexpr off_t kBlock = 65536;
  while (end > 0) {
    off_t start = std::max<off_t>(0, end - kBlock);
    std::string block = readAt(fd, start, static_cast<std::size_t>(end - start));
    auto nl = block.rfind('\n');
    if (nl != std::string::npos) return start + static_cast<off_t>(nl) + 1;
    end = start;
  }
  return 0;
}

std::optional<std::size_t> seqOf(const nlohmann::json& record) {
  if (!record.is_object()) return std::nullopt;
  auto it = record.find("seq");
  if (it == record.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::size_t>();
}

std::string now() { return net::formatUtc(std::chrono::system_clock::now()); }

}  // namespace

std::string sha256Hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{len} * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

AuditTrail::AuditTrail(std::string path, const std::optional<AuditAnchor>& anchor)
    : path_(std::move(path)) {
  if (std::string why = notARegularFile(path_, /*missing_ok=*/true); !why.empty()) {
    throw std::runtime_error("cannot open audit trail " + path_ + ": " + why);
  }
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open audit trail " + path_ + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot open audit trail " + path_ + ": is not a regular file");
  }

  // Whole lines end at `complete`; anything after it is a torn append.
  off_t complete = lineStartBefore(fd_, st.st_size);
  std::string torn;
  if (complete < st.st_size) {
    std::size_t length = static_cast<std::size_t>(st.st_size - complete);
    torn = readAt(fd_, complete, std::min(length, kMaxLineBytes));
  }

  // The last non-empty whole line gives the chain's hash and the sequence.
  std::string last;
  for (off_t end = complete; end > 0 && last.empty();) {
    off_t start = lineStartBefore(fd_, end - 1);
    std::size_t length = static_cast<std::size_t>(end - 1 - start);
    last = readAt(fd_, start, std::min(length, kMaxLineBytes + 1));
    end = start;
  }
  last_hash_ = last.empty() ? kAuditGenesisHash : sha256Hex(last);
  if (!last.empty()) {
    auto in = parseLine(last);
    // A damaged last line (`audit --local --verify` reports it) must not restart the sequence
    // at 1: the anchor, if any, knows better than nothing.
    seq_ = in.ok() && seqOf(in.value) ? *seqOf(in.value) : (anchor ? anchor->seq : 0);
  }

  if (complete < st.st_size) quarantineTornTail(complete, torn);

  if (anchor && anchor->seq > seq_) {
    std::string note = "the state file anchors record " + std::to_string(anchor->seq) +
                       " but the trail ends at record " + std::to_string(seq_) +
                       ": its last records were deleted; the sequence continues after the anchor";
    std::size_t trail_last = seq_;
    seq_ = anchor->seq;
    append({{"time", now()},
            {"event", "audit_tail_missing"},
            {"anchor_seq", anchor->seq},
            {"trail_last_seq", trail_last},
            {"note", note}});
    repairs_.push_back(note);
  } else if (anchor && anchor->seq == seq_ && anchor->seq > 0 && anchor->sha256 != last_hash_) {
    std::string note = "the trail's last record " + std::to_string(seq_) +
                       " is not the one the state file anchors: it was replaced";
    append({{"time", now()},
            {"event", "audit_tail_replaced"},
            {"anchor_seq", anchor->seq},
            {"anchor_sha256", anchor->sha256},
            {"note", note}});
    repairs_.push_back(note);
  }
  if (complete < st.st_size) {
    std::string note = "a torn last line (" + std::to_string(st.st_size - complete) +
                       " bytes, an append cut short by a crash or a full disk) was moved to " +
                       path_ + ".quarantine";
    append({{"time", now()},
            {"event", "audit_line_quarantined"},
            {"bytes", st.st_size - complete},
            {"quarantine", path_ + ".quarantine"},
            {"line_sha256", sha256Hex(torn)},
            {"note", note}});
    repairs_.push_back(note);
  }
}

// Keeps the torn bytes (they may be most of a record worth reading) before cutting them off,
// so that the next record starts on its own line and the chain goes on from the last whole one.
void AuditTrail::quarantineTornTail(long long complete_bytes, const std::string& torn) {
  std::string quarantine = path_ + ".quarantine";
  int q = ::open(quarantine.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (q < 0) {
    throw std::runtime_error("cannot open " + quarantine + ": " + std::strerror(errno));
  }
  int error = net::writeAll(q, torn + "\n");
  if (error == 0 && ::fsync(q) != 0) error = errno;
  ::close(q);
  if (error != 0) {
    throw std::runtime_error("cannot write " + quarantine + ": " + std::strerror(error));
  }
  if (::ftruncate(fd_, static_cast<off_t>(complete_bytes)) != 0 || ::fsync(fd_) != 0) {
    throw std::runtime_error("cannot cut the torn line off " + path_ + ": " + std::strerror(errno));
  }
}

AuditTrail::~AuditTrail() {
  if (fd_ >= 0) ::close(fd_);
}

std::string AuditTrail::append(nlohmann::json record) {
  record["seq"] = ++seq_;
  record["prev_sha256"] = last_hash_;
  record["sha256"] = recordHash(record);
  std::string line = record.dump() + "\n";
  if (int error = net::writeAll(fd_, line); error != 0) {
    throw std::runtime_error("cannot append to audit trail " + path_ + ": " + std::strerror(error));
  }
  if (::fsync(fd_) != 0) {
    throw std::runtime_error("cannot fsync audit trail " + path_ + ": " + std::strerror(errno));
  }
  line.pop_back();
  last_hash_ = sha256Hex(line);
  return line;
}

std::vector<nlohmann::json> readAuditTrail(const std::string& path) {
  if (std::string why = notARegularFile(path, /*missing_ok=*/false); !why.empty()) {
    throw std::runtime_error("cannot read audit trail " + path + ": " + why);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open audit trail " + path + ": " + std::strerror(errno));
  std::vector<nlohmann::json> out;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    auto parsed = parseLine(line);
    if (!parsed.ok() || !parsed.value.is_object()) {
      throw std::runtime_error(path + ": line " + std::to_string(n) + " is not a JSON object");
    }
    out.push_back(std::move(parsed.value));
  }
  return out;
}

AuditVerification verifyAuditTrail(const std::string& path,
                                   const std::optional<AuditAnchor>& anchor) {
  AuditVerification v;
  if (std::string why = notARegularFile(path, /*missing_ok=*/false); !why.empty()) {
    v.problems.push_back({0, path + " " + why});
    return v;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    v.problems.push_back({0, "cannot open " + path + ": " + std::strerror(errno)});
    return v;
  }
  std::string expected_prev = kAuditGenesisHash;
  std::optional<std::size_t> previous_seq;
  bool anchored_seen = false;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) {
      v.problems.push_back({n, "empty line"});
      continue;
    }
    ++v.records;
    auto parsed = parseLine(line);
    if (!parsed.ok() || !parsed.value.is_object()) {
      v.problems.push_back({n, "not a JSON object"});
      expected_prev = sha256Hex(line);
      previous_seq.reset();
      continue;
    }
    const nlohmann::json& record = parsed.value;
    std::string canonical = record.dump();
    bool intact = false;
    if (!record.contains("sha256") || !record["sha256"].is_string()) {
      v.problems.push_back({n, "no sha256 field"});
    } else if (record["sha256"].get<std::string>() != recordHash(record)) {
      v.problems.push_back({n, "record was modified (its sha256 does not match its content)"});
    } else {
      intact = true;
      if (canonical != line) {
        v.problems.push_back({n,
                              "record was reformatted (its content is intact but its bytes are "
                              "not the form it was written in)"});
      }
    }
    if (record.value("prev_sha256", std::string()) != expected_prev) {
      v.problems.push_back({n,
                            "chain broken: prev_sha256 does not match the line before "
                            "(a line was removed, inserted or reordered)"});
    }
    auto seq = seqOf(record);
    if (!seq) {
      v.problems.push_back({n, "no seq field"});
    } else if (v.records == 1 && *seq != 1) {
      v.problems.push_back({n, "the trail starts at record " + std::to_string(*seq) + ": " +
                                   std::to_string(*seq - 1) + " records before it are missing"});
    } else if (previous_seq && *seq != *previous_seq + 1) {
      v.problems.push_back({n, *seq > *previous_seq + 1
                                   ? "seq jumps from " + std::to_string(*previous_seq) + " to " +
                                         std::to_string(*seq) + ": " +
                                         std::to_string(*seq - *previous_seq - 1) +
                                         " records are missing"
                                   : "seq goes from " + std::to_string(*previous_seq) + " to " +
                                         std::to_string(*seq) + " (repeated or reordered)"});
    }
    previous_seq = seq;
    // The next link was computed over the bytes as written: the canonical form, when the
    // content is intact (so a reformatted line is reported once, on its own line).
    std::string hash = sha256Hex(intact ? canonical : line);
    if (anchor && seq && *seq == anchor->seq) {
      anchored_seen = true;
      if (hash != anchor->sha256) {
        v.problems.push_back({n, "is not the record the state file anchors as record " +
                                     std::to_string(anchor->seq) + " (it was replaced)"});
      }
    }
    expected_prev = hash;
  }
  if (anchor && anchor->seq > 0 && !anchored_seen) {
    v.problems.push_back({0, "the state file anchors record " + std::to_string(anchor->seq) +
                                 ", which the trail no longer holds (its last records were "
                                 "deleted)"});
  }
  return v;
}

}  // namespace mediapath::reporter
