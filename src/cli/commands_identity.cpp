// `p2pgit id`, `did encode|decode`, `repo-id`.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/home.h"
#include "git/repo_inspect.h"
#include "identity/did.h"

namespace p2pgit::cli {

namespace {

int RunId(bool json) {
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  std::string node_id = identity::EncodeDidKey(key->public_key());
  if (json) {
    nlohmann::json out = {
        {"node_id", node_id},
        {"public_key", ToHex(key->public_key())},
        {"home", identity::DefaultHome().string()},
        {"key_file", identity::KeyPath(identity::DefaultHome()).string()},
    };
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << node_id << "\n";
  }
  return EXIT_OK;
}

int RunDidEncode(const std::string& hex) {
  auto key = FromHexFixed<identity::PUBLIC_KEY_BYTES>(hex);
  if (!key) return ReportError("public key must be 64 hex characters (32 bytes), got \"" + hex + "\"", EXIT_USAGE);
  std::cout << identity::EncodeDidKey(*key) << "\n";
  return EXIT_OK;
}

int RunDidDecode(const std::string& did) {
  auto key = identity::DecodeDidKey(did);
  if (!key) return ReportError("invalid did:key: " + key.message());
  std::cout << ToHex(*key) << "\n";
  return EXIT_OK;
}

int RunRepoIdFromParts(const std::string& root_hex, const std::string& creator_did) {
  auto root = FromHex(root_hex);
  if (!root || (root->size() != 20 && root->size() != 32))
    return ReportError("root commit must be a full object id: 40 hex characters (SHA-1) or 64 (SHA-256)", EXIT_USAGE);
  auto creator = identity::DecodeDidKey(creator_did);
  if (!creator) return ReportError("invalid creator did:key: " + creator.message());
  std::cout << identity::ComputeRepoId(*root, *creator).ToString() << "\n";
  return EXIT_OK;
}

int RunRepoIdFromPath(const std::string& path) {
  auto root = git::FindRootCommit(path);
  if (!root) return ReportError(root.message());
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  std::cout << identity::ComputeRepoId(*root, key->public_key()).ToString() << "\n";
  return EXIT_OK;
}

}  // namespace

void RegisterIdentityCommands(CLI::App& app, CommandRun& run) {
  {
    auto* cmd = app.add_subcommand("id", "Print this node's id (did:key), creating the key on first use");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "JSON: node_id, public_key, home, key_file");
    cmd->callback([&run, json] { run = [json] { return RunId(*json); }; });
  }
  {
    auto* did = app.add_subcommand("did", "Convert between Ed25519 public keys and did:key ids");
    did->require_subcommand(1);
    auto hex = std::make_shared<std::string>();
    auto* encode = did->add_subcommand("encode", "64-hex public key -> did:key:z6Mk…");
    encode->add_option("public-key", *hex, "Ed25519 public key, 64 hex characters")->required();
    encode->callback([&run, hex] { run = [hex] { return RunDidEncode(*hex); }; });
    auto text = std::make_shared<std::string>();
    auto* decode = did->add_subcommand("decode", "did:key:z6Mk… -> 64-hex public key");
    decode->add_option("did", *text, "a did:key NodeId")->required();
    decode->callback([&run, text] { run = [text] { return RunDidDecode(*text); }; });
  }
  {
    auto* cmd = app.add_subcommand(
        "repo-id", "Compute a did:repo id from a root commit and creator, or for the repo at --path");
    auto root = std::make_shared<std::string>();
    auto creator = std::make_shared<std::string>();
    auto path = std::make_shared<std::string>();
    auto* root_opt = cmd->add_option("root-commit", *root, "root commit id, full hex");
    auto* creator_opt = cmd->add_option("creator", *creator, "creator's did:key");
    auto* path_opt = cmd->add_option("--path", *path, "a git repository: the id it gets when this node shares it");
    path_opt->excludes(root_opt)->excludes(creator_opt);
    root_opt->needs(creator_opt);
    creator_opt->needs(root_opt);
    cmd->callback([&run, root, creator, path, path_opt] {
      if (path_opt->count() > 0) {
        run = [path] { return RunRepoIdFromPath(*path); };
      } else if (!root->empty()) {
        run = [root, creator] { return RunRepoIdFromParts(*root, *creator); };
      } else {
        run = [] { return ReportError("repo-id needs <root-commit> <creator> or --path DIR (see --help)", EXIT_USAGE); };
      }
    });
  }
}

}  // namespace p2pgit::cli
