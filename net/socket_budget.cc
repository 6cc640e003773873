#include "net/socket_budget.h"

namespace mediapath::net {

void setSocketBudget(uv_loop_t* loop, SocketBudget* budget) { loop->data = budget; }

SocketBudget* socketBudget(const uv_loop_t* loop) { return static_cast<SocketBudget*>(loop->data); }

bool SocketSlot::acquire(const uv_loop_t* loop) {
  if (budget_ != nullptr) return true;
  SocketBudget* budget = socketBudget(loop);
  if (budget == nullptr) return true;
  if (!budget->take()) return false;
  budget_ = budget;
  return true;
}

void SocketSlot::release() {
  if (budget_ != nullptr) budget_->give();
  budget_ = nullptr;
}

}  // namespace mediapath::net
