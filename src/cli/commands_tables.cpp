// `p2pgit nodes`, `p2pgit repos`: the routing tables, read from the home's store. The store is
// SQLite in WAL mode, so reading it beside a running daemon is safe and sees what it committed.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/home.h"
#include "identity/did.h"
#include "storage/store.h"

namespace p2pgit::cli {

namespace {

std::string NodeIdText(const Bytes& key) {
  if (key.size() != identity::PUBLIC_KEY_BYTES) return "(invalid key)";
  identity::PublicKey k;
  std::copy(key.begin(), key.end(), k.begin());
  return identity::EncodeDidKey(k);
}

std::string RepoIdText(const Bytes& multihash) {
  auto id = identity::RepoIdFromMultihash(multihash);
  return id ? id->ToString() : "(invalid id)";
}

Result<storage::Store, storage::StoreError> OpenStore() { return OpenHomeStore(); }

int RunNodes(bool json) {
  auto store = OpenStore();
  if (!store) return ReportError("cannot open the store: " + store.message());
  auto nodes = store->ListNodes();
  if (!nodes) return ReportError("cannot read the node table: " + nodes.message());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& n : *nodes) {
    nlohmann::json addresses = nlohmann::json::array();
    for (const auto& a : n.addresses)
      addresses.push_back((a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port));
    out.push_back({{"node_id", NodeIdText(n.node_id)}, {"alias", n.alias}, {"addresses", addresses},
                   {"last_seen", n.last_seen_ms}, {"expires_at", n.expires_at_ms}, {"score", n.score},
                   {"relay", n.relay}, {"online", n.online}});
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
    return EXIT_OK;
  }
  if (out.empty()) std::cout << "no nodes known yet\n";
  for (const auto& n : out) {
    std::cout << n["node_id"].get<std::string>() << (n["relay"].get<bool>() ? "  relay" : "") << "  score "
              << n["score"].get<double>();
    for (const auto& a : n["addresses"]) std::cout << "  " << a.get<std::string>();
    std::cout << "\n";
  }
  return EXIT_OK;
}

int RunRepos(bool json) {
  auto store = OpenStore();
  if (!store) return ReportError("cannot open the store: " + store.message());
  auto repos = store->ListRepos();
  if (!repos) return ReportError("cannot read the repo table: " + repos.message());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : *repos) {
    nlohmann::json delegates = nlohmann::json::array();
    for (const auto& d : r.delegates) delegates.push_back(NodeIdText(d));
    nlohmann::json seeders = nlohmann::json::array();
    if (auto list = store->ListSeeders(r.repo_id))
      for (const auto& s : *list) seeders.push_back(NodeIdText(s.node_id));
    out.push_back({{"repo_id", RepoIdText(r.repo_id)}, {"name", r.name}, {"description", r.description},
                   {"creator", NodeIdText(r.creator)}, {"delegates", delegates}, {"default_branch", r.default_branch},
                   {"sequence", r.sequence}, {"seeders", seeders}});
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
    return EXIT_OK;
  }
  if (out.empty()) std::cout << "no repositories known yet\n";
  for (const auto& r : out)
    std::cout << r["repo_id"].get<std::string>() << "  " << r["name"].get<std::string>() << "  seeders "
              << r["seeders"].size() << "\n";
  return EXIT_OK;
}

}  // namespace

void RegisterTableCommands(CLI::App& app, CommandRun& run) {
  {
    auto json = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("nodes", "The node routing table: node_id, addresses, last_seen, score, relay");
    cmd->add_flag("--json", *json, "one JSON array");
    cmd->callback([&run, json] { run = [json] { return RunNodes(*json); }; });
  }
  {
    auto json = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("repos", "The repo routing table: repo_id, name, creator, delegates, seeders");
    cmd->add_flag("--json", *json, "one JSON array");
    cmd->callback([&run, json] { run = [json] { return RunRepos(*json); }; });
  }
}

}  // namespace p2pgit::cli
