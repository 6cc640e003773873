#include "reporter/metrics/status_board.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "net/clock.h"
#include "net/text.h"

namespace mediapath::reporter {

void StatusBoard::reset(std::string site, std::string version, std::vector<TargetStatus> targets,
                        std::vector<GroupStatus> groups) {
  std::lock_guard lock(mutex_);
  // A reload keeps what is known about targets that stay, and the history of groups that stay.
  for (auto& t : targets) {
    for (const auto& old : state_.targets) {
      if (old.name == t.name && old.kind == t.kind) t = old;
    }
  }
  for (auto& g : groups) {
    for (const auto& old : state_.groups) {
      if (old.name == g.name) g.history = old.history;
    }
  }
  if (state_.started == std::chrono::system_clock::time_point{}) {
    state_.started = std::chrono::system_clock::now();
  }
  state_.site = std::move(site);
  state_.version = std::move(version);
  state_.targets = std::move(targets);
  state_.groups = std::move(groups);
  index_.clear();
  for (size_t i = 0; i < state_.targets.size(); ++i) index_[state_.targets[i].name] = i;
}

void StatusBoard::recordRound(TargetStatus status) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(status.name);
  if (it == index_.end()) return;
  TargetStatus& t = state_.targets[it->second];
  status.rounds = t.rounds + 1;
  status.history = std::move(t.history);
  status.health_changes = std::move(t.health_changes);
  if (!status.last_ok) status.details = std::move(t.details);  // the last good round's
  if (status.known && (!t.known || t.healthy != status.healthy)) {
    status.health_changes.push_front(
        {status.last_round, status.healthy, status.healthy ? std::string() : status.last_error});
    if (status.health_changes.size() > kMaxHealthChanges) status.health_changes.pop_back();
  }
  RoundPoint point{status.last_round, std::nullopt, std::nullopt, status.last_ok, status.healthy};
  if (status.rtt_avg_ms) point.rtt_ms = static_cast<float>(*status.rtt_avg_ms);
  if (status.loss) point.loss = static_cast<float>(*status.loss);
  status.history.push_back(point);
  if (status.history.size() > kHistoryRounds) status.history.pop_front();
  t = std::move(status);
}

void StatusBoard::updateGroup(const std::string& group, const std::string& active, bool panic,
                              std::chrono::system_clock::time_point time) {
  std::lock_guard lock(mutex_);
  for (auto& g : state_.groups) {
    if (g.name != group) continue;
    // The manager reports its state after every decision; only a change is history.
    if (g.active != active || g.panic != panic || g.history.empty()) {
      g.history.push_front({time, active, panic});
      if (g.history.size() > kMaxGroupChanges) g.history.pop_back();
    }
    g.active = active;
    g.panic = panic;
  }
}

void StatusBoard::addDecision(DecisionNote note) {
  std::lock_guard lock(mutex_);
  note.evidence.clear();
  for (const auto& g : state_.groups) {
    if (g.name != note.group) continue;
    for (const auto& c : g.candidates) {
      auto it = index_.find(c);
      if (it == index_.end()) continue;
      TargetStatus t = state_.targets[it->second];
      t.history.clear();
      t.health_changes.clear();
      note.evidence.push_back(std::move(t));
    }
  }
  state_.decisions.insert(state_.decisions.begin(), std::move(note));
  if (state_.decisions.size() > kMaxDecisions) state_.decisions.resize(kMaxDecisions);
}

void StatusBoard::setReady() {
  std::lock_guard lock(mutex_);
  state_.ready = true;
}

bool StatusBoard::ready() const {
  std::lock_guard lock(mutex_);
  return state_.ready;
}

StatusSnapshot StatusBoard::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::vector<GroupStatus> StatusBoard::groups() const {
  std::lock_guard lock(mutex_);
  return state_.groups;
}

