#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace mediapath::tools::emulator {

/// An error the platform would answer with: status, code and a message a human can act on;
/// `fields` become details[].fieldName.
struct ApiError {
  int status = 400;
  std::string code = "bad.request";
  std::string message;
  std::vector<std::string> fields;
};

/// The platform's error body: {message, code, status, messageWithParams, messageParams,
/// contextId, details[{errorCode, fieldName}], errors[]}.
inline nlohmann::json errorBody(const ApiError& error, const std::string& context_id) {
  nlohmann::json details = nlohmann::json::array();
  for (const auto& field : error.fields) {
    details.push_back({{"errorCode", error.code}, {"fieldName", field}});
  }
  return {{"message", error.message},
          {"code", error.code},
          {"status", error.status},
          {"messageWithParams", error.message},
          {"messageParams", nlohmann::json::object()},
          {"contextId", context_id},
          {"details", details},
          {"errors", nlohmann::json::array()}};
}

}  // namespace mediapath::tools::emulator
