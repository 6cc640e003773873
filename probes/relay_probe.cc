#include "probes/relay_probe.h"

#include <algorithm>
#include <array>
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
enum class Step { kNone, kChallenge, kAllocate, kAllocated, kPermission, kBind, kReady, kRelease };

const char* stepName(Step step) {
  switch (step) {
    case Step::kChallenge:
    case Step::kAllocate:
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
  std::uint16_t channel = kMinChannel;  // bound on this allocation to the other's relayed address
  TurnConnection connection;
  TurnClient client;
  Step step = Step::kNone;
  std::optional<net::SocketAddress> relayed;
  // The request awaiting its answer, kept for retransmission (over UDP only).
  std::vector<std::uint8_t> pending;
  std::chrono::milliseconds rto = kInitialRto;
  net::UvTimer retransmit;
};

class RelayProbe final : public AddressProbe {
 public:
  explicit RelayProbe(const ProbeContext& context)
      : AddressProbe(context),
        deadline_(context.loop->get()),
        pacer_(context.loop->get()),
        a_(context.loop->get()),
        b_(context.loop->get()) {
    a_.name = "A";
    a_.channel = kMinChannel;
    b_.name = "B";
    b_.channel = kMinChannel + 1;
  }

 private:
  net::Random& random() { return context().random != nullptr ? *context().random : own_random_; }

  void exchange(const net::SocketAddress& address) override {
    remote_ = address;
    error_.clear();
    round_tag_ = random().next();
    const StreamSpec& stream = target().stream;
    stats_.reset(static_cast<std::size_t>(std::max(stream.packets, 0)));
    next_sequence_ = 0;
    std::size_t size = std::max<std::size_t>(static_cast<std::size_t>(std::max(stream.size, 0)),
                                             kStreamHeaderBytes);
    packet_.assign(kChannelDataHeaderBytes + size, 0);
    reflected_.assign(kChannelDataHeaderBytes + size, 0);
    phase_ = Phase::kSetup;
    connect_started_ = nowFrom(context().clock);
    std::string open_error = openLeg(a_);
    if (open_error.empty()) open_error = openLeg(b_);
    bool started = open_error.empty();
    armDeadline(deadline_, target().timeout, std::move(open_error), [this](std::string error) {
      if (phase_ == Phase::kSetup && error.starts_with("timeout")) {
        error += " (" + waitingFor() + ")";
      }
      endRound(std::move(error));
    });
    if (!started) return;
    sendAllocate(a_);
    sendAllocate(b_);
  }

  void stopExchange() override {
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
    leg.client.reset(target().username, target().password);
    leg.step = Step::kNone;
    leg.relayed.reset();
    return leg.connection.open(
        context(), target(), remote_,
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
  }

  // Stream only: the server closed the leg's connection or sent what cannot be framed.
  void onConnectionFailed(Leg& leg, const std::string& error) {
    if (phase_ == Phase::kIdle) return;
    if (phase_ == Phase::kRelease) {
      // Nothing more comes on this leg; a server that closes the connection has dropped the
      // allocation with it (RFC 8656 §2.1).
      if (leg.step != Step::kRelease) return;
      leg.step = Step::kNone;
      if (a_.step != Step::kRelease && b_.step != Step::kRelease) finishRound();
      return;
    }
    failSoon(std::string("allocation ") + leg.name + ": " + error);
  }

  std::string waitingFor() const {
    std::string s;
    for (const Leg* leg : {&a_, &b_}) {
      if (leg->step == Step::kReady) continue;
      if (!s.empty()) s += ", ";
      s += std::string("allocation ") + leg->name + " waiting for " + stepName(leg->step);
    }
    return s;
  }

  // --- set-up: Allocate, CreatePermission, ChannelBind on both allocations ---

  void sendAllocate(Leg& leg) {
    leg.step = leg.client.authenticated() ? Step::kAllocate : Step::kChallenge;
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
      failSoon(std::string("cannot build the TURN ") + stepName(leg.step) + " request (too large)");
      return;
    }
    int rc = sendRequest(leg, request);
    if (rc != 0) failSoon("send to " + remote_.toString() + ": " + net::uvErrorText(rc));
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
      onChannelData(leg, data);
      return;
    }
    if (data.size() > TurnClient::kMaxAnswerBytes) {
      // Longer than any TURN answer: not one (libnice is never given it).
      if (phase_ == Phase::kSetup) {
        endRound("TURN answer of " + std::to_string(data.size()) + " bytes (limit " +
                 std::to_string(TurnClient::kMaxAnswerBytes) + ")");
      }
      return;
    }
    if (!leg.client.accept(data)) return;
    leg.retransmit.stop();
    if (leg.step == Step::kRelease) {
      leg.step = Step::kNone;
      if (a_.step != Step::kRelease && b_.step != Step::kRelease) finishRound();
      return;
    }
    if (phase_ != Phase::kSetup) return;
    bool allocating = leg.step == Step::kChallenge || leg.step == Step::kAllocate;
    TurnAnswer answer =
        allocating ? readTurnAnswer(leg.client.answer()) : readTurnPeerAnswer(leg.client.answer());
    if (answer.kind != TurnAnswer::Kind::kSuccess) {
      std::string error = leg.client.takeChallenge(answer, leg.step == Step::kChallenge);
      if (!error.empty()) {
        endRound(allocating ? error : std::string(stepName(leg.step)) + ": " + error);
        return;
      }
      resend(leg);
      return;
    }
    switch (leg.step) {
      case Step::kChallenge:
      case Step::kAllocate:
        if (!answer.relayed) {
          endRound("TURN Allocate answer without XOR-RELAYED-ADDRESS");
          return;
        }
        leg.relayed = answer.relayed;
        leg.step = Step::kAllocated;
        if (&leg == &a_) result().relayed_address = answer.relayed->toString();
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
    stats_.sent(sequence, nowMs());
    // A failed send is a lost packet: the stream keeps its pace, as RTP would.
    (void)a_.connection.send(std::span<const std::uint8_t>(packet_));
    ++result().sent;
    if (next_sequence_ < static_cast<std::uint32_t>(stream.packets)) {
      // Paced from the stream's start, so a late wake-up does not delay every later packet.
      double due =
          static_cast<double>(next_sequence_) * static_cast<double>(stream.spacing.count());
      auto wait = std::chrono::milliseconds(static_cast<long>(std::max(0.0, due - nowMs())));
      pacer_.start(wait, [this] { sendNext(); });
      return;
    }
    // The last packet is out: wait up to `timeout` for the stragglers.
    deadline_.start(target().timeout, [this] { endStream(); });
  }

  void onChannelData(Leg& leg, std::span<const std::uint8_t> data) {
    if (phase_ != Phase::kStream) return;
    auto frame = parseChannelData(data);
    if (!frame || frame->channel != leg.channel) return;
    auto packet = readStreamPacket(frame->payload);
    if (!packet || packet->round_tag != round_tag_) return;
    double at = nowMs();
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

  void endStream() {
    pacer_.stop();
    StreamSummary s = stats_.summary();
    ProbeResult& r = result();
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
    error_ = std::move(error);
    if (!error_.empty()) result().ok = false;
    phase_ = Phase::kRelease;
    bool waiting = false;
    for (Leg* leg : {&a_, &b_}) {
      leg->retransmit.stop();
      leg->step = Step::kNone;
      if (!leg->relayed) continue;
      auto request = leg->client.refresh(0);
      if (request.empty() || sendRequest(*leg, request) != 0) continue;
      leg->step = Step::kRelease;
      waiting = true;
    }
    // An unanswered release is not the round's failure: the server expires the allocation.
    deadline_.start(waiting ? target().timeout : std::chrono::milliseconds(0),
                    [this] { finishRound(); });
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
};

}  // namespace

std::unique_ptr<Probe> makeRelayProbe(const ProbeContext& context) {
  return std::make_unique<RelayProbe>(context);
}

}  // namespace mediapath::probes
