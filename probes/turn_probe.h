#pragma once

#include <memory>

#include "probes/probe.h"

namespace mediapath::probes {

/// RFC 5766 Allocate with long-term credentials, over UDP or (target `transport` tcp) a TCP
/// connection per round (RFC 8656 §2.1; no retransmissions over a stream): an unauthenticated
/// Allocate draws the 401 challenge (REALM, NONCE), the authenticated one returns the relayed
/// address, and a Refresh with lifetime 0 releases the allocation before the round reports. The RTT
/// is that of the authenticated Allocate.
std::unique_ptr<Probe> makeTurnProbe(const ProbeContext& context);

}  // namespace mediapath::probes
