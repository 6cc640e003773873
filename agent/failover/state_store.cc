#include "agent/failover/state_store.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "net/atomic_file.h"

namespace mediapath::agent {

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("cannot create state directory " + dir_ + ": " + ec.message());
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
}

std::map<std::string, GroupState> StateStore::load() const {
  std::map<std::string, GroupState> out;
  std::string path = statePath();
  if (!std::filesystem::exists(path)) return out;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(net::readFile(path));
    for (const auto& [name, g] : doc.at("groups").items()) {
      GroupState s;
      s.active = g.value("active", "");
      if (g.contains("pending") && g["pending"].is_object()) {
        const auto& p = g["pending"];
        s.pending = PendingChange{p.value("id", ""), p.value("from", ""), p.value("to", ""),
                                  p.value("decided_at", ""), p.value("reason", "")};
      }
      out.emplace(name, std::move(s));
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot load state " + path + ": " + e.what());
  }
  return out;
}

void StateStore::save(const std::map<std::string, GroupState>& groups) const {
  nlohmann::json doc{{"version", 1}, {"groups", nlohmann::json::object()}};
  for (const auto& [name, g] : groups) {
    nlohmann::json j{{"active", g.active}};
    if (g.pending) {
      j["pending"] = {{"id", g.pending->id},
                      {"from", g.pending->from},
                      {"to", g.pending->to},
                      {"decided_at", g.pending->decided_at},
                      {"reason", g.pending->reason}};
    }
    doc["groups"][name] = j;
  }
  net::writeFileAtomically(statePath(), doc.dump(2) + "\n", 0600);
}

}  // namespace mediapath::agent
