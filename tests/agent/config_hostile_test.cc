// The config reader against hostile files (issue #19, items 1, 2 and 12): every one of them is a
// diagnostic naming the pointer or the line and column, never an exception, a crash or a value
// that wrapped around.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/config/config_loader.h"
#include "tests/support/process.h"

namespace mediapath::agent {
namespace {

std::vector<std::string> texts(const LoadResult& r) {
  std::vector<std::string> out;
  out.reserve(r.errors.size());
  for (const auto& e : r.errors) out.push_back(e.pointer + ": " + e.message);
  return out;
}

// A valid config with `probing` set to the given JSON text.
std::string withProbing(const std::string& probing) {
  return R"({"site": {"name": "s"}, "probing": )" + probing +
         R"(, "targets": [{"name": "t", "kind": "stun", "host": "127.0.0.1"}]})";
}

// A valid config with `port` of its one tcp target set to the given JSON text.
std::string withPort(const std::string& port) {
  return R"({"site": {"name": "s"},
    "targets": [{"name": "t", "kind": "tcp", "host": "127.0.0.1", "port": )" +
         port + "}]}";
}

std::string nestedArrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

LoadResult parseNoThrow(const std::string& text) {
  LoadResult r;
  EXPECT_NO_THROW(r = parseConfig(text, "x.json")) << text.substr(0, 200);
  return r;
}

TEST(ConfigHostile, NumberOverflowingADoubleIsADiagnosticWithLineAndColumn) {
  LoadResult r = parseNoThrow(withProbing(R"({"interval": 1e400})"));
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(texts(r));
  EXPECT_EQ(r.errors[0].pointer, "");
  EXPECT_EQ(r.errors[0].message,
            "number out of range at line 1, column 53: '1e400' does not fit a double");
  EXPECT_FALSE(r.config.has_value());
}

TEST(ConfigHostile, IntegersThatDoNotFitAreOutOfRangeNotWrapped) {
  struct Case {
    const char* port;
    const char* message;
  };
  for (const Case& c : {
           Case{"18446744073709551615", "18446744073709551615 is not a valid port (1-65535)"},
           Case{"9223372036854775808", "9223372036854775808 is not a valid port (1-65535)"},
           Case{"-1", "-1 is not a valid port (1-65535)"},
           Case{"-9223372036854775808", "-9223372036854775808 is not a valid port (1-65535)"},
           Case{"65536", "65536 is not a valid port (1-65535)"},
           Case{"0", "0 is not a valid port (1-65535)"},
       }) {
    LoadResult r = parseNoThrow(withPort(c.port));
    ASSERT_EQ(r.errors.size(), 1u) << c.port << ::testing::PrintToString(texts(r));
    EXPECT_EQ(r.errors[0].pointer, "/targets/0/port") << c.port;
    EXPECT_EQ(r.errors[0].message, c.message) << c.port;
  }
  // 1e400 is a parse error; 1e300 parses and is not an integer.
  LoadResult r = parseNoThrow(withPort("1e300"));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "expected an integer, got a number 1e+300");
}

TEST(ConfigHostile, CountsAndThresholdsOutOfRangeNameThePointerAndTheRange) {
  LoadResult r = parseNoThrow(R"({"site": {"name": "s"},
    "probing": {"burst": {"packets": 18446744073709551615}},
    "targets": [{"name": "p", "kind": "sip", "host": "127.0.0.1",
                 "success_codes": [200, 18446744073709551615]}],
    "failover": [{"name": "g", "candidates": ["p"], "healthy_threshold": -5,
                  "unhealthy_threshold": 9223372036854775807, "min_mos": 1e300,
                  "apply_to": {"trunk_base_id": "t"}}],
    "genesys": {"region": "eu-central-1", "client_id_env": "I", "client_secret_env": "S"}})");
  EXPECT_EQ(texts(r),
            (std::vector<std::string>{
                "/probing/burst/packets: 18446744073709551615 is not a valid burst packet count "
                "(1-100)",
                "/targets/0/success_codes/1: 18446744073709551615 is not a valid SIP status code "
                "(100-699)",
                "/failover/0/healthy_threshold: -5 is not a valid threshold (1-100)",
                "/failover/0/unhealthy_threshold: 9223372036854775807 is not a valid threshold "
                "(1-100)",
                "/failover/0/min_mos: 1e+300 is not a valid MOS (1-5)",
            }));
}

TEST(ConfigHostile, DurationsHaveAnUpperBound) {
  LoadResult r = parseNoThrow(withProbing(R"({"interval": "25h", "timeout": "24h"})"));
  EXPECT_EQ(texts(r), (std::vector<std::string>{
                          "/probing/interval: \"25h\" is too long (1ms-24h)",
                          "/targets/0: a round takes up to 24h (timeout 24h) and must be shorter "
                          "than the interval 5s",
                      }));
}

TEST(ConfigHostile, DeepNestingIsRefusedWithThePointerAndNoRecursion) {
  // 80,000 levels overflowed the stack (issue #19 item 2): as the document and as a value.
  LoadResult whole = parseNoThrow(nestedArrays(80'000));
  ASSERT_EQ(whole.errors.size(), 1u);
  std::string pointer;
  for (std::size_t i = 0; i < kMaxConfigDepth; ++i) pointer += "/0";
  EXPECT_EQ(whole.errors[0].pointer, pointer);
  EXPECT_EQ(whole.errors[0].message, "nested deeper than 64 levels");

  LoadResult value = parseNoThrow(withProbing(R"({"interval": )" + nestedArrays(80'000) + "}"));
  ASSERT_EQ(value.errors.size(), 1u);
  EXPECT_TRUE(value.errors[0].pointer.starts_with("/probing/interval/0/0/"))
      << value.errors[0].pointer;
  EXPECT_EQ(value.errors[0].message, "nested deeper than 64 levels");
}

TEST(ConfigHostile, AValueInAMessageIsShownShallowShortAndEscaped) {
  // Just under the depth cap: the message shows two levels, not sixty.
  LoadResult deep = parseNoThrow(withProbing(R"({"interval": )" + nestedArrays(60) + "}"));
  EXPECT_EQ(texts(deep), (std::vector<std::string>{
                             "/probing/interval: expected a duration string with a unit such as "
                             "\"5s\" or \"250ms\", got [[[...]]]",
                         }));

  // A long value is cut; a control character is escaped by JSON quoting.
  std::string many = "1";
  for (int i = 0; i < 100'000; ++i) many += ",1";
  LoadResult big = parseNoThrow(withProbing(R"({"interval": {"a": [)" + many + "]}}"));
  ASSERT_EQ(big.errors.size(), 1u);
  EXPECT_LT(big.errors[0].message.size(), 200u) << big.errors[0].message;
  EXPECT_TRUE(big.errors[0].message.ends_with("...")) << big.errors[0].message;

  LoadResult esc = parseNoThrow(withProbing(R"({"interval": "5\u001b[2Js"})"));
  ASSERT_EQ(esc.errors.size(), 1u);
  EXPECT_EQ(esc.errors[0].message,
            "\"5\\u001b[2Js\" is not a duration (use a number and a unit: ms, s, m, h)");
}

TEST(ConfigHostile, DuplicateKeysAreRefusedWithThePointer) {
  LoadResult r = parseNoThrow(R"({"site": {"name": "a"},
    "targets": [{"name": "t", "kind": "tcp", "host": "127.0.0.1", "port": 80, "port": 443}]})");
  EXPECT_EQ(texts(r),
            (std::vector<std::string>{
                "/targets/0/port: duplicate key \"port\" (members 4 and 5 of this object)",
            }));
  LoadResult top = parseNoThrow(R"({"site": {"name": "a"}, "site": {"name": "b"}})");
  ASSERT_EQ(top.errors.size(), 1u);
  EXPECT_EQ(top.errors[0].pointer, "/site");
}

TEST(ConfigHostile, TooLargeTextIsRefusedBeforeParsing) {
  std::string text = withProbing("{}");
  text.append(kMaxConfigBytes, ' ');
  LoadResult r = parseNoThrow(text);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "the config is " + std::to_string(text.size()) +
                                     " bytes, more than the limit of 4194304 bytes");
}

TEST(ConfigHostile, ADirectoryOrAnEndlessDeviceIsACannotRead) {
  testing::TempDir dir;
  LoadResult d = loadConfigFile(dir.path());
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(formatDiagnostic(dir.path(), d.errors[0]),
            dir.path() + ": cannot read config: is a directory");

  LoadResult zero = loadConfigFile("/dev/zero");
  ASSERT_EQ(zero.errors.size(), 1u);
  EXPECT_EQ(zero.errors[0].message, "cannot read config: is larger than 4194304 bytes");
}

// Every kind of field reader given every wrong type: a diagnostic each, no exception (a
// type_error from get<> would end `validate` and a reload).
TEST(ConfigHostile, EveryFieldReaderReportsAWrongTypeWithoutThrowing) {
  const std::vector<std::string> wrong = {
      "null",   "true", "1",   "-1", "1.5",        "18446744073709551615",
      R"("x")", "[]",   "[1]", "{}", R"({"a": 1})"};
  // Each {path template}: one field of each reader kind; @ is replaced by a wrong value.
  const std::vector<std::string> templates = {
      R"({"site": @, "targets": [{"name": "t", "kind": "stun", "host": "h"}]})",  // object
      R"({"site": {"name": @}, "targets": [{"name": "t", "kind": "stun", "host": "h"}]})",
      R"({"site": {"name": "s"}, "targets": @})",                          // array
      R"({"site": {"name": "s"}, "targets": [@]})",                        // element
      R"({"site": {"name": "s"}, "targets": [{"name": "t", "kind": "tcp", "host": "h",
          "port": @}]})",                                                  // integer
      R"({"site": {"name": "s"}, "probing": {"interval": @},
          "targets": [{"name": "t", "kind": "stun", "host": "h"}]})",      // duration
      R"({"site": {"name": "s"}, "probing": {"burst": @},
          "targets": [{"name": "t", "kind": "stun", "host": "h"}]})",      // section
      R"({"site": {"name": "s"}, "dns": {"servers": [@]},
          "targets": [{"name": "t", "kind": "stun", "host": "h"}]})",      // dns server
      R"({"site": {"name": "s"}, "targets": [{"name": "t", "kind": "turn", "host": "h",
          "username": "u", "password_env": @}]})",                         // secret
      R"({"site": {"name": "s"}, "targets": [{"name": "t", "kind": "sip", "host": "h",
          "success_codes": [@]}]})",                                       // code list
      R"({"site": {"name": "s"}, "targets": [{"name": "t", "kind": "sip", "host": "h"}],
          "failover": [{"name": "g", "candidates": [@], "min_mos": @,
                        "apply_to": {"site_id": "s", "media_regions": {"t": @}}}],
          "genesys": {"region": "eu-central-1", "client_id_env": "I",
                      "client_secret_env": "S", "request_timeout": @}})",  // strings, number
      R"({"site": {"name": "s"}, "targets": [{"name": "t", "kind": "sip", "host": "h"}],
          "location": {"name": "n", "region": "eu-central-1", "sip_ports": [@],
                       "ip_allowlist": [@], "allowed_sip_ports": {"min": @, "max": @},
                       "address": @, "emergency_number": {"number": @},
                       "media": {"proxy": @}}})",                          // location
  };
  for (const auto& t : templates) {
    for (const auto& w : wrong) {
      std::string text = t;
      for (auto at = text.find('@'); at != std::string::npos; at = text.find('@', at + w.size())) {
        text.replace(at, 1, w);
      }
      LoadResult r = parseNoThrow(text);
      for (const auto& e : r.errors) {
        EXPECT_EQ(e.message.find("json.exception"), std::string::npos) << text;
        if (w != "-1") {
          EXPECT_FALSE(e.message.starts_with("-1 ")) << text << ": " << e.message;
        }
      }
    }
  }
}

TEST(ConfigHostile, ControlCharactersInKeysAreEscapedInTheFormattedDiagnostic) {
  LoadResult r = parseNoThrow(
      R"({"site": {"name": "s", "x\u001b[2J\n": 1}, "targets": [{"name": "t", "kind": "stun",
          "host": "h"}]})");
  ASSERT_EQ(r.errors.size(), 1u);
  std::string line = formatDiagnostic("x.json", r.errors[0]);
  EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_TRUE(line.starts_with("x.json: /site/x\\x1b[2J\\x0a: unknown key")) << line;
}

}  // namespace
}  // namespace mediapath::agent
