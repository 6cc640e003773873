#include "probes/sip_probe.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/udp_socket.h"
#include "probes/probe_resources.h"
#include "tests/net/loop_check.h"
#include "tests/probes/probe_harness.h"
#include "tests/probes/responders.h"

namespace mediapath::probes {
namespace {

using namespace std::chrono_literals;
using testing::sipHeader;
using testing::sipResponseFor;

class SipProbeTest : public testing::LoopTest {
 protected:
  ProbeTarget target(const net::SocketAddress& address, Transport transport, int packets = 3) {
    ProbeTarget t = testing::burstTarget("proxy-test", Kind::kSip, address, packets);
    t.transport = transport;
    return t;
  }

  net::SeededRandom random_{42};
  ProbeResources resources_;  // after the loop, before the probes: outlives them
  ProbeContext context_{&loop_, nullptr, nullptr, &random_, &resources_};
};

TEST_F(SipProbeTest, UdpBurstOf200sSucceeds) {
  testing::SipUdpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string& request) {
    return std::vector<std::string>{sipResponseFor(request, 200, "OK")};
  };
  auto probe = makeSipProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(responder.address(), Transport::kUdp));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_EQ(result->status_code, 200);
  EXPECT_EQ(result->sent, 3);
  EXPECT_EQ(result->received, 3);
  EXPECT_TRUE(result->rtt);
  EXPECT_TRUE(result->mos);
  ASSERT_EQ(responder.requests.size(), 3u);
  // Each request is its own transaction; the Via carries our real address, not 0.0.0.0.
  const auto& first = responder.requests[0];
  EXPECT_EQ(first.rfind("OPTIONS sip:127.0.0.1:", 0), 0u) << first;
  EXPECT_NE(sipHeader(first, "Via").find("SIP/2.0/UDP 127.0.0.1:"), std::string::npos);
  EXPECT_NE(sipHeader(first, "Via").find(";branch=z9hG4bK"), std::string::npos);
  EXPECT_NE(sipHeader(first, "Via"), sipHeader(responder.requests[1], "Via"));
  EXPECT_EQ(sipHeader(first, "CSeq"), "1 OPTIONS");
  EXPECT_EQ(sipHeader(responder.requests[1], "CSeq"), "2 OPTIONS");
}

// SIP over UDP keeps its own socket (uv_udp): its replies are stamped by the kernel too.
TEST_F(SipProbeTest, UdpRttsEndAtTheKernelsReceiveStamp) {
  testing::SipUdpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string& request) {
    return std::vector<std::string>{sipResponseFor(request, 200, "OK")};
  };
  auto probe = makeSipProbe(context_);
  // A first round opens the socket the probe keeps: the kernel stamps on arrival from moments
  // after the first socket of the host asks (net/kernel_timestamp.h), so the lag comes after.
  auto result = testing::runRound(loop_, *probe, target(responder.address(), Transport::kUdp));
  ASSERT_TRUE(result);
  std::this_thread::sleep_for(10ms);
  testing::LaggingLoop lagging(loop_.get(), 20ms, testing::LaggingLoop::Phase::kAfterPoll);
  result = testing::runRound(loop_, *probe, target(responder.address(), Transport::kUdp));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->received, 3) << result->error;
  EXPECT_EQ(result->timestamps, Timestamps::kKernel);
  ASSERT_TRUE(result->rtt);
  EXPECT_LT(result->rtt->max_ms, 10.0);
}

TEST_F(SipProbeTest, UdpAnswersFromAnEarlierRoundNeverMatch) {
  testing::SipUdpResponder responder(loop_.get(), "127.0.0.1");
  // Round 1 gets no answer in time; its answers (503) arrive during round 2, each right before
  // round 2's own 200. The socket is the same in both rounds, so only the per-round
  // transaction identity (branch, Call-ID, CSeq) can tell them apart.
  std::vector<std::string> stale;
  responder.respond = [&](const std::string& request) {
    if (stale.size() < 3) {
      stale.push_back(sipResponseFor(request, 503, "Service Unavailable"));
      return std::vector<std::string>{};
    }
    std::size_t round2_index = responder.requests.size() - 4;
    return std::vector<std::string>{stale[round2_index], sipResponseFor(request, 200, "OK")};
  };
  auto probe = makeSipProbe(context_);
  auto t = target(responder.address(), Transport::kUdp);
  t.timeout = 100ms;
  auto first = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->error, "timeout after 100ms (0/3 replies)");
  auto second = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->ok) << second->error;
  EXPECT_EQ(second->status_code, 200);
  EXPECT_EQ(second->received, 3);
  ASSERT_EQ(responder.requests.size(), 6u);
  // One socket for both rounds: the Via sent-by (address and port) did not change.
  auto sent_by = [](const std::string& via) { return via.substr(0, via.find(';')); };
  EXPECT_EQ(sent_by(sipHeader(responder.requests[0], "Via")),
            sent_by(sipHeader(responder.requests[5], "Via")));
}

