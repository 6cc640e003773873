#include "agent/config/secrets.h"

#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "net/atomic_file.h"

namespace mediapath::agent {
namespace {

std::string readSecretFile(const std::string& path, const std::string& what) {
  std::string value;
  try {
    value = net::readFile(path);
  } catch (const std::system_error& e) {
    throw std::runtime_error("cannot read " + what + ": " + e.code().message());
  }
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
