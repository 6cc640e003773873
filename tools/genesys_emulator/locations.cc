#include "tools/genesys_emulator/locations.h"

#include <array>
#include <set>

#include "tools/genesys_emulator/util.h"

namespace mediapath::tools::emulator {
namespace {

using nlohmann::json;

constexpr std::array<const char*, 5> kReadOnly = {"id", "version", "status", "state", "selfUri"};

// The writable Location tree. "s" string leaf, "i" integer leaf, [x] array of x, {..} object.
// The Location's address and emergency number, as both the seed and the platform carry them.
json addressTree() {
  return {{"street1", "s"}, {"street2", "s"}, {"city", "s"},        {"state", "s"},
          {"zipcode", "s"}, {"country", "s"}, {"countryName", "s"}, {"countryFullName", "s"}};
}

json emergencyNumberTree() { return {{"e164", "s"}, {"number", "s"}, {"type", "s"}}; }

const json& schema() {
  static const json kSchema = [] {
    json ports = json::array({"i"});
    json endpoint = {{"host", "s"}, {"port", "i"}};
    return json{
        {"name", "s"},
        {"region", "s"},
        {"notes", "s"},
        {"sip", {{"ports", ports}}},
        {"media",
         {{"sip", {{"ports", ports}}},
          {"proxy", endpoint},
          {"stun", endpoint},
          {"turn", endpoint}}},
        {"ipAddressAllowlist", json::array({"s"})},
        {"address", addressTree()},
        {"emergencyNumber", emergencyNumberTree()},
        {"path", json::array({"s"})},
    };
  }();
  return kSchema;
}

// The real LocationDefinition / LocationUpdateDefinition (platform-client-sdk-go), same notation.
json platformTree(bool update) {
  json tree = {
      {"name", "s"},
      {"notes", "s"},
      {"state", "s"},
      {"path", json::array({"s"})},
      {"contactUser", {{"id", "s"}, {"selfUri", "s"}}},
      {"address", addressTree()},
      {"emergencyNumber", emergencyNumberTree()},
  };
  if (update) tree["version"] = "i";
  return tree;
}

const json& platformCreateTree() {
  static const json kTree = platformTree(false);
  return kTree;
}

const json& platformUpdateTree() {
  static const json kTree = platformTree(true);
  return kTree;
}

// Every property of `value` the tree does not know, as "a.b"; known objects are searched too.
void unknownProperties(const json& value, const json& node, const std::string& field,
                       std::vector<std::string>& out) {
  if (!value.is_object() || !node.is_object()) return;
  for (const auto& [key, child] : value.items()) {
    std::string name = field.empty() ? key : field + "." + key;
    if (!node.contains(key)) {
      out.push_back(name);
    } else {
      unknownProperties(child, node[key], name, out);
    }
  }
}

std::optional<ApiError> invalidProperties(const json& body, const json& tree,
                                          const std::string& what) {
  std::vector<std::string> unknown;
  unknownProperties(body, tree, "", unknown);
  if (unknown.empty()) return std::nullopt;
  std::string list;
  for (const auto& name : unknown) list += (list.empty() ? "" : ", ") + name;
  return ApiError{400, "invalid.property",
                  "Invalid property: " + list + " is not a property of " + what, unknown};
}

struct Issues {
  std::vector<std::string> messages;
  std::vector<std::string> fields;
  bool range = false;  // any 422-class issue (otherwise only type issues → 400)

