// The agent's stderr logger: whatever a caller passes (peer text included), one call is one
// line, control bytes shown as \xNN, in both the journal and the human format.
#include "agent/service/journal_logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <string>

namespace mediapath::agent {
namespace {

std::string logged(bool journal, const std::string& name) {
  auto logger = makeStderrLogger(name, journal);
  ::testing::internal::CaptureStderr();
  // What a hostile SIP peer or API could send as a reason or error message.
  logger->warn("round failed: SIP 200 {}", std::string("OK\r\n<3>forged record\x1b[2J\0end", 28));
  logger->flush();
  std::string out = ::testing::internal::GetCapturedStderr();
  spdlog::drop(name);
  return out;
}

TEST(JournalLogging, PeerTextCannotForgeARecordInTheJournalFormat) {
  std::string out = logged(/*journal=*/true, "escape-journal");
  EXPECT_EQ(out, "<4>round failed: SIP 200 OK\\x0d\\x0a<3>forged record\\x1b[2J\\x00end\n");
}

TEST(JournalLogging, PeerTextCannotForgeALineInTheHumanFormat) {
  std::string out = logged(/*journal=*/false, "escape-human");
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // exactly one line
  EXPECT_NE(out.find("SIP 200 OK\\x0d\\x0a<3>forged record\\x1b[2J\\x00end"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace mediapath::agent
