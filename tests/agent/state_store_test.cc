// StateStore on a real temporary directory: the round trip, the atomic replace, and what a
// damaged state.json does (a clear error naming the file; the file is left as it was).
#include "agent/failover/state_store.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/atomic_file.h"
#include "tests/support/process.h"

namespace mediapath::agent {
namespace {

using testing::TempDir;

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, GroupState> twoGroups() {
  std::map<std::string, GroupState> groups;
  groups["media-proxy"].active = "proxy-b";
  groups["media-proxy"].pending =
      PendingChange{"chg-42", "proxy-a", "proxy-b", "2026-11-28T10:00:00Z", "proxy-a unhealthy"};
  groups["trunk"].active = "edge-1";
  return groups;
}

// The message of the std::runtime_error `fn` throws ("" when it throws nothing).
template <typename Fn>
std::string errorOf(Fn&& fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(StateStoreTest, NoFileYetLoadsEmptyAndTheDirectoryIsPrivate) {
  TempDir tmp;
  StateStore store(tmp.file("state"));
  EXPECT_TRUE(store.load().groups.empty());
  struct stat st {};
  ASSERT_EQ(::stat(store.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(store.statePath(), tmp.file("state") + "/state.json");
  EXPECT_EQ(store.auditPath(), tmp.file("state") + "/audit.jsonl");
}

TEST(StateStoreTest, SaveThenLoadRoundTripsActiveAndPendingChange) {
  TempDir tmp;
  StateStore store(tmp.path());
  store.save(twoGroups());

  // A second store on the same directory stands for the agent after a restart.
  auto loaded = StateStore(tmp.path()).load().groups;
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded["media-proxy"].active, "proxy-b");
  ASSERT_TRUE(loaded["media-proxy"].pending.has_value());
  const PendingChange& p = *loaded["media-proxy"].pending;
  EXPECT_EQ(p.id, "chg-42");
  EXPECT_EQ(p.from, "proxy-a");
  EXPECT_EQ(p.to, "proxy-b");
  EXPECT_EQ(p.decided_at, "2026-11-28T10:00:00Z");
  EXPECT_EQ(p.reason, "proxy-a unhealthy");
  EXPECT_EQ(loaded["trunk"].active, "edge-1");
  EXPECT_FALSE(loaded["trunk"].pending.has_value());

  // Saving again replaces the whole state: a cleared pending change and a dropped group are gone.
  std::map<std::string, GroupState> next;
  next["media-proxy"].active = "proxy-b";
  store.save(next);
  loaded = store.load().groups;
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_FALSE(loaded["media-proxy"].pending.has_value());
}

TEST(StateStoreTest, ASavedFileIsCompleteOwnerOnlyAndLeavesNoTemporaryFile) {
  TempDir tmp;
  StateStore store(tmp.path());
  store.save(twoGroups());
  std::string text = net::readFile(store.statePath());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto doc = nlohmann::json::parse(text);  // throws (fails the test) on a partial file
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["groups"]["media-proxy"]["pending"]["id"], "chg-42");
  struct stat st {};
  ASSERT_EQ(::stat(store.statePath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{"state.json"});
}

TEST(StateStoreTest, AStaleTemporaryFileFromACrashBreaksNeitherLoadNorSave) {
  TempDir tmp;
  StateStore store(tmp.path());
  store.save(twoGroups());
  // What a crash between mkstemp and rename leaves: a half-written temporary next to the file.
  std::string stale = tmp.write(".state.json.tmpAbC123", R"({"version":1,"groups":{"media-pr)");

  EXPECT_EQ(store.load().groups.at("media-proxy").active, "proxy-b");
  std::map<std::string, GroupState> next;
  next["media-proxy"].active = "proxy-a";
  store.save(next);
  EXPECT_EQ(store.load().groups.at("media-proxy").active, "proxy-a");
  // The writer picks its own temporary name: it neither reads nor removes someone else's.
  EXPECT_EQ(net::readFile(stale), R"({"version":1,"groups":{"media-pr)");
}

// A save that fails half way must leave the previous state.json as it was. The failure is a
// file size limit (RLIMIT_FSIZE): the write of the temporary file fails with EFBIG, which root
// cannot bypass (unlike a read-only directory).
TEST(StateStoreTest, AFailedSaveKeepsThePreviousStateAndRemovesItsTemporaryFile) {
  TempDir tmp;
  StateStore store(tmp.path());
  store.save(twoGroups());
  const std::string before = net::readFile(store.statePath());

  std::map<std::string, GroupState> big;
  big["media-proxy"].active = "proxy-a";
  big["media-proxy"].pending = PendingChange{"chg-43", "proxy-b", "proxy-a", "2026-11-28T11:00:00Z",
                                             std::string(64 * 1024, 'r')};
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  // Without SIG_IGN the oversized write would kill the process with SIGXFSZ.
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small{4096, old_limit.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string error = errorOf([&] { store.save(big); });
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  EXPECT_NE(error.find(tmp.path() + "/.state.json.tmp"), std::string::npos) << error;
  EXPECT_EQ(net::readFile(store.statePath()), before);
  EXPECT_EQ(store.load().groups.at("media-proxy").active, "proxy-b");
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{"state.json"});
}

TEST(StateStoreTest, ASaveIntoAVanishedDirectoryFailsNamingTheFile) {
  TempDir tmp;
  StateStore store(tmp.file("state"));
  std::filesystem::remove_all(store.dir());
  std::string error = errorOf([&] { store.save(twoGroups()); });
  EXPECT_NE(error.find(store.statePath()), std::string::npos) << error;
}

TEST(StateStoreTest, ADirectoryThatCannotBeCreatedIsNamed) {
  TempDir tmp;
  // A regular file where a parent directory should be: mkdir fails even for root.
  std::string file = tmp.write("not-a-dir", "x");
  std::string error = errorOf([&] { StateStore store(file + "/state"); });
  EXPECT_NE(error.find("cannot create state directory " + file + "/state"), std::string::npos)
      << error;
}

// `run --state-dir /tmp` used to chmod /tmp to 0700. An existing directory keeps its mode.
TEST(StateStoreTest, AnExistingDirectoryKeepsItsMode) {
  TempDir tmp;
  std::filesystem::create_directory(tmp.file("shared"));
  ::chmod(tmp.file("shared").c_str(), 01777);
  StateStore store(tmp.file("shared"));
  struct stat st {};
  ASSERT_EQ(::stat(tmp.file("shared").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
}

TEST(StateStoreTest, TheAuditAnchorRoundTrips) {
  TempDir tmp;
  StateStore store(tmp.path());
  store.save(twoGroups(), reporter::AuditAnchor{7, std::string(64, 'a')});
  auto loaded = store.load();
  ASSERT_TRUE(loaded.audit.has_value());
  EXPECT_EQ(loaded.audit->seq, 7u);
  EXPECT_EQ(loaded.audit->sha256, std::string(64, 'a'));
  store.save(twoGroups());
  EXPECT_FALSE(store.load().audit.has_value());
}

struct DamagedState {
  const char* name;
  const char* content;
};

// Names the case in test listings instead of gtest's byte dump of the struct.
void PrintTo(const DamagedState& state, std::ostream* os) { *os << state.name; }

class StateStoreDamagedTest : public ::testing::TestWithParam<DamagedState> {};

// A damaged state must be looked at, not ignored: load() throws naming the file, and leaves
// the file exactly as it was (nothing is repaired, emptied or renamed).
TEST_P(StateStoreDamagedTest, LoadThrowsNamingTheFileAndLeavesItUntouched) {
  TempDir tmp;
  StateStore store(tmp.path());
  tmp.write("state.json", GetParam().content);
  std::string error = errorOf([&] { store.load(); });
  EXPECT_EQ(error.rfind("cannot load state " + store.statePath() + ": ", 0), 0u) << error;
  EXPECT_EQ(net::readFile(store.statePath()), GetParam().content);
}

INSTANTIATE_TEST_SUITE_P(
    Damaged, StateStoreDamagedTest,
    ::testing::Values(
        DamagedState{"Empty", ""}, DamagedState{"NotJson", "active=proxy-a\n"},
        DamagedState{"Truncated", R"({"version":1,"groups":{"media-proxy":{"act)"},
        DamagedState{"NoGroups", R"({"version":1})"},
        DamagedState{"TopLevelArray", R"([{"active":"proxy-a"}])"},
        DamagedState{"GroupNotAnObject", R"({"groups":{"media-proxy":"proxy-a"}})"},
        DamagedState{"ActiveNotAString", R"({"groups":{"media-proxy":{"active":1}}})"},
        DamagedState{"PendingFieldNotAString",
                     R"({"groups":{"g":{"active":"a","pending":{"id":7}}}})"},
        // These used to load silently (as groups "0", "1"..., or last-one-wins).
        DamagedState{"GroupsAnArray", R"({"version":1,"groups":[{"active":"a"}]})"},
        DamagedState{"UnknownVersion", R"({"version":2,"groups":{}})"},
        DamagedState{"DuplicateGroup",
                     R"({"version":1,"groups":{"g":{"active":"a"},"g":{"active":"b"}}})"},
        DamagedState{"AnchorNotAnObject", R"({"version":1,"groups":{},"audit":5})"},
        DamagedState{
            "DeeplyNested",
            R"({"version":1,"groups":{"g":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}})"}),
    [](const ::testing::TestParamInfo<DamagedState>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace mediapath::agent