namespace {

std::string escapeHtml(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(std::optional<double> v, int decimals, const char* unit = "") {
  if (!v) return "&ndash;";
  return net::formatFixed(*v, decimals) + unit;
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return "&ndash;";
  return net::formatUtc(t);
}

// In tables: the time of day when it is today (UTC), the full time on hover; else the full time.
std::string shortTime(std::chrono::system_clock::time_point t,
                      std::chrono::system_clock::time_point now) {
  if (t == std::chrono::system_clock::time_point{}) return "&ndash;";
  std::string iso = net::formatUtc(t);
  if (iso.compare(0, 10, net::formatUtc(now), 0, 10) != 0) return iso;
  return "<span title=\"" + iso + "\">" + iso.substr(11) + "</span>";
}

std::int64_t unixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string healthBadge(const TargetStatus& t) {
  if (!t.known) return "<span class=\"unknown\">unknown</span>";
  return t.healthy ? "<span class=\"ok\">healthy</span>" : "<span class=\"bad\">unhealthy</span>";
}

// The smallest of 1, 2, 5 times a power of ten that is at least `v`: the sparkline's RTT scale,
// so that its label is a round number.
double niceCeiling(double v) {
  if (!(v > 0)) return 1;
  double step = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * step >= v) return m * step;
  }
  return 10 * step;
}

// Sparkline geometry (SVG user units): RTT in the top band, loss as bars in the middle band,
// health as a strip along the bottom.
constexpr double kSparkWidth = 200;
constexpr double kRttTop = 2;
constexpr double kRttBottom = 28;
constexpr double kLossTop = 31;
constexpr double kLossBottom = 41;
constexpr double kHealthTop = 42;
constexpr double kSparkHeight = 45;

std::string coord(double v) { return net::formatFixed(v, 1); }

// RTT (line) and loss (bars) of the target's recent rounds against time, with its health under
// them; a gap in the line is a round without an RTT. Inline SVG: no script, no external asset.
std::string sparkline(const TargetStatus& t, std::chrono::system_clock::time_point now) {
  if (t.history.empty()) return "<span class=\"unknown\">no rounds yet</span>";
  auto start = t.history.front().time;
  auto end = std::max(now, t.history.back().time);
  double span_ms = std::max<double>(1, static_cast<double>(unixMs(end) - unixMs(start)));
  auto xOf = [&](std::chrono::system_clock::time_point time) {
    return kSparkWidth * static_cast<double>(unixMs(time) - unixMs(start)) / span_ms;
  };
  double rtt_max = 0;
  double loss_max = 0;
  int failed = 0;
  for (const auto& p : t.history) {
    if (p.rtt_ms) rtt_max = std::max(rtt_max, static_cast<double>(*p.rtt_ms));
    if (p.loss) loss_max = std::max(loss_max, static_cast<double>(*p.loss));
    failed += p.ok ? 0 : 1;
  }
  double scale = niceCeiling(rtt_max);

  std::string rtt_path;
  std::string loss_path;
  std::string failed_path;
  std::string health;
  bool drawing = false;
  std::string last_dot;
  double run_start = 0;
  for (size_t i = 0; i < t.history.size(); ++i) {
    const RoundPoint& p = t.history[i];
    double x = xOf(p.time);
    if (p.rtt_ms) {
      double y = kRttBottom - (kRttBottom - kRttTop) * std::min(1.0, *p.rtt_ms / scale);
      rtt_path += (drawing ? "L" : "M") + coord(x) + " " + coord(y);
      drawing = true;
      last_dot =
          "<circle cx=\"" + coord(x) + "\" cy=\"" + coord(y) + "\" r=\"1.8\" fill=\"#1f5fbf\"/>";
    } else {
      drawing = false;
    }
    if (p.loss && *p.loss > 0) {
      double y = kLossBottom - (kLossBottom - kLossTop) * std::min(1.0F, *p.loss);
      loss_path += "M" + coord(x) + " " + coord(kLossBottom) + "V" + coord(y);
    } else if (!p.ok) {
      // A failed round without lost packets (an error answer, a refused connection): its own
      // mark, so that "the peer says no" does not read as "the network drops".
      failed_path += "M" + coord(x) + " " + coord(kLossBottom) + "V" + coord(kLossTop);
    }
    // The health strip: one rectangle per run of rounds in the same state, up to the next run.
    bool run_ends = i + 1 == t.history.size() || t.history[i + 1].healthy != p.healthy;
    if (run_ends) {
      double next = i + 1 < t.history.size() ? xOf(t.history[i + 1].time) : kSparkWidth;
      health += "<rect class=\"" + std::string(p.healthy ? "h-ok" : "h-bad") + "\" x=\"" +
                coord(run_start) + "\" y=\"" + coord(kHealthTop) + "\" width=\"" +
                coord(std::max(1.0, next - run_start)) + "\" height=\"" +
                coord(kSparkHeight - kHealthTop) + "\" fill=\"" +
                (p.healthy ? "#2e9e44" : "#c62828") + "\" shape-rendering=\"crispEdges\"/>";
      run_start = next;
    }
  }
  auto minutes = static_cast<double>(unixMs(end) - unixMs(start)) / 60000.0;
  std::string caption = "RTT 0&ndash;" +
                        net::formatFixed(scale, scale >= 1     ? 0
                                                : scale >= 0.1 ? 1
                                                               : 3) +
                        " ms &middot; loss max " + net::formatFixed(loss_max * 100, 0) +
                        " % &middot; " + std::to_string(failed) + " of " +
                        std::to_string(t.history.size()) + " rounds failed, " +
                        net::formatFixed(minutes, 1) + " min";
  std::ostringstream o;
  o << "<svg class=\"spark\" width=\"" << kSparkWidth << "\" height=\"" << kSparkHeight
    << "\" viewBox=\"0 0 " << kSparkWidth << " " << kSparkHeight
    << "\" role=\"img\" aria-label=\"RTT, loss and health of " << escapeHtml(t.name) << "\"><title>"
    << escapeHtml(t.name) << ": " << caption << "</title>"
    << "<rect x=\"0\" y=\"0\" width=\"" << kSparkWidth << "\" height=\"" << kLossBottom
    << "\" fill=\"#f7f7f7\"/>";
  if (!rtt_path.empty()) {
    o << "<path class=\"rtt\" d=\"" << rtt_path
      << "\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.5\"/>" << last_dot;
  }
  if (!loss_path.empty()) {
    o << "<path class=\"loss\" d=\"" << loss_path << "\" stroke=\"#c62828\" stroke-width=\"2\"/>";
  }
  if (!failed_path.empty()) {
    o << "<path class=\"failed\" d=\"" << failed_path
      << "\" stroke=\"#e08a00\" stroke-width=\"2\"/>";
  }
  o << health << "</svg><div class=\"cap\">" << caption << "</div>";
  return o.str();
}

