#include "agent/config/config_loader.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

#include "net/json_input.h"
#include "net/text.h"
#include "reporter/genesys/genesys_json_patch.h"
#include "reporter/genesys/genesys_regions.h"

namespace mediapath::agent {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Small helpers

// JSON-quoted and escaped; bytes that are not UTF-8 become U+FFFD instead of a type_error.
std::string quote(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// A value is shown in a message to say which one is meant, not to reproduce it: at most this
// many bytes, and containers only this deep ("[[...]]"), so that neither a deeply nested value
// (recursion) nor a 4 MiB one (a copy per message) costs more than a few lines of text.
constexpr std::size_t kShowBytes = 60;
constexpr int kShowDepth = 2;

void render(const json& v, int depth, std::string& out) {
  if (v.is_array() || v.is_object()) {
    const char* brackets = v.is_array() ? "[]" : "{}";
    out += brackets[0];
    if (!v.empty() && depth >= kShowDepth) out += "...";
    for (auto it = v.begin(); depth < kShowDepth && it != v.end(); ++it) {
      if (out.size() > kShowBytes) {
        out += "...";
        break;
      }
      if (it != v.begin()) out += ',';
      if (v.is_object()) out += quote(it.key()) + ":";
      render(*it, depth + 1, out);
    }
    out += brackets[1];
  } else if (v.is_string()) {
    out += quote(std::string_view(v.get_ref<const std::string&>()).substr(0, kShowBytes + 1));
  } else {
    out += v.dump();
  }
}

// Shows a JSON value in a message: compact JSON, strings quoted, long values cut with "...".
std::string show(const json& v) {
  std::string s;
  render(v, 0, s);
  return net::printable(s, s.size() > kShowBytes ? kShowBytes - 3 : kShowBytes);
}

std::string typeName(const json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

// " (did you mean \"host\"?)" for the closest candidate, if it is close enough, else "".
std::string didYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  auto best = net::closestMatch(word, candidates);
  return best ? " (did you mean " + quote(*best) + "?)" : std::string();
}

bool isValidHostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
    label = c == '.' ? 0 : label + 1;
    if (label > 63) return false;
  }
  return host.find("..") == std::string_view::npos && host.front() != '.' && host.front() != '-';
}

bool isIpLiteral(const std::string& s) {
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET, s.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, s.c_str(), buf.data()) == 1;
}

bool isLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  std::array<unsigned char, 4> v4{};
  return inet_pton(AF_INET, std::string(host).c_str(), v4.data()) == 1 && v4[0] == 127;
}

