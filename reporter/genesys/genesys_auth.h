#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reporter/genesys/api_responses.h"

namespace mediapath::reporter {

/// The cached OAuth access token of the client-credentials grant (there is no refresh token:
/// "refreshing" means asking for a new one). Pure logic on an injected time so the expiry rules
/// are tested with a fake clock.
///
/// Thread safety: none; owned by the GenesysClient on the loop thread.
class TokenCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  /// Refresh `margin` before the token expires (the Go SDK uses 60 s). Tokens whose lifetime is
  /// shorter than twice the margin (test clients, the emulator's --expires-in) are refreshed at
  /// half their lifetime instead, so they are still used at all.
  explicit TokenCache(std::chrono::seconds margin = std::chrono::seconds(60)) : margin_(margin) {}

  void store(std::string token, std::chrono::seconds expires_in, TimePoint now);
  /// The token if it may still be used at `now`.
  std::optional<std::string> get(TimePoint now) const;
  /// Forgets the token (the API answered 401 to it). Only forgets it if it is still `token`, so
  /// a 401 to an old token does not throw away a fresh one.
  void invalidate(const std::string& token);
  std::optional<TimePoint> refreshAt() const { return refresh_at_; }

 private:
  std::chrono::seconds margin_;
  std::string token_;
  std::optional<TimePoint> refresh_at_;
};

/// `Authorization: Basic base64(client_id:client_secret)` value. The result is a secret.
std::string basicAuthorization(const std::string& client_id, const std::string& client_secret);

std::string base64Encode(const std::string& data);

/// A parsed `POST /oauth/token` 200 body.
struct TokenResponse {
  std::string access_token;
  std::chrono::seconds expires_in{0};
};

/// `text` with every credential in it replaced by "[redacted]": each of `secrets` (exact strings,
/// e.g. the client secret, the Basic value, the access token; empty ones are ignored) and any
/// `Basic <token>` / `Bearer <token>` (case-insensitive). For peer text (error bodies, headers)
/// before it is kept in an error or printed: a server that echoes the Authorization header back
/// must not get the credentials printed. Run it on the raw text, before net::printable cuts it.
std::string redactCredentials(std::string_view text, const std::vector<std::string>& secrets);

/// The longest token lifetime the platform configures (48 h); a longer expires_in is clamped.
inline constexpr std::chrono::seconds kMaxTokenLifetime{48 * 3600};

/// The token, or why the body is not a token response: no access_token, expires_in not a
/// number or under 1 s. expires_in beyond kMaxTokenLifetime (1e300) is clamped to it.
Parsed<TokenResponse> parseTokenResponse(const nlohmann::json& body);

/// Whether a token endpoint answer is its rate limit: `400 {"error": "invalid_request",
/// "description": "...rate limit exceeded..."}` (the Terraform provider retries it with backoff).
/// Any other 400 (invalid_client, a bad grant) is final: retrying would only repeat it.
bool isTokenRateLimited(int status, const nlohmann::json& body);

}  // namespace mediapath::reporter
