// `p2pgit nodes`, `p2pgit repos`: the routing tables, from the running daemon or the home's store.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/home.h"
#include "identity/did.h"
#include "node/control_socket.h"
#include "node/tables_json.h"
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
    if (!n["alias"].get<std::string>().empty()) std::cout << "  (" << n["alias"].get<std::string>() << ")";
    for (const auto& a : n["addresses"]) std::cout << "  " << a.get<std::string>();
    std::cout << "\n";
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
