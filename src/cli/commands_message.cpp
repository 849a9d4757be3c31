// `p2pgit message sign-node|verify`: make and inspect signed messages by hand (debugging, demo).
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/home.h"
#include "identity/did.h"
#include "git/repo_inspect.h"
#include "gossip/admission.h"
#include "node/control_socket.h"
#include "routing/routing_state.h"
#include "wire/message.h"

namespace p2pgit::cli {

namespace {


nlohmann::json KeysToJson(const std::vector<identity::PublicKey>& keys) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& k : keys) out.push_back(identity::EncodeDidKey(k));
  return out;
}

nlohmann::json BodyToJson(const wire::Body& body) {
  struct Visitor {
    nlohmann::json operator()(const wire::NodeBody& b) const {
      nlohmann::json addresses = nlohmann::json::array();
      for (const auto& a : b.addresses) addresses.push_back({{"host", a.host}, {"port", a.port}});
      return {{"timestamp_ms", b.timestamp_ms}, {"addresses", addresses}, {"relay", b.relay},
              {"alias", b.alias}, {"protocol_version", b.protocol_version}};
    }
    nlohmann::json operator()(const wire::RepoBody& b) const {
      return {{"timestamp_ms", b.timestamp_ms}, {"repo_id", b.repo_id.ToString()},
              {"root_commit", ToHex(b.root_commit)}, {"creator", identity::EncodeDidKey(b.creator)},
              {"name", b.name}, {"description", b.description}, {"delegates", KeysToJson(b.delegates)},
              {"default_branch", b.default_branch}, {"sequence", b.sequence}};
    }
    nlohmann::json operator()(const wire::RefsBody& b) const {
      nlohmann::json refs = nlohmann::json::object();
      for (const auto& r : b.refs) refs[r.name] = ToHex(r.oid);
      return {{"timestamp_ms", b.timestamp_ms}, {"repo_id", b.repo_id.ToString()}, {"refs", refs},
              {"sequence", b.sequence}};
    }
    nlohmann::json operator()(const wire::InventoryBody& b) const {
      nlohmann::json repos = nlohmann::json::array();
      for (const auto& r : b.repos) repos.push_back(r.ToString());
      return {{"timestamp_ms", b.timestamp_ms}, {"repos", repos}, {"sequence", b.sequence},
              {"page", b.page}, {"page_count", b.page_count}};
    }
    nlohmann::json operator()(const wire::ActivityBody& b) const {
      nlohmann::json parents = nlohmann::json::array();
      for (const auto& p : b.parents) parents.push_back(ToHex(p));
      return {{"timestamp_ms", b.timestamp_ms}, {"repo_id", b.repo_id.ToString()}, {"parents", parents},
              {"op", b.op}, {"payload_version", b.payload_version}, {"payload", ToHex(b.payload)}};
    }
  };
  return std::visit(Visitor{}, body);
}

int RunSignNode(const std::string& alias, const std::vector<std::string>& addresses, bool relay) {
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  wire::NodeBody body;
  body.timestamp_ms = UnixMillis();
  body.alias = alias;
  body.relay = relay;
  for (const auto& text : addresses) {
    auto address = wire::ParseHostPort(text);
    if (!address) return ReportError("address \"" + text + "\" is not HOST:PORT", EXIT_USAGE);
    body.addresses.push_back(*address);
  }
  // Validate through the same decoder every receiver runs, so we never sign what peers refuse.
  if (auto check = wire::DecodeBody(wire::MessageType::Node, wire::EncodeBody(body)); !check)
    return ReportError("cannot sign this node message: " + check.message(), EXIT_USAGE);
  auto message = wire::SignMessage(*key, body);
  std::cout << ToHex(message.encoded) << "\n";
  return EXIT_OK;
}

int RunSignRepo(const std::string& path, const std::string& name, const std::string& description,
                const std::string& default_branch, uint64_t sequence) {
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  auto root = git::FindRootCommit(path);
  if (!root) return ReportError(root.message());
  wire::RepoBody body;
  body.timestamp_ms = UnixMillis();
  body.root_commit = *root;
  body.creator = key->public_key();
  body.repo_id = identity::ComputeRepoId(body.root_commit, body.creator);
  body.name = name.empty() ? std::filesystem::absolute(path).lexically_normal().filename().string() : name;
  if (body.name.empty()) body.name = "repo";
  body.description = description;
  body.delegates = {body.creator};
  body.default_branch = default_branch;
  body.sequence = sequence;
  if (auto check = wire::DecodeBody(wire::MessageType::Repo, wire::EncodeBody(body)); !check)
    return ReportError("cannot sign this repo message: " + check.message(), EXIT_USAGE);
  auto message = wire::SignMessage(*key, body);
  std::cout << ToHex(message.encoded) << "\n";
  return EXIT_OK;
}

/** Hands a signed message to the running daemon, which admits it and gossips it. */
int RunPublish(const std::string& hex) {
  if (!FromHex(hex)) return ReportError("message must be hex (as printed by `p2pgit message sign-…`)", EXIT_USAGE);
  auto answer = node::ControlRequest(node::ControlSocketPath(identity::DefaultHome()),
                                     {{"command", "publish"}, {"message", hex}});
  if (!answer) {
    if (answer.code() == node::ControlError::NoDaemon)
      return ReportError("no daemon is running for " + identity::DefaultHome().string() + "; start one with: p2pgit node");
    return ReportError("publish: " + answer.message());
  }
  if (!answer->value("ok", false)) return ReportError("message refused: " + answer->value("error", std::string("?")));
  std::cout << nlohmann::json{{"verdict", answer->value("verdict", "")}, {"id", answer->value("id", "")}}.dump(2) << "\n";
  return EXIT_OK;
}

