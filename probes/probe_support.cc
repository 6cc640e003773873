#include "probes/probe_support.h"

#include <utility>

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/resolver.h"
#include "net/tls_connection.h"
#include "net/udp_socket.h"
#include "probes/probe_resources.h"

namespace mediapath::probes {

void armDeadline(net::UvTimer& deadline, std::chrono::milliseconds timeout, std::string start_error,
                 std::function<void(std::string)> fail) {
  if (!start_error.empty()) {
    deadline.start(std::chrono::milliseconds(0),
                   [fail = std::move(fail), error = std::move(start_error)] { fail(error); });
    return;
  }
  deadline.start(timeout, [fail = std::move(fail), timeout] {
    fail("timeout after " + formatDuration(timeout));
  });
}

double millisecondsBetween(std::chrono::steady_clock::time_point from,
                           std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::unique_ptr<net::ByteStream> openStream(const ProbeContext& context,
                                            const ProbeTarget& target) {
  // TCP and TLS streams are made where the sip probe's are, so both kinds verify alike.
  return target.transport == Transport::kUdp ? nullptr : makeByteStream(context, target);
}

ProbeResult newResult(const ProbeTarget& target) {
  ProbeResult result;
  result.target = target.name;
  result.kind = target.kind;
  return result;
}

AddressLookup::AddressLookup(const ProbeContext& context)
    : context_(context), defer_(context.loop->get()) {}

AddressLookup::~AddressLookup() { cancel(); }

void AddressLookup::cancel() {
  ++*generation_;
  defer_.stop();
  callback_ = nullptr;
}

void AddressLookup::start(const std::string& host, std::uint16_t port, Callback callback) {
  cancel();
  callback_ = std::move(callback);
  // A target's host and port rarely change: parse them again only when they do (a name is
  // remembered as "not a literal" too).
  if (!parsed_ || parsed_host_ != host || parsed_port_ != port) {
    literal_ = net::parseIpLiteral(host, port);
    parsed_host_ = host;
    parsed_port_ = port;
    parsed_ = true;
  }
  if (literal_) {
    Outcome outcome;
    outcome.ok = true;
    outcome.address = *literal_;
    deliver(std::move(outcome));
    return;
  }
  if (context_.resolver == nullptr) {
    Outcome outcome;
    outcome.error = "cannot resolve \"" + host + "\": no resolver configured";
    deliver(std::move(outcome));
    return;
  }
  resolveName(host, port, false, {});
}

void AddressLookup::resolveName(const std::string& host, std::uint16_t port, bool ipv6,
                                std::string a_error) {
  std::weak_ptr<std::uint64_t> weak = generation_;
  std::uint64_t issued = *generation_;
  context_.resolver->resolve(
      host, ipv6 ? net::RecordType::kAAAA : net::RecordType::kA,
      [this, weak, issued, host, port, ipv6,
       a_error = std::move(a_error)](const net::ResolveResult& r) {
        auto alive = weak.lock();
        if (!alive || *alive != issued) return;
        double ms = std::chrono::duration<double, std::milli>(r.lookup_time).count();
        for (const auto& ip : r.addresses) {
          if (auto address = net::parseIpLiteral(ip, port)) {
            Outcome outcome;
            outcome.ok = true;
            outcome.address = *address;
            outcome.dns_ms = ms;
            deliver(std::move(outcome));
            return;
          }
        }
        std::string error = r.ok ? "no addresses" : r.error;
        if (!ipv6) {
          // No usable A answer: an IPv6-only name still works.
          resolveName(host, port, true, error);
          return;
        }
        Outcome outcome;
        // The A error is the more telling one ("NXDOMAIN" rather than "no AAAA records").
        outcome.error = "resolve " + host + ": " + (a_error.empty() ? error : a_error);
        outcome.dns_ms = ms;
        deliver(std::move(outcome));
      });
}

void AddressLookup::deliver(Outcome outcome) {
  // Always from the loop: the probe's caller never sees its callback inside start(). The outcome
  // waits in a member: captured by the deferred callback, it made a heap allocation and a copy
  // of a sockaddr_storage every round.
  pending_ = std::move(outcome);
  defer_.start([this] {
    auto cb = std::move(callback_);
    callback_ = nullptr;
    if (cb) cb(std::move(pending_));
  });
}

AddressProbe::AddressProbe(const ProbeContext& context) : context_(context), lookup_(context) {}

void AddressProbe::start(const ProbeTarget& target, ProbeCallback callback) {
  cancel();
  target_ = target;
  callback_ = std::move(callback);
  result_ = newResult(target);
  lookup_.start(target.host, target.port,
                [this](const AddressLookup::Outcome& outcome) { onResolved(outcome); });
}

void AddressProbe::cancel() {
  lookup_.cancel();
  stopExchange();
  callback_ = nullptr;
}

void AddressProbe::onResolved(const AddressLookup::Outcome& outcome) {
  result_.dns_ms = outcome.dns_ms;
  if (!outcome.ok) {
    report(outcome.error);
    return;
  }
  result_.address = address_text_.of(outcome.address);
  exchange(outcome.address);
}

void AddressProbe::report(std::string error) {
  result_.error = std::move(error);
  // Moved out first: the callback may start the next round or destroy this probe.
  auto cb = std::move(callback_);
  callback_ = nullptr;
  if (cb) cb(std::move(result_));
}

std::unique_ptr<net::ByteStream> makeByteStream(const ProbeContext& context,
                                                const ProbeTarget& target) {
  net::SocketBudget* budget = context.resources->socketBudget();
  if (target.transport == Transport::kTls) {
    net::TlsConnection::Options options;
    options.server_name = target.server_name.empty() ? target.host : target.server_name;
    options.ca_file = target.ca_file;
    return std::make_unique<net::TlsConnection>(context.loop->get(), std::move(options), budget);
  }
  return std::make_unique<net::TcpConnection>(context.loop->get(), budget);
}

std::string streamErrorText(const net::ByteStream& stream, int status) {
  std::string text = stream.failureText();
  return text.empty() ? net::uvErrorText(status) : text;
}

void noteTlsDetails(const net::ByteStream& stream, ProbeResult& result) {
  if (const auto* tls = dynamic_cast<const net::TlsConnection*>(&stream)) {
    result.tls_version = tls->tlsVersion();
    result.cert_not_after = tls->certNotAfter();
  }
}

void AddressProbe::startConnect(net::ByteStream& stream, const net::SocketAddress& address,
                                net::UvTimer& deadline,
                                std::chrono::steady_clock::time_point& started,
                                std::function<void(int)> connected,
                                std::function<void(std::string)> fail) {
  started = nowFrom(context_.clock);
  int rc = stream.connect(address, std::move(connected));
  armDeadline(deadline, target_.timeout, rc == 0 ? std::string() : streamErrorText(stream, rc),
              std::move(fail));
}

std::unique_ptr<net::TcpConnection> AddressProbe::connectTcp(
    const net::SocketAddress& address, net::UvTimer& deadline,
    std::chrono::steady_clock::time_point& started, std::function<void(int)> connected,
    std::function<void(std::string)> fail) {
  auto connection = std::make_unique<net::TcpConnection>(context_.loop->get(),
                                                         context_.resources->socketBudget());
  startConnect(*connection, address, deadline, started, std::move(connected), std::move(fail));
  return connection;
}

std::unique_ptr<net::ByteStream> AddressProbe::connectStream(
    const net::SocketAddress& address, net::UvTimer& deadline,
    std::chrono::steady_clock::time_point& started, std::function<void(int)> connected,
    std::function<void(std::string)> fail) {
  auto stream = makeByteStream(context_, target_);
  startConnect(*stream, address, deadline, started, std::move(connected), std::move(fail));
  return stream;
}

}  // namespace mediapath::probes
