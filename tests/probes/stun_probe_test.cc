#include "probes/stun_probe.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/socket_address.h"
#include "net/socket_budget.h"
#include "net/udp_socket.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/probes/responders.h"
#include "tests/support/probe_kit.h"
#include "tests/support/process.h"

namespace mediapath::probes {
namespace {

using namespace std::chrono_literals;
using testing::StunResponder;

class StunProbeTest : public testing::LoopTest {
 protected:
  ProbeTarget target(const StunResponder& responder, int packets = 5) {
    return testing::burstTarget("stun-test", Kind::kStun, responder.address(), packets);
  }

  ProbeResources resources_;  // after the loop, before the probes: outlives them
  ProbeContext context_{&loop_, nullptr, nullptr, nullptr, &resources_};
};

TEST_F(StunProbeTest, BurstOverIPv4ReportsMappedAddressRttJitterAndMos) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeProbe(Kind::kStun, context_);
  auto result = testing::runRound(loop_, *probe, target(responder));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_EQ(result->error, "");
  EXPECT_EQ(result->target, "stun-test");
  EXPECT_EQ(result->address, responder.address().toString());
  EXPECT_EQ(result->sent, 5);
  EXPECT_EQ(result->received, 5);
  EXPECT_DOUBLE_EQ(result->loss, 0.0);
  EXPECT_EQ(result->rtt_samples_ms.size(), 5u);
  ASSERT_TRUE(result->rtt);
  EXPECT_LE(result->rtt->min_ms, result->rtt->avg_ms);
  EXPECT_LE(result->rtt->avg_ms, result->rtt->max_ms);
  EXPECT_GT(result->rtt->min_ms, 0.0);
  EXPECT_LT(result->rtt->max_ms, 300.0);
  ASSERT_TRUE(result->jitter_ms);
  ASSERT_TRUE(result->mos);
  EXPECT_GT(*result->mos, 4.0);
  // The mapped address is what the responder saw: loopback and some ephemeral port.
  EXPECT_EQ(result->mapped_address.rfind("127.0.0.1:", 0), 0u) << result->mapped_address;
  EXPECT_EQ(responder.requests(), 5);
}

// The loop reads each reply 20 ms late; the RTT ends at the kernel's receive stamp regardless.
// With a clock that cannot be compared with kernel stamps the probe falls back to the loop's
// time and says so.
TEST_F(StunProbeTest, RttsEndAtTheKernelsReceiveStampNotWhenTheLoopReadTheReply) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeProbe(Kind::kStun, context_);
  // A first round opens the shared socket the probe keeps: the kernel stamps on arrival from
  // moments after the first socket of the host asks (net/kernel_timestamp.h).
  auto result = testing::runRound(loop_, *probe, target(responder, 1));
  ASSERT_TRUE(result);
  std::this_thread::sleep_for(10ms);
  testing::LaggingLoop lagging(loop_.get(), 20ms, testing::LaggingLoop::Phase::kAfterPoll);
  result = testing::runRound(loop_, *probe, target(responder, 3));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->received, 3) << result->error;
  EXPECT_EQ(result->timestamps, Timestamps::kKernel);
  ASSERT_TRUE(result->rtt);
  EXPECT_LT(result->rtt->max_ms, 10.0);

  testing::LoopTimedClock loop_clock;
  ProbeContext loop_timed{&loop_, nullptr, &loop_clock, nullptr, &resources_};
  auto fallback = makeProbe(Kind::kStun, loop_timed);
  // One request: of a burst, a reply may be read in the very turn it arrived (with an earlier
  // one that waited), which would hide the lag.
  result = testing::runRound(loop_, *fallback, target(responder, 1));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->received, 1) << result->error;
  EXPECT_EQ(result->timestamps, Timestamps::kLoop);
  ASSERT_TRUE(result->rtt);
  EXPECT_GE(result->rtt->min_ms, 19.0);
}