TEST_F(SipProbeTest, NonMatchingRepliesAreIgnored) {
  testing::SipUdpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string& request) {
    std::string good = sipResponseFor(request, 503, "Service Unavailable");
    std::string wrong_branch = sipResponseFor(request, 200, "OK");
    wrong_branch.replace(wrong_branch.find("z9hG4bK"), 7, "z9hG4bKX");
    std::string wrong_call = sipResponseFor(request, 200, "OK");
    wrong_call.replace(wrong_call.find("Call-ID: ") + 9, 1, "Z");
    std::string wrong_cseq = sipResponseFor(request, 200, "OK");
    wrong_cseq.replace(wrong_cseq.find(" OPTIONS\r\n"), 8, " INVITE");
    std::string provisional = sipResponseFor(request, 100, "Trying");
    return std::vector<std::string>{wrong_branch,      wrong_call,  wrong_cseq,
                                    "garbage\r\n\r\n", provisional, good};
  };
  auto probe = makeSipProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(responder.address(), Transport::kUdp));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "SIP 503 Service Unavailable");
  EXPECT_EQ(result->status_code, 503);
  EXPECT_EQ(result->received, 3);
}

TEST_F(SipProbeTest, CompactHeaderRepliesMatch) {
  testing::SipUdpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string& request) {
    std::string r = "SIP/2.0 200 OK\r\nv: " + sipHeader(request, "Via") +
                    "\r\ni: " + sipHeader(request, "Call-ID") +
                    "\r\nCSeq: " + sipHeader(request, "CSeq") + "\r\nl: 0\r\n\r\n";
    return std::vector<std::string>{r};
  };
  auto probe = makeSipProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(responder.address(), Transport::kUdp, 1));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
}

TEST_F(SipProbeTest, ConfiguredSuccessCodes) {
  testing::SipUdpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string& request) {
    return std::vector<std::string>{sipResponseFor(request, 405, "Method Not Allowed")};
  };
  auto probe = makeSipProbe(context_);
  auto t = target(responder.address(), Transport::kUdp, 1);
  auto failed = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->ok);
  EXPECT_EQ(failed->error, "SIP 405 Method Not Allowed");
  t.success_codes = {200, 405};
  auto accepted = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(accepted);
  EXPECT_TRUE(accepted->ok);
  EXPECT_EQ(accepted->status_code, 405);
}

TEST_F(SipProbeTest, UdpTimeout) {
  testing::SipUdpResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeSipProbe(context_);
  auto t = target(responder.address(), Transport::kUdp, 2);
  t.timeout = 2000ms;
  t.timeout = 150ms;
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "timeout after 150ms (0/2 replies)");
}

// Issue 17: a stopped proxy (its port closed) fails the round at once, from the ICMP port
// unreachable, not after the timeout: the probe's socket is connected to the target.
TEST_F(SipProbeTest, UdpClosedPortFailsAtOnceAsConnectionRefused) {
  net::SocketAddress closed;
  {
    net::UdpSocket holder(loop_.get());
    ASSERT_EQ(holder.bind(*net::parseIpLiteral("127.0.0.1", 0)), 0);
    closed = *holder.localAddress();
  }  // closed: nothing listens there now
  auto probe = makeSipProbe(context_);
  auto t = target(closed, Transport::kUdp, 3);
  t.timeout = 60s;  // runRound gives up after 5 s: a result at all means it did not time out
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result) << "no result within 5 s: the refusal was not noticed";
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, closed.toString() + ": connection refused (ICMP port unreachable)");

  // The same probe against a live proxy at another address: a socket connected to the new one.
  testing::SipUdpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string& request) {
    return std::vector<std::string>{sipResponseFor(request, 200, "OK")};
  };
  auto live = testing::runRound(loop_, *probe, target(responder.address(), Transport::kUdp));
  ASSERT_TRUE(live);
  EXPECT_TRUE(live->ok) << live->error;
  EXPECT_EQ(live->received, 3);
}