void renderTargets(std::ostringstream& o, const StatusSnapshot& s,
                   std::chrono::system_clock::time_point now) {
  o << "<h2>Targets</h2>\n<p class=\"cap\">Recent rounds: RTT as the blue line (its scale in "
    << "the caption), loss as red bars, failed rounds without loss (an error answer, a refused "
    << "connection) in amber, health as the strip below (green healthy, red unhealthy); the last "
    << StatusBoard::kHistoryRounds << " rounds of each target.</p>\n"
    << "<table class=\"targets\"><tr><th>target</th><th>kind</th>"
    << "<th>address</th><th>health</th><th>last round</th><th>RTT avg</th><th>jitter</th>"
    << "<th>loss</th><th>MOS</th><th>recent rounds</th><th>details</th>"
    << "<th>last error</th><th>rounds</th></tr>\n";
  for (const auto& t : s.targets) {
    std::string since;
    if (!t.health_changes.empty()) {
      since = "<br><small>since " + shortTime(t.health_changes.front().time, now) + "</small>";
    }
    std::string last = !t.known ? "&ndash;"
                       : t.last_ok
                           ? "<span class=\"ok\">ok</span> " + shortTime(t.last_round, now)
                           : "<span class=\"bad\">failed</span> " + shortTime(t.last_round, now);
    std::optional<double> loss_pct;
    if (t.loss) loss_pct = *t.loss * 100;
    o << "<tr class=\"target\" data-target=\"" << escapeHtml(t.name) << "\"><td>"
      << escapeHtml(t.name) << "</td><td>" << escapeHtml(t.kind) << "</td><td>"
      << escapeHtml(t.address) << "</td><td>" << healthBadge(t) << since << "</td><td>" << last
      << "</td><td>" << fixed(t.rtt_avg_ms, 2, " ms") << "</td><td>" << fixed(t.jitter_ms, 2, " ms")
      << "</td><td>" << fixed(loss_pct, 1, " %") << "</td><td>" << fixed(t.mos, 2) << "</td><td>"
      << sparkline(t, now) << "</td><td>" << escapeHtml(t.details) << "</td><td class=\"err\">"
      << escapeHtml(t.last_error) << "</td><td>" << t.rounds << "</td></tr>\n";
  }
  o << "</table>\n";
}

