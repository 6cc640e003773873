#include "probes/relay_probe.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/channel_data.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"
#include "probes/quality.h"
#include "probes/stream_stats.h"
#include "probes/stun_answer.h"
#include "probes/turn_client.h"
#include "probes/turn_connection.h"

namespace mediapath::probes {
namespace {

// What one allocation is waiting for.
// kAwaitAllocate: the round ended while the authenticated Allocate was unanswered; its answer is
// awaited only to release what it made.
enum class Step {
  kNone,
  kChallenge,
  kAllocate,
  kAllocated,
  kPermission,
  kBind,
  kReady,
  kRelease,
  kAwaitAllocate
};

// The leg still has something to release, or to hear about before it can.
bool releasing(Step step) { return step == Step::kRelease || step == Step::kAwaitAllocate; }

const char* stepName(Step step) {
  switch (step) {
    case Step::kChallenge:
    case Step::kAllocate:
    case Step::kAwaitAllocate:
      return "Allocate";
    case Step::kAllocated:
      return "the other allocation";
    case Step::kPermission:
      return "CreatePermission";
    case Step::kBind:
      return "ChannelBind";
    case Step::kRelease:
      return "Refresh";
    case Step::kNone:
    case Step::kReady:
      break;
  }
  return "nothing";
}

enum class Phase { kIdle, kSetup, kStream, kRelease };

// RFC 8489 §6.2.1: a request over UDP is sent again after RTO, 2·RTO, ... until answered or the
// phase's deadline; 500 ms is the RFC's initial RTO. Without it one lost datagram among the eight
// transactions of a set-up fails the round, though a real client would have retried.
constexpr std::chrono::milliseconds kInitialRto{500};

// One of the two allocations and its own connection to the server (each allocation is its own
// 5-tuple): a UDP socket, or over a stream a TCP connection of its own.
struct Leg {
  explicit Leg(uv_loop_t* loop) : retransmit(loop) {}
  const char* name = "A";
  /// "allocation A", "allocation B", or with a peer "allocation B (peer turn-b)": which
  /// allocation, and so which server, an error is about.
  std::string label;
  net::SocketAddress server;            ///< the TURN server this allocation is made on
  std::uint16_t channel = kMinChannel;  // bound on this allocation to the other's relayed address
  TurnConnection connection;
  TurnClient client;
  Step step = Step::kNone;
  std::optional<net::SocketAddress> relayed;
  // The request awaiting its answer, kept for retransmission (over UDP only).
  std::vector<std::uint8_t> pending;
  std::chrono::milliseconds rto = kInitialRto;
  net::UvTimer retransmit;  // also runs the one retry on a new socket after a 437
  bool mismatch_retried = false;
};

class RelayProbe final : public AddressProbe {
 public:
  explicit RelayProbe(const ProbeContext& context)
      : AddressProbe(context),
        deadline_(context.loop->get()),
        pacer_(context.loop->get()),
        a_(context.loop->get()),
        b_(context.loop->get()),
        peer_lookup_(context),
        kernel_time_(net::kernelTimeComparable(context.clock)) {
    a_.name = "A";
    a_.channel = kMinChannel;
    b_.name = "B";
    b_.channel = kMinChannel + 1;
  }

 private:
  net::Random& random() { return context().random != nullptr ? *context().random : own_random_; }

  bool hasPeer() const { return !target().peer_host.empty(); }