  void add(std::string field, std::string message, bool is_range) {
    fields.push_back(std::move(field));
    messages.push_back(std::move(message));
    range = range || is_range;
  }
};

std::string joinField(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// Type-checks `value` against `node` of the schema; unknown keys are ignored (the platform ignores
// properties it does not know).
void checkTypes(const json& value, const json& node, const std::string& field, Issues& issues) {
  if (node.is_string()) {
    std::string kind = node.get<std::string>();
    if (kind == "s" && !value.is_string()) {
      issues.add(field, field + " must be a string", false);
    } else if (kind == "i" && !value.is_number_integer()) {
      issues.add(field, field + " must be an integer", false);
    }
    return;
  }
  if (node.is_array()) {
    if (!value.is_array()) {
      issues.add(field, field + " must be an array", false);
      return;
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      checkTypes(value[i], node[0], field + "[" + std::to_string(i) + "]", issues);
    }
    return;
  }
  if (!value.is_object()) {
    issues.add(field, field + " must be an object", false);
    return;
  }
  for (const auto& [key, child] : node.items()) {
    if (value.contains(key)) checkTypes(value[key], child, joinField(field, key), issues);
  }
}

void checkSipPorts(const json& doc, const json::json_pointer& ptr, const std::string& field,
                   Issues& issues) {
  if (!doc.contains(ptr) || !doc[ptr].is_array()) return;
  const json& ports = doc[ptr];
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (!ports[i].is_number_integer()) continue;
    long long port = ports[i].get<long long>();
    if (port < 5060 || port > 5081) {
      issues.add(field + "[" + std::to_string(i) + "]",
                 "SIP port " + std::to_string(port) + " outside supported range 5060-5081", true);
    }
  }
}

void checkEndpoint(const json& doc, const char* name, Issues& issues) {
  json::json_pointer ptr(std::string("/media/") + name);
  if (!doc.contains(ptr) || !doc[ptr].is_object()) return;
  const json& endpoint = doc[ptr];
  std::string field = std::string("media.") + name;
  if (endpoint.contains("port") && endpoint["port"].is_number_integer()) {
    long long port = endpoint["port"].get<long long>();
    if (port < 1 || port > 65535) {
      issues.add(field + ".port",
                 field + ".port " + std::to_string(port) + " outside valid range 1-65535", true);
    }
  }
  if (endpoint.contains("host") && endpoint["host"].is_string() &&
      endpoint["host"].get<std::string>().empty()) {
    issues.add(field + ".host", field + ".host must not be empty", true);
  }
}

std::optional<ApiError> toError(const Issues& issues) {
  if (issues.fields.empty()) return std::nullopt;
  ApiError error;
  error.status = issues.range ? 422 : 400;
  error.code = "invalid.value";
  for (std::size_t i = 0; i < issues.messages.size(); ++i) {
    if (i > 0) error.message += "; ";
    error.message += issues.messages[i];
  }
  error.fields = issues.fields;
  return error;
}

std::vector<std::string> splitPointer(const std::string& pointer) {
  std::vector<std::string> tokens;
  std::size_t pos = 1;
  while (pos <= pointer.size()) {
    auto slash = pointer.find('/', pos);
    std::string token =
        pointer.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    std::string unescaped;
    for (std::size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
        unescaped.push_back(token[i + 1] == '0' ? '~' : '/');
        ++i;
      } else {
        unescaped.push_back(token[i]);
      }
    }
    tokens.push_back(unescaped);
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return tokens;
}

ApiError unprocessable(std::string message, std::string field) {
  return ApiError{422, "invalid.value", std::move(message), {std::move(field)}};
}

void collectLeaves(const json& doc, const std::string& prefix, std::map<std::string, json>& out) {
  if (doc.is_object()) {
    for (const auto& [key, value] : doc.items()) collectLeaves(value, prefix + "/" + key, out);
    return;
  }
  out[prefix] = doc;
}

json valuesOf(const json& leaf) {
  json out = json::array();
  auto one = [&](const json& v) { out.push_back(v.is_string() ? v.get<std::string>() : v.dump()); };
  if (leaf.is_array()) {
    for (const auto& v : leaf) one(v);
  } else if (!leaf.is_null()) {
    one(leaf);
  }
  return out;
}

}  // namespace

std::optional<ApiError> validateLocation(const json& writable) {
  if (!writable.is_object())
    return ApiError{400, "bad.request", "A Location must be an object", {}};
  Issues issues;
  if (!writable.contains("name") || !writable["name"].is_string() ||
      writable["name"].get<std::string>().empty()) {
    issues.add("name", "name is required", false);
  }
  checkTypes(writable, schema(), "", issues);
  checkSipPorts(writable, json::json_pointer("/sip/ports"), "sip.ports", issues);
  checkSipPorts(writable, json::json_pointer("/media/sip/ports"), "media.sip.ports", issues);
  for (const char* name : {"proxy", "stun", "turn"}) checkEndpoint(writable, name, issues);
  if (writable.contains("ipAddressAllowlist") && writable["ipAddressAllowlist"].is_array()) {
    const json& list = writable["ipAddressAllowlist"];
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (list[i].is_string() && !isValidCidr(list[i].get<std::string>())) {
        issues.add("ipAddressAllowlist[" + std::to_string(i) + "]",
                   "invalid CIDR in allowlist: " + list[i].get<std::string>(), true);
      }
    }
  }
  return toError(issues);
}