void renderGroups(std::ostringstream& o, const StatusSnapshot& s,
                  std::chrono::system_clock::time_point now) {
  o << "<h2>Failover groups</h2>\n";
  if (s.groups.empty()) {
    o << "<p>none configured</p>\n";
    return;
  }
  std::map<std::string, const TargetStatus*, std::less<>> by_name;
  for (const auto& t : s.targets) by_name[t.name] = &t;
  o << "<table class=\"groups\"><tr><th>group</th><th>candidates (preference order)</th>"
    << "<th>active</th><th>state</th><th>history (newest first)</th></tr>\n";
  for (const auto& g : s.groups) {
    std::string candidates;
    for (const auto& c : g.candidates) {
      auto it = by_name.find(c);
      const char* cls = it == by_name.end() || !it->second->known ? "unknown"
                        : it->second->healthy                     ? "ok"
                                                                  : "bad";
      candidates += std::string(candidates.empty() ? "" : ", ") + "<span class=\"" + cls + "\">" +
                    escapeHtml(c) + "</span>";
    }
    std::string history;
    for (const auto& h : g.history) {
      history += "<li>" + shortTime(h.time, now) + " " +
                 (h.panic ? "<span class=\"bad\">panic</span>, keeping " : "active ") +
                 escapeHtml(h.active) + "</li>";
    }
    o << "<tr class=\"group\" data-group=\"" << escapeHtml(g.name) << "\"><td>"
      << escapeHtml(g.name) << "</td><td>" << candidates << "</td><td>"
      << (g.active.empty() ? "&ndash;" : escapeHtml(g.active)) << "</td><td>"
      << (g.panic ? "<span class=\"bad\">panic: every candidate unhealthy</span>"
                  : "<span class=\"ok\">normal</span>")
      << "</td><td>" << (history.empty() ? "&ndash;" : "<ul>" + history + "</ul>")
      << "</td></tr>\n";
  }
  o << "</table>\n";
}

// Every target's health changes, newest first: what went wrong when, across the site.
void renderHealthChanges(std::ostringstream& o, const StatusSnapshot& s,
                         std::chrono::system_clock::time_point now) {
  struct Row {
    const TargetStatus* target;
    const HealthChange* change;
  };
  std::vector<Row> rows;
  for (const auto& t : s.targets) {
    for (const auto& c : t.health_changes) rows.push_back({&t, &c});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.change->time > b.change->time; });
  constexpr size_t kShown = 20;
  if (rows.size() > kShown) rows.resize(kShown);
  o << "<h2>Health changes</h2>\n";
  if (rows.empty()) {
    o << "<p>none yet</p>\n";
    return;
  }
  o << "<table class=\"health\"><tr><th>time</th><th>target</th><th>became</th>"
    << "<th>error</th></tr>\n";
  for (const auto& r : rows) {
    o << "<tr><td>" << shortTime(r.change->time, now) << "</td><td>" << escapeHtml(r.target->name)
      << "</td><td>"
      << (r.change->healthy ? "<span class=\"ok\">healthy</span>"
                            : "<span class=\"bad\">unhealthy</span>")
      << "</td><td class=\"err\">" << escapeHtml(r.change->error) << "</td></tr>\n";
  }
  o << "</table>\n";
}

void renderDecisions(std::ostringstream& o, const StatusSnapshot& s,
                     std::chrono::system_clock::time_point now) {
  o << "<h2>Last decisions</h2>\n";
  if (s.decisions.empty()) {
    o << "<p>none yet</p>\n";
    return;
  }
  o << "<table class=\"decisions\"><tr><th>time</th><th>group</th><th>decision</th>"
    << "<th>evidence: the candidates' last rounds at that moment</th></tr>\n";
  for (const auto& d : s.decisions) {
    std::ostringstream ev;
    if (!d.evidence.empty()) {
      ev << "<table class=\"evidence\"><tr><th>candidate</th><th>health</th><th>round</th>"
         << "<th>RTT</th><th>loss</th><th>MOS</th><th>error</th></tr>";
      for (const auto& c : d.evidence) {
        std::optional<double> loss_pct;
        if (c.loss) loss_pct = *c.loss * 100;
        ev << "<tr><td>" << escapeHtml(c.name) << "</td><td>" << healthBadge(c) << "</td><td>"
           << (!c.known    ? "&ndash;"
               : c.last_ok ? "ok"
                           : "failed")
           << "</td><td>" << fixed(c.rtt_avg_ms, 2, " ms") << "</td><td>"
           << fixed(loss_pct, 1, " %") << "</td><td>" << fixed(c.mos, 2)
           << "</td><td class=\"err\">" << escapeHtml(c.last_error) << "</td></tr>";
      }
      ev << "</table>";
    }
    o << "<tr class=\"decision\"><td>" << shortTime(d.time, now) << "</td><td>"
      << escapeHtml(d.group) << "</td><td>" << escapeHtml(d.text) << "</td><td>" << ev.str()
      << "</td></tr>\n";
  }
  o << "</table>\n";
}

}  // namespace

