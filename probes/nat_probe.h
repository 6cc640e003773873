#pragma once

#include <memory>

#include "probes/probe.h"

namespace mediapath::probes {

/// NAT behaviour discovery (RFC 5780 §4.3-4.5, RFC 4787 terms) over UDP from one local socket,
/// in this order (filtering first: a mapping test to the other address would open the very
/// filter hole the filtering tests look for):
///   I    Binding to host:port -> X1 (mapped_address, rtt) and the server's OTHER-ADDRESS;
///   F-II Binding with CHANGE-REQUEST ip+port: a reply from the other IP and port ->
///        filtering endpoint-independent; else
///   F-III CHANGE-REQUEST port: a reply from the primary IP's other port -> address-dependent,
///        else address-and-port-dependent. No OTHER-ADDRESS, a 420, or a reply from an address
///        the server was asked not to use -> filtering "unknown";
///   M-II Binding to the second server -> X2: the target's `peer` (a stun target) when set, else
///        (OTHER-ADDRESS IP, primary port). X1 == X2 -> mapping endpoint-independent; else
///   M-III Binding to another port of M-II's IP (the other address's port; with a peer, the
///        peer's own OTHER-ADDRESS port, else the primary IP on its other port compared with X1):
///        the same mapping on both ports -> address-dependent, else address-and-port-dependent.
///        No second server (no OTHER-ADDRESS and no peer): mapping "unknown", still ok;
///   H    hairpinning: from a second local socket a Binding to X1; arriving on the first socket
///        -> true, else false.
/// Waits: test I up to `timeout`; every later test up to w = min(max(4 x RTT of test I, 250 ms),
/// timeout / 5) — a missing reply is an answer there (filtered), so it must not cost a whole
/// timeout, and the five of them fit in a second `timeout` (probes::roundLength is 2 x timeout).
/// Each request is sent again once after half its wait (UDP loss must not read as filtering).
/// ok when test I and the mapping tests it could run were answered; behaviours are figures, not
/// failures. sent/received/loss/rtt describe test I.
std::unique_ptr<Probe> makeNatProbe(const ProbeContext& context);

}  // namespace mediapath::probes
