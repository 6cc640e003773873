#include "probes/sip_probe.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "net/byte_stream.h"
#include "net/clock.h"
#include "net/event_loop.h"
#include "net/tcp_connection.h"
#include "net/text.h"
#include "net/udp_socket.h"
#include "net/uv_timer.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"
#include "probes/sip_message.h"
#include "probes/udp_burst.h"

namespace mediapath::probes {
namespace {

// RFC 3261 §8.1.1.7: branches of compliant clients start with this cookie.
constexpr std::string_view kBranchCookie = "z9hG4bK";

std::string hexToken(net::Random& random) {
  std::array<char, 17> buf{};
  std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(random.next()));
  return buf.data();
}

struct Request {
  std::string branch;
  std::uint32_t cseq = 0;
  std::string text;
};

struct Final {
  int code = 0;
  std::string reason;
};

class SipProbe final : public AddressProbe {
 public:
  explicit SipProbe(const ProbeContext& context)
      : AddressProbe(context), burst_(context), deadline_(context.loop->get()) {}

 private:
  net::Random& random() { return context().random != nullptr ? *context().random : own_random_; }

  void exchange(const net::SocketAddress& address) override {
    remote_ = address;
    request_uri_host_ = net::isIpLiteral(target().host)
                            ? remote_.toString()
                            : target().host + ":" + std::to_string(target().port);
    call_id_ = hexToken(random()) + "@mediapath";
    from_tag_ = hexToken(random());
    requests_.clear();
    finals_.clear();
    if (target().transport == Transport::kUdp) {
      startUdp();
    } else {
      startStream();
    }
  }

  void stopExchange() override {
    burst_.cancel();  // the UDP socket stays open for the next round
    deadline_.stop();
    connection_.reset();
  }

  Request buildRequest(const net::SocketAddress& local, std::string_view transport) {
    Request request;
    request.branch = std::string(kBranchCookie) + hexToken(random());
    request.cseq = ++cseq_;
    std::string local_host = local.isIPv6() ? "[" + local.ipString() + "]" : local.ipString();
    std::string via_host = local.toString();
    std::string lower(transport);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    request.text = "OPTIONS sip:" + request_uri_host_ + ";transport=" + lower + " SIP/2.0\r\n";
    request.text += "Via: SIP/2.0/" + std::string(transport) + " " + via_host +
                    ";branch=" + request.branch + ";rport\r\n";
    request.text += "Max-Forwards: 70\r\n";
    request.text += "From: <sip:mediapath@" + local_host + ">;tag=" + from_tag_ + "\r\n";
    request.text += "To: <sip:" + request_uri_host_ + ">\r\n";
    request.text += "Call-ID: " + call_id_ + "\r\n";
    request.text += "CSeq: " + std::to_string(request.cseq) + " OPTIONS\r\n";
    request.text += "Contact: <sip:mediapath@" + via_host + ";transport=" + lower + ">\r\n";
    request.text += "User-Agent: mediapath-agent\r\n";
    request.text += "Accept: application/sdp\r\n";
    request.text += "Content-Length: 0\r\n\r\n";
    return request;
  }

  /// The request a response answers: same top Via branch, Call-ID and CSeq.
  std::optional<int> matchResponse(const SipResponse& response) const {
    if (response.call_id != call_id_ || response.cseq_method != "OPTIONS") return std::nullopt;
    for (std::size_t i = 0; i < requests_.size(); ++i) {
      if (requests_[i].branch == response.top_via_branch &&
          response.cseq_number == requests_[i].cseq) {
        return static_cast<int>(i);
      }
    }
    return std::nullopt;
  }

  bool isSuccess(int code) const {
    if (target().success_codes.empty()) return code >= 200 && code < 300;
    return std::find(target().success_codes.begin(), target().success_codes.end(), code) !=
           target().success_codes.end();
  }

  // --- UDP ---------------------------------------------------------------------------------

