#include "probes/udp_burst.h"

#include <algorithm>
#include <utility>

#include "net/clock.h"
#include "net/event_loop.h"
#include "probes/probe_support.h"

namespace mediapath::probes {

UdpBurst::UdpBurst(net::EventLoop& loop, const net::Clock* clock)
    : loop_(loop), clock_(clock), pacing_(loop.get()), deadline_(loop.get()) {}

UdpBurst::~UdpBurst() { close(); }

void UdpBurst::cancel() {
  pacing_.stop();
  deadline_.stop();
  done_ = nullptr;
  hooks_ = {};
}

void UdpBurst::close() {
  cancel();
  socket_.reset();
}

std::optional<net::SocketAddress> UdpBurst::localAddress() const {
  if (!socket_) return std::nullopt;
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

  if (socket_ && !(socket_local_ == local)) socket_.reset();
  if (!socket_) {
    socket_ = std::make_unique<net::UdpSocket>(loop_.get());
    socket_local_ = local;
    int rc = socket_->bind(local);
    if (rc == 0) {
      rc =
          socket_->startReceive([this](std::span<const std::uint8_t> data,
                                       const net::SocketAddress& from) { onDatagram(data, from); });
    }
    if (rc != 0) {
      failRound("UDP socket: " + net::uvErrorText(rc));
      return;
    }
    bound_ = socket_->localAddress();
  }
  sendNext();
}

void UdpBurst::failRound(std::string error) {
  outcome_.error = std::move(error);
  // A socket that failed is not trusted with the next round.
  socket_.reset();
  pacing_.stop();
  // Report from the loop, not from inside start() or a send.
  deadline_.start(std::chrono::milliseconds(0), [this] { finish(); });
}

void UdpBurst::sendNext() {
  int index = outcome_.sent;
  std::string request = hooks_.make_request(index);
  sent_at_[static_cast<std::size_t>(index)] = nowFrom(clock_);
  int rc = socket_->send(remote_, request);
  ++outcome_.sent;
  if (rc != 0) {
    failRound("send to " + remote_.toString() + ": " + net::uvErrorText(rc));
    return;
  }
  if (outcome_.sent < burst_.packets) {
    pacing_.start(burst_.spacing, [this] { sendNext(); });
  } else {
    deadline_.start(timeout_, [this] { finish(); });
  }
}

void UdpBurst::onDatagram(std::span<const std::uint8_t> data, const net::SocketAddress& from) {
  // Between rounds (no hooks) a late reply is read and dropped.
  if (!(from == remote_) || !hooks_.match_reply) return;
  auto now = nowFrom(clock_);
  auto index = hooks_.match_reply(data);
  if (!index || *index < 0 || *index >= outcome_.sent) return;
  auto& slot = outcome_.rtt_ms[static_cast<std::size_t>(*index)];
  if (slot) return;  // a duplicate (retransmitted or replayed) reply
  slot = millisecondsBetween(sent_at_[static_cast<std::size_t>(*index)], now);
  ++outcome_.received;
  if (outcome_.received == burst_.packets) finish();
}

void UdpBurst::finish() {
  auto done = std::move(done_);
  Outcome outcome = std::move(outcome_);
  cancel();
  if (done) done(std::move(outcome));
}

void summarizeBurst(const UdpBurst::Outcome& outcome, JitterEstimator& jitter,
                    ProbeResult& result) {
  result.sent = outcome.sent;
  result.received = outcome.received;
  result.loss = outcome.sent > 0 ? 1.0 - static_cast<double>(outcome.received) / outcome.sent : 1.0;
  result.rtt_samples_ms.clear();
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