// Host part of "scheme://host[:port]/path", IPv6 brackets kept.
std::string urlHost(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  auto rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    return std::string(rest.substr(0, close == std::string_view::npos ? rest.size() : close + 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

// ---------------------------------------------------------------------------------------------
// Strict reading of one JSON object: every key must be known, every value has its type checked,
// and every problem is recorded with the pointer of the offending value.

class Diagnostics {
 public:
  void add(std::string pointer, std::string message) {
    errors_.push_back({std::move(pointer), std::move(message)});
  }
  std::vector<Diagnostic>& errors() { return errors_; }

 private:
  std::vector<Diagnostic> errors_;
};

class ObjectReader {
 public:
  // `special` maps keys that are refused with a specific message (literal secrets).
  ObjectReader(const json& value, std::string pointer, Diagnostics& diags,
               std::vector<std::string_view> known,
               std::initializer_list<std::pair<std::string_view, std::string_view>> special = {})
      : value_(value), pointer_(std::move(pointer)), diags_(diags), known_(std::move(known)) {
    if (!value_.is_object()) {
      diags_.add(pointer_, "expected an object, got " + typeName(value_));
      valid_ = false;
      return;
    }
    for (const auto& [key, v] : value_.items()) {
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      auto sp = std::find_if(special.begin(), special.end(),
                             [&key = key](const auto& p) { return p.first == key; });
      if (sp != special.end()) {
        diags_.add(at(key), std::string(sp->second));
      } else {
        diags_.add(at(key), "unknown key " + quote(key) + didYouMean(key, known_));
      }
    }
  }

  bool valid() const { return valid_; }
  const std::string& pointer() const { return pointer_; }
  std::string at(std::string_view key) const {
    return pointer_ + "/" + reporter::escapePointerToken(key);
  }
  bool has(std::string_view key) const { return valid_ && value_.contains(std::string(key)); }
  const json* get(std::string_view key) const {
    if (!has(key)) return nullptr;
    return &value_.at(std::string(key));
  }
  void missing(std::string_view key) const {
    diags_.add(pointer_.empty() ? "" : pointer_, "missing required key " + quote(key));
  }
  void error(std::string_view key, std::string message) const {
    diags_.add(at(key), std::move(message));
  }

  std::optional<std::string> string(std::string_view key, bool required = false) const {
    const json* v = get(key);
    if (v == nullptr) {
      if (required && valid_) missing(key);
      return std::nullopt;
    }
    if (!v->is_string()) {
      error(key, "expected a string, got " + typeName(*v));
      return std::nullopt;
    }
    auto s = v->get<std::string>();
    if (s.empty()) {
      error(key, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      std::string_view what, bool required = false) const {
    const json* v = get(key);
    if (v == nullptr) {
      if (required && valid_) missing(key);
      return std::nullopt;
    }
    return checkInteger(*v, at(key), min, max, what);
  }

  std::optional<std::int64_t> checkInteger(const json& v, const std::string& ptr, std::int64_t min,
                                           std::int64_t max, std::string_view what) const {
    if (!v.is_number_integer()) {
      diags_.add(ptr, "expected an integer, got " + typeName(v) +
                          (v.is_number() || v.is_string() ? " " + show(v) : ""));
      return std::nullopt;
    }
    // Above INT64_MAX a JSON integer is unsigned: compared (and printed) as such, never
    // wrapped ("18446744073709551615", not "-1").
    bool too_big =
        v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max);
    if (too_big || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max) {
      diags_.add(ptr, v.dump() + " is not a valid " + std::string(what) + " (" +
                          std::to_string(min) + "-" + std::to_string(max) + ")");
      return std::nullopt;
    }
    return v.get<std::int64_t>();
  }

  std::optional<double> number(std::string_view key, double min, double max,
                               std::string_view what) const {
    const json* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) {
      error(key, "expected a number, got " + typeName(*v));
      return std::nullopt;
    }
    double d = v->get<double>();
    if (!(d >= min && d <= max)) {
      std::ostringstream msg;
      msg << show(*v) << " is not a valid " << what << " (" << min << "-" << max << ")";
      error(key, msg.str());
      return std::nullopt;
    }
    return d;
  }

  std::optional<Duration> duration(std::string_view key) const { return readDuration(key, false); }

  // A duration, or "off" (0): for settings that can be turned off.
  std::optional<Duration> durationOrOff(std::string_view key) const {
    return readDuration(key, true);
  }

  // A duration string of 1ms-24h; with `can_be_off`, also "off" (0).
  std::optional<Duration> readDuration(std::string_view key, bool can_be_off) const {
    const json* v = get(key);
    if (v == nullptr) return std::nullopt;
    const std::string off = can_be_off ? " or \"off\"" : "";
    if (!v->is_string()) {
      error(key, "expected a duration string with a unit such as \"5s\" or \"250ms\"" + off +
                     ", got " + show(*v));
      return std::nullopt;
    }
    if (can_be_off && v->get<std::string>() == "off") return Duration(0);
    auto d = parseDuration(v->get<std::string>());
    if (!d) {
      error(key, show(*v) + " is not a duration (use a number and a unit: ms, s, m, h)" + off);
      return std::nullopt;
    }
    if (d->count() <= 0) {
      error(key, "duration must be greater than 0" +
                     (can_be_off ? " (\"off\" turns it off)" : std::string()));
      return std::nullopt;
    }
    if (*d > kMaxConfigDuration) {
      error(key, show(*v) + " is too long (1ms-" + net::formatDuration(kMaxConfigDuration) + ")");
      return std::nullopt;
    }
    return d;
  }

  // An array whose elements are checked by `each(element, pointer)`.
  template <typename F>
  bool array(std::string_view key, F each, bool required = false) const {
    const json* v = get(key);
    if (v == nullptr) {
      if (required && valid_) missing(key);
      return false;
    }
    if (!v->is_array()) {
      error(key, "expected an array, got " + typeName(*v));
      return false;
    }
    for (size_t i = 0; i < v->size(); ++i) each((*v)[i], at(key) + "/" + std::to_string(i));
    return true;
  }

  std::optional<std::vector<std::string>> strings(std::string_view key,
                                                  bool required = false) const {
    std::vector<std::string> out;
    bool ok = true;
    bool present = array(
        key,
        [&](const json& e, const std::string& ptr) {
          if (!e.is_string() || e.get<std::string>().empty()) {
            diags_.add(ptr, "expected a non-empty string, got " + show(e));
            ok = false;
          } else {
            out.push_back(e.get<std::string>());
          }
        },
        required);
    if (!present || !ok) return std::nullopt;
    return out;
  }

  // A secret reference: <base>_env, <base>_file or <base>_credential, exactly one.
  SecretRef secret(std::string_view base, bool required) const {
    SecretRef ref;
    std::string b(base);
    int count = 0;
    if (auto s = string(b + "_env")) {
      ref.env = *s;
      ++count;
    }
    if (auto s = string(b + "_file")) {
      ref.file = *s;
      ++count;
    }
    if (auto s = string(b + "_credential")) {
      ref.credential = *s;
      ++count;
    }
    if (count > 1) {
      diags_.add(pointer_, "give only one of " + b + "_env, " + b + "_file, " + b + "_credential");
    } else if (count == 0 && required && valid_ && !has(b)) {
      diags_.add(pointer_,
                 "missing " + b + ": set " + b + "_env, " + b + "_file or " + b + "_credential");
    }
    return ref;
  }

  Diagnostics& diags() const { return diags_; }

 private:
  const json& value_;
  std::string pointer_;
  Diagnostics& diags_;
  std::vector<std::string_view> known_;
  bool valid_ = true;
};

std::string literalSecretMessage(std::string_view base) {
  std::string b(base);
  return "literal secrets are not allowed in the config; use " + b + "_env, " + b + "_file or " +
         b + "_credential";
}

std::optional<std::uint16_t> readPort(const ObjectReader& r, std::string_view key,
                                      bool required = false) {
  auto p = r.integer(key, 1, 65535, "port", required);
  if (!p) return std::nullopt;
  return static_cast<std::uint16_t>(*p);
}

void checkHost(const ObjectReader& r, std::string_view key, const std::string& host) {
  if (!isValidHost(host)) {
    r.error(key, quote(host) + " is not a valid host name or IP address");
  }
}

// ---------------------------------------------------------------------------------------------
// Sections

BurstConfig readBurst(const json& v, const std::string& ptr, Diagnostics& d, BurstConfig base) {
  ObjectReader r(v, ptr, d, {"packets", "spacing"});
  if (auto p = r.integer("packets", 1, 100, "burst packet count")) base.packets = int(*p);
  if (auto s = r.duration("spacing")) base.spacing = *s;
  return base;
}

// Bounds of a relay stream: a size holds at least the probe's 12-byte packet header and stays
// below a 1280-byte IPv6 path MTU with the headers; 1000 packets are 20 s of RTP.
StreamConfig readStream(const json& v, const std::string& ptr, Diagnostics& d) {
  StreamConfig out;
  ObjectReader r(v, ptr, d, {"packets", "size", "spacing"});
  if (auto p = r.integer("packets", 1, 1000, "stream packet count")) out.packets = int(*p);
  if (auto p = r.integer("size", 12, 1200, "stream packet size in bytes")) out.size = int(*p);
  if (auto s = r.duration("spacing")) {
    if (*s > std::chrono::seconds(1)) {
      r.error("spacing", "must be at most 1s (RTP-like pacing)");
    } else {
      out.spacing = *s;
    }
  }
  // A round neither refreshes its allocations nor its permissions (RFC 8656: 300 s) and
  // channels: a minute of stream keeps well inside their lifetimes.
  Duration length = out.spacing * (out.packets - 1);
  if (length > std::chrono::minutes(1)) {
    d.add(ptr, "the stream lasts " + net::formatDuration(length) + " (" +
                   std::to_string(out.packets - 1) + " x " + net::formatDuration(out.spacing) +
                   "); at most 1m");
  }
  return out;
}

ProbingConfig readProbing(const ObjectReader& root) {
  ProbingConfig out;
  const json* v = root.get("probing");
  if (v == nullptr) return out;
  ObjectReader r(*v, root.at("probing"), root.diags(), {"interval", "timeout", "burst"});
  if (auto d = r.duration("interval")) out.interval = *d;
  if (auto d = r.duration("timeout")) out.timeout = *d;
  if (const json* b = r.get("burst")) out.burst = readBurst(*b, r.at("burst"), r.diags(), {});
  return out;
}

std::optional<DnsServer> parseDnsServer(const std::string& text) {
  DnsServer s;
  std::string host = text;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::nullopt;
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  if (!isIpLiteral(host)) return std::nullopt;
  s.address = host;
  if (!port.empty()) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
      return std::nullopt;
    }
    s.port = static_cast<std::uint16_t>(p);
  }
  return s;
}

DnsConfig readDns(const ObjectReader& root) {
  DnsConfig out;
  const json* v = root.get("dns");
  if (v == nullptr) return out;
  ObjectReader r(*v, root.at("dns"), root.diags(), {"servers", "max_ttl"});
  if (auto d = r.duration("max_ttl")) {
    if (*d < std::chrono::seconds(1)) {
      r.diags().add(r.at("max_ttl"), "must be at least 1s");
    } else {
      out.max_ttl = *d;
    }
  }
  r.array("servers", [&](const json& e, const std::string& ptr) {
    if (!e.is_string()) {
      r.diags().add(ptr, "expected a string such as \"10.0.0.53:53\", got " + show(e));
      return;
    }
    auto s = parseDnsServer(e.get<std::string>());
    if (!s) {
      r.diags().add(ptr, show(e) + " is not a DNS server address (IP, IP:port or [IPv6]:port)");
      return;
    }
    out.servers.push_back(*s);
  });
  return out;
}

constexpr std::array<std::string_view, 19> kTargetKeys{"name",
                                                       "kind",
                                                       "host",
                                                       "port",
                                                       "interval",
                                                       "timeout",
                                                       "confirm_interval",
                                                       "burst",
                                                       "username",
                                                       "password_env",
                                                       "password_file",
                                                       "password_credential",
                                                       "transport",
                                                       "success_codes",
                                                       "record",
                                                       "stream",
                                                       "peer",
                                                       "ca_file",
                                                       "server_name"};

// Which of the kind-specific keys each kind accepts.
bool keyAllowedForKind(std::string_view key, probes::Kind kind) {
  using probes::Kind;
  if (key == "username" || key.starts_with("password_")) {
    return kind == Kind::kTurn || kind == Kind::kRelay;
  }
  if (key == "stream") return kind == Kind::kRelay;
  if (key == "peer") return kind == Kind::kNat || kind == Kind::kRelay;
  // TLS settings of the kinds that speak TLS (transport "tls" only, checked in readTarget).
  if (key == "ca_file" || key == "server_name") {
    return kind == Kind::kSip || kind == Kind::kTurn || kind == Kind::kRelay;
  }
  if (key == "transport") return kind == Kind::kSip || kind == Kind::kTurn || kind == Kind::kRelay;
  if (key == "success_codes") return kind == Kind::kSip;
  if (key == "record") return kind == Kind::kDns;
  if (key == "port") return kind != Kind::kDns;
  if (key == "burst") return kind == Kind::kStun || kind == Kind::kSip;
  return true;
}

std::uint16_t defaultPort(probes::Kind kind, bool tls) {
  switch (kind) {
    case probes::Kind::kTurn:
    case probes::Kind::kRelay:
      return tls ? 5349 : 3478;  // RFC 8656 §2.1 / RFC 7065 "turns": TURN over TLS uses 5349
    case probes::Kind::kStun:
    case probes::Kind::kNat:
      return 3478;
    case probes::Kind::kSip:
      return tls ? 5061 : 5060;  // RFC 3261 §19.1.2: sips/TLS uses 5061
    case probes::Kind::kTcp:
    case probes::Kind::kDns:
      return 0;
  }
  return 0;
}

// The value an enum-like string names in `table`. Anything else is reported at `key` as
// `unknown <what> "x" (did you mean "y"?); expected "a", "b" or "c"` and gives nullopt.
template <typename E>
std::optional<E> pickName(const ObjectReader& r, std::string_view key, std::string_view what,
                          const std::string& s,
                          std::initializer_list<std::pair<std::string_view, E>> table) {
  std::vector<std::string_view> names;
  for (const auto& [name, value] : table) {
    if (name == s) return value;
    names.push_back(name);
  }
  std::string expected;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) expected += i + 1 == names.size() ? " or " : ", ";
    expected += quote(names[i]);
  }
  r.error(key, "unknown " + std::string(what) + " " + quote(s) + didYouMean(s, names) +
                   "; expected " + expected);
  return std::nullopt;
}

