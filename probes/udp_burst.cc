#include "probes/udp_burst.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "net/clock.h"
#include "net/event_loop.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"

namespace mediapath::probes {

namespace {
using TransactionId = std::array<std::uint8_t, 12>;
constexpr std::size_t kTransactionIdOffset = 8;  // after type, length and magic cookie

std::optional<TransactionId> transactionIdOf(std::span<const std::uint8_t> message) {
  if (message.size() < kTransactionIdOffset + sizeof(TransactionId)) return std::nullopt;
  TransactionId id;
  std::memcpy(id.data(), message.data() + kTransactionIdOffset, id.size());
  return id;
}

struct TransactionIdHash {
  std::size_t operator()(const TransactionId& id) const {
    // Ids are random: any 8 of their bytes hash well.
    std::uint64_t h = 0;
    std::memcpy(&h, id.data() + 4, sizeof(h));
    return static_cast<std::size_t>(h);
  }
};
}  // namespace

/// The socket every kStunTransactionId burst of one ProbeResources shares for one local address,
/// and the routing of replies by transaction id. Kept alive by the bursts holding it; the last
/// one to let go closes the socket.
class SharedStunPort {
 public:
  SharedStunPort(SharedStunPorts& owner, uv_loop_t* loop, const net::Clock* clock)
      : owner_(owner), socket_(loop, clock) {}
  ~SharedStunPort() { owner_.closed_drops_ += socket_.dropped(); }
  SharedStunPort(const SharedStunPort&) = delete;
  SharedStunPort& operator=(const SharedStunPort&) = delete;

  net::BatchedUdpSocket& socket() { return socket_; }
  void expect(const TransactionId& id, UdpBurst* burst) { routes_[id] = burst; }
  void unexpect(const TransactionId& id, const UdpBurst* burst) {
    auto it = routes_.find(id);
    if (it != routes_.end() && it->second == burst) routes_.erase(it);
  }

 private:
  friend class SharedStunPorts;  // routes the socket's datagrams here

  void route(std::span<const std::uint8_t> data, const net::SocketAddress& from) {
    auto id = transactionIdOf(data);
    if (!id) return;
    auto it = routes_.find(*id);
    // Not routed: a reply after its round ended, or not a reply to us at all.
    if (it == routes_.end()) return;
    // May end the round, and the round's callback may destroy the burst and this port.
    it->second->onDatagram(data, from);
  }

