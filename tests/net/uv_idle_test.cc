#include "net/uv_idle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "net/event_loop.h"
#include "net/uv_timer.h"
#include "tests/net/loop_check.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;

TEST(UvIdleTest, RunsOnceFromTheLoopNeverInsideStart) {
  EventLoop loop;
  {
    int ran = 0;
    UvIdle idle(loop.get());
    idle.start([&] { ++ran; });
    EXPECT_EQ(ran, 0);
    EXPECT_TRUE(idle.active());
    loop.run();  // returns: once run, the idle handle is no longer active
    EXPECT_EQ(ran, 1);
    EXPECT_FALSE(idle.active());
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvIdleTest, RunsBeforeADueTimerOfTheNextMillisecond) {
  // Armed while a 50 ms timer is pending, it must not wait for that timer: the loop does not
  // block in poll while an idle callback is pending.
  EventLoop loop;
  {
    auto started = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration waited{};
    UvTimer later(loop.get());
    later.start(50ms, [] {});
    UvIdle idle(loop.get());
    idle.start([&] { waited = std::chrono::steady_clock::now() - started; });
    loop.run();
    EXPECT_LT(waited, 40ms);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvIdleTest, StopAndDestructionCancel) {
  EventLoop loop;
  {
    bool ran = false;
    UvIdle stopped(loop.get());
    stopped.start([&] { ran = true; });
    stopped.stop();
    auto destroyed = std::make_unique<UvIdle>(loop.get());
    destroyed->start([&] { ran = true; });
    destroyed.reset();
    loop.run();
    EXPECT_FALSE(ran);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvIdleTest, CallbackMayReArmOrDestroyItsOwner) {
  EventLoop loop;
  {
    int runs = 0;
    auto idle = std::make_unique<UvIdle>(loop.get());
    std::function<void()> again = [&] {
      if (++runs < 3) {
        idle->start(again);
      } else {
        idle.reset();
      }
    };
    idle->start(again);
    loop.run();
    EXPECT_EQ(runs, 3);
    EXPECT_EQ(idle, nullptr);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

}  // namespace
}  // namespace mediapath::net
