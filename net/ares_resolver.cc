#include "net/ares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <uv.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stdexcept>

#include "net/event_loop.h"
#include "net/uv_handle.h"
#include "net/uv_timer.h"

namespace mediapath::net {
namespace {

constexpr int kClassIn = 1;  // ns_c_in
constexpr int kTypeA = 1;    // ns_t_a
constexpr int kTypeAAAA = 28;
constexpr int kTypeSRV = 33;

int queryType(RecordType type) {
  switch (type) {
    case RecordType::kA:
      return kTypeA;
    case RecordType::kAAAA:
      return kTypeAAAA;
    case RecordType::kSRV:
      return kTypeSRV;
  }
  return kTypeA;
}

void initAresLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) {
      throw std::runtime_error(std::string("ares_library_init: ") + ares_strerror(rc));
    }
  });
}

bool isIpv4Literal(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool isIpv6Literal(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

std::chrono::microseconds since(const Clock& clock, std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock.now() - start);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DnsCache

void DnsCache::put(const std::string& name, RecordType type, const ResolveResult& result) {
  if (!result.ok || result.ttl.count() <= 0) return;
  evictExpired();
  if (entries_.size() >= max_entries_ && entries_.find({name, type}) == entries_.end()) {
    // Full of live entries: drop the one expiring first rather than grow without bound.
    auto victim = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
    if (victim != entries_.end()) entries_.erase(victim);
  }
  Entry e{result, clock_.now() + std::min(result.ttl, max_ttl_)};
  e.result.ttl = std::min(result.ttl, max_ttl_);
  e.result.from_cache = false;
  e.result.lookup_time = std::chrono::microseconds(0);
  entries_[{name, type}] = std::move(e);
}

std::optional<ResolveResult> DnsCache::get(const std::string& name, RecordType type) {
  auto it = entries_.find({name, type});
  if (it == entries_.end()) return std::nullopt;
  auto now = clock_.now();
  if (now >= it->second.expires) {
    entries_.erase(it);
    return std::nullopt;
  }
  ResolveResult r = it->second.result;
  r.from_cache = true;
  r.lookup_time = std::chrono::microseconds(0);
  // Round up: a record with 0.4 s left is still valid and must not be reported as TTL 0.
  auto left = it->second.expires - now;
  r.ttl = std::chrono::ceil<std::chrono::seconds>(left);
  return r;
}

void DnsCache::evictExpired() {
  auto now = clock_.now();
  std::erase_if(entries_, [now](const auto& kv) { return now >= kv.second.expires; });
}

// ---------------------------------------------------------------------------------------------
// AresResolver

struct AresResolver::Impl {
  struct Lookup {
    std::string name;
    RecordType type = RecordType::kA;
    ResolveCallback callback;
    std::chrono::steady_clock::time_point started;
    std::unique_ptr<UvTimer> deadline;
  };
  /// What c-ares carries as the query's `arg`; freed by the c-ares callback, which c-ares
  /// always calls exactly once (answer, error, ares_cancel or ares_destroy).
  struct QueryTag {
    Impl* impl;
    std::uint64_t id;
  };
  struct Ready {
    ResolveCallback callback;
    ResolveResult result;
  };

  Impl(EventLoop& l, AresOptions o, const Clock& c)
      : loop(l),
        options(std::move(o)),
        clock(c),
        cache(c, 1024, options.max_ttl),
        ares_timer(l.get()),
        dispatch_timer(l.get()) {}

  EventLoop& loop;
  AresOptions options;
  const Clock& clock;
  DnsCache cache;
  ares_channel channel = nullptr;
  UvTimer ares_timer;
  UvTimer dispatch_timer;
  std::map<ares_socket_t, std::unique_ptr<UvHandle<uv_poll_t>>> polls;
  std::map<std::uint64_t, Lookup> lookups;  ///< waiting for c-ares
  std::deque<Ready> ready;                  ///< finished, callback not run yet
  std::uint64_t next_id = 1;
  std::uint64_t generation = 0;  ///< bumped by cancelAll() so a dispatch in progress stops
  bool destroying = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  void init() {
    initAresLibraryOnce();
    ares_options o{};
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
    // c-ares 1.18 retries SERVFAIL/REFUSED/NOTIMP answers on the next server and, when none is
    // left, reports ARES_ECONNREFUSED instead of the answer's rcode. A probe must say what the
    // server answered, so answers are taken as they are (the rcode becomes the status).
    o.flags = ARES_FLAG_NOCHECKRESP;
    o.sock_state_cb = &Impl::onSockState;
    o.sock_state_cb_data = this;
    o.tries = std::max(1, options.tries);
    // c-ares doubles the per-try timeout on each round over the servers: with `tries` rounds the
    // total is about timeout * (2^tries - 1). Our own deadline enforces query_timeout exactly;
    // this only makes c-ares retry within it.
    long rounds = (1L << std::min(o.tries, 10)) - 1;
    o.timeout = static_cast<int>(std::max<long>(50, options.query_timeout.count() / rounds));
    if (int rc = ares_init_options(&channel, &o, mask); rc != ARES_SUCCESS) {
      throw std::runtime_error(std::string("c-ares init: ") + ares_strerror(rc));
    }
    if (!options.servers.empty()) {
      std::string csv;
      for (const auto& s : options.servers) csv += (csv.empty() ? "" : ",") + s;
      if (int rc = ares_set_servers_ports_csv(channel, csv.c_str()); rc != ARES_SUCCESS) {
        ares_destroy(channel);
        channel = nullptr;
        throw std::runtime_error("DNS servers \"" + csv + "\": " + ares_strerror(rc));
      }
    }
  }

  ~Impl() {
    destroying = true;
    *alive = false;
    lookups.clear();
    ready.clear();
    // Runs every outstanding c-ares callback with ARES_EDESTRUCTION (freeing the tags) and
    // closes its sockets through onSockState (closing the polls) before the fds go away.
    if (channel != nullptr) ares_destroy(channel);
    polls.clear();
  }

  void resolve(const std::string& name, RecordType type, const ResolveOptions& ro,
               ResolveCallback callback) {
    auto started = clock.now();
    bool v4 = isIpv4Literal(name);
    if (v4 || isIpv6Literal(name)) {
      ResolveResult r;
      if (type == RecordType::kSRV) {
        r.error = "SRV lookup of an IP literal";
      } else {
        r.ok = true;
        r.addresses.push_back(name);
      }
      post(std::move(callback), std::move(r));
      return;
    }
    if (options.cache && !ro.bypass_cache) {
      if (auto hit = cache.get(name, type)) {
        post(std::move(callback), std::move(*hit));
        return;
      }
    }
    std::uint64_t id = next_id++;
    Lookup& l = lookups[id];
    l.name = name;
    l.type = type;
    l.callback = std::move(callback);
    l.started = started;
    l.deadline = std::make_unique<UvTimer>(loop.get());
    // The loop's cached "now" may be stale (set when it last woke up); without refreshing it
    // the deadline would fire early by however long the loop has been busy since.
    uv_update_time(loop.get());
    auto timeout = ro.timeout.count() > 0 ? ro.timeout : options.query_timeout;
    l.deadline->start(timeout, [this, id] { onDeadline(id); });
    // May call onReply synchronously (e.g. a malformed name); finish() defers the user callback.
    ares_query(channel, name.c_str(), kClassIn, queryType(type), &Impl::onAresReply,
               new QueryTag{this, id});
    updateTimer();
  }

  void post(ResolveCallback callback, ResolveResult result) {
    ready.push_back({std::move(callback), std::move(result)});
    if (!dispatch_timer.active()) {
      dispatch_timer.start(std::chrono::milliseconds(0), [this] { dispatch(); });
    }
  }

  void dispatch() {
    std::deque<Ready> batch;
    batch.swap(ready);
    std::weak_ptr<bool> weak = alive;
    std::uint64_t gen = generation;
    for (auto& r : batch) {
      r.callback(r.result);
      // The callback may have destroyed the resolver or cancelled everything.
      if (weak.expired() || gen != generation) return;
    }
  }

  void finish(std::uint64_t id, ResolveResult result) {
    auto it = lookups.find(id);
    if (it == lookups.end()) return;  // already timed out or cancelled
    Lookup l = std::move(it->second);
    lookups.erase(it);
    l.deadline.reset();
    result.lookup_time = since(clock, l.started);
    if (options.cache && result.ok) cache.put(l.name, l.type, result);
    post(std::move(l.callback), std::move(result));
  }

  void onDeadline(std::uint64_t id) {
    ResolveResult r;
    r.error = "timeout";
    finish(id, std::move(r));
    // Nobody waits for what c-ares still has in flight: cancel it so its sockets and timer
    // are released now instead of keeping the loop alive until c-ares gives up.
    if (lookups.empty() && channel != nullptr) {
      ares_cancel(channel);
      updateTimer();
    }
  }

  static void onAresReply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<QueryTag> tag(static_cast<QueryTag*>(arg));
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
    if (tag->impl->destroying) return;
    tag->impl->onReply(tag->id, status, abuf, alen);
  }

  void onReply(std::uint64_t id, int status, const unsigned char* abuf, int alen) {
    auto it = lookups.find(id);
    if (it == lookups.end()) return;
    RecordType type = it->second.type;
    ResolveResult r;
    if (status == ARES_SUCCESS) status = parseDnsAnswer(type, abuf, alen, r);
    if (status != ARES_SUCCESS) {
      r = ResolveResult{};
      r.error = aresErrorText(status, type);
    } else {
      r.ok = true;
      r.ttl = std::min(r.ttl, options.max_ttl);
    }
    finish(id, std::move(r));
  }

  void cancelAll() {
    ++generation;
    lookups.clear();
    ready.clear();
    dispatch_timer.stop();
    if (channel != nullptr) ares_cancel(channel);
    updateTimer();
  }

  // c-ares tells us which sockets to watch. It calls this with (0, 0) *before* closing a socket,
  // so the poll is stopped while the fd is still valid.
  static void onSockState(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Impl*>(data)->sockState(fd, readable != 0, writable != 0);
  }

  void sockState(ares_socket_t fd, bool readable, bool writable) {
    if (!readable && !writable) {
      polls.erase(fd);  // UvHandle closes the poll
      return;
    }
    if (destroying) return;
    auto& slot = polls[fd];
    if (!slot) {
      auto handle = std::make_unique<UvHandle<uv_poll_t>>();
      if (uv_poll_init_socket(loop.get(), handle->get(), fd) != 0) {
        // Without a poll c-ares still makes progress through its timer (the query times out).
        polls.erase(fd);
        return;
      }
      handle->markInitialized();
      handle->get()->data = this;
      slot = std::move(handle);
    }
    int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
    uv_poll_start(slot->get(), events, &Impl::onPoll);
  }

  static void onPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<Impl*>(handle->data);
    if (self == nullptr) return;
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd) != 0) return;
    // On a poll error let c-ares read and write so it notices the failure on the socket.
    ares_socket_t rfd = (status < 0 || (events & UV_READABLE) != 0) ? fd : ARES_SOCKET_BAD;
    ares_socket_t wfd = (status < 0 || (events & UV_WRITABLE) != 0) ? fd : ARES_SOCKET_BAD;
    ares_process_fd(self->channel, rfd, wfd);
    self->updateTimer();
  }

  void updateTimer() {
    if (channel == nullptr || destroying) return;
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) {
      ares_timer.stop();  // nothing in flight: do not keep the loop alive
      return;
    }
    auto ms = std::chrono::milliseconds(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
    ares_timer.start(ms, [this] {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      updateTimer();
    });
  }
};

AresResolver::AresResolver(EventLoop& loop, AresOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(loop, std::move(options), clock)) {
  impl_->init();
}

AresResolver::~AresResolver() = default;

void AresResolver::resolve(const std::string& name, RecordType type, ResolveCallback callback) {
  impl_->resolve(name, type, ResolveOptions{}, std::move(callback));
}

void AresResolver::resolveWithOptions(const std::string& name, RecordType type,
                                      const ResolveOptions& options, ResolveCallback callback) {
  impl_->resolve(name, type, options, std::move(callback));
}

void AresResolver::cancelAll() { impl_->cancelAll(); }

std::size_t AresResolver::pending() const { return impl_->lookups.size() + impl_->ready.size(); }

DnsCache& AresResolver::cache() { return impl_->cache; }

}  // namespace mediapath::net
