#include "agent/service/file_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <limits>

namespace mediapath::agent {
namespace {

TEST(FileLimitTest, RaisesTheSoftLimitToTheHardOne) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  ASSERT_GE(original.rlim_max, 2u);
  rlimit lowered = original;
  lowered.rlim_cur = original.rlim_max / 2;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);

  OpenFileLimit limit = raiseOpenFileLimit();
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, original.rlim_max);
  EXPECT_EQ(limit.soft, static_cast<std::uint64_t>(original.rlim_max));
  EXPECT_EQ(limit.hard, static_cast<std::uint64_t>(original.rlim_max));
  ::setrlimit(RLIMIT_NOFILE, &original);
}

TEST(FileLimitTest, NeedsOneDescriptorPerTargetTwoForAllStunTargetsAndAReserve) {
  std::vector<PlannedTarget> targets(1000);
  for (auto& planned : targets) planned.target.kind = probes::Kind::kSip;
  EXPECT_EQ(descriptorsNeeded(targets), 1064u);
  // STUN targets share one socket per address family, however many there are.
  for (std::size_t i = 0; i < 600; ++i) targets[i].target.kind = probes::Kind::kStun;
  EXPECT_EQ(descriptorsNeeded(targets), 400u + 2u + 64u);
  EXPECT_EQ(descriptorsNeeded({}), 64u);
}

TEST(FileLimitTest, ProbesMayUseTheLimitLessTheReserve) {
  EXPECT_EQ(probeSocketLimit({1024, 4096}), 960u);
  EXPECT_EQ(probeSocketLimit({40, 40}), 0u);
  EXPECT_EQ(probeSocketLimit({0, 0}), std::numeric_limits<std::uint64_t>::max());
}

TEST(FileLimitTest, WarnsOnlyWhenTheLimitIsTooLow) {
  EXPECT_EQ(openFileLimitWarning(1064, {1064, 4096}), "");
  EXPECT_EQ(openFileLimitWarning(1064, {0, 0}), "");  // unknown: say nothing
  EXPECT_EQ(openFileLimitWarning(10064, {1024, 1024}),
            "the targets may need 10064 open files but the limit is 1024 (hard limit 1024): "
            "raise LimitNOFILE= in the unit (or ulimit -n), else rounds fail with \"too many "
            "open files\"");
}

}  // namespace
}  // namespace mediapath::agent
