// The one place that knows every probe kind (see STYLE.md, blackbox_exporter's registry).
#include <stdexcept>

#include "probes/dns_probe.h"
#include "probes/nat_probe.h"
#include "probes/probe.h"
#include "probes/relay_probe.h"
#include "probes/sip_probe.h"
#include "probes/stun_probe.h"
#include "probes/tcp_probe.h"
#include "probes/turn_probe.h"

namespace mediapath::probes {

std::unique_ptr<Probe> makeProbe(Kind kind, const ProbeContext& context) {
  if (context.loop == nullptr || context.resources == nullptr) {
    throw std::invalid_argument("makeProbe: the ProbeContext needs a loop and ProbeResources");
  }
  switch (kind) {
    case Kind::kStun:
      return makeStunProbe(context);
    case Kind::kTurn:
      return makeTurnProbe(context);
    case Kind::kSip:
      return makeSipProbe(context);
    case Kind::kTcp:
      return makeTcpProbe(context);
    case Kind::kDns:
      return makeDnsProbe(context);
    case Kind::kRelay:
      return makeRelayProbe(context);
    case Kind::kNat:
      return makeNatProbe(context);
  }
  return nullptr;
}

}  // namespace mediapath::probes
