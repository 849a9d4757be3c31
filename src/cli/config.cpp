#include "cli/config.h"

#include <toml++/toml.h>

namespace p2pgit::cli {

Status<int> ApplyConfigFile(const std::filesystem::path& path, DaemonFlags& flags) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Ok{};
  // Debian's toml++ is built with exceptions: the parse error is caught here, at the boundary.
  toml::table table;
  try {
    table = toml::parse_file(path.string());
  } catch (const toml::parse_error& err) {
    return Fail(0, path.string() + ":" + std::to_string(err.source().begin.line) + ": " + std::string(err.description()));
  }
  auto strings = [&](const char* key, std::vector<std::string>& out) -> Status<int> {
    const toml::node* node = table.get(key);
    if (node == nullptr || !out.empty()) return Ok{};
    if (auto s = node->value<std::string>()) {
      out.push_back(*s);
      return Ok{};
    }
    const toml::array* array = node->as_array();
    if (array == nullptr) return Fail(0, path.string() + ": '" + key + "' must be a string or a list of strings");
    for (const auto& item : *array) {
      auto s = item.value<std::string>();
      if (!s) return Fail(0, path.string() + ": '" + key + "' must be a list of strings");
      out.push_back(*s);
    }
    return Ok{};
  };
  for (auto [key, out] : {std::pair{"listen", &flags.listen}, std::pair{"bootstrap", &flags.bootstrap},
                          std::pair{"announce", &flags.announce}}) {
    if (auto s = strings(key, *out); !s) return s;
  }
  if (flags.alias.empty()) flags.alias = table["alias"].value_or(std::string());
  if (flags.reconcile_interval_s == 0) flags.reconcile_interval_s = table["reconcile_interval_s"].value_or(0.0);
  if (flags.outbound_peers < 0) flags.outbound_peers = table["outbound_peers"].value_or(int64_t(-1));
  if (flags.max_connections == 0) flags.max_connections = size_t(table["max_connections"].value_or(int64_t(0)));
  if (flags.seed.empty()) flags.seed = table["seed"].value_or(std::string());
  for (auto [key, out] : {std::pair{"seed_allow", &flags.seed_allow}, std::pair{"seed_deny", &flags.seed_deny}}) {
    if (auto s = strings(key, *out); !s) return s;
  }
  if (flags.log_level.empty()) flags.log_level = table["log_level"].value_or(std::string());
  if (flags.seed_quota_mb == 0) flags.seed_quota_mb = uint64_t(table["seed_quota_mb"].value_or(int64_t(0)));
  return Ok{};
}


}  // namespace p2pgit::cli