int RunVerify(const std::string& hex) {
  auto bytes = FromHex(hex);
  if (!bytes) return ReportError("message must be hex (as printed by `p2pgit message sign-node`)", EXIT_USAGE);
  auto message = wire::DecodeMessage(*bytes);
  if (!message)
    return ReportError(std::string("message refused (") + wire::WireErrorName(message.code()) + "): " + message.message());
  nlohmann::json out = {
      {"type", wire::MessageTypeName(message->type())},
      {"author", identity::EncodeDidKey(message->author)},
      {"id", ToHex(message->id)},
      {"signature", "valid"},
      {"body", BodyToJson(message->body)},
  };
  std::cout << out.dump(2) << "\n";
  return EXIT_OK;
}

/** Runs a message through the same admission pipeline gossip uses, into this home's tables. */
int RunReceive(const std::string& hex) {
  auto bytes = FromHex(hex);
  if (!bytes) return ReportError("message must be hex (as printed by `p2pgit message sign-node`)", EXIT_USAGE);
  auto store = OpenHomeStore();
  if (!store) return ReportError("cannot open the store: " + store.message());
  routing::StoreRoutingState state(*store);
  gossip::Admission admission(state);
  auto result = admission.Admit(*bytes, UnixMillis());
  nlohmann::json out = {{"verdict", gossip::VerdictName(result.verdict)}};
  if (!result.reason.empty()) out["reason"] = result.reason;
  if (result.message) out["id"] = ToHex(result.message->id);
  std::cout << out.dump(2) << "\n";
  bool ok = result.verdict == gossip::Verdict::Accepted || result.verdict == gossip::Verdict::Duplicate ||
            result.verdict == gossip::Verdict::Superseded;
  if (!ok) return ReportError(std::string("message refused (") + gossip::VerdictName(result.verdict) + "): " + result.reason);
  return EXIT_OK;
}

}  // namespace

void RegisterMessageCommands(CLI::App& app, CommandRun& run) {
  auto* message = app.add_subcommand("message", "Sign and verify gossip messages by hand (inspection and demos)");
  message->require_subcommand(1);
  {
    auto alias = std::make_shared<std::string>();
    auto addresses = std::make_shared<std::vector<std::string>>();
    auto relay = std::make_shared<bool>(false);
    auto* cmd = message->add_subcommand("sign-node", "Print a Node announcement signed by this node, as hex");
    cmd->add_option("--alias", *alias, "short name shown to others (≤ 64 bytes)");
    cmd->add_option("--address", *addresses, "HOST:PORT this node is reachable at (repeatable)");
    cmd->add_flag("--relay", *relay, "announce the relay role");
    cmd->callback([&run, alias, addresses, relay] {
      run = [alias, addresses, relay] { return RunSignNode(*alias, *addresses, *relay); };
    });
  }
  {
    auto path = std::make_shared<std::string>(".");
    auto name = std::make_shared<std::string>();
    auto description = std::make_shared<std::string>();
    auto branch = std::make_shared<std::string>("main");
    auto sequence = std::make_shared<uint64_t>(1);
    auto* cmd = message->add_subcommand("sign-repo", "Print a Repo announcement for the repository at --path, signed by this node as creator");
    cmd->add_option("--path", *path, "the repository (default: .)");
    cmd->add_option("--name", *name, "name (default: the folder's name)");
    cmd->add_option("--description", *description, "one line");
    cmd->add_option("--default-branch", *branch, "default branch (default: main)");
    cmd->add_option("--sequence", *sequence, "announcement sequence, higher replaces lower (default 1)");
    cmd->callback([&run, path, name, description, branch, sequence] {
      run = [=] { return RunSignRepo(*path, *name, *description, *branch, *sequence); };
    });
  }
  {
    auto hex = std::make_shared<std::string>();
    auto* cmd = message->add_subcommand("publish", "Give a signed hex message to the running daemon to admit and gossip");
    cmd->add_option("hex", *hex, "the encoded envelope, hex")->required();
    cmd->callback([&run, hex] { run = [hex] { return RunPublish(*hex); }; });
  }
  {
    auto hex = std::make_shared<std::string>();
    auto* cmd = message->add_subcommand("verify", "Decode a hex message, check its signature, print it as JSON");
    cmd->add_option("hex", *hex, "the encoded envelope, hex")->required();
    cmd->callback([&run, hex] { run = [hex] { return RunVerify(*hex); }; });
  }
  {
    auto hex = std::make_shared<std::string>();
    auto* cmd = message->add_subcommand(
        "receive", "Admit a hex message into this home's routing tables, as if it arrived by gossip");
    cmd->add_option("hex", *hex, "the encoded envelope, hex")->required();
    cmd->callback([&run, hex] { run = [hex] { return RunReceive(*hex); }; });
  }
}

}  // namespace p2pgit::cli