// `transport` of the kinds that speak over UDP or a stream: sip, and turn/relay to their TURN
// server (RFC 8656 §2.1). Default udp.
void readTransport(const ObjectReader& r, TargetConfig& t) {
  auto s = r.string("transport");
  if (!s) return;
  if (auto transport = pickName<probes::Transport>(r, "transport", "transport", *s,
                                                   {{"udp", probes::Transport::kUdp},
                                                    {"tcp", probes::Transport::kTcp},
                                                    {"tls", probes::Transport::kTls}})) {
    t.transport = *transport;
  }
}

TargetConfig readTarget(const json& v, const std::string& ptr, Diagnostics& d) {
  TargetConfig t;
  ObjectReader r(v, ptr, d, {kTargetKeys.begin(), kTargetKeys.end()},
                 {{"password",
                   "literal secrets are not allowed in the config; use password_env, "
                   "password_file or password_credential"}});
  if (!r.valid()) return t;
  if (auto s = r.string("name", true)) t.name = *s;
  auto kind_name = r.string("kind", true);
  std::optional<probes::Kind> kind;
  if (kind_name) {
    kind = probes::kindFromName(*kind_name);
    if (!kind) {
      r.error("kind",
              "unknown kind " + quote(*kind_name) +
                  didYouMean(*kind_name, {"stun", "turn", "sip", "tcp", "dns", "relay", "nat"}) +
                  "; expected one of stun, turn, sip, tcp, dns, relay, nat");
    }
  }
  if (auto s = r.string("host", true)) {
    t.host = *s;
    checkHost(r, "host", t.host);
  }
  if (auto d2 = r.duration("interval")) t.interval = *d2;
  if (auto d2 = r.duration("timeout")) t.timeout = *d2;
  if (auto d2 = r.durationOrOff("confirm_interval")) t.confirm_interval = *d2;
  if (!kind) return t;
  t.kind = *kind;

  for (std::string_view key : kTargetKeys) {
    if (r.has(key) && !keyAllowedForKind(key, t.kind)) {
      r.error(key,
              quote(key) + " is not used by " + std::string(probes::kindName(t.kind)) + " targets");
    }
  }

  // The transport decides the default port, so it is looked at before the port is read.
  const json* transport = keyAllowedForKind("transport", t.kind) ? r.get("transport") : nullptr;
  bool tls = transport != nullptr && transport->is_string() && *transport == "tls";
  if (t.kind != probes::Kind::kDns) {
    bool required = t.kind == probes::Kind::kTcp;
    t.port = readPort(r, "port", required).value_or(defaultPort(t.kind, tls));
  }
  for (std::string_view key : {"ca_file", "server_name"}) {
    if (r.has(key) && keyAllowedForKind(key, t.kind) && !tls) {
      r.error(key, quote(key) + " applies only to transport \"tls\"");
    }
  }
  if (tls) {
    if (auto s = r.string("ca_file")) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(*s, ec)) {
        r.error("ca_file", "CA file " + quote(*s) + " does not exist");
      }
      t.ca_file = *s;
    }
    if (auto s = r.string("server_name")) {
      checkHost(r, "server_name", *s);
      t.server_name = *s;
    }
  }
  if (keyAllowedForKind("peer", t.kind)) {
    if (auto s = r.string("peer")) t.peer = *s;
  }
  if (const json* b = r.get("burst"); b != nullptr && keyAllowedForKind("burst", t.kind)) {
    t.burst = readBurst(*b, r.at("burst"), d, {});
  }

  switch (t.kind) {
    case probes::Kind::kRelay:
      if (const json* st = r.get("stream")) t.stream = readStream(*st, r.at("stream"), d);
      [[fallthrough]];
    case probes::Kind::kTurn:
      if (auto s = r.string("username", true)) t.username = *s;
      t.password = r.secret("password", true);
      readTransport(r, t);
      break;
    case probes::Kind::kSip:
      readTransport(r, t);
      r.array("success_codes", [&](const json& e, const std::string& p) {
        if (auto c = r.checkInteger(e, p, 100, 699, "SIP status code")) {
          t.success_codes.push_back(int(*c));
        }
      });
      break;
    case probes::Kind::kDns:
      if (auto s = r.string("record")) {
        if (auto record = pickName<probes::DnsRecord>(r, "record", "record type", *s,
                                                      {{"A", probes::DnsRecord::kA},
                                                       {"AAAA", probes::DnsRecord::kAAAA},
                                                       {"SRV", probes::DnsRecord::kSRV}})) {
          t.record = *record;
        }
      }
      break;
    case probes::Kind::kStun:
    case probes::Kind::kTcp:
    case probes::Kind::kNat:
      break;
  }
  return t;
}

