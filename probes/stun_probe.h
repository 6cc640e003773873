#pragma once

#include <memory>

#include "probes/probe.h"

namespace mediapath::probes {

/// RFC 5389 Binding requests over UDP (libnice's STUN usage), sent as a burst. ok when at least
/// one success response arrived; the result carries the mapped (server-reflexive) address.
std::unique_ptr<Probe> makeStunProbe(const ProbeContext& context);

}  // namespace mediapath::probes
