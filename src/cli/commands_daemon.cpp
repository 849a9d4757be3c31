// `p2pgit node`, `p2pgit relay` (the daemon in the foreground) and `p2pgit status` (asks it).
// Settings come from flags, then `$P2PGIT_HOME/config.toml` for what the flags leave unset.
#include <signal.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/home.h"
#include "identity/did.h"
#include "node/control_socket.h"
#include "node/daemon.h"
#include "transport/endpoint.h"

namespace p2pgit::cli {

namespace {

node::Millis Seconds(double s) { return node::Millis(int64_t(s * 1000)); }

int RunDaemon(bool relay, DaemonFlags flags) {
  auto home = identity::DefaultHome();
  if (auto applied = ApplyConfigFile(home / "config.toml", flags); !applied)
    return ReportError("config: " + applied.message(), EXIT_USAGE);
  if (relay && flags.listen.empty()) return ReportError("a relay needs --listen HOST:PORT (peers must reach it)", EXIT_USAGE);
  if (flags.alias.size() > 64) return ReportError("--alias is at most 64 bytes", EXIT_USAGE);
  for (const auto& b : flags.bootstrap) {
    if (auto parsed = transport::ParseNodeAddress(b); !parsed) return ReportError("--bootstrap: " + parsed.message(), EXIT_USAGE);
  }
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());

  // Stop signals are taken synchronously by this thread; every thread started later inherits
  // the mask, so none of them is interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  node::DaemonConfig config;
  config.home = home;
  config.relay = relay;
  config.listen = flags.listen;
  config.bootstrap = flags.bootstrap;
  config.announce = flags.announce;
  config.alias = flags.alias;
  if (flags.reconcile_interval_s > 0) config.reconcile_interval = Seconds(flags.reconcile_interval_s);
  if (flags.reannounce_interval_s > 0) config.reannounce_interval = Seconds(flags.reannounce_interval_s);
  if (flags.idle_timeout_s > 0) config.idle_timeout = Seconds(flags.idle_timeout_s);
  if (flags.outbound_peers >= 0) config.outbound_peers = size_t(flags.outbound_peers);
  config.max_connections = flags.max_connections;
  if (flags.seed == "all") config.seed_all = true;
  if (flags.seed == "followed") config.seed_all = false;
  if (!flags.seed.empty() && flags.seed != "all" && flags.seed != "followed")
    return ReportError("config: seed must be \"all\" or \"followed\"", EXIT_USAGE);
  if (!flags.log_level.empty()) {
    auto level = node::ParseLogLevel(flags.log_level);
    if (!level) return ReportError("log level must be error, warn, info or debug", EXIT_USAGE);
    config.log_level = *level;
  }
  config.seed_allow = flags.seed_allow;
  config.seed_deny = flags.seed_deny;
  config.seed_quota_bytes = flags.seed_quota_mb * 1000 * 1000;
  auto daemon = node::Daemon::Start(*key, config);
  if (!daemon) return ReportError(daemon.message());
  std::cout << (relay ? "relay " : "node ") << identity::EncodeDidKey(key->public_key()) << "\n";
  for (const auto& addr : (*daemon)->ListenAddresses()) std::cout << "listening " << addr << "\n";
  std::cout << std::flush;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "%s: stopping (%s)\n", relay ? "relay" : "node", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*daemon)->Stop();
  return EXIT_OK;
}

int RunStatus(bool json) {
  auto home = identity::DefaultHome();
  auto answer = node::ControlRequest(node::ControlSocketPath(home), {{"command", "status"}});
  if (!answer) {
    if (answer.code() != node::ControlError::NoDaemon) return ReportError("status: " + answer.message());
    auto key = LoadHomeKey();
    if (!key) return ReportError(key.message());
    nlohmann::json out = {{"node_id", identity::EncodeDidKey(key->public_key())}, {"running", false},
                          {"home", home.string()}};
    if (json)
      std::cout << out.dump(2) << "\n";
    else
      std::cout << "node " << out["node_id"].get<std::string>() << "\nnot running (start it with: p2pgit node)\n";
    return EXIT_OK;
  }
  nlohmann::json out = *answer;
  if (!out.value("ok", false)) return ReportError("status: " + out.value("error", std::string("daemon error")));
  out.erase("ok");
  out["running"] = true;
  out["home"] = home.string();
  if (json) {
    std::cout << out.dump(2) << "\n";
    return EXIT_OK;
  }
  std::cout << out["role"].get<std::string>() << " " << out["node_id"].get<std::string>() << "\n";
  for (const auto& a : out["listen"]) std::cout << "listening " << a.get<std::string>() << "\n";
  for (const auto& a : out["announce"]) std::cout << "announcing " << a.get<std::string>() << "\n";
  std::cout << out["peers"].size() << " peers connected\n";
  for (const auto& p : out["peers"])
    std::cout << "  " << p["node_id"].get<std::string>() << "  " << p["address"].get<std::string>() << "  "
              << p["direction"].get<std::string>() << "\n";
  std::cout << "known: " << out["tables"]["nodes"] << " nodes, " << out["tables"]["repos"] << " repos; held: "
            << out["repos"].size() << " repos\n";
  return EXIT_OK;
}

void AddDaemonOptions(CLI::App* cmd, std::shared_ptr<DaemonFlags> flags) {
  cmd->add_option("--listen", flags->listen, "HOST:PORT to accept peers on (repeatable; port 0: a free port, printed)");
  cmd->add_option("--bootstrap", flags->bootstrap, "NODEID@HOST:PORT of a peer to keep connected (repeatable)");
  cmd->add_option("--announce", flags->announce,
                  "HOST:PORT peers should dial, announced in our Node message (repeatable; default: a specific listen address)");
  cmd->add_option("--alias", flags->alias, "a short name shown to others");
  cmd->add_option("--reconcile-interval", flags->reconcile_interval_s, "seconds between catch-up rounds with each peer (default 60)");
  cmd->add_option("--reannounce-interval", flags->reannounce_interval_s, "seconds between Node announcements (default 1800)");
  cmd->add_option("--idle-timeout", flags->idle_timeout_s, "seconds of silence before a peer is dropped (default 30)");
  cmd->add_option("--outbound-peers", flags->outbound_peers, "non-bootstrap peers to keep dialled (default 8; 0: bootstrap peers only)");
  cmd->add_option("--max-connections", flags->max_connections, "connections accepted (default: node 128, relay 2048)");
  cmd->add_option("--log-level", flags->log_level, "error, warn, info (default) or debug");
}

}  // namespace

void RegisterDaemonCommands(CLI::App& app, CommandRun& run) {
  {
    auto flags = std::make_shared<DaemonFlags>();
    auto* cmd = app.add_subcommand("node", "Run the node daemon in the foreground (logs to stderr; SIGTERM/SIGINT stop it)");
    AddDaemonOptions(cmd, flags);
    cmd->callback([&run, flags] { run = [flags] { return RunDaemon(false, *flags); }; });
  }
  {
    auto flags = std::make_shared<DaemonFlags>();
    auto* cmd = app.add_subcommand("relay", "Run the daemon in relay role: accepts many peers, caches and serves");
    AddDaemonOptions(cmd, flags);
    cmd->callback([&run, flags] { run = [flags] { return RunDaemon(true, *flags); }; });
  }
  {
    auto json = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("status", "The running daemon: node id, listen addresses, peers, repos held");
    cmd->add_flag("--json", *json, "one JSON document");
    cmd->callback([&run, json] { run = [json] { return RunStatus(*json); }; });
  }
}

}  // namespace p2pgit::cli
