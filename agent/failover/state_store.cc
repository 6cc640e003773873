#include "agent/failover/state_store.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "net/atomic_file.h"
#include "net/json_input.h"

namespace mediapath::agent {
namespace {

using nlohmann::json;

// state.json holds a handful of groups; anything near this size was not written by the agent.
constexpr std::size_t kMaxStateBytes = std::size_t{1} << 20;

const json& member(const json& object, const char* key, json::value_t type, const char* where) {
  auto it = object.find(key);
  if (it == object.end() || it->type() != type) {
    throw std::runtime_error(std::string(where) + "/" + key + " is missing or of the wrong type");
  }
  return *it;
}

std::string text(const json& object, const char* key, const std::string& where) {
  return member(object, key, json::value_t::string, where.c_str()).get<std::string>();
}

}  // namespace

SavedState readStateFile(const std::string& path) {
  SavedState out;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return out;
  try {
    net::FileInput file = net::readFileBounded(path, kMaxStateBytes);
    if (!file.ok()) throw std::runtime_error(file.error);
    net::JsonLimits limits;
    limits.max_bytes = kMaxStateBytes;
    net::JsonInput doc = net::parseJson(file.text, limits);
    if (!doc.ok()) throw std::runtime_error(doc.error->describe());
    if (!doc.value.is_object()) throw std::runtime_error("not a JSON object");
    const json& version = member(doc.value, "version", json::value_t::number_unsigned, "");
    if (version != 1) throw std::runtime_error("/version " + version.dump() + " is not 1");
    for (const auto& [name, g] : member(doc.value, "groups", json::value_t::object, "").items()) {
      std::string where = "/groups/" + name;
      if (!g.is_object()) throw std::runtime_error(where + " is not an object");
      GroupState s;
      s.active = text(g, "active", where);
      if (auto p = g.find("pending"); p != g.end() && !p->is_null()) {
        if (!p->is_object()) throw std::runtime_error(where + "/pending is not an object");
        std::string pw = where + "/pending";
        s.pending = PendingChange{text(*p, "id", pw), text(*p, "from", pw), text(*p, "to", pw),
                                  text(*p, "decided_at", pw), text(*p, "reason", pw)};
      }
      out.groups.emplace(name, std::move(s));
    }
    if (auto a = doc.value.find("audit"); a != doc.value.end()) {
      if (!a->is_object()) throw std::runtime_error("/audit is not an object");
      reporter::AuditAnchor anchor;
      anchor.seq = member(*a, "seq", json::value_t::number_unsigned, "/audit").get<std::size_t>();
      anchor.sha256 = text(*a, "sha256", "/audit");
      out.audit = anchor;
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot load state " + path + ": " + e.what());
  }
  return out;
}

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  bool created = std::filesystem::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("cannot create state directory " + dir_ + ": " + ec.message());
  if (created) {
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    if (ec) throw std::runtime_error("cannot chmod state directory " + dir_ + ": " + ec.message());
    return;
  }
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) {
    throw std::runtime_error("cannot stat state directory " + dir_ + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode))
    throw std::runtime_error("state directory " + dir_ + " is not a directory");
  if ((st.st_mode & 077) != 0) {
    // Its files are 0600, so nobody else reads them; but others may add or remove files here.
    spdlog::warn(
        "state directory {} is accessible to group or others (mode {:o}); it is left as it "
        "is: make it 0700 (or leave --state-dir unset for the service's own)",
        dir_, st.st_mode & 0777);
  }
}

void StateStore::save(const std::map<std::string, GroupState>& groups,
                      const std::optional<reporter::AuditAnchor>& audit) const {
  json doc{{"version", 1}, {"groups", json::object()}};
  for (const auto& [name, g] : groups) {
    json j{{"active", g.active}};
    if (g.pending) {
      j["pending"] = {{"id", g.pending->id},
                      {"from", g.pending->from},
                      {"to", g.pending->to},
                      {"decided_at", g.pending->decided_at},
                      {"reason", g.pending->reason}};
    }
    doc["groups"][name] = j;
  }
  if (audit) doc["audit"] = {{"seq", audit->seq}, {"sha256", audit->sha256}};
  net::writeFileAtomically(statePath(), doc.dump(2) + "\n", 0600);
}

}  // namespace mediapath::agent