  SharedStunPorts& owner_;
  net::BatchedUdpSocket socket_;
  std::unordered_map<TransactionId, UdpBurst*, TransactionIdHash> routes_;
};

SharedStunPorts::~SharedStunPorts() = default;

std::shared_ptr<SharedStunPort> SharedStunPorts::open(uv_loop_t* loop, const net::Clock* clock,
                                                      const net::SocketAddress& local, int& error) {
  std::erase_if(ports_, [](const Entry& e) { return e.port.expired(); });
  for (const auto& e : ports_) {
    if (e.loop == loop && e.clock == clock && e.local == local) return e.port.lock();
  }
  auto port = std::make_shared<SharedStunPort>(*this, loop, clock);
  error = port->socket().open(
      local, [raw = port.get()](std::span<const std::uint8_t> data,
                                const net::SocketAddress& from) { raw->route(data, from); });
  if (error != 0) return nullptr;
  // Replies are timed by their kernel stamps where the bursts' clock can be compared with them.
  if (net::kernelTimeComparable(clock)) port->socket().enableReceiveTimestamps();
  ports_.push_back(Entry{loop, clock, local, port});
  return port;
}

std::uint64_t SharedStunPorts::drops() const {
  std::uint64_t total = closed_drops_;
  for (const auto& e : ports_) {
    if (auto port = e.port.lock()) total += port->socket().dropped();
  }
  return total;
}

UdpBurst::UdpBurst(const ProbeContext& context, Sharing sharing)
    : loop_(*context.loop),
      clock_(context.clock),
      resources_(*context.resources),
      sharing_(sharing),
      pacing_(context.loop->get()),
      deadline_(context.loop->get()),
      kernel_time_(net::kernelTimeComparable(context.clock)) {}

UdpBurst::~UdpBurst() { close(); }

void UdpBurst::cancel() {
  pacing_.stop();
  deadline_.stop();
  done_ = nullptr;
  hooks_ = {};
  if (port_) {
    port_->socket().forget(this);
    for (const auto& id : routed_) port_->unexpect(id, this);
  }
  routed_.clear();
}

void UdpBurst::close() {
  cancel();
  socket_.reset();
  port_.reset();
}

std::optional<net::SocketAddress> UdpBurst::localAddress() const {
  if (!socket_ && !port_) return std::nullopt;
  return bound_;
}

void UdpBurst::start(const net::SocketAddress& local, const net::SocketAddress& remote,
                     const BurstSpec& burst, std::chrono::milliseconds timeout, Hooks hooks,
                     std::function<void(Outcome)> done) {
  cancel();
  remote_ = remote;
  burst_ = burst;
  burst_.packets = std::max(1, burst.packets);
  timeout_ = timeout;
  hooks_ = std::move(hooks);
  done_ = std::move(done);
  outcome_ = Outcome{};
  outcome_.rtt_ms.assign(static_cast<std::size_t>(burst_.packets), std::nullopt);
  sent_at_.assign(static_cast<std::size_t>(burst_.packets), {});
  loop_timed_ = 0;

  if (!openSocket(local)) return;
  sendNext();
}

bool UdpBurst::openSocket(const net::SocketAddress& local) {
  // An own socket is connected to its target, so it is kept only for the same remote.
  if ((socket_ || port_) && socket_local_ == local && (port_ || socket_remote_ == remote_)) {
    return true;
  }
  socket_.reset();
  port_.reset();
  socket_local_ = local;
  int rc = 0;
  if (sharing_ == Sharing::kStunTransactionId) {
    port_ = resources_.stunPorts().open(loop_.get(), clock_, local, rc);
    if (port_) bound_ = port_->socket().localAddress();
  } else {
    socket_ = std::make_unique<net::UdpSocket>(loop_.get(), resources_.socketBudget());
    rc = socket_->bind(local);
    // Connected, so that a closed port shows at once (ICMP port unreachable ->
    // ECONNREFUSED) instead of after the timeout: a stopped proxy fails its round in
    // microseconds, which is most of what makes failover fast (issue 17).
    if (rc == 0) rc = socket_->connect(remote_);
    // Without stamps (the clock is a fake, or the kernel refuses) replies are timed by the loop.
    if (rc == 0 && kernel_time_) socket_->enableReceiveTimestamps();
    if (rc == 0) {
      socket_remote_ = remote_;
      rc = socket_->startReceive([this](std::span<const std::uint8_t> data,
                                        const net::SocketAddress& from) { onDatagram(data, from); },
                                 [this](int error) { onSocketError(error); });
    }
    if (rc == 0) bound_ = socket_->localAddress();
  }
  if (rc != 0) {
    failRound("UDP socket: " + net::uvErrorText(rc));
    return false;
  }
  return true;
}

void UdpBurst::failRound(std::string error) {
  outcome_.error = std::move(error);
  // A socket of our own that failed is not trusted with the next round. A shared one stays:
  // its error was about one destination (no route, a full buffer), not the socket.
  socket_.reset();
  pacing_.stop();
  // Report from the loop, not from inside start() or a send.
  deadline_.start(std::chrono::milliseconds(0), [this] { finish(); });
}

void UdpBurst::sendNext() {
  int index = outcome_.sent;
  std::string request = hooks_.make_request(index);
  sent_at_[static_cast<std::size_t>(index)] = nowFrom(clock_);
  ++outcome_.sent;
  if (port_) {
    // Sent with the iteration's other requests; onSent() sets the time it left.
    if (auto id = transactionIdOf(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(request.data()), request.size()))) {
      port_->expect(*id, this);
      routed_.push_back(*id);
    }
    port_->socket().queue(remote_, request, this, static_cast<std::uint32_t>(index));
  } else if (int rc = socket_->send(remote_, request); rc != 0) {
    failRound("send to " + remote_.toString() + ": " + net::uvErrorText(rc));
    return;
  }
  if (outcome_.sent < burst_.packets) {
    pacing_.start(burst_.spacing, [this] { sendNext(); });
  } else {
    deadline_.start(timeout_, [this] { finish(); });
  }
}