  void exchange(const net::SocketAddress& address) override {
    remote_ = address;
    error_.clear();
    round_tag_ = random().next();
    const StreamSpec& stream = target().stream;
    stats_.reset(static_cast<std::size_t>(std::max(stream.packets, 0)));
    sent_at_.assign(static_cast<std::size_t>(std::max(stream.packets, 0)), {});
    loop_timed_ = 0;
    next_sequence_ = 0;
    std::size_t size = std::max<std::size_t>(static_cast<std::size_t>(std::max(stream.size, 0)),
                                             kStreamHeaderBytes);
    packet_.assign(kChannelDataHeaderBytes + size, 0);
    reflected_.assign(kChannelDataHeaderBytes + size, 0);
    phase_ = Phase::kSetup;
    connect_started_ = nowFrom(context().clock);
    a_.label = "allocation A";
    a_.server = address;
    b_.label = "allocation B";
    b_.server = address;
    // The set-up's `timeout` covers finding the peer's address too (roundLength counts no more).
    armDeadline(deadline_, target().timeout, {}, [this](std::string error) {
      if (phase_ == Phase::kSetup) error += " (" + waitingFor() + ")";
      endRound(std::move(error));
    });
    if (!hasPeer()) {
      startLegs();
      return;
    }
    // Allocation B on the peer's server, with the peer's credentials. Its transport is the
    // target's own (the config plans only the peer's address and credentials; DESIGN.md
    // "Probes", relay): a path that needs TURN over tcp to one server needs it to the other too.
    // TLS checks the peer's certificate against its own host name, with the target's ca_file.
    peer_target_ = target();
    peer_target_.host = target().peer_host;
    peer_target_.port = target().peer_port;
    peer_target_.username = target().peer_username;
    peer_target_.password = target().peer_password;
    peer_target_.server_name.clear();
    b_.label = "allocation B (peer " +
               (target().peer_name.empty() ? target().peer_host : target().peer_name) + ")";
    // The peer's host is found as the target's own (AddressProbe): an IP literal as is, a name
    // through the context's resolver.
    resolving_peer_ = true;
    peer_lookup_.start(target().peer_host, target().peer_port,
                       [this](const AddressLookup::Outcome& outcome) {
                         resolving_peer_ = false;
                         if (phase_ != Phase::kSetup) return;
                         if (!outcome.ok) {
                           failSoon(b_.label + ": " + outcome.error);
                           return;
                         }
                         b_.server = outcome.address;
                         startLegs();
                       });
  }

  // Opens both legs and sends their Allocates (the set-up's deadline is armed).
  void startLegs() {
    a_.mismatch_retried = false;
    b_.mismatch_retried = false;
    std::string open_error = openLeg(a_);
    if (open_error.empty()) open_error = openLeg(b_);
    if (!open_error.empty()) {
      failSoon(std::move(open_error));
      return;
    }
    sendAllocate(a_);
    sendAllocate(b_);
  }

  // The target allocation `leg` is made for: B's is the peer's when there is one.
  const ProbeTarget& legTarget(const Leg& leg) const {
    return &leg == &b_ && hasPeer() ? peer_target_ : target();
  }

  // `error` about `leg`'s allocation. With a peer the two allocations are on two servers, so it
  // names which; without one, both are on the target's server and the error reads as turn's.
  std::string legError(const Leg& leg, const std::string& error) const {
    return hasPeer() ? leg.label + ": " + error : error;
  }

  void stopExchange() override {
    peer_lookup_.cancel();
    resolving_peer_ = false;
    deadline_.stop();
    pacer_.stop();
    for (Leg* leg : {&a_, &b_}) {
      leg->retransmit.stop();
      leg->connection.close();
      leg->step = Step::kNone;
      leg->relayed.reset();
    }
    phase_ = Phase::kIdle;
  }

  // "" or why the leg's connection could not start.
  std::string openLeg(Leg& leg) {
    // A fresh agent and connection per round: no transaction or allocation of an earlier round
    // can interfere, and an allocation that outlived its round (lost release) is never reused.
    const ProbeTarget& on = legTarget(leg);
    leg.client.reset(on.username, on.password);
    leg.step = Step::kNone;
    leg.relayed.reset();
    std::string open_error = leg.connection.open(
        context(), on, leg.server,
        {.message = [this, &leg](std::span<const std::uint8_t> data) { onMessage(leg, data); },
         .failed = [this, &leg](const std::string& error) { onConnectionFailed(leg, error); },
         .connected =
             [this, &leg] {
               if (&leg == &a_) {
                 result().connect_ms =
                     millisecondsBetween(connect_started_, nowFrom(context().clock));
                 // Both legs reach the same server, name and CA: A's TLS details speak for B's.
                 leg.connection.noteTlsDetails(result());
               }
             }},
        leg.channel);
    if (!open_error.empty()) return legError(leg, open_error);
    // Over UDP the stream's arrivals are timed by their kernel receive stamps where the context's
    // clock can be compared with them (net/kernel_timestamp.h); over a stream by the loop.
    if (kernel_time_) leg.connection.enableReceiveTimestamps();
    return {};
  }