// A round (timeout after the last packet of the burst) must end before the next one starts, or
// rounds of one target would overlap. A relay round has three phases bounded by the timeout (set
// up, the last packets' return, the release) around its stream; a nat round two (test I, then
// the other tests sharing one timeout).
void checkRoundFitsInterval(Diagnostics& d, const std::string& ptr, Duration interval,
                            Duration timeout, const TargetConfig& t, const BurstConfig& burst) {
  bool relay = t.kind == probes::Kind::kRelay;
  int packets = relay ? t.stream.packets : burst.packets;
  Duration spacing = relay ? t.stream.spacing : burst.spacing;
  Duration round = probes::roundLength(t.kind, timeout, {burst.packets, burst.spacing},
                                       {t.stream.packets, t.stream.size, t.stream.spacing});
  if (round >= interval) {
    d.add(ptr, "a round takes up to " + net::formatDuration(round) + " (" +
                   (relay                          ? "3 x timeout "
                    : t.kind == probes::Kind::kNat ? "2 x timeout "
                                                   : "timeout ") +
                   net::formatDuration(timeout) +
                   (packets > 1 ? " + " + std::to_string(packets - 1) + " x " +
                                      net::formatDuration(spacing) +
                                      (relay ? " stream spacing" : " spacing")
                                : std::string()) +
                   ") and must be shorter than the interval " + net::formatDuration(interval));
  }
}

std::vector<TargetConfig> readTargets(const ObjectReader& root, const ProbingConfig& probing) {
  std::vector<TargetConfig> targets;
  std::set<std::string> names;
  root.array(
      "targets",
      [&](const json& e, const std::string& ptr) {
        TargetConfig t = readTarget(e, ptr, root.diags());
        if (!t.name.empty() && !names.insert(t.name).second) {
          root.diags().add(ptr + "/name", "duplicate target name " + quote(t.name));
        }
        if (!t.host.empty()) {
          checkRoundFitsInterval(root.diags(), ptr, t.interval.value_or(probing.interval),
                                 t.timeout.value_or(probing.timeout), t,
                                 t.burst.value_or(probing.burst));
        }
        targets.push_back(std::move(t));
      },
      true);
  if (root.valid() && root.has("targets") && root.get("targets")->is_array() &&
      root.get("targets")->empty()) {
    root.error("targets", "at least one target is required");
  }
  return targets;
}

const TargetConfig* findByName(const std::vector<TargetConfig>& targets, const std::string& n) {
  for (const auto& t : targets) {
    if (t.name == n) return &t;
  }
  return nullptr;
}