TEST_F(StunProbeTest, WorksOverIPv6) {
  StunResponder responder(loop_.get(), "::1");
  auto probe = makeProbe(Kind::kStun, context_);
  auto t = target(responder, 2);
  EXPECT_EQ(t.host, "::1");
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_EQ(result->address, "[::1]:" + std::to_string(responder.address().port()));
  EXPECT_EQ(result->mapped_address.rfind("[::1]:", 0), 0u) << result->mapped_address;
}

TEST_F(StunProbeTest, LossIsCountedPerRequest) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  responder.plan = [](int n) {
    return n % 2 == 1 ? StunResponder::Action::kDrop : StunResponder::Action::kReply;
  };
  auto probe = makeProbe(Kind::kStun, context_);
  auto result = testing::runRound(loop_, *probe, target(responder, 5));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok);  // at least one reply
  EXPECT_EQ(result->sent, 5);
  EXPECT_EQ(result->received, 3);
  EXPECT_DOUBLE_EQ(result->loss, 0.4);
  EXPECT_EQ(result->rtt_samples_ms.size(), 3u);
}

TEST_F(StunProbeTest, DuplicateForeignAndGarbageRepliesAreIgnored) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  responder.plan = [](int n) {
    return n == 0 ? StunResponder::Action::kReplyTwice : StunResponder::Action::kForeignThenReply;
  };
  auto probe = makeProbe(Kind::kStun, context_);
  auto result = testing::runRound(loop_, *probe, target(responder, 3));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok);
  EXPECT_EQ(result->sent, 3);
  EXPECT_EQ(result->received, 3);
  EXPECT_EQ(result->rtt_samples_ms.size(), 3u);
}

TEST_F(StunProbeTest, NoReplyIsATimeoutWithCounts) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  responder.plan = [](int) { return StunResponder::Action::kDrop; };
  auto probe = makeProbe(Kind::kStun, context_);
  auto t = target(responder, 4);
  t.timeout = 200ms;
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "timeout after 200ms (0/4 replies)");
  EXPECT_EQ(result->received, 0);
  EXPECT_DOUBLE_EQ(result->loss, 1.0);
  EXPECT_FALSE(result->rtt);
  EXPECT_FALSE(result->mos);
}

TEST_F(StunProbeTest, LateRepliesNeverCountInTheNextBurst) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  // Round 1 (requests 0-2) is answered after its timeout; round 2 promptly.
  responder.plan = [](int n) {
    return n < 3 ? StunResponder::Action::kDelay : StunResponder::Action::kReply;
  };
  responder.delay = 150ms;
  auto probe = makeProbe(Kind::kStun, context_);
  auto t = target(responder, 3);
  t.timeout = 100ms;
  auto first = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->ok);
  EXPECT_EQ(first->error, "timeout after 100ms (0/3 replies)");
  auto second = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->ok);
  EXPECT_EQ(second->received, 3);
  // The round-1 replies land during round 2; had they matched, some RTT would be about 150 ms
  // or the count would exceed the requests.
  ASSERT_TRUE(second->rtt);
  EXPECT_LT(second->rtt->max_ms, 50.0);
}

TEST_F(StunProbeTest, UnansweredRequestsNeverFillTheRecycledAgent) {
  // STUN agents are recycled from round to round, and one holds at most 200 open transactions
  // (STUN_AGENT_MAX_SAVED_IDS). 250 unanswered requests first: if a round left its unanswered
  // transactions open, the agent would be full and the answered round's replies unmatched.
  StunResponder responder(loop_.get(), "127.0.0.1");
  responder.plan = [](int n) {
    return n < 250 ? StunResponder::Action::kDrop : StunResponder::Action::kReply;
  };
  auto probe = makeProbe(Kind::kStun, context_);
  auto t = target(responder, 5);
  t.burst.spacing = 1ms;
  t.timeout = 20ms;
  for (int round = 0; round < 50; ++round) {
    auto dropped = testing::runRound(loop_, *probe, t);
    ASSERT_TRUE(dropped);
    ASSERT_EQ(dropped->received, 0) << "round " << round;
  }
  ASSERT_EQ(responder.requests(), 250);
  t.timeout = 300ms;
  auto answered = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(answered);
  EXPECT_TRUE(answered->ok) << answered->error;
  EXPECT_EQ(answered->received, 5);
}