  void reopenLeg(Leg& leg) {
    if (phase_ != Phase::kSetup) return;
    std::string open_error = openLeg(leg);
    if (!open_error.empty()) {
      failSoon(std::move(open_error));
      return;
    }
    sendAllocate(leg);
  }

  // Stream only: the server closed the leg's connection or sent what cannot be framed.
  void onConnectionFailed(Leg& leg, const std::string& error) {
    if (phase_ == Phase::kIdle) return;
    if (phase_ == Phase::kRelease) {
      // Nothing more comes on this leg; a server that closes the connection has dropped the
      // allocation with it (RFC 8656 §2.1).
      if (!releasing(leg.step)) return;
      leg.step = Step::kNone;
      if (!releasing(a_.step) && !releasing(b_.step)) finishRound();
      return;
    }
    failSoon(leg.label + ": " + error);
  }

  std::string waitingFor() const {
    if (resolving_peer_) return b_.label + " waiting for the address of " + target().peer_host;
    std::string s;
    for (const Leg* leg : {&a_, &b_}) {
      if (leg->step == Step::kReady) continue;
      if (!s.empty()) s += ", ";
      s += leg->label + " waiting for " + stepName(leg->step);
    }
    return s;
  }

  // --- set-up: Allocate, CreatePermission, ChannelBind on both allocations ---

  void sendAllocate(Leg& leg) {
    leg.step = leg.client.authenticated() ? Step::kAllocate : Step::kChallenge;
    // Both relayed addresses in the family of A's server: each relay must reach the other's.
    send(leg, leg.client.allocate(remote_.isIPv6()));
  }

  void sendPermission(Leg& leg) {
    leg.step = Step::kPermission;
    send(leg, leg.client.createPermission(*other(leg).relayed));
  }

  void sendBind(Leg& leg) {
    leg.step = Step::kBind;
    send(leg, leg.client.channelBind(leg.channel, *other(leg).relayed));
  }

  Leg& other(const Leg& leg) { return &leg == &a_ ? b_ : a_; }

  void send(Leg& leg, std::span<const std::uint8_t> request) {
    if (request.empty()) {
      // libnice could not build it (too large): never send an empty datagram.
      failSoon(legError(leg, std::string("cannot build the TURN ") + stepName(leg.step) +
                                 " request (too large)"));
      return;
    }
    int rc = sendRequest(leg, request);
    if (rc != 0) {
      failSoon(legError(leg, "send to " + leg.server.toString() + ": " + net::uvErrorText(rc)));
    }
  }

  // Sends a request and, over UDP, keeps it for retransmission until accept() takes its answer.
  // Over a stream the transport does that (RFC 8489 §6.2.2); the phase's deadline still applies.
  int sendRequest(Leg& leg, std::span<const std::uint8_t> request) {
    if (!leg.connection.reliable()) {
      leg.pending.assign(request.begin(), request.end());
      leg.rto = kInitialRto;
      leg.retransmit.start(leg.rto, [this, &leg] { retransmit(leg); });
    }
    return leg.connection.send(request);
  }

  void retransmit(Leg& leg) {
    // A failed resend is like a lost one: the next one or the deadline follows.
    (void)leg.connection.send(std::span<const std::uint8_t>(leg.pending));
    leg.rto *= 2;
    leg.retransmit.start(leg.rto, [this, &leg] { retransmit(leg); });
  }

  // Ends the round from the loop, never from inside the call that found the problem.
  void failSoon(std::string error) {
    if (phase_ == Phase::kRelease) return;
    phase_ = Phase::kRelease;  // nothing else is started meanwhile
    pacer_.stop();
    deadline_.start(std::chrono::milliseconds(0),
                    [this, error = std::move(error)] { endRound(error); });
  }