// `peer` names another target whose address (and, for turn, credentials) the probe uses as its
// second server: a nat target's peer is a stun target, a relay target's a turn target.
void resolvePeers(const ObjectReader& root, std::vector<TargetConfig>& targets) {
  for (std::size_t i = 0; i < targets.size(); ++i) {
    TargetConfig& t = targets[i];
    if (t.peer.empty()) continue;
    std::string ptr = root.at("targets") + "/" + std::to_string(i) + "/peer";
    probes::Kind wanted = t.kind == probes::Kind::kNat ? probes::Kind::kStun : probes::Kind::kTurn;
    const TargetConfig* peer = findByName(targets, t.peer);
    if (peer == nullptr) {
      std::vector<std::string_view> names;
      for (const auto& other : targets) {
        if (other.kind == wanted) names.emplace_back(other.name);
      }
      root.diags().add(ptr, "no target named " + quote(t.peer) + didYouMean(t.peer, names));
      continue;
    }
    if (peer->kind != wanted) {
      root.diags().add(ptr, quote(t.peer) + " is a " + std::string(probes::kindName(peer->kind)) +
                                " target; the peer of a " + std::string(probes::kindName(t.kind)) +
                                " target must be a " + std::string(probes::kindName(wanted)) +
                                " target");
      continue;
    }
    t.peer_host = peer->host;
    t.peer_port = peer->port;
    t.peer_username = peer->username;
    t.peer_password = peer->password;
  }
}

std::vector<std::string_view> targetNames(const std::vector<TargetConfig>& targets) {
  std::vector<std::string_view> out;
  out.reserve(targets.size());
  for (const auto& t : targets) out.push_back(t.name);
  return out;
}

// "eu-central-1": two letters, one or more words, a number, joined by '-' (AWS's region names).
bool isAwsRegionName(std::string_view name) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t dash = name.find('-', start);
    parts.push_back(name.substr(start, dash == std::string_view::npos ? dash : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  auto all = [](std::string_view s, int (*pred)(int)) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [pred](char ch) {
      return pred(static_cast<unsigned char>(ch)) != 0;
    });
  };
  if (parts.size() < 3 || parts.front().size() != 2 || !all(parts.back(), isdigit)) return false;
  return std::all_of(parts.begin(), parts.end() - 1,
                     [&all](std::string_view p) { return all(p, islower); });
}

// apply_to.media_regions: every candidate of a site group mapped to the AWS region whose media it
// stands for ("eu-central-1"); whether the org has that region is the platform's to say (the
// site backend checks /telephony/mediaregions before it writes).
std::map<std::string, std::string> readMediaRegions(const ObjectReader& ar,
                                                    const std::vector<std::string>& candidates) {
  std::map<std::string, std::string> regions;
  const json* m = ar.get("media_regions");
  if (m == nullptr) {
    ar.missing("media_regions");
    return regions;
  }
  ObjectReader mr(*m, ar.at("media_regions"), ar.diags(),
                  std::vector<std::string_view>(candidates.begin(), candidates.end()));
  if (!mr.valid()) return regions;
  std::set<std::string> used;
  for (const auto& c : candidates) {
    auto region = mr.string(c);
    if (!region) {
      mr.diags().add(mr.pointer(), "candidate " + quote(c) + " has no media region");
      continue;
    }
    if (!isAwsRegionName(*region)) {
      mr.error(c, quote(*region) + " is not an AWS region name such as \"eu-central-1\"");
    } else if (!used.insert(*region).second) {
      mr.error(c, "media region " + quote(*region) + " is mapped to two candidates");
    } else {
      regions[c] = *region;
    }
  }
  return regions;
}

ReadinessConfig readReadiness(const ObjectReader& root) {
  ReadinessConfig out;
  const json* v = root.get("readiness");
  if (v == nullptr) return out;
  ObjectReader r(*v, "/readiness", root.diags(),
                 {"media_cidrs", "max_loss", "max_jitter", "max_rtt", "max_reorder", "min_mos",
                  "min_cert_days"});
  if (!r.valid()) return out;
  r.array("media_cidrs", [&](const json& e, const std::string& ptr) {
    if (!e.is_string()) {
      r.diags().add(ptr, "expected a CIDR string such as \"52.129.96.0/20\", got " + show(e));
      return;
    }
    if (std::string problem = checkCidr(e.get<std::string>()); !problem.empty()) {
      r.diags().add(ptr, problem);
    } else {
      out.media_cidrs.push_back(e.get<std::string>());
    }
  });
  if (auto d = r.number("max_loss", 0, 1, "loss ratio")) out.max_loss = *d;
  if (auto d = r.duration("max_jitter")) out.max_jitter = *d;
  if (auto d = r.duration("max_rtt")) out.max_rtt = *d;
  if (auto d = r.number("max_reorder", 0, 1, "reorder ratio")) out.max_reorder = *d;
  if (auto d = r.number("min_mos", 1, 5, "MOS")) out.min_mos = *d;
  if (auto d = r.integer("min_cert_days", 0, 3650, "number of days")) {
    out.min_cert_days = static_cast<int>(*d);
  }
  return out;
}

constexpr std::array<std::string_view, 3> kLocationPaths{"/media/proxy", "/media/stun",
                                                         "/media/turn"};

