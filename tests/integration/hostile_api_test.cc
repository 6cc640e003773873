// Issue #19: the real CLI against a hostile Genesys API (tests/tools/hostile_api). Every hostile
// answer must end in a clear error with exit 1 (the contract's "the API refused"), within bounded
// time, with no library exception text, no raw control character and no credential in the
// output, and no file written.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "reporter/genesys/genesys_auth.h"
#include "tests/support/process.h"

namespace mediapath::testing {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

constexpr const char* kClientId = "hostile-client-id";
constexpr const char* kSecret = "hostile-secret-Qx7-never-print-me";

std::string slurpFile(const std::string& path) {
  CommandResult r = runCommand({"cat", path});
  return r.exit_code == 0 ? r.output : std::string();
}

class HostileApi {
 public:
  HostileApi(const TempDir& dir, const std::string& mode) {
    std::string port_file = dir.file("hostile-" + mode + ".port");
    request_log_ = dir.file("hostile-" + mode + ".requests");
    process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{MEDIAPATH_HOSTILE_API_BINARY, "--port-file", port_file, "--mode",
                                 mode, "--request-log", request_log_},
        dir.file("hostile-" + mode + ".log"));
    auto deadline = Steady::now() + std::chrono::seconds(10);
    while (Steady::now() < deadline && port_ == 0) {
      std::string text = slurpFile(port_file);
      if (!text.empty() && text.back() == '\n') port_ = std::stoi(text);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (port_ == 0) throw std::runtime_error("hostile-api did not start: " + process_->log());
  }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// "METHOD /path" per request received.
  std::vector<std::string> requests() const {
    std::vector<std::string> out;
    std::string text = slurpFile(request_log_);
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      out.push_back(text.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return out;
  }

 private:
  std::unique_ptr<Subprocess> process_;
  std::string request_log_;
  int port_ = 0;
};

struct AgentRun {
  CommandResult result;
  std::chrono::milliseconds took{0};
};

class HostileApiIT : public ::testing::Test {
 protected:
  std::string writeConfig(const HostileApi& api) {
    json c = json::parse(R"({
      "site": {"name": "hostile-site"},
      "targets": [
        {"name": "proxy-a", "kind": "sip", "host": "proxy-a.example.net", "port": 5060},
        {"name": "stun-a", "kind": "stun", "host": "127.0.0.1", "port": 3478},
        {"name": "turn-a", "kind": "turn", "host": "127.0.0.1", "port": 3478,
         "username": "u", "password_env": "TURN_PASSWORD"}],
      "genesys": {"client_id_env": "GENESYS_CLIENT_ID",
                  "client_secret_env": "GENESYS_CLIENT_SECRET",
                  "schema": "platform", "location_id": "loc-1",
                  "request_timeout": "5s", "retry_budget": "2s"},
      "location": {"name": "Hostile Office", "region": "eu-central-1", "sip_ports": [5060],
                   "ip_allowlist": ["10.0.0.0/8"],
                   "media": {"proxy": "proxy-a", "stun": "stun-a", "turn": "turn-a"}}})");
    c["genesys"]["api_base_url"] = api.baseUrl();
    c["genesys"]["login_base_url"] = api.baseUrl();
    return dir_.write("agent.json", c.dump(2));
  }

  AgentRun agent(const HostileApi& api, std::vector<std::string> args) {
    std::string cfg = writeConfig(api);
    std::vector<std::string> argv{MEDIAPATH_AGENT_BINARY, "--log-level", "debug"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--config", cfg});
    auto started = Steady::now();
    AgentRun run;
    run.result =
        runCommand(argv, {{"GENESYS_CLIENT_ID", kClientId}, {"GENESYS_CLIENT_SECRET", kSecret}},
                   std::chrono::seconds(90));
    run.took = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started);
    return run;
  }

