#include "agent/service/probe_once.h"

#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <string>

#include "agent/service/scheduler.h"
#include "net/ares_resolver.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/socket_budget.h"
#include "probes/probe_resources.h"

namespace mediapath::agent {

std::vector<std::optional<probes::ProbeResult>> probeOnce(const std::vector<PlannedTarget>& planned,
                                                          const DnsConfig& dns,
                                                          std::optional<Duration> dns_timeout,
                                                          std::uint64_t socket_limit) {
  std::vector<std::optional<probes::ProbeResult>> results(planned.size());
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < planned.size(); ++i) index.emplace(planned[i].target.name, i);

  std::optional<net::SocketBudget> socket_budget;  // outlives the loop's sockets
  if (socket_limit > 0) socket_budget.emplace(socket_limit);
  net::EventLoop loop;
  net::SystemClock clock;
  net::SystemRandom random;
  {
    net::AresOptions ares;
    ares.servers = dnsServerList(dns);
    ares.max_ttl = std::chrono::duration_cast<std::chrono::seconds>(dns.max_ttl);
    if (dns_timeout) ares.query_timeout = *dns_timeout;
    net::AresResolver resolver(loop, ares, clock);
    probes::ProbeResources resources(socket_budget ? &*socket_budget : nullptr);
    probes::ProbeContext context{&loop, &resolver, &clock, &random, &resources};
    UvTimerFactory timers(loop);
    SchedulerOptions options;
    options.one_round = true;
    std::size_t reported = 0;
    Scheduler scheduler(
        timers, clock, random,
        [&context](const probes::ProbeTarget& t) { return probes::makeProbe(t.kind, context); },
        [&](const probes::ProbeResult& r) {
          auto it = index.find(r.target);
          if (it == index.end()) return;
          if (!results[it->second]) ++reported;
          results[it->second] = r;
          // Probes may keep sockets open for their next round; there is none, so the loop is
          // stopped here and everything is closed below.
          if (reported == planned.size()) loop.stop();
        },
        options);
    for (const auto& p : planned) scheduler.add(p.target, p.interval);
    scheduler.start();
    loop.run();
    scheduler.stop();
    resolver.cancelAll();
  }
  // The scheduler, probes and resolver have closed their handles; let the close callbacks run.
  loop.run();
  if (int rc = loop.close(); rc != 0) {
    spdlog::warn("event loop did not close cleanly (uv_loop_close {})", rc);
  }
  return results;
}

}  // namespace mediapath::agent
