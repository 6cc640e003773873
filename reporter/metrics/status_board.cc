#include "reporter/metrics/status_board.h"

#include <ctime>
#include <sstream>

#include "net/clock.h"
#include "net/text.h"

namespace mediapath::reporter {

void StatusBoard::reset(std::string site, std::string version, std::vector<TargetStatus> targets,
                        std::vector<GroupStatus> groups) {
  std::lock_guard lock(mutex_);
  // A reload keeps what is known about targets that stay.
  for (auto& t : targets) {
    for (const auto& old : state_.targets) {
      if (old.name == t.name && old.kind == t.kind) t = old;
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
  t = std::move(status);
}

void StatusBoard::updateGroup(const std::string& group, const std::string& active, bool panic) {
  std::lock_guard lock(mutex_);
  for (auto& g : state_.groups) {
    if (g.name == group) {
      g.active = active;
      g.panic = panic;
    }
  }
}

void StatusBoard::addDecision(DecisionNote note) {
  std::lock_guard lock(mutex_);
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

}  // namespace

std::string renderStatusPage(const StatusSnapshot& s, std::chrono::system_clock::time_point now) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"refresh\" content=\"5\">"
    << "<title>mediapath-agent " << escapeHtml(s.site) << "</title>\n<style>"
    << "body{font-family:sans-serif;margin:1.5em;color:#222}"
    << "table{border-collapse:collapse;margin-bottom:1.5em}"
    << "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    << "th{background:#f0f0f0}.ok{color:#186a1d;font-weight:bold}"
    << ".bad{color:#b00020;font-weight:bold}.unknown{color:#777}"
    << "</style></head><body>\n";
  o << "<h1>mediapath-agent &mdash; " << escapeHtml(s.site) << "</h1>\n<p>" << escapeHtml(s.version)
    << " &middot; started " << isoTime(s.started) << " &middot; now " << isoTime(now)
    << " &middot; " << (s.ready ? "ready" : "starting (first round running)")
    << " &middot; <a href=\"/metrics\">metrics</a></p>\n";

  o << "<h2>Targets</h2>\n<table><tr><th>target</th><th>kind</th><th>address</th>"
    << "<th>health</th><th>last round</th><th>RTT avg</th><th>jitter</th><th>loss</th>"
    << "<th>MOS</th><th>last error</th><th>rounds</th></tr>\n";
  for (const auto& t : s.targets) {
    std::string health = !t.known    ? "<span class=\"unknown\">unknown</span>"
                         : t.healthy ? "<span class=\"ok\">healthy</span>"
                                     : "<span class=\"bad\">unhealthy</span>";
    std::string last = !t.known    ? "&ndash;"
                       : t.last_ok ? "<span class=\"ok\">ok</span> " + isoTime(t.last_round)
                                   : "<span class=\"bad\">failed</span> " + isoTime(t.last_round);
    std::optional<double> loss_pct;
    if (t.loss) loss_pct = *t.loss * 100;
    o << "<tr><td>" << escapeHtml(t.name) << "</td><td>" << escapeHtml(t.kind) << "</td><td>"
      << escapeHtml(t.address) << "</td><td>" << health << "</td><td>" << last << "</td><td>"
      << fixed(t.rtt_avg_ms, 2, " ms") << "</td><td>" << fixed(t.jitter_ms, 2, " ms") << "</td><td>"
      << fixed(loss_pct, 1, " %") << "</td><td>" << fixed(t.mos, 2) << "</td><td>"
      << escapeHtml(t.last_error) << "</td><td>" << t.rounds << "</td></tr>\n";
  }
  o << "</table>\n";

  o << "<h2>Failover groups</h2>\n";
  if (s.groups.empty()) {
    o << "<p>none configured</p>\n";
  } else {
    o << "<table><tr><th>group</th><th>candidates (preference order)</th><th>active</th>"
      << "<th>state</th></tr>\n";
    for (const auto& g : s.groups) {
      std::string candidates;
      for (const auto& c : g.candidates) candidates += (candidates.empty() ? "" : ", ") + c;
      o << "<tr><td>" << escapeHtml(g.name) << "</td><td>" << escapeHtml(candidates) << "</td><td>"
        << (g.active.empty() ? "&ndash;" : escapeHtml(g.active)) << "</td><td>"
        << (g.panic ? "<span class=\"bad\">panic: every candidate unhealthy</span>"
                    : "<span class=\"ok\">normal</span>")
        << "</td></tr>\n";
    }
    o << "</table>\n";
  }

  o << "<h2>Last decisions</h2>\n";
  if (s.decisions.empty()) {
    o << "<p>none yet</p>\n";
  } else {
    o << "<table><tr><th>time</th><th>group</th><th>decision</th></tr>\n";
    for (const auto& d : s.decisions) {
      o << "<tr><td>" << isoTime(d.time) << "</td><td>" << escapeHtml(d.group) << "</td><td>"
        << escapeHtml(d.text) << "</td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

}  // namespace mediapath::reporter
