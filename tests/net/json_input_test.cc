#include "net/json_input.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mediapath::net {
namespace {

using Kind = JsonInputError::Kind;

JsonLimits limits(std::size_t depth = 64) {
  JsonLimits l;
  l.max_depth = depth;
  return l;
}

TEST(ParseJson, ReadsAnOrdinaryDocument) {
  auto in = parseJson(R"({"a": [1, 2.5, "x", true, null], "b": {"c": -3}})", limits());
  ASSERT_TRUE(in.ok()) << in.error->describe();
  EXPECT_EQ(in.value["a"][2], "x");
  EXPECT_EQ(in.value["b"]["c"], -3);
}

TEST(ParseJson, SyntaxErrorsCarryLineAndColumnWithoutTheLibraryPrefix) {
  auto in = parseJson("{\n  \"a\": 1,\n  }", limits());
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error->kind, Kind::kSyntax);
  EXPECT_EQ(in.error->line, 3u);
  EXPECT_EQ(in.error->column, 3u);
  EXPECT_EQ(in.error->describe().find("json.exception"), std::string::npos);
  EXPECT_TRUE(in.value.is_null());  // nothing partial survives
}

// 1e400 overflows a double: the library reports out_of_range, which used to escape as an
// exception from the config reader and kill a reload.
TEST(ParseJson, ANumberThatOverflowsADoubleIsAnErrorNotAnException) {
  auto in = parseJson(R"({"interval": 1e400})", limits());
  ASSERT_FALSE(in.ok());
  EXPECT_NE(in.error->detail.find("number overflow"), std::string::npos) << in.error->detail;
  EXPECT_EQ(in.error->line, 1u);
}

TEST(ParseJson, DeepNestingStopsAtTheLimitAndNamesThePointer) {
  auto in = parseJson(R"({"targets": [{"x": [[[1]]]}]})", limits(4));
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error->kind, Kind::kTooDeep);
  EXPECT_EQ(in.error->pointer, "/targets/0/x/0");
  EXPECT_EQ(in.error->describe(), "at /targets/0/x/0: nested deeper than 4 levels");
}

// 200,000 levels: the parser is iterative and stops at the cap, so nothing recurses.
TEST(ParseJson, AHundredThousandLevelsCostNoStack) {
  std::string deep(200000, '[');
  deep += std::string(200000, ']');
  auto in = parseJson(deep, limits());
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error->kind, Kind::kTooDeep);
}

TEST(ParseJson, DuplicateKeysAreRejectedWithBothPositions) {
  auto in = parseJson(R"({"targets": [{"name": "a", "port": 1, "x": 0, "port": 2}]})", limits());
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error->kind, Kind::kDuplicateKey);
  EXPECT_EQ(in.error->pointer, "/targets/0/port");
  EXPECT_EQ(in.error->detail, "duplicate key \"port\" (members 2 and 4 of this object)");

  JsonLimits lax = limits();
  lax.unique_keys = false;
  EXPECT_TRUE(parseJson(R"({"a": 1, "a": 2})", lax).ok());
  // The same key in sibling objects is not a duplicate.
  EXPECT_TRUE(parseJson(R"([{"a": 1}, {"a": 2}])", limits()).ok());
}

TEST(ParseJson, PointerTokensAreEscaped) {
  auto in = parseJson(R"({"a/b~c": {"k": 1, "k": 2}})", limits());
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error->pointer, "/a~1b~0c/k");
}

TEST(ParseJson, SizeCapIsCheckedBeforeParsing) {
  JsonLimits small = limits();
  small.max_bytes = 8;
  auto in = parseJson(R"({"a": "123456"})", small);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error->kind, Kind::kTooLarge);
  EXPECT_EQ(in.error->describe(), "is 15 bytes, more than the limit of 8");
}

TEST(ParseJson, CommentsOnlyWhenAsked) {
  EXPECT_FALSE(parseJson("{\"a\": 1 // note\n}", limits()).ok());
  JsonLimits c = limits();
  c.comments = true;
  EXPECT_TRUE(parseJson("{\"a\": 1 // note\n}", c).ok());
}

TEST(ParseJson, TrailingGarbageAndEmptyInputAreErrors) {
  EXPECT_FALSE(parseJson(R"({"a": 1} x)", limits()).ok());
  EXPECT_FALSE(parseJson("", limits()).ok());
  EXPECT_FALSE(parseJson("<html>502 Bad Gateway</html>", limits()).ok());
}

class ReadFileBounded : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("json_input_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ReadFileBounded, ReadsAFileWithinTheCap) {
  std::ofstream(dir_ / "f") << "hello";
  auto in = readFileBounded((dir_ / "f").string(), 5);
  ASSERT_TRUE(in.ok()) << in.error;
  EXPECT_EQ(in.text, "hello");
}

TEST_F(ReadFileBounded, ALongerFileADirectoryAndAMissingFileAreErrors) {
  std::ofstream(dir_ / "f") << "hello!";
  EXPECT_EQ(readFileBounded((dir_ / "f").string(), 5).error, "is larger than 5 bytes");
  EXPECT_EQ(readFileBounded(dir_.string(), 5).error, "is a directory");
  EXPECT_EQ(readFileBounded((dir_ / "missing").string(), 5).error, "No such file or directory");
}

TEST_F(ReadFileBounded, AnEndlessDeviceStopsAtTheCap) {
  auto in = readFileBounded("/dev/zero", 1 << 20);
  EXPECT_EQ(in.error, "is larger than 1048576 bytes");
  EXPECT_TRUE(in.text.empty());
}

}  // namespace
}  // namespace mediapath::net
