// `p2pgit nodes`, `p2pgit repos`: the routing tables, from the running daemon or the home's store.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/home.h"
#include "cli/terminal_text.h"
#include "identity/did.h"
#include "node/control_socket.h"
#include "node/tables_json.h"
#include "git/verify.h"
#include <map>
#include "storage/store.h"

namespace p2pgit::cli {

namespace {

/** The table from the running daemon (its view includes who is connected now), else from the
 *  store directly (SQLite WAL: safe and consistent beside a daemon that is starting or gone). */
Result<nlohmann::json, std::string> LoadTable(const std::string& name) {
  auto answer = node::ControlRequest(node::ControlSocketPath(identity::DefaultHome()), {{"command", name}});
  if (answer) {
    if (!answer->value("ok", false)) return Fail(std::string(), answer->value("error", std::string("daemon error")));
    return (*answer)[name];
  }
  auto store = OpenHomeStore();
  if (!store) return Fail(std::string(), "cannot open the store: " + store.message());
  auto table = name == "nodes" ? node::NodesJson(*store) : node::ReposJson(*store);
  if (!table) return Fail(std::string(), "cannot read the " + name + " table: " + table.message());
  return *table;
}

int RunNodes(bool json) {
  auto out = LoadTable("nodes");
  if (!out) return ReportError(out.message());
  if (json) {
    std::cout << out->dump(2) << "\n";
    return EXIT_OK;
  }
  if (out->empty()) std::cout << "no nodes known yet\n";
  for (const auto& n : *out) {
    std::cout << n["node_id"].get<std::string>() << (n["relay"].get<bool>() ? "  relay" : "")
              << (n["online"].get<bool>() ? "  online" : "") << "  score " << n["score"].get<double>();
    // Aliases and addresses are what the node signed about itself: escaped for the terminal.
    if (!n["alias"].get<std::string>().empty())
      std::cout << "  (" << EscapeForTerminal(n["alias"].get<std::string>(), false) << ")";
    for (const auto& a : n["addresses"]) std::cout << "  " << EscapeForTerminal(a.get<std::string>(), false);
    std::cout << "\n";
  }
  return EXIT_OK;
}

/** One repo: every namespace (delegates marked) and the canonical refs, with disagreements. */
int RunRepo(const std::string& text, bool json) {
  auto repo = identity::DecodeDidRepo(text.rfind("git+p2p://", 0) == 0 ? text.substr(10) : text);
  if (!repo) return ReportError("invalid repo id: " + repo.message(), EXIT_USAGE);
  auto store = OpenHomeStore();
  if (!store) return ReportError("cannot open the store: " + store.message());
  auto meta = store->GetRepo(repo->multihash);
  if (!meta.ok() || !meta->has_value()) return ReportError(repo->ToString() + " is unknown here");
  std::vector<identity::PublicKey> delegates;
  for (const auto& d : (*meta)->delegates)
    if (auto k = identity::PublicKeyFromBytes(d)) delegates.push_back(*k);
  auto headers = store->ListRefNamespaces(repo->multihash);
  if (!headers) return ReportError(headers.message());
  std::map<identity::PublicKey, std::vector<git::NamedRef>> signed_refs;
  std::map<Bytes, std::string> skips;  // namespaces the last fetch could not commit
  if (auto listed = store->ListNamespaceSkips(repo->multihash))
    for (auto& s : *listed) skips[s.node_id] = std::move(s.reason);
  nlohmann::json namespaces = nlohmann::json::array();
  for (const auto& h : *headers) {
    auto refs = store->GetRefs(repo->multihash, h.node_id);
    auto node = identity::PublicKeyFromBytes(h.node_id);
    if (!refs.ok() || !refs->has_value() || !node) continue;
    const identity::PublicKey& k = *node;
    nlohmann::json r = nlohmann::json::object();
    for (const auto& e : (*refs)->refs) {
      r[e.name] = ToHex(e.oid);
      signed_refs[k].push_back({e.name, e.oid});
    }
    bool delegate = std::find(delegates.begin(), delegates.end(), k) != delegates.end();
    namespaces.push_back({{"node_id", identity::EncodeDidKey(k)}, {"delegate", delegate},
                          {"creator", !delegates.empty() && delegates[0] == k}, {"sequence", h.sequence}, {"refs", r}});
    if (auto skip = skips.find(h.node_id); skip != skips.end()) namespaces.back()["skipped"] = skip->second;
  }
  std::vector<git::NamespaceRefs> delegate_refs;
  for (const auto& d : delegates) delegate_refs.push_back({d, signed_refs[d]});
  nlohmann::json canonical = nlohmann::json::object();
  nlohmann::json disagreements = nlohmann::json::array();
  for (const auto& c : git::ComputeCanonicalRefs(delegate_refs)) {
    if (c.oid) canonical[c.name] = ToHex(*c.oid);
    if (c.disagreement) {
      nlohmann::json who = nlohmann::json::array();
      for (const auto& k : c.dissenters) who.push_back(identity::EncodeDidKey(k));
      disagreements.push_back({{"ref", c.name}, {"dissenters", who}});
    }
  }
  auto table = node::ReposJson(*store);
  nlohmann::json out;
  if (table)
    for (const auto& row : *table)
      if (row.value("repo_id", "") == repo->ToString()) out = row;
  out["namespaces"] = namespaces;
  out["canonical"] = canonical;
  out["disagreements"] = disagreements;
  if (json) {
    std::cout << out.dump(2) << "\n";
    return EXIT_OK;
  }
  // The name and every ref name are signed by strangers: escaped for the terminal.
  std::cout << repo->ToString() << "  " << EscapeForTerminal(out.value("name", ""), false) << "\n";
  for (const auto& [name, oid] : canonical.items())
    std::cout << "  canonical " << EscapeForTerminal(name, false) << " " << oid.get<std::string>() << "\n";
  for (const auto& d : disagreements)
    std::cout << "  delegates disagree on " << EscapeForTerminal(d["ref"].get<std::string>(), false) << " ("
              << d["dissenters"].size() << " dissenting)\n";
  for (const auto& ns : namespaces) {
    std::cout << "  " << ns["node_id"].get<std::string>() << (ns["creator"].get<bool>() ? "  creator" : ns["delegate"].get<bool>() ? "  delegate" : "")
              << "  sequence " << ns["sequence"] << "\n";
    if (ns.contains("skipped"))
      std::cout << "    skipped: " << EscapeForTerminal(ns["skipped"].get<std::string>(), false) << "\n";
    for (const auto& [name, oid] : ns["refs"].items())
      std::cout << "    " << oid.get<std::string>() << " " << EscapeForTerminal(name, false) << "\n";
  }
  return EXIT_OK;
}

int RunRepos(bool json) {
  auto out = LoadTable("repos");
  if (!out) return ReportError(out.message());
  if (json) {
    std::cout << out->dump(2) << "\n";
    return EXIT_OK;
  }
  if (out->empty()) std::cout << "no repositories known yet\n";
  for (const auto& r : *out)
    std::cout << r["repo_id"].get<std::string>() << "  "
              << EscapeForTerminal(r["name"].get<std::string>(), false) << "  seeders " << r["seeders"].size()
              << "\n";
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
    auto repo = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("repos", "The repo routing table: repo_id, name, creator, delegates, seeders");
    cmd->add_option("repo", *repo, "one repo: its namespaces (delegates marked), canonical refs and disagreements");
    cmd->add_flag("--json", *json, "one JSON document");
    cmd->callback([&run, json, repo] {
      run = [json, repo] { return repo->empty() ? RunRepos(*json) : RunRepo(*repo, *json); };
    });
  }
}

}  // namespace p2pgit::cli
