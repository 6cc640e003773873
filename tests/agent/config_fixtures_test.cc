// Table-driven config tests (blackbox_exporter style): every tests/testdata/config/invalid-*.json
// is paired with invalid-*.expected, which holds the exact diagnostics, one per line, as
// "/json/pointer: message". valid-*.json fixtures must load with no diagnostics.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/config/config_loader.h"

namespace mediapath::agent {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> fixtures(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(fs::path(MEDIAPATH_TESTDATA_DIR) / "config")) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".json")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> readLines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> diagnosticLines(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.errors) {
    out.push_back(d.pointer.empty() ? d.message : d.pointer + ": " + d.message);
  }
  return out;
}

// "invalid-port-range.json" -> "port_range": a readable, valid GoogleTest name.
std::string fixtureTestName(const ::testing::TestParamInfo<std::string>& param) {
  std::string n = param.param.substr(param.param.find('-') + 1);
  n = n.substr(0, n.size() - 5);
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

class InvalidConfigTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InvalidConfigTest, ReportsExactlyTheExpectedProblems) {
  fs::path dir = fs::path(MEDIAPATH_TESTDATA_DIR) / "config";
  fs::path json = dir / GetParam();
  fs::path expected = json;
  expected.replace_extension(".expected");
  ASSERT_TRUE(fs::exists(expected)) << "missing " << expected;

  LoadResult r = loadConfigFile(json.string());
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(diagnosticLines(r), readLines(expected));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, InvalidConfigTest, ::testing::ValuesIn(fixtures("invalid-")),
                         fixtureTestName);

class ValidConfigTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ValidConfigTest, LoadsWithoutDiagnostics) {
  fs::path json = fs::path(MEDIAPATH_TESTDATA_DIR) / "config" / GetParam();
  LoadResult r = loadConfigFile(json.string());
  EXPECT_EQ(diagnosticLines(r), std::vector<std::string>{});
  EXPECT_TRUE(r.config.has_value());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ValidConfigTest, ::testing::ValuesIn(fixtures("valid-")),
                         fixtureTestName);

// The shipped example and the demo configs must always validate.
TEST(ShippedConfigs, ExampleAndDemoValidate) {
  for (const char* name : {"agent.example.json", "demo.json"}) {
    fs::path p = fs::path(MEDIAPATH_SOURCE_DIR) / "config" / name;
    LoadResult r = loadConfigFile(p.string());
    EXPECT_EQ(diagnosticLines(r), std::vector<std::string>{}) << p;
  }
}

}  // namespace
}  // namespace mediapath::agent
