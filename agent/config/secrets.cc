#include "agent/config/secrets.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "net/json_input.h"

namespace mediapath::agent {
namespace {

// An OAuth client secret is tens of bytes; a file far larger (or a device) is a mistake.
constexpr std::size_t kMaxSecretBytes = 4096;

std::string readSecretFile(const std::string& path, const std::string& what) {
  net::FileInput file = net::readFileBounded(path, kMaxSecretBytes);
  if (!file.ok()) throw std::runtime_error("cannot read " + what + ": " + file.error);
  std::string value = std::move(file.text);
  // One final line end, as editors write it (LF or CRLF), is not part of the secret.
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
