#include "reporter/audit/audit_trail.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].line, 2u);
  EXPECT_NE(v.problems[0].message.find("chain broken"), std::string::npos);
}

TEST(AuditTrail, UnwritablePlaceIsAClearError) {
  EXPECT_THROW(AuditTrail("/nonexistent-dir/audit.jsonl"), std::runtime_error);
}

}  // namespace
}  // namespace mediapath::reporter
