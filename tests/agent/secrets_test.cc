// readSecret from each source the config may name: environment variable, file, systemd
// credential. Every failure names where the secret should have been, never the secret.
#include "agent/config/secrets.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace mediapath::agent {
namespace {

using testing::TempDir;

constexpr const char* kSecret = "s3cr3t-Value";

/// Sets or unsets an environment variable for one test and restores its old value.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

SecretRef fromEnv(std::string name) { return SecretRef{std::move(name), "", ""}; }
SecretRef fromFile(std::string path) { return SecretRef{"", std::move(path), ""}; }
SecretRef fromCredential(std::string name) { return SecretRef{"", "", std::move(name)}; }

// The message of the std::runtime_error readSecret throws ("" when it returns).
std::string errorOf(const SecretRef& ref) {
  try {
    readSecret(ref);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(SecretsTest, EnvironmentVariableIsReadAsIs) {
  ScopedEnv env("MEDIAPATH_TEST_SECRET", std::string(kSecret) + "\n");
  // No newline stripping for variables: only files are written with echo.
  EXPECT_EQ(readSecret(fromEnv("MEDIAPATH_TEST_SECRET")), std::string(kSecret) + "\n");
  EXPECT_EQ(describeSecret(fromEnv("MEDIAPATH_TEST_SECRET")),
            "environment variable MEDIAPATH_TEST_SECRET");
}

TEST(SecretsTest, UnsetOrEmptyEnvironmentVariableNamesTheVariable) {
  {
    ScopedEnv env("MEDIAPATH_TEST_SECRET", std::nullopt);
    EXPECT_EQ(errorOf(fromEnv("MEDIAPATH_TEST_SECRET")),
              "environment variable MEDIAPATH_TEST_SECRET is not set");
  }
  {
    ScopedEnv env("MEDIAPATH_TEST_SECRET", "");
    EXPECT_EQ(errorOf(fromEnv("MEDIAPATH_TEST_SECRET")),
              "environment variable MEDIAPATH_TEST_SECRET is empty");
  }
}

TEST(SecretsTest, ScopedEnvRestoresThePreviousValue) {
  ScopedEnv outer("MEDIAPATH_TEST_SECRET", "outer");
  { ScopedEnv inner("MEDIAPATH_TEST_SECRET", std::nullopt); }
  ASSERT_NE(std::getenv("MEDIAPATH_TEST_SECRET"), nullptr);
  EXPECT_STREQ(std::getenv("MEDIAPATH_TEST_SECRET"), "outer");
}

TEST(SecretsTest, FileDropsOneTrailingLineEndAndNothingElse) {
  TempDir tmp;
  struct Case {
    std::string content;
    std::string expected;
  };
  // What the code does: one "\n" is dropped, then one "\r" (so a CRLF line end goes too, and a
  // lone trailing "\r"); a second newline, spaces and tabs are part of the secret.
  for (const Case& c :
       {Case{"abc", "abc"}, Case{"abc\n", "abc"}, Case{"abc\r\n", "abc"}, Case{"abc\r", "abc"},
        Case{"abc\n\n", "abc\n"}, Case{" abc \t\n", " abc \t"}, Case{"a\nb\n", "a\nb"}}) {
    std::string path = tmp.write("secret", c.content);
    EXPECT_EQ(readSecret(fromFile(path)), c.expected)
        << "content: " << ::testing::PrintToString(c.content);
  }
  EXPECT_EQ(describeSecret(fromFile("/etc/x")), "file /etc/x");
}

TEST(SecretsTest, MissingOrEmptyFileNamesThePath) {
  TempDir tmp;
  std::string missing = tmp.file("no-such-secret");
  EXPECT_EQ(errorOf(fromFile(missing)),
            "cannot read file " + missing + ": No such file or directory");
  std::string newline_only = tmp.write("newline-only", "\n");
  EXPECT_EQ(errorOf(fromFile(newline_only)), "file " + newline_only + " is empty");
  // A directory, or an endless device, is said to be one (read with net::readFileBounded).
  EXPECT_EQ(errorOf(fromFile(tmp.path())), "cannot read file " + tmp.path() + ": is a directory");
  EXPECT_EQ(errorOf(fromFile("/dev/zero")),
            "cannot read file /dev/zero: is larger than 65536 bytes");
}

TEST(SecretsTest, CredentialIsReadFromTheCredentialsDirectory) {
  TempDir tmp;
  tmp.write("turn-password", std::string(kSecret) + "\n");
  ScopedEnv dir("CREDENTIALS_DIRECTORY", tmp.path());
  EXPECT_EQ(readSecret(fromCredential("turn-password")), kSecret);
  EXPECT_EQ(describeSecret(fromCredential("turn-password")), "credential turn-password");
}

TEST(SecretsTest, MissingCredentialNamesTheCredential) {
  TempDir tmp;
  {
    ScopedEnv dir("CREDENTIALS_DIRECTORY", tmp.path());
    EXPECT_EQ(errorOf(fromCredential("turn-password")),
              "cannot read credential turn-password: No such file or directory");
  }
  for (const std::optional<std::string>& unset :
       {std::optional<std::string>(), std::optional<std::string>("")}) {
    ScopedEnv dir("CREDENTIALS_DIRECTORY", unset);
    EXPECT_EQ(errorOf(fromCredential("turn-password")),
              "credential turn-password: CREDENTIALS_DIRECTORY is not set (LoadCredential= in the "
              "unit)");
  }
}

TEST(SecretsTest, NoSourceIsAnError) {
  EXPECT_EQ(errorOf(SecretRef{}), "no secret source configured");
  EXPECT_EQ(describeSecret(SecretRef{}), "no secret source");
}

// Guards against a message that quotes what was read: every failure, with the secret present
// in the environment and on disk next to the source that fails.
TEST(SecretsTest, NoErrorMessageContainsTheSecret) {
  TempDir tmp;
  tmp.write("secret", kSecret);
  ScopedEnv env("MEDIAPATH_TEST_SECRET", kSecret);
  ScopedEnv creds("CREDENTIALS_DIRECTORY", tmp.path());
  std::vector<std::string> errors = {
      errorOf(fromEnv("MEDIAPATH_TEST_SECRET_OTHER")),
      errorOf(fromFile(tmp.file("secret.missing"))),
      errorOf(fromCredential("missing")),
  };
  {
    ScopedEnv empty("MEDIAPATH_TEST_SECRET", "");
    errors.push_back(errorOf(fromEnv("MEDIAPATH_TEST_SECRET")));
  }
  for (const auto& e : errors) {
    EXPECT_FALSE(e.empty());
    EXPECT_EQ(e.find(kSecret), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace mediapath::agent