TEST_F(StunProbeTest, ProbesOnOneLoopShareOneSocketAcrossRounds) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  auto a = makeProbe(Kind::kStun, context_);
  auto b = makeProbe(Kind::kStun, context_);
  auto t = target(responder, 1);
  auto a1 = testing::runRound(loop_, *a, t);
  auto b1 = testing::runRound(loop_, *b, t);
  auto a2 = testing::runRound(loop_, *a, t);
  ASSERT_TRUE(a1 && b1 && a2);
  ASSERT_TRUE(a1->ok && b1->ok && a2->ok);
  // The mapped address carries the source port the responder saw: one socket for all of them.
  EXPECT_EQ(a1->mapped_address, b1->mapped_address);
  EXPECT_EQ(a1->mapped_address, a2->mapped_address);
  EXPECT_EQ(testing::handleCount(loop_, UV_UDP), 1);   // the responder's socket
  EXPECT_EQ(testing::handleCount(loop_, UV_POLL), 1);  // the probes' shared one
  a.reset();
  EXPECT_EQ(testing::handleCount(loop_, UV_POLL), 1);  // b still holds it
  b.reset();
  EXPECT_EQ(testing::handleCount(loop_, UV_POLL), 0);
}

TEST_F(StunProbeTest, ProbesOfAnotherProbeResourcesHaveTheirOwnSocket) {
  // The shared socket belongs to the ProbeResources the probes were given, not to the loop or
  // the thread: two owners on one loop (a command beside the agent, two tests) never mix replies.
  StunResponder responder(loop_.get(), "127.0.0.1");
  ProbeResources other_resources;
  ProbeContext other = context_;
  other.resources = &other_resources;
  auto a = makeProbe(Kind::kStun, context_);
  auto b = makeProbe(Kind::kStun, other);
  auto t = target(responder, 1);
  auto a1 = testing::runRound(loop_, *a, t);
  auto b1 = testing::runRound(loop_, *b, t);
  ASSERT_TRUE(a1 && b1);
  ASSERT_TRUE(a1->ok && b1->ok);
  EXPECT_NE(a1->mapped_address, b1->mapped_address);
  EXPECT_EQ(testing::handleCount(loop_, UV_POLL), 2);
}

TEST_F(StunProbeTest, TheSharedSocketTakesNoSlotOfTheSocketBudget) {
  // The budget caps sockets that grow with the targets; the shared socket is a fixed cost.
  net::SocketBudget spent(0);
  ProbeResources budgeted(&spent);
  ProbeContext context = context_;
  context.resources = &budgeted;
  StunResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeProbe(Kind::kStun, context);
  auto result = testing::runRound(loop_, *probe, target(responder, 1));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_EQ(spent.inUse(), 0u);
}

