#include "net/clock.h"

#include <cstdio>
#include <ctime>

namespace mediapath::net {

std::string formatUtc(std::chrono::system_clock::time_point t, bool millis) {
  auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  std::time_t secs = static_cast<std::time_t>(since_epoch.count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  if (millis) {
    std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(since_epoch.count() % 1000));
  } else {
    std::snprintf(buf + n, sizeof(buf) - n, "Z");
  }
  return buf;
}

}  // namespace mediapath::net
