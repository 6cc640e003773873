#pragma once

#include <memory>

#include "probes/probe.h"

namespace mediapath::probes {

/// TCP connect time to host:port ("connection refused", "timeout after 2s").
std::unique_ptr<Probe> makeTcpProbe(const ProbeContext& context);

}  // namespace mediapath::probes
