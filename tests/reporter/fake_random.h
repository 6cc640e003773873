#pragma once

#include <cstdint>
#include <vector>

#include "net/clock.h"

namespace mediapath::testing {

/// Returns scripted uniform() values in turn (then repeats the last), so jitter is exact.
class ScriptedRandom final : public net::Random {
 public:
  explicit ScriptedRandom(std::vector<double> uniforms) : uniforms_(std::move(uniforms)) {}
  std::uint64_t next() override {
    double u = uniforms_.empty() ? 0.0 : uniforms_[std::min(index_, uniforms_.size() - 1)];
    ++index_;
    // uniform() takes the top 53 bits: invert that mapping.
    return static_cast<std::uint64_t>(u * static_cast<double>(1ULL << 53)) << 11;
  }

 private:
  std::vector<double> uniforms_;
  std::size_t index_ = 0;
};

}  // namespace mediapath::testing
