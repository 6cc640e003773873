#include "agent/config/secrets.h"

#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "net/json_input.h"

namespace mediapath::agent {
namespace {

// A secret is a password or a client secret: far below this. The cap keeps a mistaken path
// (/dev/zero, a log file) from being read into memory whole.
constexpr std::size_t kMaxSecretBytes = std::size_t{64} << 10;  // 64 KiB

std::string readSecretFile(const std::string& path, const std::string& what) {
  net::FileInput file = net::readFileBounded(path, kMaxSecretBytes);
  if (!file.ok()) throw std::runtime_error("cannot read " + what + ": " + file.error);
  std::string value = std::move(file.text);
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  return value;
}

}  // namespace

std::string describeSecret(const SecretRef& ref) {
  if (!ref.env.empty()) return "environment variable " + ref.env;
  if (!ref.file.empty()) return "file " + ref.file;
  if (!ref.credential.empty()) return "credential " + ref.credential;
  return "no secret source";
}

std::string readSecret(const SecretRef& ref) {
  std::string value;
  if (!ref.env.empty()) {
    const char* v = std::getenv(ref.env.c_str());
    if (v == nullptr) throw std::runtime_error(describeSecret(ref) + " is not set");
    value = v;
  } else if (!ref.file.empty()) {
    value = readSecretFile(ref.file, describeSecret(ref));
  } else if (!ref.credential.empty()) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (dir == nullptr || *dir == '\0') {
      throw std::runtime_error(describeSecret(ref) +
                               ": CREDENTIALS_DIRECTORY is not set (LoadCredential= in the unit)");
    }
    value = readSecretFile(std::string(dir) + "/" + ref.credential, describeSecret(ref));
  } else {
    throw std::runtime_error("no secret source configured");
  }
  if (value.empty()) throw std::runtime_error(describeSecret(ref) + " is empty");
  return value;
}

}  // namespace mediapath::agent
