#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

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

/// nullopt when the body lacks access_token or a positive expires_in.
std::optional<TokenResponse> parseTokenResponse(const nlohmann::json& body);

/// Whether a token endpoint answer is its rate limit: `400 {"error": "invalid_request",
/// "description": "...rate limit exceeded..."}` (the Terraform provider retries it with backoff).
/// Any other 400 (invalid_client, a bad grant) is final: retrying would only repeat it.
bool isTokenRateLimited(int status, const nlohmann::json& body);

}  // namespace mediapath::reporter
