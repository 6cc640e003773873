#include "reporter/genesys/genesys_json_patch.h"

namespace mediapath::reporter {
namespace {

void diff(const nlohmann::json& remote, const nlohmann::json& desired, const std::string& pointer,
          nlohmann::json& tests, nlohmann::json& changes) {
  for (const auto& [key, want] : desired.items()) {
    std::string path = pointer + "/" + escapePointerToken(key);
    auto have = remote.find(key);
    if (have == remote.end()) {
      changes.push_back({{"op", "add"}, {"path", path}, {"value", want}});
    } else if (have->is_object() && want.is_object()) {
      diff(*have, want, path, tests, changes);
    } else if (*have != want) {
      tests.push_back({{"op", "test"}, {"path", path}, {"value", *have}});
      changes.push_back({{"op", "replace"}, {"path", path}, {"value", want}});
    }
  }
}

}  // namespace

nlohmann::json buildJsonPatch(const nlohmann::json& remote, const nlohmann::json& desired) {
  nlohmann::json tests = nlohmann::json::array();
  nlohmann::json changes = nlohmann::json::array();
  if (!desired.is_object() || !remote.is_object()) {
    if (remote != desired) {
      tests.push_back({{"op", "test"}, {"path", ""}, {"value", remote}});
      changes.push_back({{"op", "replace"}, {"path", ""}, {"value", desired}});
    }
  } else {
    diff(remote, desired, "", tests, changes);
  }
  for (auto& c : changes) tests.push_back(std::move(c));
  return tests;
}

nlohmann::json endpointPatch(const std::string& path, const Endpoint& old_endpoint,
                             const Endpoint& new_endpoint) {
  nlohmann::json remote{{"host", old_endpoint.host}, {"port", old_endpoint.port}};
  nlohmann::json desired{{"host", new_endpoint.host}, {"port", new_endpoint.port}};
  nlohmann::json patch = buildJsonPatch(remote, desired);
  for (auto& op : patch) op["path"] = path + op["path"].get<std::string>();
  return patch;
}

}  // namespace mediapath::reporter