std::string renderStatusPage(const StatusSnapshot& s, std::chrono::system_clock::time_point now) {
  auto refresh_s = std::to_string(kStatusPageRefresh.count());
  std::ostringstream o;
  // The policy first, so that it covers everything after it: scripts and fetches from this
  // origin only (the page's own script), styles inline, no images but the empty icon.
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    << "script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src data:; "
    << "base-uri 'none'; form-action 'none'\">"
    << "<noscript><meta http-equiv=\"refresh\" content=\"" << refresh_s << "\"></noscript>"
    << "<link rel=\"icon\" href=\"data:,\">"
    << "<title>mediapath-agent " << escapeHtml(s.site) << "</title>\n<style>"
    << "body{font-family:sans-serif;font-size:14px;margin:1em;color:#222}"
    << "table{border-collapse:collapse;margin-bottom:1.5em}"
    << "th,td{border:1px solid #ccc;padding:.25em .45em;text-align:left;vertical-align:top}"
    << "th{background:#f0f0f0}.ok{color:#186a1d;font-weight:bold}"
    << ".bad{color:#b00020;font-weight:bold}.unknown{color:#777}"
    << ".cap{font-size:75%;color:#555}.err{min-width:10em;max-width:18em;overflow-wrap:break-word}"
    << "ul{margin:0;padding-left:1.2em}table.evidence{margin:0;font-size:85%}"
    << "#live{color:#555}#live.bad{color:#b00020}"
    << "</style><script src=\"" << kStatusPageScriptPath << "\" defer></script></head>"
    << "<body data-refresh-ms=\"" << kStatusPageRefresh.count() * 1000 << "\">\n"
    << "<p id=\"live\">Updates every " << refresh_s
    << " s without reloading (its script re-reads this page); without scripts the browser "
    << "reloads it every " << refresh_s << " s.</p>\n";

  auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  o << "<main id=\"board\" data-now-us=\"" << now_us << "\">\n";
  o << "<h1>mediapath-agent &mdash; " << escapeHtml(s.site) << "</h1>\n<p>" << escapeHtml(s.version)
    << " &middot; started " << isoTime(s.started) << " &middot; now " << isoTime(now)
    << " &middot; " << (s.ready ? "ready" : "starting (first round running)")
    << " &middot; <a href=\"/metrics\">metrics</a> &middot; <a "
       "href=\"/status.json\">JSON</a></p>\n";
  int healthy = 0;
  int unhealthy = 0;
  for (const auto& t : s.targets) {
    if (t.known) (t.healthy ? healthy : unhealthy) += 1;
  }
  int panics = 0;
  for (const auto& g : s.groups) panics += g.panic ? 1 : 0;
  o << "<p class=\"summary\">" << s.targets.size() << " targets: <span class=\"ok\">" << healthy
    << " healthy</span>, <span class=\"" << (unhealthy > 0 ? "bad" : "unknown") << "\">"
    << unhealthy << " unhealthy</span>, "
    << static_cast<int>(s.targets.size()) - healthy - unhealthy << " unknown &middot; "
    << s.groups.size() << " failover groups, <span class=\"" << (panics > 0 ? "bad" : "unknown")
    << "\">" << panics << " in panic</span></p>\n";

  renderTargets(o, s, now);
  renderGroups(o, s, now);
  renderDecisions(o, s, now);
  renderHealthChanges(o, s, now);
  o << "</main></body></html>\n";
  return o.str();
}