std::vector<FailoverGroup> readFailover(const ObjectReader& root,
                                        const std::vector<TargetConfig>& targets) {
  std::vector<FailoverGroup> groups;
  std::set<std::string> names;
  root.array("failover", [&](const json& e, const std::string& ptr) {
    FailoverGroup g;
    ObjectReader r(e, ptr, root.diags(),
                   {"name", "candidates", "healthy_threshold", "unhealthy_threshold", "min_hold",
                    "min_mos", "min_mos_gain", "confirm_interval", "apply_to"});
    if (!r.valid()) return;
    if (auto s = r.string("name", true)) {
      g.name = *s;
      if (!names.insert(g.name).second) {
        r.error("name", "duplicate failover group name " + quote(g.name));
      }
    }
    if (auto c = r.strings("candidates", true)) {
      g.candidates = *c;
      std::set<std::string> seen;
      for (size_t i = 0; i < c->size(); ++i) {
        const std::string& name = (*c)[i];
        std::string p = r.at("candidates") + "/" + std::to_string(i);
        if (!seen.insert(name).second) {
          r.diags().add(p, "candidate " + quote(name) + " is listed twice");
        } else if (findByName(targets, name) == nullptr) {
          r.diags().add(p,
                        "unknown target " + quote(name) + didYouMean(name, targetNames(targets)));
        }
      }
      if (c->empty()) r.error("candidates", "at least one candidate is required");
    }
    if (auto n = r.integer("healthy_threshold", 1, 100, "threshold")) g.healthy_threshold = int(*n);
    if (auto n = r.integer("unhealthy_threshold", 1, 100, "threshold")) {
      g.unhealthy_threshold = int(*n);
    }
    if (auto d = r.duration("min_hold")) g.min_hold = *d;
    if (auto d = r.durationOrOff("confirm_interval")) g.confirm_interval = *d;
    if (auto n = r.number("min_mos", 1.0, 5.0, "MOS")) g.min_mos = *n;
    if (auto n = r.number("min_mos_gain", 0.0, 4.0, "MOS gain")) g.min_mos_gain = *n;
    if (const json* a = r.get("apply_to")) {
      ObjectReader ar(*a, r.at("apply_to"), root.diags(),
                      {"location_path", "trunk_base_id", "site_id", "media_regions"});
      auto path = ar.string("location_path");
      auto trunk = ar.string("trunk_base_id");
      auto site = ar.string("site_id");
      int given = int(path.has_value()) + int(trunk.has_value()) + int(site.has_value());
      if (given > 1) {
        ar.diags().add(ar.pointer(), "give one of trunk_base_id, site_id or location_path");
      } else if (given == 0 && ar.valid()) {
        ar.diags().add(ar.pointer(),
                       "missing trunk_base_id (a BYOC trunk's SIP servers) or site_id + "
                       "media_regions (a Site's media regions)");
      }
      if (site) {
        g.apply_to.site_id = *site;
        g.apply_to.media_regions = readMediaRegions(ar, g.candidates);
      } else if (ar.has("media_regions")) {
        ar.error("media_regions", "media_regions goes with site_id");
      }
      if (path) {
        if (std::find(kLocationPaths.begin(), kLocationPaths.end(), *path) ==
            kLocationPaths.end()) {
          ar.error("location_path",
                   "unsupported location path " + quote(*path) +
                       didYouMean(*path, {kLocationPaths.begin(), kLocationPaths.end()}) +
                       "; expected /media/proxy, /media/stun or /media/turn");
        } else {
          g.apply_to.location_path = *path;
        }
      }
      if (trunk) g.apply_to.trunk_base_id = *trunk;
    } else {
      r.missing("apply_to");
    }
    groups.push_back(std::move(g));
  });
  return groups;
}

void checkBaseUrl(const ObjectReader& r, std::string_view key, const std::string& url) {
  bool https = url.starts_with("https://");
  bool http = url.starts_with("http://");
  if (!https && !http) {
    r.error(key, quote(url) + " is not an http(s) URL");
    return;
  }
  std::string host = urlHost(url);
  if (host.empty()) {
    r.error(key, quote(url) + " has no host");
  } else if (http && !isLoopbackHost(host)) {
    r.error(key,
            "plain http:// is refused for non-loopback host " + quote(host) + "; use https://");
  }
}

std::optional<GenesysConfig> readGenesys(const ObjectReader& root) {
  const json* v = root.get("genesys");
  if (v == nullptr) return std::nullopt;
  GenesysConfig g;
  ObjectReader r(
      *v, root.at("genesys"), root.diags(),
      {"region", "mode", "client_id_env", "client_id_file", "client_id_credential",
       "client_secret_env", "client_secret_file", "client_secret_credential", "location_id",
       "api_base_url", "login_base_url", "ca_file", "request_timeout", "retry_budget", "schema"},
      {{"client_secret", literalSecretMessage("client_secret")},
       {"client_id", literalSecretMessage("client_id")}});
  if (!r.valid()) return g;
  auto region = r.string("region");
  if (auto s = r.string("mode")) {
    if (auto mode =
            pickName<GenesysMode>(r, "mode", "mode", *s,
                                  {{"plan", GenesysMode::kPlan}, {"apply", GenesysMode::kApply}})) {
      g.mode = *mode;
    }
  }
  if (auto s = r.string("schema")) {
    if (auto schema = pickName<GenesysSchema>(
            r, "schema", "schema", *s,
            {{"platform", GenesysSchema::kPlatform}, {"seed", GenesysSchema::kSeed}})) {
      g.schema = *schema;
    }
  }
  g.client_id = r.secret("client_id", true);
  g.client_secret = r.secret("client_secret", true);
  if (auto s = r.string("location_id")) g.location_id = *s;
  if (auto s = r.string("api_base_url")) {
    checkBaseUrl(r, "api_base_url", *s);
    g.api_base_url = *s;
  }
  if (auto s = r.string("login_base_url")) {
    checkBaseUrl(r, "login_base_url", *s);
    g.login_base_url = *s;
  }
  if (region) {
    g.region = *region;
    if (!reporter::regionHosts(*region)) {
      auto known = reporter::knownRegions();
      r.error("region", "unknown region " + quote(*region) + didYouMean(*region, known));
    }
  } else if (g.api_base_url.empty() || g.login_base_url.empty()) {
    r.diags().add(r.pointer(), "missing region (or both api_base_url and login_base_url)");
  }
  if (auto s = r.string("ca_file")) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*s, ec)) {
      r.error("ca_file", "CA file " + quote(*s) + " does not exist");
    }
    g.ca_file = *s;
  }
  if (auto d = r.duration("request_timeout")) g.request_timeout = *d;
  if (auto d = r.duration("retry_budget")) g.retry_budget = *d;
  return g;
}

