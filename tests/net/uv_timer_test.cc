#include "net/uv_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "net/event_loop.h"
#include "tests/net/loop_check.h"

namespace mediapath::net {
namespace {

using namespace std::chrono_literals;

TEST(UvTimerTest, FiresOnceAfterTimeout) {
  EventLoop loop;
  {
    int fired = 0;
    {
      UvTimer timer(loop.get());
      timer.start(5ms, [&] { ++fired; });
      EXPECT_TRUE(timer.active());
      loop.run();
      EXPECT_FALSE(timer.active());
    }
    EXPECT_EQ(fired, 1);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvTimerTest, RepeatsUntilStopped) {
  EventLoop loop;
  {
    int fired = 0;
    UvTimer timer(loop.get());
    timer.start(
        1ms,
        [&] {
          if (++fired == 3) timer.stop();
        },
        1ms);
    loop.run();
    EXPECT_EQ(fired, 3);
    EXPECT_FALSE(timer.active());
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvTimerTest, StoppedTimerNeverFires) {
  EventLoop loop;
  {
    bool fired = false;
    UvTimer timer(loop.get());
    timer.start(1ms, [&] { fired = true; });
    timer.stop();
    loop.run();
    EXPECT_FALSE(fired);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvTimerTest, DestroyedTimerNeverFiresAndDoesNotLeak) {
  EventLoop loop;
  {
    bool fired = false;
    auto timer = std::make_unique<UvTimer>(loop.get());
    timer->start(1ms, [&] { fired = true; });
    timer.reset();
    loop.run();
    EXPECT_FALSE(fired);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvTimerTest, CallbackMayRestartItsOwnTimer) {
  EventLoop loop;
  {
    int fired = 0;
    UvTimer timer(loop.get());
    std::function<void()> again = [&] {
      if (++fired < 3) timer.start(1ms, again);
    };
    timer.start(1ms, again);
    loop.run();
    EXPECT_EQ(fired, 3);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvTimerTest, CallbackMayDestroyItsTimer) {
  EventLoop loop;
  {
    bool fired = false;
    auto timer = std::make_unique<UvTimer>(loop.get());
    timer->start(1ms, [&] {
      fired = true;
      timer.reset();
    });
    loop.run();
    EXPECT_TRUE(fired);
    EXPECT_EQ(timer, nullptr);
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

TEST(UvTimerTest, StartFromNowCountsFromThePresentNotTheLoopsCachedTime) {
  // A callback that has run 30 ms arms two 10 ms timers: start() counts from the time the loop
  // read before the callback, so it is already due; startFromNow() waits the full 10 ms.
  EventLoop loop;
  {
    using Steady = std::chrono::steady_clock;
    UvTimer busy(loop.get());
    UvTimer cached(loop.get());
    UvTimer fresh(loop.get());
    Steady::time_point armed;
    Steady::duration cached_after{};
    Steady::duration fresh_after{};
    busy.start(1ms, [&] {
      auto until = Steady::now() + 30ms;
      while (Steady::now() < until) {
      }
      armed = Steady::now();
      cached.start(10ms, [&] { cached_after = Steady::now() - armed; });
      fresh.startFromNow(10ms, [&] { fresh_after = Steady::now() - armed; });
    });
    loop.run();
    EXPECT_LT(cached_after, 10ms);
    EXPECT_GE(fresh_after, 9ms);  // libuv's whole-millisecond clock may round the start down
  }
  EXPECT_EQ(testing::openHandleCount(loop), 0);
  EXPECT_EQ(loop.close(), 0);
}

}  // namespace
}  // namespace mediapath::net
