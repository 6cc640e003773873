#include "reporter/audit/audit_trail.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "net/atomic_file.h"

namespace mediapath::reporter {
namespace {

// The hash of a record covers its canonical form (nlohmann sorts keys; dump() has no spaces)
// without the `sha256` field itself.
std::string recordHash(nlohmann::json record) {
  record.erase("sha256");
  return sha256Hex(record.dump());
}

std::string lastLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

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

AuditTrail::AuditTrail(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open audit trail " + path_ + ": " + std::strerror(errno));
  }
  std::string last = lastLine(path_);
  last_hash_ = last.empty() ? kAuditGenesisHash : sha256Hex(last);
  if (!last.empty()) {
    try {
      seq_ = nlohmann::json::parse(last).value("seq", std::size_t{0});
    } catch (const nlohmann::json::exception&) {
      seq_ = 0;  // a damaged last line; `audit --local --verify` reports it
    }
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
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open audit trail " + path + ": " + std::strerror(errno));
  std::vector<nlohmann::json> out;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      throw std::runtime_error(path + ": line " + std::to_string(n) + " is not JSON");
    }
  }
  return out;
}

AuditVerification verifyAuditTrail(const std::string& path) {
  AuditVerification v;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    v.problems.push_back({0, "cannot open " + path + ": " + std::strerror(errno)});
    return v;
  }
  std::string expected_prev = kAuditGenesisHash;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) {
      v.problems.push_back({n, "empty line"});
      continue;
    }
    ++v.records;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      v.problems.push_back({n, "not JSON"});
      expected_prev = sha256Hex(line);
      continue;
    }
    if (!record.is_object() || !record.contains("sha256") || !record["sha256"].is_string()) {
      v.problems.push_back({n, "no sha256 field"});
    } else if (record["sha256"].get<std::string>() != recordHash(record)) {
      v.problems.push_back({n, "record was modified (its sha256 does not match its content)"});
    }
    if (record.is_object() && record.value("prev_sha256", std::string()) != expected_prev) {
      v.problems.push_back({n,
                            "chain broken: prev_sha256 does not match the line before "
                            "(a line was removed, inserted or reordered)"});
    }
    expected_prev = sha256Hex(line);
  }
  return v;
}

}  // namespace mediapath::reporter
