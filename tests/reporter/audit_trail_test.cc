#include "reporter/audit/audit_trail.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace mediapath::reporter {
namespace {

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

void writeLines(const std::string& path, const std::vector<std::string>& ls) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : ls) out << l << "\n";
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditTrail, ChainsRecordsAndVerifies) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  {
    AuditTrail trail(path);
    trail.append({{"event", "planned"}, {"group", "g"}});
    trail.append({{"event", "applied"}, {"group", "g"}});
  }
  {
    AuditTrail reopened(path);  // continues the chain and the sequence
    reopened.append({{"event", "panic"}, {"group", "g"}});
  }
  auto records = readAuditTrail(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["prev_sha256"], kAuditGenesisHash);
  EXPECT_EQ(records[2]["seq"], 3);
  EXPECT_EQ(records[1]["prev_sha256"], sha256Hex(lines(path)[0]));
  auto v = verifyAuditTrail(path);
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.records, 3u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(AuditTrail, EditedLineIsReportedWithItsNumber) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  {
    AuditTrail trail(path);
    for (int i = 0; i < 4; ++i) trail.append({{"event", "applied"}, {"to", "proxy-b"}});
  }
  auto ls = lines(path);
  auto pos = ls[1].find("proxy-b");
  ls[1].replace(pos, 7, "proxy-x");
  writeLines(path, ls);
  auto v = verifyAuditTrail(path);
  ASSERT_EQ(v.problems.size(), 2u);
  EXPECT_EQ(v.problems[0].line, 2u);  // its own hash no longer matches
  EXPECT_NE(v.problems[0].message.find("modified"), std::string::npos);
  EXPECT_EQ(v.problems[1].line, 3u);  // and the next line's link to it breaks
}

TEST(AuditTrail, RemovedLineBreaksTheChain) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  {
    AuditTrail trail(path);
    for (int i = 0; i < 3; ++i) trail.append({{"event", "planned"}});
  }
  auto ls = lines(path);
  ls.erase(ls.begin() + 1);
  writeLines(path, ls);
  auto v = verifyAuditTrail(path);
  ASSERT_EQ(v.problems.size(), 2u);
  EXPECT_EQ(v.problems[0].line, 2u);
  EXPECT_NE(v.problems[0].message.find("chain broken"), std::string::npos);
  EXPECT_EQ(v.problems[1].line, 2u);
  EXPECT_EQ(v.problems[1].message, "seq jumps from 1 to 3: 1 records are missing");
}

TEST(AuditTrail, UnwritablePlaceIsAClearError) {
  EXPECT_THROW(AuditTrail("/nonexistent-dir/audit.jsonl"), std::runtime_error);
}

// Deleting the last records leaves a chain that verifies; the anchor kept outside the trail
// (the state file) is what shows it, both to verify and to the next start.
TEST(AuditTrail, ADeletedTailShowsAgainstTheAnchor) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  AuditAnchor anchor;
  {
    AuditTrail trail(path);
    for (int i = 0; i < 4; ++i) trail.append({{"event", "planned"}});
    anchor = trail.anchor();
  }
  EXPECT_EQ(anchor.seq, 4u);
  EXPECT_TRUE(verifyAuditTrail(path, anchor).ok());
  auto ls = lines(path);
  ls.resize(2);
  writeLines(path, ls);
  EXPECT_TRUE(verifyAuditTrail(path).ok());  // without the anchor the cut is invisible
  auto v = verifyAuditTrail(path, anchor);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].line, 0u);
  EXPECT_NE(v.problems[0].message.find("anchors record 4"), std::string::npos);

  // The next start says so in the trail and keeps the gap visible: the sequence goes on at 5.
  {
    AuditTrail trail(path, anchor);
    ASSERT_EQ(trail.repairs().size(), 1u);
    EXPECT_NE(trail.repairs()[0].find("ends at record 2"), std::string::npos);
    anchor = trail.anchor();
  }
  auto records = readAuditTrail(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2]["event"], "audit_tail_missing");
  EXPECT_EQ(records[2]["seq"], 5);
  EXPECT_EQ(records[2]["anchor_seq"], 4);
  v = verifyAuditTrail(path, anchor);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].message, "seq jumps from 2 to 5: 2 records are missing");
}

