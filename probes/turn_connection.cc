#include "probes/turn_connection.h"

#include <cctype>
#include <utility>

#include "net/event_loop.h"
#include "probes/channel_data.h"
#include "probes/probe_resources.h"
#include "probes/probe_support.h"

namespace mediapath::probes {

std::string TurnConnection::open(const ProbeContext& context, const ProbeTarget& target,
                                 const net::SocketAddress& server, Callbacks callbacks,
                                 std::optional<std::uint16_t> channel) {
  close();
  server_ = server;
  callbacks_ = std::move(callbacks);
  if (target.transport == Transport::kUdp) {
    udp_ = std::make_unique<net::UdpSocket>(context.loop->get(), context.resources->socketBudget());
    int rc = udp_->bind(net::anyAddressLike(server_));
    if (rc == 0) {
      rc = udp_->startReceive(
          [this](std::span<const std::uint8_t> data, const net::SocketAddress& from) {
            if (from == server_) callbacks_.message(data);
          });
    }
    return rc == 0 ? std::string() : "UDP socket: " + net::uvErrorText(rc);
  }
  std::string name(transportName(target.transport));
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  label_ = name + " connection to " + server_.toString();
  framer_ = TurnStreamFramer(kMaxTurnStunBytes, channel);
  stream_ = openStream(context, target);
  int rc = stream_->connect(server_, [this](int status) { onConnected(status); });
  if (rc != 0) {
    stream_.reset();
    return label_ + ": " + net::uvErrorText(rc);
  }
  return {};
}

void TurnConnection::onConnected(int status) {
  if (status != 0) {
    std::string why = stream_->failureText();
    fail(label_ + ": " + (why.empty() ? net::uvErrorText(status) : why));
    return;
  }
  connected_ = true;
  int rc = stream_->startRead([this](int error, std::string_view data) { onRead(error, data); });
  if (rc == 0 && !unsent_.empty()) rc = stream_->write(unsent_);
  unsent_.clear();
  if (rc != 0) {
    fail(label_ + ": " + net::uvErrorText(rc));
    return;
  }
  if (callbacks_.connected) callbacks_.connected();
}

int TurnConnection::send(std::span<const std::uint8_t> message) {
  if (udp_) return udp_->send(server_, message);
  if (!stream_ || failed_) return UV_ENOTCONN;
  std::string_view bytes(reinterpret_cast<const char*>(message.data()), message.size());
  std::string& out = connected_ ? out_ : unsent_;
  if (connected_) out.clear();
  out.append(bytes);
  if (looksLikeChannelData(message)) out.append(channelDataPadding(message.size()), '\0');
  return connected_ ? stream_->write(out_) : 0;
}

void TurnConnection::onRead(int error, std::string_view data) {
  if (error != 0) {
    std::string why = stream_->failureText();
    fail(label_ + ": " + (why.empty() ? net::uvErrorText(error) : why));
    return;
  }
  framer_.append(data);
  std::weak_ptr<int> alive = alive_;
  while (auto message = framer_.next()) {
    callbacks_.message(*message);
    if (alive.expired()) return;  // closed or destroyed by the probe
  }
  if (framer_.failed()) fail(label_ + ": " + framer_.error());
}

void TurnConnection::fail(std::string error) {
  failed_ = true;
  stream_->close();  // reads nothing more; the probe closes the rest when it ends the round
  if (callbacks_.failed) {
    auto failed = callbacks_.failed;  // may destroy this connection
    failed(std::move(error));
  }
}

void TurnConnection::noteTlsDetails(ProbeResult& result) const {
  if (stream_ && connected_) probes::noteTlsDetails(*stream_, result);
}

void TurnConnection::close() {
  alive_ = std::make_shared<int>(0);
  udp_.reset();
  if (stream_) stream_->close();
  stream_.reset();
  connected_ = false;
  failed_ = false;
  unsent_.clear();
  framer_.reset();
}

}  // namespace mediapath::probes