TEST_F(StunProbeTest, ProbesSharingTheSocketGetOnlyTheirOwnReplies) {
  // Half of the probes ask the responder, half a port where nobody answers, all at once and over
  // the same socket: every reply must reach the probe whose request it answers, and no other.
  StunResponder responder(loop_.get(), "127.0.0.1");
  ProbeTarget live = target(responder, 3);
  ProbeTarget dead = live;
  dead.port = mediapath::testing::freePort(mediapath::testing::SocketType::kUdp);
  constexpr int kProbes = 40;
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<std::optional<ProbeResult>> results(kProbes);
  int done = 0;
  for (int i = 0; i < kProbes; ++i) {
    probes.push_back(makeProbe(Kind::kStun, context_));
    ProbeTarget t = i % 2 == 0 ? live : dead;
    t.name = "t-" + std::to_string(i);
    probes.back()->start(t, [&results, &done, i](ProbeResult r) {
      results[static_cast<std::size_t>(i)] = std::move(r);
      ++done;
    });
  }
  net::UvTimer guard(loop_.get());
  guard.start(3s, [] {});
  while (done < kProbes && guard.active()) uv_run(loop_.get(), UV_RUN_ONCE);
  guard.stop();
  ASSERT_EQ(done, kProbes);
  for (int i = 0; i < kProbes; ++i) {
    const ProbeResult& r = *results[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.target, "t-" + std::to_string(i));
    EXPECT_EQ(r.sent, 3) << r.target;
    if (i % 2 == 0) {
      EXPECT_TRUE(r.ok) << r.target << ": " << r.error;
      EXPECT_EQ(r.received, 3) << r.target;
    } else {
      EXPECT_FALSE(r.ok) << r.target;
      EXPECT_EQ(r.received, 0) << r.target;
      EXPECT_EQ(r.error, "timeout after 300ms (0/3 replies)") << r.target;
    }
  }
  EXPECT_EQ(responder.requests(), 3 * kProbes / 2);
}

TEST_F(StunProbeTest, DropsInTheSharedReceiveQueueAreCountedAndOutliveTheSocket) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeProbe(Kind::kStun, context_);
  auto first = testing::runRound(loop_, *probe, target(responder, 1));
  ASSERT_TRUE(first && first->ok);
  std::uint64_t before = resources_.sharedSocketDrops();
  // Flood the shared socket while the loop does not read: the kernel drops what does not fit.
  net::UdpSocket flood(loop_.get());
  ASSERT_EQ(flood.bind(*net::parseIpLiteral("127.0.0.1", 0)), 0);
  auto port = static_cast<std::uint16_t>(
      std::stoi(first->mapped_address.substr(first->mapped_address.find(':') + 1)));
  auto to = *net::parseIpLiteral("127.0.0.1", port);
  for (int i = 0; i < 30000; ++i) ASSERT_EQ(flood.send(to, std::string_view("x")), 0);
  uv_update_time(loop_.get());
  // A round reads the queue; its own reply, queued after the drops, brings the count.
  auto second = testing::runRound(loop_, *probe, target(responder, 1));
  ASSERT_TRUE(second);
  auto third = testing::runRound(loop_, *probe, target(responder, 1));
  ASSERT_TRUE(third && third->ok) << (third ? third->error : "no result");
  std::uint64_t dropped = resources_.sharedSocketDrops() - before;
  EXPECT_GT(dropped, 0u);
  flood.close();
  probe.reset();  // the last user closes the shared socket; its count stays in the total
  EXPECT_EQ(resources_.sharedSocketDrops() - before, dropped);
}

TEST_F(StunProbeTest, CancelGuaranteesNoCallback) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeProbe(Kind::kStun, context_);
  bool called = false;
  probe->start(target(responder), [&](ProbeResult) { called = true; });
  uv_run(loop_.get(), UV_RUN_NOWAIT);
  probe->cancel();
  net::UvTimer wait(loop_.get());
  bool done = false;
  wait.start(400ms, [&] { done = true; });
  while (!done) uv_run(loop_.get(), UV_RUN_ONCE);
  EXPECT_FALSE(called);
  probe.reset();
}

TEST_F(StunProbeTest, DestroyingARunningProbeIsSafe) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeProbe(Kind::kStun, context_);
  bool called = false;
  probe->start(target(responder), [&](ProbeResult) { called = true; });
  uv_run(loop_.get(), UV_RUN_NOWAIT);
  probe.reset();
  for (int i = 0; i < 5; ++i) uv_run(loop_.get(), UV_RUN_NOWAIT);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace mediapath::probes
