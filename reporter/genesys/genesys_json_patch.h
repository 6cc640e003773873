#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "net/json_input.h"
#include "reporter/genesys/location_payload.h"

namespace mediapath::reporter {

/// RFC 6901 escaping of one reference token ("~" → "~0", "/" → "~1"): the base library's, which
/// also names the pointers of JSON input errors.
using net::escapePointerToken;

/// An RFC 6902 JSON Patch that makes `remote` hold every value `desired` holds. Only keys present
/// in `desired` are considered (the remote's server-side fields — id, status, version, selfUri —
/// are left alone); objects are compared member by member, arrays and scalars as whole values.
/// Every `replace` is guarded by a `test` of the value it replaces, and all tests come first, so
/// the platform applies nothing if the location changed since it was read. Missing members are
/// `add`ed. Equal documents give an empty array.
nlohmann::json buildJsonPatch(const nlohmann::json& remote, const nlohmann::json& desired);

/// The location backend's patch: test the old host/port under `path` ("/media/proxy"), then
/// replace them with the new ones. Only the fields that differ are tested and replaced.
nlohmann::json endpointPatch(const std::string& path, const Endpoint& old_endpoint,
                             const Endpoint& new_endpoint);

}  // namespace mediapath::reporter
