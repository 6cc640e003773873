#include "agent/service/journal_logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "net/text.h"

namespace mediapath::agent {
namespace {

const char* sdPriority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return SD_CRIT;
    case spdlog::level::err:
      return SD_ERR;
    case spdlog::level::warn:
      return SD_WARNING;
    case spdlog::level::info:
      return SD_INFO;
    default:  // trace, debug
      return SD_DEBUG;
  }
}

// %* in a pattern: the "<N>" prefix journald reads as the line's priority (SyslogLevelPrefix=).
class PriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*tm*/,
              spdlog::memory_buf_t& dest) override {
    const char* p = sdPriority(msg.level);
    dest.append(p, p + std::strlen(p));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PriorityFlag>();
  }
};

// %& in a pattern: the message with control bytes shown as \xNN, so that one call is one line
// whatever a peer put in it (a SIP reason phrase, an API error, a DNS name): no forged record,
// no terminal escape, whichever caller forgot net::printable. Nothing is cut.
class EscapedMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*tm*/,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string safe = net::printable(payload, payload.size());
    dest.append(safe.data(), safe.data() + safe.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessageFlag>();
  }
};

}  // namespace

bool stderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr || *stream == '\0') return false;
  std::uintmax_t dev = 0;
  std::uintmax_t ino = 0;
  if (std::sscanf(stream, "%" SCNuMAX ":%" SCNuMAX, &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<std::uintmax_t>(st.st_dev) == dev &&
         static_cast<std::uintmax_t>(st.st_ino) == ino;
}

std::shared_ptr<spdlog::logger> makeStderrLogger(const std::string& name, bool journal) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<EscapedMessageFlag>('&');
  if (!journal) {
    auto logger = spdlog::stderr_color_mt(name);
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %&");
    logger->set_formatter(std::move(formatter));
    return logger;
  }
  auto logger = spdlog::stderr_logger_mt(name);
  formatter->add_flag<PriorityFlag>('*').set_pattern("%*%&");
  logger->set_formatter(std::move(formatter));
  return logger;
}

}  // namespace mediapath::agent
