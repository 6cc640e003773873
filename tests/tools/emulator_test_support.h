#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "net/clock.h"
#include "tests/support/fakes.h"
#include "tools/genesys_emulator/emulator.h"

namespace mediapath::tools::emulator::testing {

using mediapath::testing::FakeClock;

inline constexpr const char* kClientId = "client-1";
inline constexpr const char* kSecret = "very-secret-value-42";
// base64("client-1:very-secret-value-42")
inline constexpr const char* kBasic = "Basic Y2xpZW50LTE6dmVyeS1zZWNyZXQtdmFsdWUtNDI=";

/// Drives an Emulator in-process (no sockets) with a fake clock and seeded randomness.
class EmulatorTest : public ::testing::Test {
 protected:
  EmulatorOptions defaultOptions() const {
    EmulatorOptions o;
    o.client_id = kClientId;
    o.client_secret = kSecret;
    o.expires_in = std::chrono::seconds(3600);
    o.activation_delay = std::chrono::milliseconds(500);
    o.schema = schema_;
    return o;
  }
  void start(EmulatorOptions options) {
    emulator_ = std::make_unique<Emulator>(std::move(options), clock_, random_);
  }
  void SetUp() override { start(defaultOptions()); }

  HttpResponse call(const std::string& method, const std::string& path,
                    const std::string& body = {},
                    const std::string& content_type = "application/json",
                    std::optional<std::string> auth = std::nullopt,
                    std::map<std::string, std::string> query = {}) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.query = std::move(query);
    if (!content_type.empty() && !body.empty()) r.headers["content-type"] = content_type;
    if (auth) {
      if (!auth->empty()) r.headers["authorization"] = *auth;
    } else if (path.rfind("/api/", 0) == 0) {
      r.headers["authorization"] = "Bearer " + token();
    }
    return emulator_->handle(r);
  }
  HttpResponse api(const std::string& method, const std::string& path,
                   const nlohmann::json& body = nullptr,
                   const std::string& content_type = "application/json",
                   std::map<std::string, std::string> query = {}) {
    return call(method, path, body.is_null() ? std::string() : body.dump(), content_type,
                std::nullopt, std::move(query));
  }
  std::string token() {
    if (token_.empty()) {
      HttpResponse r = call("POST", "/oauth/token", "grant_type=client_credentials",
                            "application/x-www-form-urlencoded", std::string(kBasic));
      EXPECT_EQ(r.status, 200) << r.body;
      token_ = nlohmann::json::parse(r.body).at("access_token").get<std::string>();
    }
    return token_;
  }
  static nlohmann::json body(const HttpResponse& r) {
    return r.body.empty() ? nlohmann::json() : nlohmann::json::parse(r.body);
  }
  static nlohmann::json seedLocation(const std::string& name = "Frankfurt Office") {
    return {{"name", name},
            {"region", "eu-central-1"},
            {"sip", {{"ports", {5060, 5061, 5080, 5081}}}},
            {"media",
             {{"sip", {{"ports", {5060, 5061}}}},
              {"proxy", {{"host", "proxy-a.example.com"}, {"port", 5060}}},
              {"stun", {{"host", "stun.example.com"}, {"port", 3478}}},
              {"turn", {{"host", "turn.example.com"}, {"port", 3478}}}}},
            {"ipAddressAllowlist", {"10.0.0.0/8", "192.168.1.0/24"}}};
  }
  std::string createLocation(const std::string& name = "Frankfurt Office") {
    HttpResponse r = api("POST", "/api/v2/locations", seedLocation(name));
    EXPECT_EQ(r.status, 201) << r.body;
    clock_.advance(std::chrono::milliseconds(500));  // provisioned: PATCH is allowed now
    return body(r).at("id").get<std::string>();
  }

  Schema schema_ = Schema::kPlatform;  // the emulator's default
  FakeClock clock_;
  net::SeededRandom random_{42};
  std::unique_ptr<Emulator> emulator_;
  std::string token_;
};

/// The same with `--schema seed`: the seed tutorial's Location shapes (media fields, `status`,
/// JSON Patch, 422s).
class EmulatorSeedTest : public EmulatorTest {
 protected:
  EmulatorSeedTest() { schema_ = Schema::kSeed; }
};

/// The real platform's shapes (the default), with a Location created the platform's way.
class EmulatorPlatformTest : public EmulatorTest {
 protected:
  static nlohmann::json platformLocation(const std::string& name = "Frankfurt Office") {
    return {{"name", name},
            {"address",
             {{"street1", "Mainzer Landstrasse 1"},
              {"city", "Frankfurt"},
              {"zipcode", "60311"},
              {"country", "DE"}}},
            {"emergencyNumber",
             {{"e164", "+4969123456"}, {"number", "069123456"}, {"type", "default"}}},
            {"notes", "first floor"}};
  }
  std::string createPlatformLocation(const std::string& name = "Frankfurt Office") {
    HttpResponse r = api("POST", "/api/v2/locations", platformLocation(name));
    EXPECT_EQ(r.status, 201) << r.body;
    return body(r).at("id").get<std::string>();
  }
};

}  // namespace mediapath::tools::emulator::testing