const std::string& statusPageScript() {
  // Re-reads `/` and swaps in its #board: the page is rendered (and escaped) in one place, the
  // server, and the script only moves nodes. It writes text with textContent only.
  static const std::string kScript = R"JS('use strict';
(() => {
  const every = Number(document.body.dataset.refreshMs) || 5000;
  const live = document.getElementById('live');
  live.dataset.firstUs = document.getElementById('board').dataset.nowUs;
  live.dataset.updates = '0';
  let updates = 0;
  let failingSince = null;
  const hhmmss = (d) => d.toISOString().slice(11, 19) + 'Z';
  async function poll() {
    try {
      if (document.hidden) return;
      const reply = await fetch('/', {cache: 'no-store'});
      if (!reply.ok) throw new Error('HTTP ' + reply.status);
      const doc = new DOMParser().parseFromString(await reply.text(), 'text/html');
      const board = doc.getElementById('board');
      if (!board) throw new Error('no board in the reply');
      document.getElementById('board').replaceWith(document.adoptNode(board));
      document.title = doc.title;
      updates += 1;
      failingSince = null;
      live.dataset.updates = String(updates);
      live.className = '';
      live.textContent = 'Live: re-reads this page every ' + every / 1000 +
          ' s without reloading; updated ' + updates + ' times, last at ' + hhmmss(new Date()) + '.';
    } catch (e) {
      failingSince = failingSince || new Date();
      live.className = 'bad';
      live.textContent = 'The agent has not answered since ' + hhmmss(failingSince) + ' (' +
          e.message + '); below is its last answer. Retrying every ' + every / 1000 + ' s.';
    } finally {
      setTimeout(poll, every);
    }
  }
  setTimeout(poll, every);
})();
)JS";
  return kScript;
}

namespace {

using nlohmann::json;

json optionalNumber(std::optional<double> v) { return v ? json(*v) : json(nullptr); }

json targetJson(const TargetStatus& t) {
  json out = {{"name", t.name},
              {"kind", t.kind},
              {"address", t.address},
              {"known", t.known},
              {"healthy", t.known ? json(t.healthy) : json(nullptr)},
              {"last_ok", t.known ? json(t.last_ok) : json(nullptr)},
              {"last_error", t.last_error},
              {"rtt_avg_ms", optionalNumber(t.rtt_avg_ms)},
              {"jitter_ms", optionalNumber(t.jitter_ms)},
              {"loss", optionalNumber(t.loss)},
              {"mos", optionalNumber(t.mos)},
              {"details", t.details},
              {"last_round", t.known ? json(net::formatUtc(t.last_round, true)) : json(nullptr)},
              {"rounds", t.rounds}};
  return out;
}

}  // namespace

std::string renderStatusJson(const StatusSnapshot& s, std::chrono::system_clock::time_point now) {
  json targets = json::array();
  for (const auto& t : s.targets) {
    json j = targetJson(t);
    json history = json::array();
    for (const auto& p : t.history) {
      history.push_back({{"t_ms", unixMs(p.time)},
                         {"rtt_ms", p.rtt_ms ? json(*p.rtt_ms) : json(nullptr)},
                         {"loss", p.loss ? json(*p.loss) : json(nullptr)},
                         {"ok", p.ok},
                         {"healthy", p.healthy}});
    }
    json changes = json::array();
    for (const auto& c : t.health_changes) {
      changes.push_back(
          {{"time", net::formatUtc(c.time, true)}, {"healthy", c.healthy}, {"error", c.error}});
    }
    j["history"] = std::move(history);
    j["health_changes"] = std::move(changes);
    targets.push_back(std::move(j));
  }
  json groups = json::array();
  for (const auto& g : s.groups) {
    json history = json::array();
    for (const auto& h : g.history) {
      history.push_back(
          {{"time", net::formatUtc(h.time, true)}, {"active", h.active}, {"panic", h.panic}});
    }
    groups.push_back({{"name", g.name},
                      {"candidates", g.candidates},
                      {"active", g.active},
                      {"panic", g.panic},
                      {"history", std::move(history)}});
  }
  json decisions = json::array();
  for (const auto& d : s.decisions) {
    json evidence = json::array();
    for (const auto& c : d.evidence) evidence.push_back(targetJson(c));
    decisions.push_back({{"time", net::formatUtc(d.time, true)},
                         {"group", d.group},
                         {"text", d.text},
                         {"evidence", std::move(evidence)}});
  }
  json out = {{"site", s.site},
              {"version", s.version},
              {"started", net::formatUtc(s.started)},
              {"now", net::formatUtc(now, true)},
              {"ready", s.ready},
              {"history_rounds", StatusBoard::kHistoryRounds},
              {"targets", std::move(targets)},
              {"groups", std::move(groups)},
              {"decisions", std::move(decisions)}};
  // Peer text (errors, reason phrases) may hold any bytes; the replacement keeps dump() from
  // throwing on what is not UTF-8.
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace mediapath::reporter