  /// What every hostile answer must give: exit 1 in bounded time, a message naming the command,
  /// nothing a library throws, no raw control character, no credential.
  static void expectCleanFailure(const AgentRun& run, const std::string& command) {
    const std::string& out = run.result.output;
    EXPECT_EQ(run.result.exit_code, 1) << out;
    EXPECT_LT(run.took, std::chrono::seconds(30)) << out;
    EXPECT_NE(out.find("mediapath-agent: " + command + ": "), std::string::npos) << out;
    EXPECT_EQ(out.find("json.exception"), std::string::npos) << out;
    EXPECT_EQ(out.find("<discarded>"), std::string::npos) << out;
    EXPECT_EQ(out.find("no changes"), std::string::npos) << out;
    EXPECT_EQ(out.find("select/poll"), std::string::npos) << out;
    for (char c : out) {
      auto u = static_cast<unsigned char>(c);
      ASSERT_TRUE(u == '\n' || u >= 0x20) << "raw control character " << int(u) << " in:\n" << out;
    }
    EXPECT_EQ(out.find(kSecret), std::string::npos) << out;
    std::string basic = reporter::base64Encode(std::string(kClientId) + ":" + kSecret);
    EXPECT_EQ(out.find(basic), std::string::npos) << out;
    EXPECT_EQ(out.find("tok-hostile-1"), std::string::npos) << out;
  }

  /// expectCleanFailure, and the output says `text`.
  void expectFailureSaying(const HostileApi& api, std::vector<std::string> args,
                           const std::string& text) {
    std::string command =
        args.size() >= 2 && args[0] == "location" ? args[0] + " " + args[1] : args[0];
    AgentRun run = agent(api, std::move(args));
    expectCleanFailure(run, command);
    EXPECT_NE(run.result.output.find(text), std::string::npos) << run.result.output;
  }

