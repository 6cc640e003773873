#include "reporter/genesys/genesys_auth.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
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

Parsed<TokenResponse> parseTokenResponse(const nlohmann::json& body) {
  using Result = Parsed<TokenResponse>;
  if (!body.is_object()) return Result::failure("token response is not a JSON object");
  auto token = body.find("access_token");
  auto expires = body.find("expires_in");
  if (token == body.end() || !token->is_string() || token->get<std::string>().empty()) {
    return Result::failure("token response without access_token");
  }
  if (expires == body.end() || !expires->is_number()) {
    return Result::failure("token response without a numeric expires_in");
  }
  // Range-checked as a double before any conversion: 1e300 converted to an integer is undefined
  // behaviour. Below a second the token could not be used; beyond the platform's maximum
  // lifetime it is clamped (refreshing early is harmless, the 401 rule covers the rest).
  auto seconds = expires->get<double>();
  if (!(seconds >= 1)) {
    return Result::failure("token response expires_in " + expires->dump() +
                           " is not a lifetime of at least 1 s");
  }
  std::chrono::seconds lifetime = seconds >= static_cast<double>(kMaxTokenLifetime.count())
                                      ? kMaxTokenLifetime
                                      : std::chrono::seconds(static_cast<std::int64_t>(seconds));
  return Result{TokenResponse{token->get<std::string>(), lifetime}, {}};
}

namespace {

bool containsIgnoreCase(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

bool isToken68(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '/' || c == '=';
}

// Redacts the credential after each "Basic" / "Bearer" scheme name (RFC 9110 token68).
std::string redactSchemes(std::string text) {
  static constexpr std::array<std::string_view, 2> kSchemes{"basic", "bearer"};
  constexpr std::string_view kRedacted = "[redacted]";
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t after = std::string::npos;
    for (std::string_view scheme : kSchemes) {
      if (text.size() - i < scheme.size()) continue;
      bool match = std::equal(
          scheme.begin(), scheme.end(), text.begin() + static_cast<long>(i),
          [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
      bool word_start = i == 0 || std::isalnum(static_cast<unsigned char>(text[i - 1])) == 0;
      if (match && word_start) after = i + scheme.size();
    }
    if (after == std::string::npos) {
      ++i;
      continue;
    }
    std::size_t start = after;
    while (start < text.size() && (text[start] == ' ' || text[start] == '\t')) ++start;
    std::size_t end = start;
    while (end < text.size() && isToken68(text[end])) ++end;
    if (start == after || end == start) {
      i = after;
      continue;
    }
    text.replace(start, end - start, kRedacted);
    i = start + kRedacted.size();
  }
  return text;
}

}  // namespace

std::string redactCredentials(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  constexpr std::string_view kRedacted = "[redacted]";
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + kRedacted.size())) {
      out.replace(at, secret.size(), kRedacted);
    }
  }
  return redactSchemes(std::move(out));
}

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
