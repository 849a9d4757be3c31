// `p2pgit message sign-node|verify`: make and inspect signed messages by hand (debugging, demo).
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/home.h"
#include "identity/did.h"
#include "gossip/admission.h"
#include "routing/routing_state.h"
#include "wire/message.h"

namespace p2pgit::cli {

namespace {

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

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

/** Parses HOST:PORT or [V6]:PORT. */
std::optional<wire::Address> ParseAddress(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  unsigned long port = std::stoul(port_text);
  if (port == 0 || port > 65535) return std::nullopt;
  return wire::Address{host, static_cast<uint16_t>(port)};
}

int RunSignNode(const std::string& alias, const std::vector<std::string>& addresses, bool relay) {
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  wire::NodeBody body;
  body.timestamp_ms = NowMs();
  body.alias = alias;
  body.relay = relay;
  for (const auto& text : addresses) {
    auto address = ParseAddress(text);
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
  auto result = admission.Admit(*bytes, NowMs());
  nlohmann::json out = {{"verdict", gossip::VerdictName(result.verdict)}};
  if (!result.reason.empty()) out["reason"] = result.reason;
  if (result.message) out["id"] = ToHex(result.message->id);
  std::cout << out.dump(2) << "\n";
  bool ok = result.verdict == gossip::Verdict::Accepted || result.verdict == gossip::Verdict::Duplicate ||
            result.verdict == gossip::Verdict::Superseded || result.verdict == gossip::Verdict::Pending;
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
