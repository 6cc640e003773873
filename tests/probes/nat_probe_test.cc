#include "probes/nat_probe.h"

#include <gtest/gtest.h>

#include "net/event_loop.h"
#include "probes/probe.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/probes/responders.h"

// The nat probe against a plain RFC 5389 server (the in-process responder: no OTHER-ADDRESS,
// no CHANGE-REQUEST). The RFC 5780 tests themselves run against coturn in probes_peers_tests.

namespace mediapath::probes {
namespace {

using namespace std::chrono_literals;
using testing::StunResponder;

class NatProbeTest : public testing::LoopTest {
 protected:
  ProbeTarget target(const StunResponder& responder) {
    ProbeTarget t = testing::burstTarget("nat-test", Kind::kNat, responder.address(), 1);
    t.timeout = 1000ms;
    return t;
  }

  ProbeResources resources_;
  ProbeContext context_{&loop_, nullptr, nullptr, nullptr, &resources_};
};

TEST_F(NatProbeTest, PlainStunServerGivesMappedAddressAndUnknownBehaviours) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  responder.fingerprint = false;  // the nat probe sends none (see nat_probe.cc)
  auto probe = makeProbe(Kind::kNat, context_);
  auto result = testing::runRound(loop_, *probe, target(responder));
  ASSERT_TRUE(result);
  // No OTHER-ADDRESS and no peer: nothing to compare X1 with, so unknown — and still ok, since
  // every test that could run was answered.
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_EQ(result->kind, Kind::kNat);
  EXPECT_EQ(result->nat_mapping, "unknown");
  EXPECT_EQ(result->nat_filtering, "unknown");
  EXPECT_EQ(result->mapped_address.rfind("127.0.0.1:", 0), 0u) << result->mapped_address;
  EXPECT_EQ(result->sent, 1);
  EXPECT_EQ(result->received, 1);
  ASSERT_TRUE(result->rtt);
  // Loopback has no NAT: a Binding to our own mapped address from a second socket arrives.
  ASSERT_TRUE(result->hairpinning);
  EXPECT_TRUE(*result->hairpinning);
  EXPECT_EQ(responder.requests(), 1);  // only test I went to the server
}

TEST_F(NatProbeTest, SilentServerTimesOutAfterTestIRetransmitted) {
  StunResponder responder(loop_.get(), "127.0.0.1");
  responder.fingerprint = false;
  responder.plan = [](int) { return StunResponder::Action::kDrop; };
  auto probe = makeProbe(Kind::kNat, context_);
  auto result = testing::runRound(loop_, *probe, target(responder));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "timeout after 1s (0/2 replies)");
  EXPECT_EQ(result->sent, 2);  // one retransmission after half the wait
  EXPECT_EQ(result->received, 0);
  EXPECT_DOUBLE_EQ(result->loss, 1.0);
  EXPECT_EQ(result->nat_mapping, "unknown");
  EXPECT_FALSE(result->hairpinning);
}

TEST_F(NatProbeTest, RoundLengthIsTwoTimeouts) {
  EXPECT_EQ(roundLength(Kind::kNat, 2000ms, {5, 20ms}, {}), 4000ms);
  EXPECT_EQ(kindName(Kind::kNat), "nat");
  EXPECT_EQ(kindFromName("nat"), Kind::kNat);
}

}  // namespace
}  // namespace mediapath::probes