std::optional<LocationConfig> readLocation(const ObjectReader& root,
                                           const std::vector<TargetConfig>& targets) {
  const json* v = root.get("location");
  if (v == nullptr) return std::nullopt;
  LocationConfig loc;
  ObjectReader r(*v, root.at("location"), root.diags(),
                 {"name", "region", "sip_ports", "allowed_sip_ports", "ip_allowlist", "media",
                  "notes", "address", "emergency_number"});
  if (!r.valid()) return loc;
  if (auto s = r.string("name", true)) loc.name = *s;
  if (auto s = r.string("notes")) loc.notes = *s;
  if (const json* a = r.get("address")) {
    ObjectReader ar(*a, r.at("address"), root.diags(),
                    {"street1", "street2", "city", "state", "zipcode", "country"});
    LocationAddress address;
    for (auto [key, field] :
         {std::pair{"street1", &address.street1}, std::pair{"street2", &address.street2},
          std::pair{"city", &address.city}, std::pair{"state", &address.state},
          std::pair{"zipcode", &address.zipcode}, std::pair{"country", &address.country}}) {
      if (auto s = ar.string(key)) *field = *s;
    }
    if (ar.valid()) loc.address = address;
  }
  if (const json* e = r.get("emergency_number")) {
    ObjectReader er(*e, r.at("emergency_number"), root.diags(), {"number", "type"});
    if (auto s = er.string("number", true)) {
      // E.164: '+' and 2 to 15 digits.
      bool e164 =
          s->size() >= 3 && s->size() <= 16 && (*s)[0] == '+' &&
          std::all_of(s->begin() + 1, s->end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      if (!e164) {
        er.error("number", quote(*s) + " is not an E.164 number such as \"+4969123456\"");
      } else {
        loc.emergency_number = *s;
      }
    }
    loc.emergency_number_type = "default";
    if (auto s = er.string("type")) {
      if (*s != "default" && *s != "elin") {
        er.error("type", "unknown type " + quote(*s) + "; expected \"default\" or \"elin\"");
      } else {
        loc.emergency_number_type = *s;
      }
    }
  }
  if (auto s = r.string("region", true)) {
    loc.region = *s;
    if (!reporter::regionHosts(*s)) {
      r.error("region", "unknown region " + quote(*s) + didYouMean(*s, reporter::knownRegions()));
    }
  }
  if (const json* a = r.get("allowed_sip_ports")) {
    ObjectReader ar(*a, r.at("allowed_sip_ports"), root.diags(), {"min", "max"});
    auto lo = readPort(ar, "min", true);
    auto hi = readPort(ar, "max", true);
    if (lo && hi && *lo > *hi) {
      ar.diags().add(ar.pointer(),
                     "min " + std::to_string(*lo) + " is greater than max " + std::to_string(*hi));
    } else if (lo && hi) {
      loc.allowed_sip_ports = {*lo, *hi};
    }
  }
  const PortRange range = loc.allowed_sip_ports;
  std::string range_text = std::to_string(range.min) + "-" + std::to_string(range.max);
  std::set<int> seen_ports;
  r.array("sip_ports", [&](const json& e, const std::string& ptr) {
    auto p = r.checkInteger(e, ptr, 1, 65535, "port");
    if (!p) return;
    if (*p < range.min || *p > range.max) {
      r.diags().add(ptr, "SIP port " + std::to_string(*p) + " is outside the allowed range " +
                             range_text + " (widen it with location.allowed_sip_ports)");
    } else if (!seen_ports.insert(int(*p)).second) {
      r.diags().add(ptr, "SIP port " + std::to_string(*p) + " is listed twice");
    } else {
      loc.sip_ports.push_back(int(*p));
    }
  });
  if (loc.sip_ports.empty() && !r.has("sip_ports")) {
    loc.sip_ports = {5060, 5061, 5080, 5081};  // the seed's default set
  }
  r.array("ip_allowlist", [&](const json& e, const std::string& ptr) {
    if (!e.is_string()) {
      r.diags().add(ptr, "expected a CIDR string such as \"10.0.0.0/8\", got " + show(e));
      return;
    }
    std::string problem = checkCidr(e.get<std::string>());
    if (!problem.empty()) {
      r.diags().add(ptr, problem);
    } else {
      loc.ip_allowlist.push_back(e.get<std::string>());
    }
  });
  if (const json* m = r.get("media")) {
    ObjectReader mr(*m, r.at("media"), root.diags(), {"proxy", "stun", "turn"});
    auto ref = [&](std::string_view key, std::initializer_list<probes::Kind> kinds,
                   std::string_view kinds_text) -> std::string {
      auto name = mr.string(key, true);
      if (!name) return {};
      const TargetConfig* t = findByName(targets, *name);
      if (t == nullptr) {
        mr.error(key, "unknown target " + quote(*name) + didYouMean(*name, targetNames(targets)));
        return {};
      }
      if (std::find(kinds.begin(), kinds.end(), t->kind) == kinds.end()) {
        mr.error(key, "target " + quote(*name) + " is a " + std::string(probes::kindName(t->kind)) +
                          " target; expected " + std::string(kinds_text));
      }
      return *name;
    };
    loc.media.proxy = ref("proxy", {probes::Kind::kSip, probes::Kind::kTcp}, "a sip or tcp target");
    // A TURN server answers STUN Binding requests too, so either kind can serve as media.stun.
    loc.media.stun =
        ref("stun", {probes::Kind::kStun, probes::Kind::kTurn}, "a stun or turn target");
    loc.media.turn = ref("turn", {probes::Kind::kTurn}, "a turn target");
    if (const TargetConfig* proxy = findByName(targets, loc.media.proxy)) {
      if (proxy->port < range.min || proxy->port > range.max) {
        mr.error("proxy", "proxy target " + quote(proxy->name) + " uses port " +
                              std::to_string(proxy->port) + ", outside the allowed SIP range " +
                              range_text);
      }
    }
  } else {
    r.missing("media");
  }
  return loc;
}

// Rules that tie sections together.
void checkCrossReferences(Config& c, Diagnostics& d) {
  for (size_t i = 0; i < c.failover.size(); ++i) {
    const FailoverGroup& g = c.failover[i];
    std::string ptr = "/failover/" + std::to_string(i);
    if (!g.apply_to.location_path.empty() || !g.apply_to.trunk_base_id.empty() ||
        !g.apply_to.site_id.empty()) {
      if (!c.genesys) {
        d.add(ptr + "/apply_to", "failover group " + quote(g.name) +
                                     " writes to Genesys Cloud but there is no genesys section");
      } else if (!g.apply_to.location_path.empty() &&
                 c.genesys->schema == GenesysSchema::kPlatform) {
        // The seed tutorial's Location carries media endpoints; the platform's does not.
        d.add(ptr + "/apply_to/location_path",
              "a Genesys Cloud Location has no media endpoints (the seed tutorial's shape, "
              "only with genesys.schema \"seed\"); on the platform write a BYOC trunk's SIP "
              "servers (trunk_base_id) or a Site's media regions (site_id + media_regions)");
      } else if (!g.apply_to.location_path.empty() && c.genesys->location_id.empty()) {
        d.add("/genesys", "missing location_id (needed by failover group " + quote(g.name) +
                              ", which applies to " + g.apply_to.location_path + ")");
      }
    }
  }
}

// What the bounded JSON reader refused, as the contract's diagnostic: a syntax error by line and
// column (the document has no pointer yet), the rest by the pointer of the value at fault.
Diagnostic jsonInputDiagnostic(const net::JsonInputError& e) {
  using Kind = net::JsonInputError::Kind;
  switch (e.kind) {
    case Kind::kSyntax: {
      std::string where = "line " + std::to_string(e.line) + ", column " + std::to_string(e.column);
      constexpr std::string_view kOverflow = "number overflow parsing ";
      if (e.detail.starts_with(kOverflow)) {
        return {"", "number out of range at " + where + ": " + e.detail.substr(kOverflow.size()) +
                        " does not fit a double"};
      }
      return {"", "JSON syntax error at " + where + ": " + e.detail};
    }
    case Kind::kTooLarge:
      return {"", "the config " + e.detail + " bytes"};
    case Kind::kTooDeep:
    case Kind::kDuplicateKey:
      return {e.pointer, e.detail};
  }
  return {e.pointer, e.detail};
}

}  // namespace

