#include "probes/sip_message.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace mediapath::probes {
namespace {

constexpr const char* kOk =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport=5070;received=127.0.0.1\r\n"
    "From: <sip:mediapath@127.0.0.1>;tag=1\r\n"
    "To: <sip:127.0.0.1:5060>;tag=2\r\n"
    "Call-ID: deadbeef@mediapath\r\n"
    "CSeq: 7 OPTIONS\r\n"
    "Server: kamailio (5.6.3 (x86_64/linux))\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

TEST(SipMessageTest, ParsesStatusLineAndMatchingHeaders) {
  auto r = parseSipResponse(kOk);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status_code, 200);
  EXPECT_EQ(r->reason, "OK");
  ASSERT_EQ(r->vias.size(), 1u);
  EXPECT_EQ(r->top_via_branch, "z9hG4bKabc");
  EXPECT_EQ(r->call_id, "deadbeef@mediapath");
  EXPECT_EQ(r->cseq_number, 7u);
  EXPECT_EQ(r->cseq_method, "OPTIONS");
  EXPECT_EQ(r->content_length, 0u);
}

TEST(SipMessageTest, ReasonPhraseMayHaveSpacesOrBeEmpty) {
  auto r = parseSipResponse("SIP/2.0 503 Service Unavailable\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status_code, 503);
  EXPECT_EQ(r->reason, "Service Unavailable");
  auto empty = parseSipResponse("SIP/2.0 404\r\n\r\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status_code, 404);
  EXPECT_EQ(empty->reason, "");
}

TEST(SipMessageTest, CompactAndCaseInsensitiveHeaders) {
  auto r = parseSipResponse(
      "SIP/2.0 200 OK\r\n"
      "v: SIP/2.0/TCP [::1]:5070;BRANCH=z9hG4bKx1\r\n"
      "i: compact@host\r\n"
      "cseq: 2 OPTIONS\r\n"
      "l: 0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->top_via_branch, "z9hG4bKx1");
  EXPECT_EQ(r->call_id, "compact@host");
  EXPECT_EQ(r->cseq_number, 2u);
  EXPECT_EQ(r->content_length, 0u);
}

TEST(SipMessageTest, FoldedHeaderLines) {
  auto r = parseSipResponse(
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1:5060\r\n"
      "   ;branch=z9hG4bKfolded\r\n"
      "Call-ID:\r\n"
      "\tfolded-id\r\n"
      "CSeq: 3\r\n OPTIONS\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->top_via_branch, "z9hG4bKfolded");
  EXPECT_EQ(r->call_id, "folded-id");
  EXPECT_EQ(r->cseq_number, 3u);
  EXPECT_EQ(r->cseq_method, "OPTIONS");
}

TEST(SipMessageTest, MultipleViasTopOneCounts) {
  auto r = parseSipResponse(
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP a.example;branch=z9hG4bKtop, SIP/2.0/UDP b.example;branch=z9hG4bKmid\r\n"
      "Via: SIP/2.0/UDP c.example;branch=z9hG4bKlast\r\n"
      "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->vias.size(), 3u);
  EXPECT_EQ(r->top_via_branch, "z9hG4bKtop");
  EXPECT_EQ(r->vias[2], "SIP/2.0/UDP c.example;branch=z9hG4bKlast");
}

TEST(SipMessageTest, BareLfLineEnds) {
  auto r = parseSipResponse("SIP/2.0 486 Busy Here\nCall-ID: lf\nCSeq: 9 OPTIONS\n\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status_code, 486);
  EXPECT_EQ(r->call_id, "lf");
}

TEST(SipMessageTest, MissingHeadersLeaveFieldsEmpty) {
  auto r = parseSipResponse("SIP/2.0 200 OK\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->vias.empty());
  EXPECT_EQ(r->top_via_branch, "");
  EXPECT_EQ(r->call_id, "");
  EXPECT_FALSE(r->cseq_number);
  EXPECT_FALSE(r->content_length);
}

TEST(SipMessageTest, RejectsGarbage) {
  std::string error;
  EXPECT_FALSE(parseSipResponse("", &error));
  EXPECT_FALSE(parseSipResponse("OPTIONS sip:x SIP/2.0\r\n\r\n", &error));
  EXPECT_EQ(error, "not a SIP/2.0 response");
  EXPECT_FALSE(parseSipResponse("SIP/2.0 20 OK\r\n\r\n", &error));
  EXPECT_EQ(error, "bad status code");
  EXPECT_FALSE(parseSipResponse("SIP/2.0 2000 OK\r\n\r\n", &error));
  EXPECT_FALSE(parseSipResponse("SIP/2.0 099 Low\r\n\r\n", &error));
  EXPECT_FALSE(parseSipResponse("SIP/2.0 200 OK\r\nno colon here\r\n\r\n", &error));
  EXPECT_EQ(error, "header line without ':'");
  EXPECT_FALSE(parseSipResponse("SIP/2.0 200 OK\r\nCSeq: x OPTIONS\r\n\r\n", &error));
  EXPECT_EQ(error, "bad CSeq");
  EXPECT_FALSE(parseSipResponse("SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n", &error));
  EXPECT_EQ(error, "bad Content-Length");
  EXPECT_FALSE(parseSipResponse(std::string("\x00\x01\xff\r\n\r\n", 7), &error));
}

// Feeds `stream` to a framer in one piece and returns the messages it frames.
std::vector<std::string> frameAll(SipStreamFramer& framer, std::string_view stream) {
  framer.append(stream);
  std::vector<std::string> out;
  while (auto m = framer.next()) out.push_back(*m);
  return out;
}

TEST(SipMessageTest, StreamFramingUsesContentLength) {
  std::string second = "SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nbody";
  SipStreamFramer framer;
  auto messages = frameAll(framer, std::string(kOk) + second);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], kOk);
  EXPECT_EQ(messages[1], second);
  EXPECT_FALSE(framer.failed());
  EXPECT_EQ(framer.buffered(), 0u);
  // Incomplete: headers not finished, or body still missing.
  SipStreamFramer partial;
  EXPECT_TRUE(frameAll(partial, "SIP/2.0 200 OK\r\nContent-Len").empty());
  EXPECT_TRUE(frameAll(partial, "gth: 4\r\n\r\nbo").empty());
  EXPECT_EQ(frameAll(partial, "dy"), std::vector<std::string>{second});
  // Keep-alive CRLFs before a message are dropped.
  SipStreamFramer keepalive;
  EXPECT_EQ(frameAll(keepalive, "\r\n\r\n" + std::string(kOk)), std::vector<std::string>{kOk});
}

TEST(SipMessageTest, StreamFramingFindsTheBlankLineWhereverTheStreamIsSplit) {
  // The search for the end of the headers resumes where it stopped: a split inside "\r\n\r\n"
  // or "\n\n" must still be found, and only once.
  for (std::string message : {std::string(kOk), std::string("SIP/2.0 200 OK\nl: 2\n\nok")}) {
    for (std::size_t cut = 0; cut <= message.size(); ++cut) {
      SipStreamFramer framer;
      auto first = frameAll(framer, message.substr(0, cut));
      auto rest = frameAll(framer, message.substr(cut));
      first.insert(first.end(), rest.begin(), rest.end());
      ASSERT_EQ(first, std::vector<std::string>{message}) << "cut at " << cut;
    }
  }
}

TEST(SipMessageTest, StreamFramingRejectsWhatCanNeverBeAMessage) {
  SipStreamFramer no_length;
  EXPECT_TRUE(frameAll(no_length, "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n").empty());
  EXPECT_EQ(no_length.error(), "response without Content-Length");
  SipStreamFramer request;
  EXPECT_TRUE(frameAll(request, "OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n").empty());
  EXPECT_EQ(request.error(), "unparsable response (not a SIP/2.0 response)");
  SipStreamFramer huge_body(1000);
  EXPECT_TRUE(frameAll(huge_body, "SIP/2.0 200 OK\r\nl: 990\r\n\r\n").empty());
  EXPECT_EQ(huge_body.error(), "message longer than 1000 bytes");
  // Once failed, a framer stays failed and holds nothing.
  EXPECT_TRUE(frameAll(huge_body, kOk).empty());
  EXPECT_EQ(huge_body.buffered(), 0u);
}

TEST(SipMessageTest, StreamFramingBoundsHeaderBytes) {
  SipStreamFramer framer(1000);
  std::string header = "SIP/2.0 200 OK\r\nX-Pad: " + std::string(1000, 'a');
  EXPECT_TRUE(frameAll(framer, header).empty());
  EXPECT_EQ(framer.error(), "no end of headers within 1000 bytes");
  EXPECT_EQ(framer.buffered(), 0u);
}

// Issue #19 item 6: a peer that sends only CRLFs used to be skipped past the header limit for
// ever, with the whole buffer rescanned on every read. Keep-alives now count toward the limit.
TEST(SipMessageTest, KeepAliveCrlfsCountTowardTheLimit) {
  SipStreamFramer framer(1000);
  for (int i = 0; i < 499 && !framer.failed(); ++i) {
    EXPECT_TRUE(frameAll(framer, "\r\n").empty());
  }
  EXPECT_FALSE(framer.failed());     // 998 bytes: a server may send a few keep-alives
  EXPECT_EQ(framer.buffered(), 0u);  // dropped, not kept
  EXPECT_TRUE(frameAll(framer, "\r\n\r\n").empty());
  EXPECT_TRUE(framer.failed());
  EXPECT_EQ(framer.error(), "more than 1000 bytes of keep-alive CRLFs and no message");
  // ...and toward the message after them: 900 CRLFs plus a 200-byte response is too much.
  SipStreamFramer mixed(1000);
  std::string padded = "SIP/2.0 200 OK\r\nl: 0\r\nX-Pad: " + std::string(160, 'a') + "\r\n\r\n";
  EXPECT_TRUE(frameAll(mixed, std::string(900, '\n') + padded).empty());
  EXPECT_EQ(mixed.error(), "headers longer than 1000 bytes");
  // Keep-alives between messages are dropped and the count starts again for each message.
  SipStreamFramer between(1000);
  std::string stream = std::string(kOk) + std::string(600, '\n') + kOk + std::string(600, '\n');
  EXPECT_EQ(frameAll(between, stream).size(), 2u);
  EXPECT_FALSE(between.failed());
}

}  // namespace
}  // namespace mediapath::probes
