#pragma once

#include <memory>

#include "probes/probe.h"

namespace mediapath::probes {

/// SIP OPTIONS over UDP (a burst, like the other UDP probes), TCP or TLS (one request per round;
/// TLS: verified as net::TlsConnection says, the result carries tls_version and cert_not_after).
/// Only replies whose top Via branch, Call-ID and CSeq match a request count; a 2xx (or one of
/// target.success_codes) is success, any other final answer fails as "SIP 503 Service
/// Unavailable".
std::unique_ptr<Probe> makeSipProbe(const ProbeContext& context);

}  // namespace mediapath::probes
