#pragma once

#include <memory>

#include "probes/probe.h"

namespace mediapath::probes {

/// The media loop (DESIGN.md "Probes", relay): two allocations A and B on the target's TURN
/// server (with `peer_host` set, B on the peer's server with the peer's credentials, over the
/// target's transport), each over its own UDP socket or (target `transport` tcp) its own TCP
/// connection to its server, RFC 8656 §2.1 (long-term credentials as the turn probe),
/// CreatePermission and ChannelBind of each to the other's relayed address, then `stream.packets`
/// ChannelData packets of `stream.size` bytes `stream.spacing` apart from A through the relay to B,
/// which reflects the first copy of each back to A. Both ends are this process, so one clock times
/// every leg: the round trip at A, the one-way delay and RFC 3550 §A.8 jitter at B, loss per
/// direction, reordering and duplicates; over UDP each arrival is timed by its kernel receive stamp
/// (`timestamps` kernel). Both allocations are released (Refresh lifetime 0) before the round
/// reports, whether it succeeded or not; nothing is kept between rounds.
///
/// A round takes at most `timeout` to set up, the stream's length, `timeout` for the last packets
/// to come back and `timeout` for the releases. It is ok when at least one packet came back.
std::unique_ptr<Probe> makeRelayProbe(const ProbeContext& context);

}  // namespace mediapath::probes
