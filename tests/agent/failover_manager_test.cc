// FailoverManager on its own: a scripted backend instead of Genesys, a resolver that answers at
// once, a fake clock and random; the state directory and the audit trail are real files, and the
// retry timer is a real timer on a real loop.
#include "agent/failover/failover_manager.h"

#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/failover/health.h"
#include "agent/failover/state_store.h"
#include "net/event_loop.h"
#include "net/resolver.h"
#include "net/uv_timer.h"
#include "reporter/audit/audit_trail.h"
#include "reporter/genesys/failover_backend.h"
#include "tests/agent/scheduler_fakes.h"
#include "tests/support/process.h"

namespace mediapath::agent {
namespace {

using nlohmann::json;

/// What the fake remote answers and what it was asked. Outlives the managers (and so their
/// backends) so that a test can look at it after a "restart".
struct FakeRemote {
  /// What readActiveOrder answers; nullopt: it never answers.
  std::optional<reporter::ActiveOrder> read_answer;
  /// What each applyRanked answers, in turn; when used up, applies are never answered (a platform
  /// that went silent, or an agent killed mid-request).
  std::deque<reporter::BackendResult> apply_answers;

  int reads = 0;
  std::vector<std::vector<std::string>> applies;  ///< the ranked candidate names of each apply
  std::vector<reporter::BackendCallback> unanswered;
  /// Runs at each apply before it is answered (to look at the state file at that moment).
  std::function<void()> on_apply;
};

class FakeBackend final : public reporter::FailoverBackend {
 public:
  explicit FakeBackend(FakeRemote& remote) : remote_(remote) {}
  std::string kind() const override { return "location"; }
  void readActiveOrder(reporter::ActiveOrderCallback callback) override {
    ++remote_.reads;
    if (remote_.read_answer) callback(*remote_.read_answer);
  }
  void applyRanked(std::vector<std::string> ranked, reporter::BackendCallback callback) override {
    remote_.applies.push_back(std::move(ranked));
    if (remote_.on_apply) remote_.on_apply();
    if (remote_.apply_answers.empty()) {
      remote_.unanswered.push_back(std::move(callback));
      return;
    }
    reporter::BackendResult r = std::move(remote_.apply_answers.front());
    remote_.apply_answers.pop_front();
    callback(std::move(r));
  }

 private:
  FakeRemote& remote_;
};

/// Answers every lookup at once with a documentation address (the manager checks names resolve).
class FakeResolver final : public net::Resolver {
 public:
  void resolve(const std::string& name, net::RecordType, net::ResolveCallback callback) override {
    names.push_back(name);
    net::ResolveResult r;
    r.ok = true;
    r.addresses = {"192.0.2.1"};
    callback(r);
  }
  void cancelAll() override {}
  std::vector<std::string> names;
};

/// The remote tries `candidate` first (the backend has mapped its entry to the name; "" when the
/// entry is none of the group's candidates).
reporter::ActiveOrder remoteOn(const std::string& candidate) {
  reporter::ActiveOrder order;
  order.active = candidate;
  order.summary =
      "remote server list starts with " + (candidate.empty() ? "a stranger" : candidate);
  return order;
}

reporter::BackendResult applied() {
  reporter::BackendResult r;
  r.changed = true;
  r.request = json::array({{{"op", "replace"}}});
  r.response = json::object();
  r.attempts = 1;
  r.summary = "server list: proxy-b, proxy-a";
  return r;
}

reporter::BackendResult refused() {
  reporter::ApiError e;
  e.request = "PATCH /location";
  e.status = 503;
  e.message = "unavailable";
  reporter::BackendResult r;
  r.attempts = 1;
  r.error = e;
  return r;
}

/// What a backend answers when retrying cannot help (a managed trunk): nothing was sent.
reporter::BackendResult refusedForGood() {
  reporter::ApiError e;
  e.request = "PUT /trunk";
  e.message = "trunk \"BYOC\" (trunk-1) is managed by Genesys Cloud";
  reporter::BackendResult r;
  r.error = e;
  r.permanent = true;
  return r;
}

TargetView view(const std::string& target, bool healthy) {
  TargetView v;
  v.last.target = target;
  v.known = true;
  v.healthy = healthy;
  v.last.ok = healthy;
  return v;
}

class FailoverManagerTest : public ::testing::Test {
 protected:
  FailoverManagerTest() : store_(dir_.file("state")), audit_(store_.auditPath()) {
    config_.site_name = "office";
    for (const char* name : {"proxy-a", "proxy-b"}) {
      TargetConfig t;
      t.name = name;
      t.kind = probes::Kind::kSip;
      t.host = std::string(name) + ".example.net";
      t.port = 5060;
      config_.targets.push_back(t);
    }
    FailoverGroup g;
    g.name = "media-proxy";
    g.candidates = {"proxy-a", "proxy-b"};
    g.apply_to.location_path = "/media/proxy";
    config_.failover.push_back(g);
  }

