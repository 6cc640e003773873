// libFuzzer target for the Genesys API response handling: any body a peer sends goes through the
// bounded JSON reader (net::parseJson, as the client reads every body) and then through every
// typed parser the client's callers use (token, location, trunk, site, audit page, analytics
// page), and what they accept through the walks that follow (diff, update, reports). Nothing may
// crash, recurse without bound or throw, and what is accepted must hold its invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "net/json_input.h"
#include "net/text.h"
#include "reporter/genesys/api_responses.h"
#include "reporter/genesys/genesys_auth.h"
#include "reporter/genesys/genesys_json_patch.h"
#include "reporter/genesys/genesys_reports.h"
#include "reporter/genesys/location_payload.h"

namespace {

using nlohmann::json;
namespace r = mediapath::reporter;

void checkId(const std::string& id) {
  if (id.empty() || mediapath::net::printable(id, 200) != id) std::abort();
}

void checkVersion(std::int64_t v) {
  if (v < 0 || v > r::kMaxApiVersion) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The client's limits, with a smaller size cap (inputs are small anyway).
  mediapath::net::JsonLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_depth = 64;
  mediapath::net::JsonInput input = mediapath::net::parseJson(text, limits);
  if (!input.ok()) {
    if (!input.value.is_null() && !input.value.is_discarded()) return 0;
    (void)input.error->describe();
    return 0;
  }
  const json& body = input.value;

  if (auto token = r::parseTokenResponse(body)) {
    if (token->access_token.empty()) std::abort();
    if (token->expires_in < std::chrono::seconds(1) || token->expires_in > r::kMaxTokenLifetime) {
      std::abort();
    }
  }
  if (auto location = r::parseLocation(body)) {
    checkId(location->id);
    if (location->version) checkVersion(*location->version);
    // The walks plan/apply do over a remote location: bounded by the depth cap.
    json desired = r::renderLocationDefinition({"Office", "notes", json{{"city", "X"}}, nullptr});
    json patch = r::buildJsonPatch(location->object, desired);
    (void)patch.dump();
    if (location->version) (void)r::buildLocationUpdate(location->object, desired).dump(2);
  }
  for (auto parsed : {r::parseTrunkBaseSettings(body), r::parseSite(body)}) {
    if (!parsed) continue;
    checkId(parsed->id);
    checkVersion(parsed->version);
    (void)parsed->object.dump(2);  // what export writes
  }
  if (auto status = r::parseAuditQueryStatus(body, true)) checkId(status->id);
  if (auto page = r::parseAuditPage(body)) {
    for (const auto& e : page->entities) {
      if (!e.is_object()) std::abort();
      (void)r::formatAuditEntry(e);
    }
  }
  if (auto page = r::parseAnalyticsPage(body)) {
    if (page->total_hits > r::kMaxApiCount) std::abort();
    (void)r::formatQuality(r::summarizeQuality(page->conversations));
  }
  // Credentials never survive redaction.
  std::string redacted = r::redactCredentials(text, {"s3cr3t"});
  if (redacted.find("s3cr3t") != std::string::npos) std::abort();
  return 0;
}
