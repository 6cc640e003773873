#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "tools/genesys_emulator/api_error.h"

namespace mediapath::tools::emulator {

/// Location documents: the seed tutorial's fields (region, sip, media, ipAddressAllowlist) plus
/// the real platform's (address, emergencyNumber, notes, path). Pure functions; no state.

/// The fields a client may write, picked from a create body. Type errors and range errors are
/// reported: wrong types → 400 invalid.value, invalid CIDR / SIP port outside 5060–5081 / port
/// outside 1–65535 → 422 invalid.value; every offending field is listed.
std::variant<nlohmann::json, ApiError> locationFromCreate(const nlohmann::json& body);

/// Checks a whole Location document (the writable part); nullopt when valid.
std::optional<ApiError> validateLocation(const nlohmann::json& writable);

/// Whether a JSON pointer names a writable Location field (array indices and "-" allowed in
/// arrays). Read-only fields (id, version, status, state, selfUri) and unknown paths → 422.
std::optional<ApiError> checkPatchPath(const std::string& pointer);

/// Applies an RFC 6902 patch to the writable part of `stored` atomically. Ops are checked first
/// (shape, known paths) → 422; a failed `test` op → 409 conflict; the result is validated →
/// 422. Returns the new writable document.
std::variant<nlohmann::json, ApiError> applyLocationPatch(const nlohmann::json& stored,
                                                          const nlohmann::json& patch);

/// The real platform's LocationUpdateDefinition: top-level fields replace the stored ones;
/// `version` is required (400) and must equal `current_version` (409).
std::variant<nlohmann::json, ApiError> applyLocationUpdate(const nlohmann::json& stored,
                                                           const nlohmann::json& update,
                                                           long long current_version);

/// The real platform's LocationDefinition (POST /api/v2/locations): `name` is required; a
/// property the definition lacks (the seed's region, sip, media, ipAddressAllowlist, status, or
/// any other) → 400 invalid.property with every offending field named (nested as
/// "address.foo"); wrong types → 400 invalid.value. Returns the writable fields.
std::variant<nlohmann::json, ApiError> platformLocationFromCreate(const nlohmann::json& body);

/// The real platform's LocationUpdateDefinition (PATCH, application/json): name, version, state,
/// path, notes, contactUser, emergencyNumber, address. Other properties → 400 invalid.property;
/// `version` missing → 400 invalid.value, different from `current_version` → 409; `state` must
/// be active or deleted. Given fields replace the stored ones (null removes). Returns the new
/// writable document.
std::variant<nlohmann::json, ApiError> applyPlatformLocationUpdate(const nlohmann::json& stored,
                                                                   const nlohmann::json& update,
                                                                   long long current_version);

/// The writable part of a stored Location (read-only fields removed).
nlohmann::json writableLocation(const nlohmann::json& stored);

/// Audit propertyChanges between two documents: one entry per changed leaf (arrays are leaves),
/// property = JSON pointer, values as strings.
nlohmann::json propertyChanges(const nlohmann::json& before, const nlohmann::json& after);

/// The message of every 409 version mismatch.
inline constexpr const char* kVersionMismatchMessage =
    "The version number of the modified resource must match the version number in the database.";

}  // namespace mediapath::tools::emulator
