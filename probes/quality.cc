#include "probes/quality.h"

#include <algorithm>
#include <cmath>

namespace mediapath::probes {

void JitterEstimator::add(double rtt_ms) {
  if (samples_ > 0) {
    double d = std::fabs(rtt_ms - last_);
    jitter_ += (d - jitter_) / 16.0;
  }
  last_ = rtt_ms;
  ++samples_;
}

std::optional<double> JitterEstimator::jitterMs() const {
  if (samples_ < 2) return std::nullopt;
  return jitter_;
}

double rFactor(double rtt_ms, double jitter_ms, double loss_ratio) {
  double effective_latency = rtt_ms / 2.0 + 2.0 * jitter_ms + 10.0;
  double r = effective_latency < 160.0 ? 93.2 - effective_latency / 40.0
                                       : 93.2 - (effective_latency - 120.0) / 10.0;
  r -= 2.5 * (loss_ratio * 100.0);
  return std::clamp(r, 0.0, 100.0);
}

double estimateMos(double rtt_ms, double jitter_ms, double loss_ratio) {
  double r = rFactor(rtt_ms, jitter_ms, loss_ratio);
  return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
}

}  // namespace mediapath::probes