  TempDir dir_;
};

const std::vector<std::vector<std::string>> kLocationCommands = {
    {"location", "plan"}, {"location", "apply"}, {"location", "export"}};

// Item 3: a 2xx that is not JSON was "no changes" / "<discarded>" / 0 conversations with exit 0.
TEST_F(HostileApiIT, ANonJsonSuccessIsAFailureNamingTheRequest) {
  HostileApi api(dir_, "not-json");
  for (const auto& args : kLocationCommands) {
    expectFailureSaying(api, args,
                        "GET /api/v2/locations/loc-1: HTTP 200: malformed answer to get_location: "
                        "not JSON");
  }
  expectFailureSaying(api, {"quality"},
                      "POST /api/v2/analytics/conversations/details/query: HTTP 200: malformed "
                      "answer to query_conversation_details");
  expectFailureSaying(api, {"audit"}, "malformed answer to create_audit_query: not JSON");
}

TEST_F(HostileApiIT, AJsonSuccessOfTheWrongShapeIsAFailure) {
  HostileApi api(dir_, "wrong-shape");
  for (const auto& args : kLocationCommands) {
    expectFailureSaying(api, args, "the answer is not a JSON object (array)");
  }
  expectFailureSaying(api, {"quality"}, "the answer is not a JSON object (array)");
  expectFailureSaying(api, {"audit"}, "the answer is not a JSON object (array)");
}

// Item 3: export --output F must leave F untouched when the answer is not usable.
TEST_F(HostileApiIT, ExportLeavesAnExistingFileUntouchedOnABadAnswer) {
  std::string file = dir_.write("export.json", "{\"previous\": true}\n");
  for (const char* mode : {"not-json", "wrong-shape", "deep", "huge", "reset"}) {
    HostileApi api(dir_, mode);
    AgentRun run = agent(api, {"location", "export", "--output", file});
    expectCleanFailure(run, "location export");
    EXPECT_EQ(slurpFile(file), "{\"previous\": true}\n") << mode;
  }
  // And a good answer does replace it.
  HostileApi good(dir_, "normal");
  AgentRun run = agent(good, {"location", "export", "--output", file});
  ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
  json written = json::parse(slurpFile(file));
  EXPECT_EQ(written["location"]["id"], "loc-1");
}

// Item 2: 100,000 nested arrays crashed plan/apply (recursive copy of the remote body).
TEST_F(HostileApiIT, ADeeplyNestedAnswerIsRefusedWithoutACrash) {
  HostileApi api(dir_, "deep");
  for (const auto& args : kLocationCommands) {
    expectFailureSaying(api, args, "nested deeper than 64 levels");
  }
}

// Item 2: the body cap stops the read of an endless body.
TEST_F(HostileApiIT, AnEndlessBodyIsCutAtTheCap) {
  HostileApi api(dir_, "huge");
  expectFailureSaying(api, {"location", "plan"}, "response larger than 16777216 bytes");
}

// Item 5: a repeated cursor and endless paging made `audit`/`quality` page forever.
TEST_F(HostileApiIT, ARepeatedCursorStopsTheAudit) {
  HostileApi api(dir_, "repeat-cursor");
  expectFailureSaying(api, {"audit"}, "the API repeated cursor \"the-same-cursor\"");
  EXPECT_LE(api.requests().size(), 6u);
}

TEST_F(HostileApiIT, EndlessPagingStopsAtThePageCap) {
  HostileApi api(dir_, "endless");
  expectFailureSaying(api, {"audit"}, "page cap of 500 pages");
  expectFailureSaying(api, {"quality"}, "page cap of 500 pages");
}

TEST_F(HostileApiIT, ARepeatedPageStopsTheQualityReport) {
  HostileApi api(dir_, "repeat-page");
  expectFailureSaying(api, {"quality"},
                      "the API repeated the content of an earlier page as page 2");
}

// Item 9: CR/LF/ESC in the platform's error fields forged log lines.
TEST_F(HostileApiIT, ControlCharactersInErrorsAreEscaped) {
  HostileApi api(dir_, "control-chars");
  AgentRun run = agent(api, {"location", "plan"});
  expectCleanFailure(run, "location plan");
  const std::string& out = run.result.output;
  EXPECT_NE(out.find("Location invalid\\x0d\\x0a[2026-01-01 00:00:00.000] [error] forged record"
                     "\\x1b[31m red"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("bad.request\\x0aINJECTED"), std::string::npos) << out;
  EXPECT_NE(out.find("ctx-1\\x1b]0;owned\\x07"), std::string::npos) << out;
  EXPECT_EQ(out.find("\n[2026-01-01 00:00:00.000] [error] forged"), std::string::npos) << out;
}

// Item 9: a login server echoing the Authorization header got the Basic credentials printed.
TEST_F(HostileApiIT, AnEchoedAuthorizationHeaderIsRedacted) {
  HostileApi login(dir_, "echo-auth");
  expectFailureSaying(login, {"location", "plan"}, "Authorization: Basic [redacted]");
  HostileApi api(dir_, "echo-bearer");
  expectFailureSaying(api, {"location", "plan"}, "Authorization: Bearer [redacted]");
}

// Item 13: expires_in 1e300 was a float-to-int overflow (UBSan abort); now clamped, and the
// command works.
TEST_F(HostileApiIT, AHugeTokenLifetimeIsClamped) {
  HostileApi api(dir_, "expires-huge");
  AgentRun run = agent(api, {"location", "export"});
  EXPECT_EQ(run.result.exit_code, 0) << run.result.output;
  EXPECT_NE(run.result.output.find("\"id\": \"loc-1\""), std::string::npos) << run.result.output;
}

// Item 14: a reset was reported as "select/poll returned error".
TEST_F(HostileApiIT, AResetIsReportedAsAReset) {
  HostileApi api(dir_, "reset");
  expectFailureSaying(api, {"location", "plan"},
                      "GET /api/v2/locations/loc-1: connection reset by peer");
}

// Follow-up: `location apply` retries the reporter's version conflicts (408 too), at most
// kMaxVersionConflicts times, then reports the conflict.
TEST_F(HostileApiIT, ApplyRetriesVersionConflictsLikeTheBackends) {
  HostileApi api(dir_, "conflict");
  AgentRun run = agent(api, {"location", "apply"});
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output;
  EXPECT_NE(run.result.output.find("HTTP 408"), std::string::npos) << run.result.output;
  std::size_t patches = 0;
  for (const auto& r : api.requests()) patches += r.rfind("PATCH ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(patches, 4u);  // the first write and 3 retries
}

}  // namespace
}  // namespace mediapath::testing