  void onMessage(Leg& leg, std::span<const std::uint8_t> data) {
    if (phase_ == Phase::kIdle) return;
    if (looksLikeChannelData(data)) {
      // The kernel's receive stamp is valid only during this callback.
      onChannelData(leg, data, kernel_time_ ? leg.connection.receivedAt() : std::nullopt);
      return;
    }
    if (data.size() > TurnClient::kMaxAnswerBytes) {
      // Longer than any TURN answer: not one (libnice is never given it).
      if (phase_ == Phase::kSetup) {
        leg.step = Step::kNone;  // nothing more is awaited from this server
        endRound(legError(leg, "TURN answer of " + std::to_string(data.size()) + " bytes (limit " +
                                   std::to_string(TurnClient::kMaxAnswerBytes) + ")"));
      }
      return;
    }
    if (!leg.client.accept(data)) return;
    leg.retransmit.stop();
    if (leg.step == Step::kAwaitAllocate) {
      TurnAnswer answer = readTurnAnswer(leg.client.answer());
      leg.step = Step::kNone;
      if (answer.kind == TurnAnswer::Kind::kSuccess && answer.relayed) {
        leg.relayed = answer.relayed;
        sendRelease(leg);
      }
      if (!releasing(a_.step) && !releasing(b_.step)) finishRound();
      return;
    }
    if (leg.step == Step::kRelease) {
      leg.step = Step::kNone;
      if (!releasing(a_.step) && !releasing(b_.step)) finishRound();
      return;
    }
    if (phase_ != Phase::kSetup) return;
    bool allocating = leg.step == Step::kChallenge || leg.step == Step::kAllocate;
    TurnAnswer answer =
        allocating ? readTurnAnswer(leg.client.answer()) : readTurnPeerAnswer(leg.client.answer());
    if (answer.kind != TurnAnswer::Kind::kSuccess) {
      if (allocating && answer.kind == TurnAnswer::Kind::kError &&
          answer.error_code == STUN_ERROR_ALLOCATION_MISMATCH &&
          legTarget(leg).transport == Transport::kUdp && !leg.mismatch_retried) {
        // coturn remembers a released allocation's 5-tuple for about a second and answers an
        // Allocate from it with 437: the kernel gave this round's socket a port an earlier
        // round used (1.6 % of rounds at 100 relay targets, bench_relay). A new socket is a new
        // 5-tuple; once per leg and round, and not from inside this socket's own callback.
        leg.mismatch_retried = true;
        leg.retransmit.start(std::chrono::milliseconds(0), [this, &leg] { reopenLeg(leg); });
        return;
      }
      std::string error = leg.client.takeChallenge(answer, leg.step == Step::kChallenge);
      if (!error.empty()) {
        error = legError(leg, allocating ? error : std::string(stepName(leg.step)) + ": " + error);
        // Answered: endRound has no Allocate of this leg to wait for.
        if (allocating) leg.step = Step::kNone;
        endRound(std::move(error));
        return;
      }
      resend(leg);
      return;
    }
    switch (leg.step) {
      case Step::kChallenge:
      case Step::kAllocate:
        if (!answer.relayed) {
          leg.step = Step::kNone;
          endRound(legError(leg, "TURN Allocate answer without XOR-RELAYED-ADDRESS"));
          return;
        }
        leg.relayed = answer.relayed;
        leg.step = Step::kAllocated;
        (&leg == &a_ ? result().relayed_address : result().relayed_address_b) =
            answer.relayed->toString();
        if (other(leg).step == Step::kAllocated) {
          sendPermission(a_);
          sendPermission(b_);
        }
        return;
      case Step::kPermission:
        sendBind(leg);
        return;
      case Step::kBind:
        leg.step = Step::kReady;
        if (other(leg).step == Step::kReady) startStream();
        return;
      default:
        return;
    }
  }

  // The same request again, now with the challenge's (or a fresh) NONCE.
  void resend(Leg& leg) {
    switch (leg.step) {
      case Step::kPermission:
        sendPermission(leg);
        return;
      case Step::kBind:
        sendBind(leg);
        return;
      default:
        sendAllocate(leg);
        return;
    }
  }

  // --- the stream ---

  double nowMs() { return millisecondsBetween(origin_, nowFrom(context().clock)); }

