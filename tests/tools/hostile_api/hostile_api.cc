// hostile-api: a stand-in for the Genesys Cloud API that answers the way an attacker or a broken
// platform would, for the integration tests of issue #19 (tests/integration/hostile_api_test.cc).
// Plain HTTP on loopback (the agent allows http:// only there), one connection at a time,
// "Connection: close" on every answer, so every request is a fresh, simple exchange.
//
//   hostile-api --port-file FILE --mode MODE [--request-log FILE]
//
// The token endpoint (POST /oauth/token) answers a normal token unless the mode is about it.
// Modes (everything under /api/ unless said otherwise):
//   normal          a well-behaved API: location loc-1 (version 1), empty audit and analytics
//   not-json        200 with an HTML body
//   wrong-shape     200 with a JSON array
//   deep            200 with 100,000 nested arrays
//   huge            200 with an endless chunked body
//   repeat-cursor   audit results always name the same next cursor
//   endless         audit results always offer a new cursor; analytics claims 10^9 hits and
//                   answers every page with 100 new conversations
//   repeat-page     analytics answers every page with the same conversations
//   control-chars   400 whose message/code/contextId hold CR, LF, ESC and BEL
//   echo-auth       the token endpoint answers 401 echoing the Authorization header it got
//   echo-bearer     400 echoing the Authorization header (the bearer token)
//   expires-huge    the token endpoint answers expires_in 1e300 (then behaves normally)
//   reset           resets the connection (RST) in the middle of every answer
//   conflict        PATCH of a location always answers 408 (a version conflict)
//
// Not the genesys-emulator: that one models the real platform faithfully and never lies.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace {

using nlohmann::json;

struct Request {
  std::string method;
  std::string path;
  std::string authorization;
  std::string body;
};

void sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool readRequest(int fd, Request& req) {
  std::string data;
  char buf[8192];
  std::size_t head_end = std::string::npos;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0 || data.size() > (1u << 20)) return false;
    data.append(buf, static_cast<std::size_t>(n));
  }
  std::string head = data.substr(0, head_end);
  std::size_t sp1 = head.find(' ');
  std::size_t sp2 = head.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
  req.method = head.substr(0, sp1);
  req.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t length = 0;
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "authorization") req.authorization = value;
      if (name == "content-length") length = std::stoul(value);
    }
    pos = next;
  }
  req.body = data.substr(head_end + 4);
  while (req.body.size() < length) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    req.body.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

void reply(int fd, int status, const std::string& body,
           const std::string& type = "application/json", const std::string& extra = {}) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n" + extra + "\r\n";
  sendAll(fd, head + body);
}