TEST(AuditTrail, AReplacedLastRecordShowsAgainstTheAnchor) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  AuditAnchor anchor;
  {
    AuditTrail trail(path);
    trail.append({{"event", "planned"}, {"to", "b"}});
    anchor = trail.anchor();
  }
  std::filesystem::remove(path);
  {
    AuditTrail forged(path);  // a new, valid chain of the same length
    forged.append({{"event", "planned"}, {"to", "x"}});
  }
  auto v = verifyAuditTrail(path, anchor);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].line, 1u);
  EXPECT_NE(v.problems[0].message.find("replaced"), std::string::npos);
  AuditTrail reopened(path, anchor);
  EXPECT_EQ(reopened.repairs().size(), 1u);
}

// A crash or a full disk mid-append leaves a line without its newline. It used to take the next
// record onto its own line (lost to every reader) and restart seq at 1.
TEST(AuditTrail, ATornLastLineIsQuarantinedAndTheSequenceContinues) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  {
    AuditTrail trail(path);
    trail.append({{"event", "planned"}});
    trail.append({{"event", "applied"}});
  }
  std::string torn = R"({"event":"failed","group":"g","seq":3,"prev_sha)";
  {
    std::ofstream out(path, std::ios::app);
    out << torn;
  }
  {
    AuditTrail trail(path);
    ASSERT_EQ(trail.repairs().size(), 1u);
    trail.append({{"event", "panic"}});
  }
  EXPECT_EQ(lines(path + ".quarantine"), std::vector<std::string>{torn});
  auto records = readAuditTrail(path);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[2]["event"], "audit_line_quarantined");
  EXPECT_EQ(records[2]["seq"], 3);
  EXPECT_EQ(records[2]["bytes"], torn.size());
  EXPECT_EQ(records[3]["event"], "panic");
  EXPECT_EQ(records[3]["seq"], 4);
  auto v = verifyAuditTrail(path);
  EXPECT_TRUE(v.ok()) << v.problems[0].message;
}

TEST(AuditTrail, ATornFirstLineIsQuarantinedToo) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  std::ofstream(path) << R"({"event":"pla)";
  {
    AuditTrail trail(path);
    EXPECT_EQ(trail.repairs().size(), 1u);
  }
  auto records = readAuditTrail(path);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["seq"], 1);
  EXPECT_TRUE(verifyAuditTrail(path).ok());
}

TEST(AuditTrail, ADirectoryInPlaceOfTheTrailIsAnError) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  std::filesystem::create_directory(path);
  auto v = verifyAuditTrail(path);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].message, path + " is a directory, not a file");
  EXPECT_EQ(v.records, 0u);
  EXPECT_THROW(readAuditTrail(path), std::runtime_error);
  EXPECT_THROW(AuditTrail{path}, std::runtime_error);
}

// A whitespace edit leaves the content (and so the record's own hash) intact; it used to be
// reported as a broken link on the *next* line. Now it is reported on its own line, once.
TEST(AuditTrail, AWhitespaceEditIsReportedOnItsOwnLine) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  {
    AuditTrail trail(path);
    for (int i = 0; i < 3; ++i) trail.append({{"event", "planned"}});
  }
  auto ls = lines(path);
  ls[1].replace(ls[1].find(':'), 1, ": ");
  writeLines(path, ls);
  auto v = verifyAuditTrail(path);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].line, 2u);
  EXPECT_NE(v.problems[0].message.find("reformatted"), std::string::npos);
}

TEST(AuditTrail, ALineThatIsNotAnObjectOrTooDeepIsReportedNotFollowed) {
  testing::TempDir dir;
  std::string path = dir.file("audit.jsonl");
  {
    AuditTrail trail(path);
    trail.append({{"event", "planned"}});
  }
  std::ofstream(path, std::ios::app)
      << std::string(100000, '[') << std::string(100000, ']') << "\n";
  auto v = verifyAuditTrail(path);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problems[0].line, 2u);
  EXPECT_EQ(v.problems[0].message, "not a JSON object");
  EXPECT_THROW(readAuditTrail(path), std::runtime_error);
}

}  // namespace
}  // namespace mediapath::reporter
