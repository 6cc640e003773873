#pragma once

// Internal to probes/: the figures of the relay probe's media stream, from send and arrival times
// alone (no sockets, no clock), so they can be checked against known times.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "probes/probe.h"

namespace mediapath::probes {

/// What one round's stream measured.
struct StreamSummary {
  int sent = 0;         ///< packets A sent
  int received_ab = 0;  ///< distinct packets that reached B
  int received_ba = 0;  ///< distinct packets B reflected that came back to A
  /// 1 − received_ab/sent (nullopt when nothing was sent).
  std::optional<double> loss_ab;
  /// 1 − received_ba/received_ab: the return leg's own loss (nullopt when nothing reached B).
  std::optional<double> loss_ba;
  std::optional<RttStats> rtt;      ///< A → relay → B → relay → A, per packet back at A
  std::optional<RttStats> one_way;  ///< A → relay → B, per packet at B (one clock: both ours)
  std::vector<double> rtt_samples_ms;  ///< in send order, packets back at A only
  /// RFC 3550 §A.8 interarrival jitter of the A → B stream (nullopt until two packets arrived).
  std::optional<double> jitter_ms;
  /// Packets that reached B after one with a higher sequence number (RFC 4737's reordered
  /// packets, on the leg the jitter describes).
  int reordered = 0;
  /// Extra copies of a packet, at B (A → B leg) and at A (B only reflects first copies, so these
  /// are the return leg's own).
  int duplicated = 0;
};

/// Collects the stream's send and arrival times, packet by packet, in the order they happen.
/// Sequence numbers are 0..packets−1; anything else, or an arrival of a packet not sent (or, at
/// A, not seen by B), is ignored. Times are milliseconds on one clock (any origin).
///
/// Thread safety: none; a value owned by one probe.
class StreamStats {
 public:
  explicit StreamStats(std::size_t packets = 0) { reset(packets); }
  void reset(std::size_t packets);

  void sent(std::uint32_t sequence, double at_ms);
  /// A packet reached B. True for its first copy, which B reflects; false for a duplicate or a
  /// packet to ignore.
  bool arrivedAtB(std::uint32_t sequence, double at_ms);
  /// A reflected packet came back to A.
  void arrivedAtA(std::uint32_t sequence, double at_ms);

  /// Every packet sent so far came back (nothing more to wait for once the stream is sent).
  bool allBack() const { return sent_ > 0 && back_ == sent_; }
  StreamSummary summary() const;

 private:
  struct Packet {
    std::optional<double> sent_ms;
    std::optional<double> at_b_ms;
    std::optional<double> at_a_ms;
  };
  std::vector<Packet> packets_;
  int sent_ = 0;
  int at_b_ = 0;
  int back_ = 0;
  int reordered_ = 0;
  int duplicated_ = 0;
  std::optional<std::uint32_t> highest_at_b_;
  // RFC 3550 §A.8 state: the previous packet's transit time and the running estimate.
  std::optional<double> last_transit_ms_;
  double jitter_ms_ = 0;
};

}  // namespace mediapath::probes