void resetConnection(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

json location(int version) {
  return {{"id", "loc-1"},
          {"name", "Renamed Remotely"},
          {"version", version},
          {"state", "active"},
          {"selfUri", "/api/v2/locations/loc-1"}};
}

json auditEntry(std::size_t n) {
  return {{"id", "a-" + std::to_string(n)},
          {"eventDate", "2026-01-01T00:00:00.000Z"},
          {"action", "Update"},
          {"entityType", "Location"},
          {"entity", {{"id", "loc-1"}, {"name", "Hostile Office"}}}};
}

json conversations(const std::string& prefix) {
  json list = json::array();
  for (int i = 0; i < 100; ++i) {
    list.push_back({{"conversationId", prefix + "-" + std::to_string(i)},
                    {"mediaStatsMinConversationMos", 4.2}});
  }
  return list;
}

/// Answers one request according to `mode`; returns false when the connection is already gone.
bool answer(int fd, const std::string& mode, const Request& req, std::size_t& counter) {
  ++counter;
  if (req.path.rfind("/oauth/token", 0) == 0) {
    if (mode == "echo-auth") {
      json err{{"error", "invalid_client"},
               {"description", "client rejected; you sent Authorization: " + req.authorization}};
      reply(fd, 401, err.dump());
      return true;
    }
    std::string expires = mode == "expires-huge" ? "1e300" : "86400";
    reply(fd, 200,
          R"({"access_token":"tok-hostile-1","token_type":"bearer","expires_in":)" + expires + "}");
    return true;
  }
  if (mode == "reset") {
    sendAll(fd,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
            "{\"id\": \"loc-1\", \"na");
    ::usleep(50 * 1000);
    resetConnection(fd);
    return false;
  }
  if (mode == "not-json") {
    reply(fd, 200, "<html><body>Service OK</body></html>", "text/html");
    return true;
  }
  if (mode == "wrong-shape") {
    reply(fd, 200, R"(["not", "an", "object"])");
    return true;
  }
  if (mode == "deep") {
    constexpr std::size_t kDepth = 100000;
    reply(fd, 200, std::string(kDepth, '[') + std::string(kDepth, ']'));
    return true;
  }
  if (mode == "huge") {
    sendAll(fd,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n");
    std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
    // Until the agent hangs up; 4 GiB at most, so a client that never does still ends the test.
    for (int i = 0; i < 65536; ++i) {
      ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
    }
    return true;
  }
  if (mode == "control-chars") {
    json err{{"message",
              "Location invalid\r\n[2026-01-01 00:00:00.000] [error] forged record\x1b[31m red"},
             {"code", "bad.request\nINJECTED"},
             {"contextId", "ctx-1\x1b]0;owned\x07"},
             {"status", 400}};
    reply(fd, 400, err.dump(), "application/json", "ININ-Correlation-Id: corr\x1b[2J\r\n");
    return true;
  }
  if (mode == "echo-bearer") {
    json err{{"message", "bad request; Authorization: " + req.authorization},
             {"code", "bad.request"}};
    reply(fd, 400, err.dump());
    return true;
  }
  // Well-formed answers (normal, the paging modes, expires-huge, conflict).
  if (req.path.rfind("/api/v2/locations/", 0) == 0) {
    if (req.method == "PATCH") {
      if (mode == "conflict") {
        reply(fd, 408, R"({"message":"Request timed out","code":"request.timeout"})");
        return true;
      }
      reply(fd, 200, location(2).dump());
      return true;
    }
    reply(fd, 200, location(1).dump());
    return true;
  }
  if (req.path == "/api/v2/audits/query" && req.method == "POST") {
    reply(fd, 200, R"({"id":"q-1","state":"Succeeded"})");
    return true;
  }
  if (req.path.rfind("/api/v2/audits/query/q-1/results", 0) == 0) {
    json page{{"pageSize", 500}, {"entities", json::array({auditEntry(counter)})}};
    if (mode == "repeat-cursor") page["cursor"] = "the-same-cursor";
    if (mode == "endless") page["cursor"] = "cursor-" + std::to_string(counter);
    reply(fd, 200, page.dump());
    return true;
  }
  if (req.path.rfind("/api/v2/audits/query/q-1", 0) == 0) {
    reply(fd, 200, R"({"id":"q-1","state":"Succeeded"})");
    return true;
  }
  if (req.path == "/api/v2/analytics/conversations/details/query") {
    json query = json::parse(req.body, nullptr, false);
    int page = 1;
    if (query.is_object() && query.contains("paging")) {
      page = query["paging"].value("pageNumber", 1);
    }
    if (mode == "endless") {
      reply(fd, 200,
            json{{"totalHits", 1000000000},
                 {"conversations", conversations("p" + std::to_string(page))}}
                .dump());
    } else if (mode == "repeat-page") {
      reply(fd, 200,
            json{{"totalHits", 1000000000}, {"conversations", conversations("same")}}.dump());
    } else {
      reply(fd, 200, R"({"totalHits":0})");
    }
    return true;
  }
  reply(fd, 404, R"({"message":"not found","code":"not.found"})");
  return true;
}

int usage() {
  std::cerr << "usage: hostile-api --port-file FILE --mode MODE [--request-log FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string port_file;
  std::string mode = "normal";
  std::string request_log;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view opt = argv[i];
    if (opt == "--port-file") {
      port_file = argv[i + 1];
    } else if (opt == "--mode") {
      mode = argv[i + 1];
    } else if (opt == "--request-log") {
      request_log = argv[i + 1];
    } else {
      return usage();
    }
  }
  if (port_file.empty() || argc % 2 == 0) return usage();
  std::signal(SIGPIPE, SIG_IGN);

  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listener, 16) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("hostile-api: listen");
    return 1;
  }
  {
    std::ofstream out(port_file + ".tmp");
    out << ntohs(addr.sin_port) << "\n";
  }
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());

  std::ofstream log;
  if (!request_log.empty()) log.open(request_log, std::ios::app);
  std::size_t counter = 0;
  while (true) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    Request req;
    if (readRequest(fd, req)) {
      if (log.is_open()) log << req.method << " " << req.path << std::endl;
      if (!answer(fd, mode, req, counter)) continue;
    }
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }
}
