#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/clock.h"

namespace mediapath::tools::relay {

enum class Direction { kUp, kDown };  ///< up: client -> upstream, down: upstream -> client

std::string_view directionName(Direction dir);

/// What one direction of the relay does to each datagram: a base delay, a uniform jitter of
/// +-jitter around it (clamped at zero, never negative), and an independent loss probability.
struct DirectionSpec {
  std::chrono::microseconds delay{0};
  std::chrono::microseconds jitter{0};
  double loss = 0;  ///< 0..1
};

/// The fate of one datagram.
struct Decision {
  std::uint64_t seq = 0;  ///< 1-based, per direction
  bool dropped = false;
  std::chrono::microseconds delay{0};  ///< planned hold time (also drawn for dropped packets)
};

/// Seeded per-packet decisions. Each direction has its own PRNG stream, so the n-th packet of a
/// direction gets the same fate in every run with the same seed, however up and down traffic
/// interleave. Both numbers (loss, delay) are drawn for every packet, dropped or not, so a change
/// in the loss setting does not shift the delays of later packets.
///
/// Thread safety: none (the relay uses it from its loop thread only).
class ImpairmentModel {
 public:
  ImpairmentModel(std::uint64_t seed, DirectionSpec up, DirectionSpec down);

  Decision decide(Direction dir);
  const DirectionSpec& spec(Direction dir) const;

 private:
  struct Stream {
    DirectionSpec spec;
    net::SeededRandom random;
    std::uint64_t seq = 0;
  };
  Stream& stream(Direction dir) { return dir == Direction::kUp ? up_ : down_; }

  Stream up_;
  Stream down_;
};

/// "20ms", "1.5ms", "250us", "2s"; a bare number is milliseconds. Throws std::invalid_argument
/// naming the text for anything else or for a negative value.
std::chrono::microseconds parseDuration(std::string_view text);
/// "0.1" (a ratio 0..1) or "10%". Throws std::invalid_argument outside 0..1.
double parseLoss(std::string_view text);

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
/// "127.0.0.1:3478", "[::1]:3478", "localhost:3478". Port 0 is allowed (bind to any free port).
/// Throws std::invalid_argument.
HostPort parseHostPort(std::string_view text);

/// RFC 3550 section 6.4.1 interarrival jitter estimator over consecutive samples, the same one
/// the probes apply to RTT samples: J += (|D| - J) / 16.
class JitterEstimator {
 public:
  void add(double sample_ms);
  double value() const { return jitter_; }

 private:
  std::optional<double> last_;
  double jitter_ = 0;
};

}  // namespace mediapath::tools::relay