std::variant<json, ApiError> locationFromCreate(const json& body) {
  if (!body.is_object()) return ApiError{400, "bad.request", "The body must be a JSON object", {}};
  json writable = json::object();
  for (const auto& [key, value] : schema().items()) {
    if (body.contains(key) && !body[key].is_null()) writable[key] = body[key];
  }
  if (auto error = validateLocation(writable)) return *error;
  return writable;
}

std::variant<json, ApiError> platformLocationFromCreate(const json& body) {
  if (!body.is_object()) return ApiError{400, "bad.request", "The body must be a JSON object", {}};
  if (auto error = invalidProperties(body, platformCreateTree(), "LocationDefinition")) {
    return *error;
  }
  Issues issues;
  if (!body.contains("name") || !body["name"].is_string() ||
      body["name"].get<std::string>().empty()) {
    issues.add("name", "name is required", false);
  }
  checkTypes(body, platformCreateTree(), "", issues);
  if (body.contains("state") && body["state"] != "active") {
    issues.add("state", "state of a new Location must be active", false);
  }
  if (auto error = toError(issues)) return *error;
  json writable = json::object();
  for (const auto& [key, value] : body.items()) {
    if (!value.is_null()) writable[key] = value;
  }
  writable.erase("state");
  return writable;
}

std::variant<json, ApiError> applyPlatformLocationUpdate(const json& stored, const json& update,
                                                         long long current_version) {
  if (!update.is_object()) {
    return ApiError{400, "bad.request", "A LocationUpdateDefinition must be a JSON object", {}};
  }
  if (auto error = invalidProperties(update, platformUpdateTree(), "LocationUpdateDefinition")) {
    return *error;
  }
  if (!update.contains("version") || !update["version"].is_number_integer()) {
    return ApiError{400, "invalid.value", "version is required", {"version"}};
  }
  Issues issues;
  checkTypes(update, platformUpdateTree(), "", issues);
  if (update.contains("name") && update["name"].is_string() &&
      update["name"].get<std::string>().empty()) {
    issues.add("name", "name must not be empty", false);
  }
  if (update.contains("state") && update["state"] != "active" && update["state"] != "deleted") {
    issues.add("state", "state must be active or deleted", false);
  }
  if (auto error = toError(issues)) return *error;
  if (update["version"].get<long long>() != current_version) {
    return ApiError{409, "conflict", kVersionMismatchMessage, {"version"}};
  }
  json doc = stored;
  for (const char* key : {"id", "version", "selfUri"}) doc.erase(key);
  for (const auto& [key, value] : update.items()) {
    if (key == "version") continue;
    if (value.is_null() && key != "name") {
      doc.erase(key);
    } else if (!value.is_null()) {
      doc[key] = value;
    }
  }
  return doc;
}

json writableLocation(const json& stored) {
  json out = stored;
  for (const char* key : kReadOnly) out.erase(key);
  return out;
}

std::optional<ApiError> checkPatchPath(const std::string& pointer) {
  if (pointer.empty() || pointer[0] != '/') {
    return unprocessable("Invalid patch path '" + pointer + "': must be a JSON pointer to a field",
                         pointer);
  }
  std::vector<std::string> tokens = splitPointer(pointer);
  for (const char* key : kReadOnly) {
    if (tokens[0] == key) {
      return unprocessable("Patch path '" + pointer + "' is read-only", pointer);
    }
  }
  const json* node = &schema();
  for (const auto& token : tokens) {
    if (node->is_array()) {
      bool index = token == "-" ||
                   (!token.empty() && token.find_first_not_of("0123456789") == std::string::npos);
      if (!index) {
        return unprocessable("Patch path '" + pointer + "' does not match the Location schema",
                             pointer);
      }
      node = &(*node)[0];
    } else if (node->is_object() && node->contains(token)) {
      node = &(*node)[token];
    } else {
      return unprocessable("Patch path '" + pointer + "' does not match the Location schema",
                           pointer);
    }
  }
  return std::nullopt;
}

