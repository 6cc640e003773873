#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mediapath::tools::emulator {

/// One HTTP request as the transport hands it to the Emulator. Header names are lower-case.
struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string remote_addr = "127.0.0.1";

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string queryParam(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
};

/// The Emulator's answer. `stall` and `reset` are faults the transport carries out, because only
/// it owns the connection: wait `stall` before answering; drop the connection instead of
/// answering.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds stall{0};
  bool reset = false;

  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

}  // namespace mediapath::tools::emulator
