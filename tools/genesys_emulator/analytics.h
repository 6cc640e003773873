#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <variant>

#include "tools/genesys_emulator/api_error.h"
#include "tools/genesys_emulator/util.h"

namespace mediapath::tools::emulator {

/// Synthetic conversation data for POST /api/v2/analytics/conversations/details/query.
/// A pure function of (seed, interval, count): the same query always gets the same answer, so a
/// client can page through it and tests can compare runs.

/// The `interval` of a query body (the analytics and audit queries both require one): a JSON
/// object whose "interval" is "start/end", two ISO-8601 instants with start before end; else 400.
std::variant<Interval, ApiError> queryInterval(const nlohmann::json& body);

/// The `count` conversations of `interval`, ordered by conversationStart.
nlohmann::json syntheticConversations(std::uint64_t seed, const Interval& interval, int count);

/// Answers a details query body: {conversations[], totalHits} (conversations omitted on an
/// empty page, as the platform does). Errors: missing/invalid interval, pageSize outside 1–100,
/// pageNumber < 1, unknown filter dimension or operator → 400.
std::variant<nlohmann::json, ApiError> queryConversationDetails(const nlohmann::json& body,
                                                                std::uint64_t seed, int count);

}  // namespace mediapath::tools::emulator