void UdpBurst::onSent(std::uint32_t index, int error,
                      std::chrono::steady_clock::time_point sent_at) {
  if (error != 0) {
    failRound("send to " + remote_.toString() + ": " + net::uvErrorText(error));
    return;
  }
  if (index < sent_at_.size()) sent_at_[index] = sent_at;
}

void UdpBurst::onSocketError(int error) {
  // Between rounds an error (about a late datagram of an earlier round) is read and dropped.
  if (!done_) return;
  std::string what = net::uvErrorText(error);
  if (error == UV_ECONNREFUSED) what += " (ICMP port unreachable)";
  failRound(remote_.toString() + ": " + what);
}

void UdpBurst::onDatagram(std::span<const std::uint8_t> data, const net::SocketAddress& from) {
  // Between rounds (no hooks) a late reply is read and dropped.
  if (!(from == remote_) || !hooks_.match_reply) return;
  auto now = nowFrom(clock_);
  // The kernel's receive time, read before match_reply (which may end the round). The loop reads
  // a reply when it gets to it, a millisecond or more later on a busy host.
  std::optional<std::chrono::steady_clock::time_point> stamp;
  if (kernel_time_) stamp = socket_ ? socket_->receivedAt() : port_->socket().receivedAt();
  auto index = hooks_.match_reply(data);
  if (!index || *index < 0 || *index >= outcome_.sent) return;
  auto& slot = outcome_.rtt_ms[static_cast<std::size_t>(*index)];
  if (slot) return;  // a duplicate (retransmitted or replayed) reply
  auto sent_at = sent_at_[static_cast<std::size_t>(*index)];
  // A stamp before the request left can only come from a wall clock step (kernel_timestamp.h).
  if (stamp && *stamp >= sent_at && *stamp <= now) {
    now = *stamp;
  } else {
    ++loop_timed_;
  }
  slot = millisecondsBetween(sent_at, now);
  ++outcome_.received;
  if (outcome_.received == burst_.packets) finish();
}

void UdpBurst::finish() {
  auto done = std::move(done_);
  Outcome outcome = std::move(outcome_);
  outcome.kernel_timestamps = kernel_time_ && loop_timed_ == 0;
  cancel();
  if (done) done(std::move(outcome));
}

void summarizeBurst(const UdpBurst::Outcome& outcome, JitterEstimator& jitter,
                    ProbeResult& result) {
  result.sent = outcome.sent;
  result.received = outcome.received;
  result.loss = outcome.sent > 0 ? 1.0 - static_cast<double>(outcome.received) / outcome.sent : 1.0;
  result.rtt_samples_ms.clear();
  result.timestamps = outcome.kernel_timestamps ? Timestamps::kKernel : Timestamps::kLoop;
  for (const auto& rtt : outcome.rtt_ms) {
    if (rtt) result.rtt_samples_ms.push_back(*rtt);
  }
  if (result.rtt_samples_ms.empty()) return;
  RttStats stats;
  stats.min_ms = *std::min_element(result.rtt_samples_ms.begin(), result.rtt_samples_ms.end());
  stats.max_ms = *std::max_element(result.rtt_samples_ms.begin(), result.rtt_samples_ms.end());
  double sum = 0;
  for (double rtt : result.rtt_samples_ms) sum += rtt;
  stats.avg_ms = sum / static_cast<double>(result.rtt_samples_ms.size());
  result.rtt = stats;
  jitter.addAll(result.rtt_samples_ms);
  result.jitter_ms = jitter.jitterMs();
  result.mos = estimateMos(stats.avg_ms, result.jitter_ms.value_or(0.0), result.loss);
}

}  // namespace mediapath::probes
