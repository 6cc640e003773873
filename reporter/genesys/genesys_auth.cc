#include "reporter/genesys/genesys_auth.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace mediapath::reporter {

void TokenCache::store(std::string token, std::chrono::seconds expires_in, TimePoint now) {
  token_ = std::move(token);
  std::chrono::seconds usable = expires_in >= 2 * margin_ ? expires_in - margin_ : expires_in / 2;
  refresh_at_ = now + usable;
}

std::optional<std::string> TokenCache::get(TimePoint now) const {
  if (!refresh_at_ || token_.empty() || now >= *refresh_at_) return std::nullopt;
  return token_;
}

void TokenCache::invalidate(const std::string& token) {
  if (token != token_) return;
  token_.clear();
  refresh_at_.reset();
}

std::string base64Encode(const std::string& data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t rest = data.size() - i;
  if (rest == 1) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string basicAuthorization(const std::string& client_id, const std::string& client_secret) {
  return "Basic " + base64Encode(client_id + ":" + client_secret);
}

std::optional<TokenResponse> parseTokenResponse(const nlohmann::json& body) {
  if (!body.is_object()) return std::nullopt;
  auto token = body.find("access_token");
  auto expires = body.find("expires_in");
  if (token == body.end() || !token->is_string() || token->get<std::string>().empty()) {
    return std::nullopt;
  }
  if (expires == body.end() || !expires->is_number() || expires->get<double>() <= 0) {
    return std::nullopt;
  }
  return TokenResponse{token->get<std::string>(),
                       std::chrono::seconds(static_cast<long long>(expires->get<double>()))};
}

namespace {

bool containsIgnoreCase(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

}  // namespace

bool isTokenRateLimited(int status, const nlohmann::json& body) {
  if (status != 400 || !body.is_object()) return false;
  auto error = body.find("error");
  if (error == body.end() || !error->is_string() || *error != "invalid_request") return false;
  // The platform words it in "description"; OAuth's own member is "error_description".
  return std::ranges::any_of(
      std::array{"description", "error_description"}, [&body](const char* key) {
        auto it = body.find(key);
        return it != body.end() && it->is_string() &&
               containsIgnoreCase(it->get<std::string>(), "rate limit exceeded");
      });
}

}  // namespace mediapath::reporter