  std::unique_ptr<FailoverManager> makeManager(bool plan_only = false) {
    FailoverManager::Hooks hooks;
    hooks.on_group_change = [this](const std::string&, const std::string& active, bool panic) {
      active_ = active;
      panic_ = panic;
    };
    hooks.on_decision = [this](const std::string&, const std::string& text) {
      decisions_.push_back(text);
    };
    hooks.on_result = [this](const std::string&, const std::string& result) {
      results_.push_back(result);
      if (on_result_) on_result_(result);
    };
    auto backends = [this](const FailoverGroup&) -> std::unique_ptr<reporter::FailoverBackend> {
      return std::make_unique<FakeBackend>(remote_);
    };
    return std::make_unique<FailoverManager>(config_, plan_only, loop_, resolver_, clock_, random_,
                                             store_, audit_, backends, std::move(hooks),
                                             std::chrono::milliseconds(1));
  }

  /// proxy-a (the active one) went down, proxy-b is fine: the controller switches at once.
  void failActive(FailoverManager& m) {
    m.onRound(view("proxy-a", false));
    m.onRound(view("proxy-b", true));
  }

  /// A manager switches proxy-a -> proxy-b and is destroyed (the agent stops) before the
  /// platform answers the write.
  void switchThenStopBeforeTheAnswer() {
    remote_.read_answer = remoteOn("proxy-a");
    {
      auto m = makeManager();
      m->start();
      failActive(*m);
      ASSERT_EQ(remote_.applies.size(), 1u);
      ASSERT_EQ(remote_.unanswered.size(), 1u);
    }
    remote_.unanswered.clear();
  }

  /// The change to proxy-b ended applied, once, and nothing is left pending.
  void expectAppliedAndNothingPending() {
    EXPECT_EQ(active_, "proxy-b");
    EXPECT_EQ(results_, std::vector<std::string>{"applied"});
    EXPECT_EQ(auditEvents(), std::vector<std::string>{"applied"});
    EXPECT_TRUE(stateFile()["groups"]["media-proxy"]["pending"].is_null()) << stateFile().dump();
  }

  std::vector<std::string> auditEvents() const {
    std::vector<std::string> events;
    std::ifstream in(store_.auditPath());
    for (std::string line; std::getline(in, line);) {
      events.push_back(json::parse(line).at("event").get<std::string>());
    }
    return events;
  }

  json stateFile() const {
    std::ifstream in(store_.statePath());
    return json::parse(in);
  }

