#include "node/tables_json.h"

#include "wire/message.h"

namespace p2pgit::node {

std::string NodeIdText(const Bytes& key) {
  auto k = identity::PublicKeyFromBytes(key);
  return k ? identity::EncodeDidKey(*k) : "(invalid key)";
}

std::string RepoIdText(const Bytes& multihash) {
  auto id = identity::RepoIdFromMultihash(multihash);
  return id ? id->ToString() : "(invalid id)";
}

Result<nlohmann::json, storage::StoreError> NodesJson(storage::Store& store,
                                                      const std::set<identity::PublicKey>* connected) {
  auto nodes = store.ListNodes();
  if (!nodes) return nodes.error();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& n : *nodes) {
    nlohmann::json addresses = nlohmann::json::array();
    for (const auto& a : n.addresses)
      addresses.push_back(wire::FormatHostPort({a.host, a.port}));
    bool online = n.online;
    if (connected != nullptr)
      if (auto k = identity::PublicKeyFromBytes(n.node_id)) online = connected->count(*k) != 0;
    out.push_back({{"node_id", NodeIdText(n.node_id)}, {"alias", n.alias}, {"addresses", addresses},
                   {"last_seen", n.last_seen_ms}, {"expires_at", n.expires_at_ms}, {"score", n.score},
                   {"relay", n.relay}, {"online", online}});
  }
  return out;
}

Result<nlohmann::json, storage::StoreError> ReposJson(storage::Store& store) {
  auto repos = store.ListRepos();
  if (!repos) return repos.error();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : *repos) {
    nlohmann::json delegates = nlohmann::json::array();
    for (const auto& d : r.delegates) delegates.push_back(NodeIdText(d));
    nlohmann::json seeders = nlohmann::json::array();
    if (auto list = store.ListSeeders(r.repo_id))
      for (const auto& s : *list) seeders.push_back(NodeIdText(s.node_id));
    out.push_back({{"repo_id", RepoIdText(r.repo_id)}, {"name", r.name}, {"description", r.description},
                   {"creator", NodeIdText(r.creator)}, {"delegates", delegates}, {"default_branch", r.default_branch},
                   {"sequence", r.sequence}, {"seeders", seeders}});
  }
  return out;
}

}  // namespace p2pgit::node
