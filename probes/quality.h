#pragma once

#include <cstddef>
#include <optional>
#include <span>

namespace mediapath::probes {

/// RFC 3550 §6.4.1 interarrival jitter applied to consecutive RTT samples:
/// D = RTT(i) − RTT(i−1), J += (|D| − J) / 16. The state carries over from one burst to the
/// next (a probe keeps one estimator per target), so the first sample of a burst is compared
/// with the last sample of the previous one.
///
/// Thread safety: none; a value owned by one probe.
class JitterEstimator {
 public:
  void add(double rtt_ms);
  void addAll(std::span<const double> rtt_ms) {
    for (double rtt : rtt_ms) add(rtt);
  }
  /// Current estimate in ms; nullopt until two samples have been seen.
  std::optional<double> jitterMs() const;
  std::size_t samples() const { return samples_; }
  void reset() { *this = JitterEstimator{}; }

 private:
  double jitter_ = 0;
  double last_ = 0;
  std::size_t samples_ = 0;
};

/// Estimated MOS (1..4.5) by the simplified E-model:
/// EL = RTT/2 + 2·jitter + 10 ms; R = 93.2 − EL/40 if EL < 160 ms else 93.2 − (EL − 120)/10;
/// R −= 2.5·loss_percent; R clamped to 0..100; MOS = 1 + 0.035R + 7e−6·R(R−60)(100−R).
double estimateMos(double rtt_ms, double jitter_ms, double loss_ratio);

/// The R factor behind estimateMos(), exposed for tests.
double rFactor(double rtt_ms, double jitter_ms, double loss_ratio);

}  // namespace mediapath::probes