TEST_F(SipProbeTest, TcpOverIPv6WithSplitResponse) {
  testing::SipTcpResponder responder(loop_.get(), "::1");
  responder.respond = [](const std::string& request) {
    // An unrelated response first (another transaction), then ours, in one stream.
    std::string other = sipResponseFor(request, 500, "Other");
    other.replace(other.find("z9hG4bK"), 7, "z9hG4bKQ");
    return std::vector<std::string>{other, sipResponseFor(request, 200, "OK")};
  };
  auto probe = makeSipProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(responder.address(), Transport::kTcp));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok) << result->error;
  EXPECT_EQ(result->status_code, 200);
  EXPECT_EQ(result->address, "[::1]:" + std::to_string(responder.address().port()));
  EXPECT_TRUE(result->connect_ms);
  EXPECT_EQ(result->sent, 1);
  EXPECT_EQ(result->received, 1);
  ASSERT_EQ(responder.requests.size(), 1u);
  EXPECT_NE(sipHeader(responder.requests[0], "Via").find("SIP/2.0/TCP [::1]:"), std::string::npos);
  EXPECT_EQ(responder.requests[0].rfind("OPTIONS sip:[::1]:", 0), 0u);
}

TEST_F(SipProbeTest, TcpErrorStatus) {
  testing::SipTcpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string& request) {
    return std::vector<std::string>{sipResponseFor(request, 503, "Service Unavailable")};
  };
  auto probe = makeSipProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(responder.address(), Transport::kTcp));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "SIP 503 Service Unavailable");
}

TEST_F(SipProbeTest, TcpSilentServerTimesOut) {
  testing::SipTcpResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeSipProbe(context_);
  auto t = target(responder.address(), Transport::kTcp);
  t.timeout = 150ms;
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "timeout after 150ms");
  EXPECT_TRUE(result->connect_ms);  // connected, then no answer
}

// Issue #16: over TLS, a CA file that cannot be loaded ends the round at once, in the stream's
// words rather than a bare libuv error, from the loop (never inside start()).
TEST_F(SipProbeTest, TlsWithAMissingCaFileFailsInWords) {
  testing::SipTcpResponder responder(loop_.get(), "127.0.0.1");
  auto probe = makeSipProbe(context_);
  auto t = target(responder.address(), Transport::kTls);
  t.ca_file = "/nonexistent/mediapath-ca.pem";
  auto result = testing::runRound(loop_, *probe, t);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error,
            "TLS: cannot load ca_file \"/nonexistent/mediapath-ca.pem\": file not found");
  EXPECT_EQ(result->sent, 1);
  EXPECT_FALSE(result->connect_ms);
  EXPECT_EQ(result->tls_version, "");
}

// Issue #19 item 6: a peer that answers with nothing but keep-alive CRLFs (4 MiB of them) used to
// be read until the timeout, the buffer growing and rescanned on every read. The round now fails
// as soon as the CRLFs pass the message limit, long before the timeout, naming why.
TEST_F(SipProbeTest, TcpPeerFloodingCrlfsFailsFastWithAClearError) {
  testing::SipTcpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string&) {
    return std::vector<std::string>{std::string(4 << 20, '\n')};
  };
  auto probe = makeSipProbe(context_);
  auto t = target(responder.address(), Transport::kTcp);
  t.timeout = 10s;
  auto started = std::chrono::steady_clock::now();
  auto result = testing::runRound(loop_, *probe, t, 15s);
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "SIP stream from " + responder.address().toString() +
                               ": more than 16384 bytes of keep-alive CRLFs and no message");
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(result->loss, 1.0);
}

// Issue #19 item 9: the reason phrase is the peer's text; ESC, NUL and CR reach the error (and
// so the log and the status page) escaped.
TEST_F(SipProbeTest, ReasonPhraseControlBytesAreEscaped) {
  testing::SipTcpResponder responder(loop_.get(), "127.0.0.1");
  responder.respond = [](const std::string& request) {
    std::string reason("Busy\x1b[2J\0\rHere", 14);
    return std::vector<std::string>{sipResponseFor(request, 486, reason)};
  };
  auto probe = makeSipProbe(context_);
  auto result = testing::runRound(loop_, *probe, target(responder.address(), Transport::kTcp));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->error, "SIP 486 Busy\\x1b[2J\\x00\\x0dHere");
}

}  // namespace
}  // namespace mediapath::probes
