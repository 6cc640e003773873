#include "net/socket_budget.h"

namespace mediapath::net {

bool SocketSlot::acquire(SocketBudget* budget) {
  if (budget_ != nullptr) return true;
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