  mediapath::testing::TempDir dir_;
  StateStore store_;
  reporter::AuditTrail audit_;
  Config config_;
  net::EventLoop loop_;
  FakeResolver resolver_;
  testing::FakeClock clock_;
  testing::ScriptedRandom random_{{0.25, 0.5}};
  FakeRemote remote_;
  std::string active_;
  bool panic_ = false;
  std::vector<std::string> decisions_;
  std::vector<std::string> results_;
  std::function<void(const std::string&)> on_result_;
};

TEST_F(FailoverManagerTest, AdoptsWhatTheRemoteAlreadyPointsAtWithoutWriting) {
  remote_.read_answer = remoteOn("proxy-b");
  auto m = makeManager();
  m->start();
  EXPECT_EQ(remote_.reads, 1);
  EXPECT_EQ(active_, "proxy-b");
  EXPECT_EQ(stateFile()["groups"]["media-proxy"]["active"], "proxy-b") << stateFile().dump();
  // proxy-b is healthy and active: nothing to decide, nothing to write.
  m->onRound(view("proxy-a", true));
  m->onRound(view("proxy-b", true));
  EXPECT_TRUE(remote_.applies.empty());
  EXPECT_TRUE(auditEvents().empty());
}

// A restart during a blip on the active proxy: its first round fails, so it shows unhealthy at
// once, but the remote's current choice holds until it fails unhealthy_threshold rounds in a row
// (it used to fail over, and write to Genesys, after a single round).
TEST_F(FailoverManagerTest, ARestartDuringABlipKeepsTheRemoteChoiceUntilTheThreshold) {
  remote_.read_answer = remoteOn("proxy-a");
  auto m = makeManager();
  m->start();
  HealthTracker a({3, 3, 0});
  HealthTracker b({3, 3, 0});
  auto feed = [&](const std::string& name, HealthTracker& h, bool ok) {
    h.record(ok, std::nullopt);
    TargetView v = view(name, h.healthy());
    v.provisional = h.provisional();
    m->onRound(v);
  };
  feed("proxy-b", b, true);
  feed("proxy-a", a, false);  // the first round after the start fails
  feed("proxy-a", a, false);
  EXPECT_TRUE(remote_.applies.empty());
  feed("proxy-a", a, true);  // the blip is over; the next failures count from zero
  feed("proxy-a", a, false);
  feed("proxy-a", a, false);
  EXPECT_TRUE(remote_.applies.empty());
  EXPECT_TRUE(auditEvents().empty());
  feed("proxy-a", a, false);  // three failed rounds in a row: a switch like any other
  EXPECT_EQ(remote_.applies.size(), 1u);
  EXPECT_EQ(active_, "proxy-b");
}

TEST_F(FailoverManagerTest, RemoteOnNoneOfTheCandidatesIsNotAdopted) {
  // The saved state says proxy-b; the remote's first entry is none of the group's candidates
  // (an admin's server, or proxy-b on another port): the saved state stands.
  for (const char* remote_active : {"", "proxy-z"}) {
    store_.save({{"media-proxy", GroupState{"proxy-b", std::nullopt}}});
    remote_.read_answer = remoteOn(remote_active);
    auto m = makeManager();
    m->start();
    EXPECT_EQ(active_, "proxy-b") << remote_active;
    EXPECT_EQ(stateFile()["groups"]["media-proxy"]["active"], "proxy-b") << stateFile().dump();
  }
  EXPECT_TRUE(remote_.applies.empty());
}

TEST_F(FailoverManagerTest, PendingChangeIsSavedBeforeTheWriteAndFinishedAfterARestart) {
  json state_at_apply;
  remote_.on_apply = [&] { state_at_apply = stateFile(); };
  switchThenStopBeforeTheAnswer();
  remote_.on_apply = nullptr;
  const json& pending = state_at_apply["groups"]["media-proxy"]["pending"];
  ASSERT_TRUE(pending.is_object()) << state_at_apply.dump();
  EXPECT_EQ(pending["from"], "proxy-a");
  EXPECT_EQ(pending["to"], "proxy-b");
  EXPECT_EQ(resolver_.names, std::vector<std::string>{"proxy-b.example.net"});
  // Every candidate by name, the new active first.
  EXPECT_EQ(remote_.applies[0], (std::vector<std::string>{"proxy-b", "proxy-a"}));

  remote_.apply_answers.push_back(applied());
  auto restarted = makeManager();
  restarted->start();  // the remote still shows proxy-a: the change is sent again, once
  EXPECT_EQ(remote_.applies.size(), 2u);
  EXPECT_EQ(remote_.applies[1], (std::vector<std::string>{"proxy-b", "proxy-a"}));
  expectAppliedAndNothingPending();
}

TEST_F(FailoverManagerTest, RestartFindsThePendingChangeAlreadyApplied) {
  switchThenStopBeforeTheAnswer();
  // The write reached the platform before the agent stopped.
  remote_.read_answer = remoteOn("proxy-b");
  auto restarted = makeManager();
  restarted->start();
  EXPECT_EQ(remote_.applies.size(), 1u);  // nothing sent again
  expectAppliedAndNothingPending();
}

TEST_F(FailoverManagerTest, RetriesAFailedApplyWhenTheRetryTimerFires) {
  remote_.read_answer = remoteOn("proxy-a");
  remote_.apply_answers = {refused(), applied()};
  auto m = makeManager();
  m->start();
  failActive(*m);
  ASSERT_EQ(remote_.applies.size(), 1u);
  EXPECT_EQ(results_, std::vector<std::string>{"failed"});
  EXPECT_EQ(stateFile()["groups"]["media-proxy"]["pending"]["to"], "proxy-b");

  on_result_ = [this](const std::string& result) {
    if (result == "applied") loop_.stop();
  };
  // A deadline, not a wait: a broken retry fails the test instead of hanging it.
  net::UvTimer deadline(loop_.get());
  deadline.start(std::chrono::seconds(10), [this] { loop_.stop(); });
  loop_.run();
  deadline.stop();

  EXPECT_EQ(remote_.applies.size(), 2u);
  EXPECT_EQ(results_, (std::vector<std::string>{"failed", "applied"}));
  EXPECT_EQ(auditEvents(), (std::vector<std::string>{"failed", "applied"}));
  EXPECT_TRUE(stateFile()["groups"]["media-proxy"]["pending"].is_null()) << stateFile().dump();
}

TEST_F(FailoverManagerTest, PermanentFailureIsRecordedOnceAndNotRetried) {
  remote_.read_answer = remoteOn("proxy-a");
  remote_.apply_answers = {refusedForGood(), applied()};
  auto m = makeManager();
  m->start();
  failActive(*m);
  ASSERT_EQ(remote_.applies.size(), 1u);
  EXPECT_EQ(results_, std::vector<std::string>{"failed"});
  EXPECT_TRUE(stateFile()["groups"]["media-proxy"]["pending"].is_null()) << stateFile().dump();

  // The retry timer (1 ms here) would have fired many times over: nothing is sent again.
  net::UvTimer wait(loop_.get());
  wait.start(std::chrono::milliseconds(200), [this] { loop_.stop(); });
  loop_.run();
  // Nor does the next round decide the same switch again: the group stays on its decision.
  m->onRound(view("proxy-a", false));
  m->onRound(view("proxy-b", true));
  EXPECT_EQ(remote_.applies.size(), 1u);
  EXPECT_EQ(results_, std::vector<std::string>{"failed"});
  EXPECT_EQ(active_, "proxy-b");

  std::ifstream in(store_.auditPath());
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  json record = json::parse(line);
  EXPECT_EQ(record["event"], "failed");
  EXPECT_EQ(record["permanent"], true);
  EXPECT_NE(record["error"].get<std::string>().find("is managed by Genesys Cloud"),
            std::string::npos)
      << record.dump();
  EXPECT_FALSE(std::getline(in, line)) << "a second record: " << line;
}

TEST_F(FailoverManagerTest, PanicAppliesNothing) {
  remote_.read_answer = remoteOn("proxy-a");
  auto m = makeManager();
  m->start();
  m->onRound(view("proxy-a", false));
  m->onRound(view("proxy-b", false));
  EXPECT_TRUE(panic_);
  EXPECT_EQ(active_, "proxy-a");
  ASSERT_EQ(decisions_.size(), 1u);
  EXPECT_EQ(decisions_[0].rfind("panic: ", 0), 0u) << decisions_[0];
  EXPECT_TRUE(remote_.applies.empty());
  EXPECT_TRUE(resolver_.names.empty());
  EXPECT_EQ(auditEvents(), std::vector<std::string>{"panic"});
}

TEST_F(FailoverManagerTest, PlanModeRecordsTheDecisionAndWritesNothing) {
  remote_.read_answer = remoteOn("proxy-a");
  auto m = makeManager(/*plan_only=*/true);
  m->start();
  failActive(*m);
  EXPECT_TRUE(remote_.applies.empty());
  EXPECT_EQ(active_, "proxy-b");
  EXPECT_EQ(results_, std::vector<std::string>{"planned"});
  EXPECT_EQ(auditEvents(), std::vector<std::string>{"planned"});
  EXPECT_TRUE(stateFile()["groups"]["media-proxy"]["pending"].is_null()) << stateFile().dump();
}

}  // namespace
}  // namespace mediapath::agent
