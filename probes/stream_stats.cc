#include "probes/stream_stats.h"

#include <algorithm>
#include <cmath>
#include <span>

namespace mediapath::probes {
namespace {

std::optional<RttStats> statsOf(std::span<const double> samples) {
  if (samples.empty()) return std::nullopt;
  RttStats s{samples[0], 0, samples[0]};
  double sum = 0;
  for (double v : samples) {
    s.min_ms = std::min(s.min_ms, v);
    s.max_ms = std::max(s.max_ms, v);
    sum += v;
  }
  s.avg_ms = sum / static_cast<double>(samples.size());
  return s;
}

}  // namespace

void StreamStats::reset(std::size_t packets) {
  packets_.assign(packets, {});
  sent_ = at_b_ = back_ = reordered_ = duplicated_ = 0;
  highest_at_b_.reset();
  last_transit_ms_.reset();
  jitter_ms_ = 0;
}

void StreamStats::sent(std::uint32_t sequence, double at_ms) {
  if (sequence >= packets_.size() || packets_[sequence].sent_ms) return;
  packets_[sequence].sent_ms = at_ms;
  ++sent_;
}

bool StreamStats::arrivedAtB(std::uint32_t sequence, double at_ms) {
  if (sequence >= packets_.size() || !packets_[sequence].sent_ms) return false;
  Packet& p = packets_[sequence];
  if (p.at_b_ms) {
    ++duplicated_;
    return false;
  }
  p.at_b_ms = at_ms;
  ++at_b_;
  if (highest_at_b_ && sequence < *highest_at_b_) {
    ++reordered_;
  } else {
    highest_at_b_ = sequence;
  }
  // RFC 3550 §A.8 in arrival order: D = transit(i) − transit(i−1), J += (|D| − J)/16. The send
  // time stands in for the RTP timestamp (same clock, so no timestamp-unit conversion).
  double transit = at_ms - *p.sent_ms;
  if (last_transit_ms_) jitter_ms_ += (std::abs(transit - *last_transit_ms_) - jitter_ms_) / 16.0;
  last_transit_ms_ = transit;
  return true;
}

void StreamStats::arrivedAtA(std::uint32_t sequence, double at_ms) {
  if (sequence >= packets_.size() || !packets_[sequence].at_b_ms) return;
  Packet& p = packets_[sequence];
  if (p.at_a_ms) {
    ++duplicated_;
    return;
  }
  p.at_a_ms = at_ms;
  ++back_;
}

StreamSummary StreamStats::summary() const {
  StreamSummary s;
  s.sent = sent_;
  s.received_ab = at_b_;
  s.received_ba = back_;
  if (sent_ > 0) s.loss_ab = 1.0 - static_cast<double>(at_b_) / sent_;
  if (at_b_ > 0) s.loss_ba = 1.0 - static_cast<double>(back_) / at_b_;
  std::vector<double> one_way;
  for (const Packet& p : packets_) {
    if (p.at_b_ms) one_way.push_back(*p.at_b_ms - *p.sent_ms);
    if (p.at_a_ms) s.rtt_samples_ms.push_back(*p.at_a_ms - *p.sent_ms);
  }
  s.rtt = statsOf(s.rtt_samples_ms);
  s.one_way = statsOf(one_way);
  if (at_b_ >= 2) s.jitter_ms = jitter_ms_;
  s.reordered = reordered_;
  s.duplicated = duplicated_;
  return s;
}

}  // namespace mediapath::probes