  void startStream() {
    deadline_.stop();
    phase_ = Phase::kStream;
    origin_ = nowFrom(context().clock);
    if (target().stream.packets <= 0) {
      endStream();
      return;
    }
    sendNext();
  }

  void sendNext() {
    const StreamSpec& stream = target().stream;
    std::uint32_t sequence = next_sequence_++;
    std::size_t payload = packet_.size() - kChannelDataHeaderBytes;
    writeChannelDataHeader(a_.channel, payload, packet_);
    writeStreamPacket({round_tag_, sequence},
                      std::span<std::uint8_t>(packet_).subspan(kChannelDataHeaderBytes));
    auto now = nowFrom(context().clock);
    sent_at_[sequence] = now;
    stats_.sent(sequence, millisecondsBetween(origin_, now));
    // A failed send is a lost packet: the stream keeps its pace, as RTP would.
    (void)a_.connection.send(std::span<const std::uint8_t>(packet_));
    ++result().sent;
    if (next_sequence_ < static_cast<std::uint32_t>(stream.packets)) {
      // Paced from the stream's start, so a late wake-up does not delay every later packet.
      double due =
          static_cast<double>(next_sequence_) * static_cast<double>(stream.spacing.count());
      // Rounded up and counted from the present, so that no packet leaves before its time
      // (rounded down from the loop's cached time, packets left up to 8 ms early at 100 streams).
      auto wait =
          std::chrono::milliseconds(static_cast<long>(std::ceil(std::max(0.0, due - nowMs()))));
      pacer_.startFromNow(wait, [this] { sendNext(); });
      return;
    }
    // The last packet is out: wait up to `timeout` for the stragglers.
    deadline_.start(target().timeout, [this] { endStream(); });
  }

  void onChannelData(Leg& leg, std::span<const std::uint8_t> data,
                     std::optional<std::chrono::steady_clock::time_point> stamp) {
    if (phase_ != Phase::kStream) return;
    auto frame = parseChannelData(data);
    if (!frame || frame->channel != leg.channel) return;
    auto packet = readStreamPacket(frame->payload);
    if (!packet || packet->round_tag != round_tag_) return;
    if (packet->sequence >= next_sequence_) return;  // not one this round sent (yet)
    double at = arrivalMs(packet->sequence, stamp);
    if (&leg == &b_) {
      if (!stats_.arrivedAtB(packet->sequence, at)) return;
      // Reflect the first copy straight back to A over B's channel.
      std::size_t n = std::min(frame->payload.size(), reflected_.size() - kChannelDataHeaderBytes);
      writeChannelDataHeader(b_.channel, n, reflected_);
      std::copy_n(frame->payload.begin(), n, reflected_.begin() + kChannelDataHeaderBytes);
      (void)b_.connection.send(
          std::span<const std::uint8_t>(reflected_).first(kChannelDataHeaderBytes + n));
      return;
    }
    stats_.arrivedAtA(packet->sequence, at);
    if (next_sequence_ >= static_cast<std::uint32_t>(target().stream.packets) && stats_.allBack()) {
      // Everything is back: no need to wait out the timeout (ends from the loop).
      deadline_.start(std::chrono::milliseconds(0), [this] { endStream(); });
    }
  }

  // When packet `sequence` arrived, in ms since the stream's origin: its kernel receive stamp,
  // unless that lies before the packet was sent or after now (only a wall clock step does that;
  // udp_burst.cc's rule), else the loop's time.
  double arrivalMs(std::uint32_t sequence,
                   std::optional<std::chrono::steady_clock::time_point> stamp) {
    auto now = nowFrom(context().clock);
    if (stamp && *stamp >= sent_at_[sequence] && *stamp <= now) {
      now = *stamp;
    } else {
      ++loop_timed_;
    }
    return millisecondsBetween(origin_, now);
  }

