#include "reporter/genesys/genesys_poller.h"

#include "net/clock.h"
#include "net/event_loop.h"
#include "net/uv_timer.h"

namespace mediapath::reporter {
namespace {

// Short enough that a command ends soon after the platform is done, long enough not to be
// mistaken for a flood (each poll is one API request).
constexpr std::chrono::milliseconds kPollInterval{250};

}  // namespace

Poller::Poller(net::EventLoop& loop, const net::Clock& clock)
    : clock_(clock), timer_(std::make_unique<net::UvTimer>(loop.get())) {}

Poller::~Poller() = default;

void Poller::setDeadline(std::chrono::milliseconds from_now) {
  deadline_ = clock_.now() + from_now;
}

bool Poller::pastDeadline() const { return clock_.now() >= deadline_; }

void Poller::after(std::function<void()> fn) { timer_->start(kPollInterval, std::move(fn)); }

}  // namespace mediapath::reporter
