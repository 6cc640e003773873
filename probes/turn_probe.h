#pragma once

#include <memory>

#include "probes/probe.h"

namespace mediapath::probes {

/// RFC 5766 Allocate over UDP with long-term credentials: an unauthenticated Allocate draws the
/// 401 challenge (REALM, NONCE), the authenticated one returns the relayed address, and a Refresh
/// with lifetime 0 releases the allocation before the round reports. The RTT is that of the
/// authenticated Allocate.
std::unique_ptr<Probe> makeTurnProbe(const ProbeContext& context);

}  // namespace mediapath::probes