std::variant<json, ApiError> applyLocationPatch(const json& stored, const json& patch) {
  if (!patch.is_array()) {
    return ApiError{400, "bad.request", "A JSON Patch body must be an array of operations", {}};
  }
  if (patch.empty()) return unprocessable("The JSON Patch has no operations", "");
  static const std::set<std::string> kOps = {"add", "remove", "replace", "move", "copy", "test"};
  for (std::size_t i = 0; i < patch.size(); ++i) {
    const json& op = patch[i];
    std::string where = "operation " + std::to_string(i);
    if (!op.is_object() || !op.contains("op") || !op["op"].is_string() ||
        kOps.count(op["op"].get<std::string>()) == 0) {
      return unprocessable(where + ": op must be one of add, remove, replace, move, copy, test",
                           "op");
    }
    std::string name = op["op"].get<std::string>();
    if (!op.contains("path") || !op["path"].is_string()) {
      return unprocessable(where + ": path is required", "path");
    }
    if (auto error = checkPatchPath(op["path"].get<std::string>())) return *error;
    if ((name == "add" || name == "replace" || name == "test") && !op.contains("value")) {
      return unprocessable(where + ": value is required for " + name, "value");
    }
    if (name == "move" || name == "copy") {
      if (!op.contains("from") || !op["from"].is_string()) {
        return unprocessable(where + ": from is required for " + name, "from");
      }
      if (auto error = checkPatchPath(op["from"].get<std::string>())) return *error;
    }
  }
  // One op at a time on a copy: the stored document changes only if every op succeeds, and a
  // failure can be attributed to its op (a failed test is a conflict, not a bad path).
  json doc = writableLocation(stored);
  for (std::size_t i = 0; i < patch.size(); ++i) {
    const json& op = patch[i];
    std::string name = op["op"].get<std::string>();
    std::string path = op["path"].get<std::string>();
    if (name == "test") {
      json::json_pointer ptr(path);
      if (!doc.contains(ptr) || doc[ptr] != op["value"]) {
        std::string actual = doc.contains(ptr) ? doc[ptr].dump() : "nothing";
        return ApiError{409,
                        "conflict",
                        "JSON Patch test failed at " + path + ": expected " + op["value"].dump() +
                            ", found " + actual,
                        {path}};
      }
      continue;
    }
    try {
      doc = doc.patch(json::array({op}));
    } catch (const json::exception& e) {
      return unprocessable("JSON Patch operation " + std::to_string(i) + " (" + name + " " + path +
                               ") cannot be applied: the path does not exist",
                           path);
    }
  }
  if (auto error = validateLocation(doc)) {
    error->status = 422;
    return *error;
  }
  return doc;
}

std::variant<json, ApiError> applyLocationUpdate(const json& stored, const json& update,
                                                 long long current_version) {
  if (!update.is_object()) return ApiError{400, "bad.request", "The body must be an object", {}};
  if (!update.contains("version") || !update["version"].is_number_integer()) {
    return ApiError{400, "invalid.value", "version is required", {"version"}};
  }
  if (update["version"].get<long long>() != current_version) {
    return ApiError{409, "conflict", kVersionMismatchMessage, {"version"}};
  }
  json doc = writableLocation(stored);
  for (const auto& [key, value] : schema().items()) {
    if (update.contains(key)) {
      if (update[key].is_null()) {
        doc.erase(key);
      } else {
        doc[key] = update[key];
      }
    }
  }
  if (auto error = validateLocation(doc)) return *error;
  return doc;
}

json propertyChanges(const json& before, const json& after) {
  std::map<std::string, json> old_leaves, new_leaves;
  collectLeaves(before, "", old_leaves);
  collectLeaves(after, "", new_leaves);
  std::set<std::string> keys;
  for (const auto& [k, v] : old_leaves) keys.insert(k);
  for (const auto& [k, v] : new_leaves) keys.insert(k);
  json changes = json::array();
  for (const auto& key : keys) {
    auto o = old_leaves.find(key);
    auto n = new_leaves.find(key);
    json old_value = o == old_leaves.end() ? json() : o->second;
    json new_value = n == new_leaves.end() ? json() : n->second;
    if (old_value == new_value) continue;
    changes.push_back({{"property", key},
                       {"oldValues", valuesOf(old_value)},
                       {"newValues", valuesOf(new_value)}});
  }
  return changes;
}

}  // namespace mediapath::tools::emulator