std::optional<Duration> parseDuration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  std::string number(text.substr(0, i));
  std::string_view unit = text.substr(i);
  if (std::count(number.begin(), number.end(), '.') > 1 || number.back() == '.' ||
      number.front() == '.') {
    return std::nullopt;
  }
  double value = std::strtod(number.c_str(), nullptr);
  double ms = 0;
  if (unit == "ms") {
    ms = value;
  } else if (unit == "s") {
    ms = value * 1000;
  } else if (unit == "m") {
    ms = value * 60'000;
  } else if (unit == "h") {
    ms = value * 3'600'000;
  } else {
    return std::nullopt;
  }
  if (ms > 1e12 || ms != std::floor(ms)) return std::nullopt;
  return Duration(static_cast<std::int64_t>(ms));
}

std::string checkCidr(std::string_view cidr) {
  std::string text(cidr);
  auto slash = text.find('/');
  if (slash == std::string::npos) {
    return quote(text) + " is not a CIDR (missing /prefix, e.g. " + text + "/32)";
  }
  std::string addr = text.substr(0, slash);
  std::string prefix_text = text.substr(slash + 1);
  std::array<unsigned char, 16> bytes{};
  int family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(family, addr.c_str(), bytes.data()) != 1) {
    return quote(text) + " is not a CIDR (" + quote(addr) + " is not an IP" +
           (family == AF_INET6 ? "v6" : "v4") + " address)";
  }
  int max_prefix = family == AF_INET6 ? 128 : 32;
  int prefix = -1;
  auto [p, ec] =
      std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
  if (ec != std::errc() || p != prefix_text.data() + prefix_text.size() || prefix < 0 ||
      prefix > max_prefix) {
    return quote(text) + " is not a CIDR (prefix length must be 0-" + std::to_string(max_prefix) +
           ")";
  }
  size_t len = family == AF_INET6 ? 16 : 4;
  bool host_bits = false;
  auto network = bytes;
  for (size_t i = 0; i < len; ++i) {
    int bits_in_byte = std::clamp(prefix - static_cast<int>(i) * 8, 0, 8);
    auto mask = static_cast<unsigned char>(bits_in_byte == 0 ? 0 : (0xFF << (8 - bits_in_byte)));
    if ((bytes[i] & ~mask & 0xFF) != 0) host_bits = true;
    network[i] = static_cast<unsigned char>(bytes[i] & mask);
  }
  if (host_bits) {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    inet_ntop(family, network.data(), buf.data(), buf.size());
    return quote(text) + " has host bits set; did you mean " +
           quote(std::string(buf.data()) + "/" + prefix_text) + "?";
  }
  return {};
}

bool isValidHost(const std::string& host) { return isIpLiteral(host) || isValidHostname(host); }

const TargetConfig* Config::findTarget(const std::string& name) const {
  return findByName(targets, name);
}

LoadResult parseConfig(std::string_view text, const std::string& source) {
  LoadResult result;
  net::JsonInput input =
      net::parseJson(text, net::JsonLimits{kMaxConfigBytes, kMaxConfigDepth, /*comments=*/true,
                                           /*unique_keys=*/true});
  if (input.error) {
    result.errors.push_back(jsonInputDiagnostic(*input.error));
    return result;
  }
  const json& doc = input.value;

  Diagnostics diags;
  Config config;
  config.source = source;
  ObjectReader root(
      doc, "", diags,
      {"site", "probing", "dns", "targets", "failover", "genesys", "location", "readiness"});
  if (root.valid()) {
    if (const json* site = root.get("site")) {
      ObjectReader s(*site, "/site", diags, {"name"});
      if (auto n = s.string("name", true)) config.site_name = *n;
    } else {
      root.missing("site");
    }
    config.probing = readProbing(root);
    config.dns = readDns(root);
    config.targets = readTargets(root, config.probing);
    resolvePeers(root, config.targets);
    config.failover = readFailover(root, config.targets);
    config.genesys = readGenesys(root);
    config.location = readLocation(root, config.targets);
    config.readiness = readReadiness(root);
    checkCrossReferences(config, diags);
  }
  result.errors = std::move(diags.errors());
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  net::FileInput file = net::readFileBounded(path, kMaxConfigBytes);
  if (!file.ok()) {
    LoadResult r;
    r.errors.push_back({"", "cannot read config: " + file.error});
    return r;
  }
  return parseConfig(file.text, path);
}

std::string formatDiagnostic(const std::string& source, const Diagnostic& d) {
  // Keys and values come from the file: a control character in one must not reach a terminal or
  // forge a log line. Long enough for any pointer within kMaxConfigDepth.
  constexpr std::size_t kMaxShown = 4096;
  std::string out = net::printable(source, kMaxShown) + ": ";
  if (!d.pointer.empty()) out += net::printable(d.pointer, kMaxShown) + ": ";
  return out + net::printable(d.message, kMaxShown);
}

}  // namespace mediapath::agent
