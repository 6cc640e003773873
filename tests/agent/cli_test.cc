// The built binary, run the way a user or a script runs it: exit codes, stdout/stderr contract.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace mediapath::testing {
namespace {

namespace fs = std::filesystem;

CommandResult agent(std::vector<std::string> args) {
  args.insert(args.begin(), MEDIAPATH_AGENT_BINARY);
  return runCommand(args);
}

std::string example() { return std::string(MEDIAPATH_SOURCE_DIR) + "/config/agent.example.json"; }
std::string fixture(const std::string& name) {
  return std::string(MEDIAPATH_TESTDATA_DIR) + "/config/" + name;
}

TEST(Cli, VersionNamesTheProgram) {
  auto r = agent({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.output.starts_with("mediapath-agent 0.")) << r.output;
}

TEST(Cli, HelpOnEverySubcommand) {
  for (std::vector<std::string> cmd : {std::vector<std::string>{"--help"},
                                       {"validate", "--help"},
                                       {"location", "--help"},
                                       {"location", "render", "--help"}}) {
    auto r = agent(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd.front();
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << r.output;
  }
}

TEST(Cli, NoSubcommandOrUnknownOptionIsUsageError) {
  EXPECT_EQ(agent({}).exit_code, 2);
  EXPECT_EQ(agent({"validate"}).exit_code, 2);  // --config is required
  EXPECT_EQ(agent({"validate", "--config", example(), "--bogus"}).exit_code, 2);
}

TEST(Cli, ValidateExampleSucceeds) {
  auto r = agent({"validate", "--config", example()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(": ok ("), std::string::npos) << r.output;
}

TEST(Cli, ValidateReportsEveryProblemWithFileAndPointer) {
  std::string path = fixture("invalid-port-range.json");
  auto r = agent({"validate", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(path + ": /targets/1/port: 70000 is not a valid port (1-65535)\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(path + ": /targets/3: missing required key \"port\"\n"),
            std::string::npos)
      << r.output;
}

TEST(Cli, EveryInvalidFixtureExitsTwoWithItsMessages) {
  for (const auto& entry : fs::directory_iterator(fs::path(MEDIAPATH_TESTDATA_DIR) / "config")) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("invalid-") || !name.ends_with(".json")) continue;
    auto r = agent({"validate", "--config", entry.path().string()});
    EXPECT_EQ(r.exit_code, 2) << name;
    fs::path expected = entry.path();
    expected.replace_extension(".expected");
    std::ifstream in(expected);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      EXPECT_NE(r.output.find(entry.path().string() + ": " + line), std::string::npos)
          << name << " lacks: " << line << "\noutput:\n"
          << r.output;
    }
  }
}

TEST(Cli, MissingConfigFileExitsTwo) {
  auto r = agent({"validate", "--config", "/nonexistent/site.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("/nonexistent/site.json: cannot read config"), std::string::npos)
      << r.output;
}

// Hostile config files (issue #19 items 1, 2, 12): `validate` exits 2 with one line naming the
// file and the pointer (or line and column); no library exception text, no crash, no hang.
TEST(Cli, ValidateReportsHostileFilesAsConfigErrors) {
  TempDir dir;
  const std::string target = R"("targets": [{"name": "t", "kind": "tcp", "host": "h", "port": )";
  struct Case {
    std::string path;
    std::string expected;  // what follows "PATH: "
  };
  std::vector<Case> cases = {
      {dir.write("overflow.json", R"({"site": {"name": "s"}, )" + target + "1e400}]}"),
       "number out of range at line 1, column 91: '1e400' does not fit a double"},
      {dir.write("huge-port.json",
                 R"({"site": {"name": "s"}, )" + target + "18446744073709551615}]}"),
       "/targets/0/port: 18446744073709551615 is not a valid port (1-65535)"},
      {dir.write("negative-port.json", R"({"site": {"name": "s"}, )" + target + "-1}]}"),
       "/targets/0/port: -1 is not a valid port (1-65535)"},
      {dir.write("deep.json", R"({"site": {"name": )" + std::string(80'000, '[') +
                                  std::string(80'000, ']') + "}}"),
       "/site/name/0/0/0/"},
      {dir.write("duplicate.json", R"({"site": {"name": "a", "name": "b"}, )" + target + "80}]}"),
       "/site/name: duplicate key \"name\" (members 1 and 2 of this object)"},
      {dir.path(), "cannot read config: is a directory"},
      {"/dev/zero", "cannot read config: is larger than 4194304 bytes"},
  };
  for (const Case& c : cases) {
    auto r = agent({"validate", "--config", c.path});
    EXPECT_EQ(r.exit_code, 2) << c.path << "\n" << r.output.substr(0, 2000);
    EXPECT_TRUE(r.output.starts_with(c.path + ": " + c.expected)) << r.output.substr(0, 2000);
    EXPECT_EQ(r.output.find("json.exception"), std::string::npos) << r.output.substr(0, 2000);
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output.substr(0, 2000);
  }
}

TEST(Cli, LiteralSecretIsRefusedAndNotEchoed) {
  auto r = agent({"validate", "--config", fixture("invalid-literal-secret.json")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos);
  EXPECT_EQ(r.output.find("s3cr3t"), std::string::npos);
}

// The example config with genesys.schema "seed" instead of "platform", written into `dir`.
std::string seedExample(const TempDir& dir) {
  std::ifstream in(example());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const std::string platform = "\"schema\": \"platform\"";
  auto at = text.find(platform);
  EXPECT_NE(at, std::string::npos) << "the example config no longer names its schema";
  if (at != std::string::npos) text.replace(at, platform.size(), "\"schema\": \"seed\"");
  std::string path = dir.file("seed.json");
  std::ofstream(path) << text;
  return path;
}

TEST(Cli, RenderPrintsThePlatformLocationAndWhereTheMediaSettingsLive) {
  auto r = agent({"location", "render", "--config", example()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto out = nlohmann::json::parse(r.output);
  // The real Location has no media fields: a name (and address data when configured).
  EXPECT_EQ(out["location"], nlohmann::json({{"name", "Frankfurt Office"}}));
  const auto& trunk = out["elsewhere"]["trunkbasesettings"].at(0);
  EXPECT_EQ(trunk["id"], "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
  EXPECT_EQ(trunk["trunk_transport_serverProxyList"],
            nlohmann::json::array({"proxy-a.example.net:5060", "proxy-b.example.net:5060"}));
  EXPECT_EQ(trunk["trunk_access_acl_allowList"],
            nlohmann::json::array({"10.0.0.0/8", "192.168.1.0/24"}));
  const auto& site = out["elsewhere"]["sites"].at(0);
  EXPECT_EQ(site["mediaRegions"], nlohmann::json::array({"eu-central-1", "eu-west-1"}));
  EXPECT_EQ(site["mediaRegionsUseLatencyBased"], false);
}

TEST(Cli, RenderPrintsTheSeedLocationShape) {
  TempDir dir;
  auto r = agent({"location", "render", "--config", seedExample(dir)});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto payload = nlohmann::json::parse(r.output);
  EXPECT_EQ(payload["name"], "Frankfurt Office");
  EXPECT_EQ(payload["region"], "eu-central-1");
  EXPECT_EQ(payload["sip"]["ports"], nlohmann::json::array({5060, 5061, 5080, 5081}));
  EXPECT_EQ(payload["media"]["sip"], payload["sip"]);
  EXPECT_EQ(payload["media"]["proxy"],
            nlohmann::json({{"host", "proxy-a.example.net"}, {"port", 5060}}));
  EXPECT_EQ(payload["media"]["stun"],
            nlohmann::json({{"host", "stun.example.com"}, {"port", 3478}}));
  EXPECT_EQ(payload["media"]["turn"],
            nlohmann::json({{"host", "turn.example.com"}, {"port", 3478}}));
  EXPECT_EQ(payload["ipAddressAllowlist"], nlohmann::json::array({"10.0.0.0/8", "192.168.1.0/24"}));
  EXPECT_EQ(payload.size(), 5u);
}

TEST(Cli, RenderOutputWritesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  std::string out = dir.file("location.json");
  auto r = agent({"location", "render", "--config", example(), "--output", out});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(nlohmann::json::parse(ss.str())["location"]["name"], "Frankfurt Office");
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);
}

TEST(Cli, RenderToUnwritablePlaceFailsWithOne) {
  auto r = agent(
      {"location", "render", "--config", example(), "--output", "/nonexistent-dir/location.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent-dir/location.json"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mediapath::testing