  void startUdp() {
    auto local = net::localAddressFor(remote_);
    if (!local) local = net::anyAddressLike(remote_);
    UdpBurst::Hooks hooks;
    hooks.make_request = [this](int) {
      auto bound = burst_.localAddress();
      requests_.push_back(buildRequest(bound.value_or(net::anyAddressLike(remote_)), "UDP"));
      return requests_.back().text;
    };
    hooks.match_reply = [this](std::span<const std::uint8_t> data) -> std::optional<int> {
      auto response = parseSipResponse(
          std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
      // Provisional answers (1xx) do not end a transaction.
      if (!response || response->status_code < 200) return std::nullopt;
      auto index = matchResponse(*response);
      if (index) finals_.push_back({response->status_code, response->reason});
      return index;
    };
    burst_.start(*local, remote_, target().burst, target().timeout, std::move(hooks),
                 [this](const UdpBurst::Outcome& outcome) {
                   summarizeBurst(outcome, jitter_, result());
                   std::string error = outcome.error;
                   if (error.empty() && result().received == 0) {
                     error = "timeout after " + formatDuration(target().timeout) + " (0/" +
                             std::to_string(result().sent) + " replies)";
                   }
                   judge(std::move(error));
                 });
  }

  // --- TCP and TLS (one request on a stream) -------------------------------------------------

  void startStream() {
    result().sent = 1;
    connection_ = connectStream(
        remote_, deadline_, connect_started_, [this](int status) { onTcpConnected(status); },
        [this](std::string error) { judgeTcp(std::move(error)); });
  }

  void onTcpConnected(int status) {
    if (status != 0) {
      // For TLS: the handshake or the certificate ("TLS: certificate has expired").
      judgeTcp(streamErrorText(*connection_, status));
      return;
    }
    auto now = nowFrom(context().clock);
    // Over TLS this includes the handshake: what a SIP client waits before it can send.
    result().connect_ms = millisecondsBetween(connect_started_, now);
    // The kernel's handshake RTT where it has one, as the tcp kind; the SIP exchange after it is
    // still timed by the loop (result().timestamps stays kLoop). Not over TLS, whose connect
    // time is the TLS handshake's as well.
    auto* tcp = dynamic_cast<net::TcpConnection*>(connection_.get());
    if (tcp != nullptr && net::kernelTimeComparable(context().clock)) {
      if (auto kernel = tcp->handshakeRtt()) {
        result().connect_ms = std::chrono::duration<double, std::milli>(*kernel).count();
      }
    }
    noteTlsDetails(*connection_, result());
    auto local = connection_->localAddress().value_or(net::anyAddressLike(remote_));
    requests_.push_back(buildRequest(local, target().transport == Transport::kTls ? "TLS" : "TCP"));
    framer_ = SipStreamFramer();
    int rc = connection_->startRead(
        [this](int error, std::string_view data) { onTcpData(error, data); });
    if (rc == 0) rc = connection_->write(requests_.back().text);
    if (rc != 0) {
      judgeTcp(streamErrorText(*connection_, rc));
      return;
    }
    request_sent_ = nowFrom(context().clock);
  }

  void onTcpData(int error, std::string_view data) {
    if (error != 0) {
      judgeTcp(streamErrorText(*connection_, error));
      return;
    }
    framer_.append(data);
    while (auto message = framer_.next()) {
      auto response = parseSipResponse(*message);
      if (!response || response->status_code < 200 || !matchResponse(*response)) continue;
      double rtt = millisecondsBetween(request_sent_, nowFrom(context().clock));
      finals_.push_back({response->status_code, response->reason});
      ProbeResult& r = result();
      r.received = 1;
      r.rtt = RttStats{rtt, rtt, rtt};
      r.rtt_samples_ms = {rtt};
      judgeTcp({});
      return;
    }
    if (framer_.failed()) {
      judgeTcp("SIP stream from " + remote_.toString() + ": " + framer_.error());
    }
  }

  void judgeTcp(std::string error) {
    stopExchange();
    result().loss = result().received > 0 ? 0.0 : 1.0;
    judge(std::move(error));
  }

  // --- both --------------------------------------------------------------------------------

  void judge(std::string error) {
    const Final* success = nullptr;
    for (const auto& f : finals_) {
      if (isSuccess(f.code)) success = &f;
    }
    ProbeResult& r = result();
    if (success != nullptr) {
      r.status_code = success->code;
      r.ok = true;
      error.clear();
    } else if (!finals_.empty()) {
      r.status_code = finals_.back().code;
      // The reason phrase is the peer's text: escaped, so it cannot forge or colour a log line.
      error =
          "SIP " + std::to_string(finals_.back().code) +
          (finals_.back().reason.empty() ? "" : " " + net::printable(finals_.back().reason, 128));
    }
    report(std::move(error));
  }

  net::SystemRandom own_random_;
  UdpBurst burst_;
  net::UvTimer deadline_;
  std::unique_ptr<net::ByteStream> connection_;
  net::SocketAddress remote_;
  std::string request_uri_host_;
  std::string call_id_;
  std::string from_tag_;
  std::uint32_t cseq_ = 0;
  std::vector<Request> requests_;
  std::vector<Final> finals_;
  SipStreamFramer framer_;
  std::chrono::steady_clock::time_point connect_started_;
  std::chrono::steady_clock::time_point request_sent_;
  JitterEstimator jitter_;
};

}  // namespace

std::unique_ptr<Probe> makeSipProbe(const ProbeContext& context) {
  return std::make_unique<SipProbe>(context);
}

}  // namespace mediapath::probes
