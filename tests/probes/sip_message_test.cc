#include "probes/sip_message.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(SipMessageTest, StreamFramingUsesContentLength) {
  std::string two = std::string(kOk) + "SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nbody";
  auto first = sipMessageLength(two);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, std::string(kOk).size());
  std::string rest = two.substr(*first);
  EXPECT_EQ(sipMessageLength(rest), rest.size());
  // Incomplete: headers not finished, or body still missing.
  EXPECT_EQ(sipMessageLength("SIP/2.0 200 OK\r\nContent-Len"), 0u);
  EXPECT_EQ(sipMessageLength("SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nbo"), 0u);
  // Keep-alive CRLFs before a message are part of what is consumed.
  std::string keepalive = "\r\n\r\n" + std::string(kOk);
  EXPECT_EQ(sipMessageLength(keepalive), keepalive.size());
  // No Content-Length on a stream: cannot be framed.
  EXPECT_FALSE(sipMessageLength("SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n"));
  EXPECT_FALSE(sipMessageLength(std::string(70000, 'a')));
}

}  // namespace
}  // namespace mediapath::probes
