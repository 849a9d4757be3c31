// $P2PGIT_HOME/config.toml: what a node's flags leave unset (docs/CLI.md lists the keys).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"

namespace p2pgit::cli {

/** Settings of a node: command-line flags, completed from config.toml. */
struct DaemonFlags {
  std::vector<std::string> listen;
  std::vector<std::string> bootstrap;
  std::vector<std::string> announce;
  std::string alias;
  double reconcile_interval_s = 0;
  double reannounce_interval_s = 0;
  double idle_timeout_s = 0;
  int64_t outbound_peers = -1;  // -1: the default
  size_t max_connections = 0;
  std::string seed;  // "all", "followed", "" (the role's default)
  std::vector<std::string> seed_allow;
  std::vector<std::string> seed_deny;
  uint64_t seed_quota_mb = 0;
  std::string log_level;  // error | warn | info (default) | debug
};

/** Reads config.toml (absent is fine) into the settings the command line left empty. */
Status<int> ApplyConfigFile(const std::filesystem::path& path, DaemonFlags& flags);

}  // namespace p2pgit::cli
