#include "tools/impairment_relay/impairment_model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace mediapath::tools::relay {
namespace {

// Spreads one user seed into two unrelated PRNG seeds (splitmix64 finaliser), so seeds 1 and 2
// do not give the down stream of one run the up stream of the other.
std::uint64_t mixSeed(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double parseNumber(std::string_view number, std::string_view whole) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size() || !std::isfinite(value)) {
    throw std::invalid_argument("not a number: '" + std::string(whole) + "'");
  }
  return value;
}

}  // namespace

std::string_view directionName(Direction dir) { return dir == Direction::kUp ? "up" : "down"; }

ImpairmentModel::ImpairmentModel(std::uint64_t seed, DirectionSpec up, DirectionSpec down)
    : up_{up, net::SeededRandom(mixSeed(seed)), 0},
      down_{down, net::SeededRandom(mixSeed(seed ^ 0xd0d0d0d0d0d0d0d0ULL)), 0} {}

const DirectionSpec& ImpairmentModel::spec(Direction dir) const {
  return dir == Direction::kUp ? up_.spec : down_.spec;
}

Decision ImpairmentModel::decide(Direction dir) {
  Stream& s = stream(dir);
  Decision d;
  d.seq = ++s.seq;
  double loss_draw = s.random.uniform();
  double jitter_draw = s.random.uniform() * 2.0 - 1.0;  // [-1, 1)
  d.dropped = loss_draw < s.spec.loss;
  double us = static_cast<double>(s.spec.delay.count()) +
              jitter_draw * static_cast<double>(s.spec.jitter.count());
  d.delay = std::chrono::microseconds(std::llround(std::max(0.0, us)));
  return d;
}

std::chrono::microseconds parseDuration(std::string_view text) {
  std::string_view number = text;
  double scale_us = 1000;  // bare numbers are milliseconds
  auto ends_with = [&](std::string_view suffix) {
    return number.size() > suffix.size() && number.substr(number.size() - suffix.size()) == suffix;
  };
  if (ends_with("us")) {
    number.remove_suffix(2);
    scale_us = 1;
  } else if (ends_with("ms")) {
    number.remove_suffix(2);
    scale_us = 1000;
  } else if (ends_with("s")) {
    number.remove_suffix(1);
    scale_us = 1e6;
  }
  double value = parseNumber(number, /*whole=*/text);
  if (value < 0) throw std::invalid_argument("negative duration: '" + std::string(text) + "'");
  return std::chrono::microseconds(std::llround(value * scale_us));
}

double parseLoss(std::string_view text) {
  std::string_view number = text;
  double scale = 1;
  if (!number.empty() && number.back() == '%') {
    number.remove_suffix(1);
    scale = 0.01;
  }
  double value = parseNumber(number, /*whole=*/text) * scale;
  if (value < 0 || value > 1) {
    throw std::invalid_argument("loss must be within 0..1 (or 0%..100%): '" + std::string(text) +
                                "'");
  }
  return value;
}

HostPort parseHostPort(std::string_view text) {
  HostPort hp;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("expected [v6]:port, got '" + std::string(text) + "'");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      throw std::invalid_argument("expected host:port, got '" + std::string(text) + "'");
    }
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    throw std::invalid_argument("bad port in '" + std::string(text) + "'");
  }
  hp.port = static_cast<std::uint16_t>(port);
  return hp;
}

void JitterEstimator::add(double sample_ms) {
  if (last_) jitter_ += (std::abs(sample_ms - *last_) - jitter_) / 16.0;
  last_ = sample_ms;
}

}  // namespace mediapath::tools::relay