  void endStream() {
    pacer_.stop();
    StreamSummary s = stats_.summary();
    ProbeResult& r = result();
    // Kernel time only when every arrival had a usable stamp (never over a stream: TurnConnection
    // gives stamps over UDP only).
    r.timestamps = kernel_time_ && target().transport == Transport::kUdp && loop_timed_ == 0
                       ? Timestamps::kKernel
                       : Timestamps::kLoop;
    r.sent = s.sent;
    r.received = s.received_ba;
    r.loss = s.sent > 0 ? 1.0 - static_cast<double>(s.received_ba) / s.sent : 1.0;
    r.rtt = s.rtt;
    r.rtt_samples_ms = s.rtt_samples_ms;
    r.jitter_ms = s.jitter_ms;
    r.one_way = s.one_way;
    r.loss_ab = s.loss_ab;
    r.loss_ba = s.loss_ba;
    r.reordered = s.reordered;
    r.duplicated = s.duplicated;
    std::string error;
    if (s.received_ba > 0) {
      // A call carries voice both ways: the E-model gets the worse direction's loss.
      double loss = std::max(s.loss_ab.value_or(0.0), s.loss_ba.value_or(0.0));
      r.mos = estimateMos(s.rtt->avg_ms, s.jitter_ms.value_or(0.0), loss);
      r.ok = true;
    } else {
      error = "no stream packet came back through the relay (" + std::to_string(s.received_ab) +
              "/" + std::to_string(s.sent) + " reached B)";
    }
    endRound(std::move(error));
  }

  // --- release ---

  // Releases every allocation the round made (Refresh lifetime 0), best effort within
  // `timeout`, then reports `error` ("" when the round succeeded).
  void endRound(std::string error) {
    pacer_.stop();
    deadline_.stop();
    peer_lookup_.cancel();  // a round that ended while finding the peer starts nothing more
    resolving_peer_ = false;
    error_ = std::move(error);
    if (!error_.empty()) result().ok = false;
    phase_ = Phase::kRelease;
    bool waiting = false;
    for (Leg* leg : {&a_, &b_}) {
      if (leg->step == Step::kAllocate) {
        // The authenticated Allocate is unanswered, and the server may have made the allocation
        // (typically when the other allocation failed first, on another server with a peer).
        // Its answer is awaited (and the request resent over UDP) to release it rather than
        // leave it to expire against the user's quota.
        leg->step = Step::kAwaitAllocate;
        waiting = true;
        continue;
      }
      leg->retransmit.stop();
      leg->step = Step::kNone;
      if (leg->relayed) waiting = sendRelease(*leg) || waiting;
    }
    // An unanswered release is not the round's failure: the server expires the allocation.
    deadline_.start(waiting ? target().timeout : std::chrono::milliseconds(0),
                    [this] { finishRound(); });
  }

  // Refresh lifetime 0 on `leg`'s allocation. False when it could not be sent.
  bool sendRelease(Leg& leg) {
    auto request = leg.client.refresh(0);
    if (request.empty() || sendRequest(leg, request) != 0) return false;
    leg.step = Step::kRelease;
    return true;
  }

  void finishRound() {
    stopExchange();
    report(error_);
  }

  net::UvTimer deadline_;
  net::UvTimer pacer_;
  net::SocketAddress remote_;
  Leg a_;
  Leg b_;
  Phase phase_ = Phase::kIdle;
  std::string error_;
  std::uint64_t round_tag_ = 0;
  std::uint32_t next_sequence_ = 0;
  StreamStats stats_;
  std::chrono::steady_clock::time_point origin_;
  std::chrono::steady_clock::time_point connect_started_;
  std::vector<std::uint8_t> packet_;
  std::vector<std::uint8_t> reflected_;
  net::SystemRandom own_random_;
  // relay with a peer: allocation B's target (host, port, credentials of the peer) and the
  // lookup of its address.
  AddressLookup peer_lookup_;
  ProbeTarget peer_target_;
  bool resolving_peer_ = false;
  // Kernel receive timestamps: whether the context's clock can be compared with them, each
  // packet's send time (to reject a stamp before it), and the arrivals timed by the loop instead.
  bool kernel_time_;
  std::vector<std::chrono::steady_clock::time_point> sent_at_;
  int loop_timed_ = 0;
};

}  // namespace

std::unique_ptr<Probe> makeRelayProbe(const ProbeContext& context) {
  return std::make_unique<RelayProbe>(context);
}

}  // namespace mediapath::probes
