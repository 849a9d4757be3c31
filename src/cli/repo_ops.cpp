#include "cli/repo_ops.h"

#include <algorithm>
#include <cstdio>

#include "cli/config.h"
#include "cli/terminal_text.h"
#include "gossip/admission.h"
#include "node/control_socket.h"
#include "routing/routing_state.h"
#include "wire/gossip_frame.h"
#include "activity/events.h"
#include "activity/fold.h"
#include "git/working_copy.h"

namespace p2pgit::cli {

using namespace std::chrono_literals;




/** did:repo:z… or git+p2p://did:repo:z…[/peer/did:key:z…]. */
Result<RepoTarget, std::string> ParseRepoTarget(const std::string& text) {
  std::string rest = text;
  if (rest.rfind(URL_SCHEME, 0) == 0) rest = rest.substr(sizeof(URL_SCHEME) - 1);
  std::string repo_text = rest, peer_text;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    repo_text = rest.substr(0, slash);
    std::string tail = rest.substr(slash);
    if (tail.rfind("/peer/", 0) != 0) return Fail(std::string(), "'" + text + "': expected git+p2p://<RepoId>[/peer/<NodeId>]");
    peer_text = tail.substr(6);
    while (!peer_text.empty() && peer_text.back() == '/') peer_text.pop_back();
  }
  auto repo = identity::DecodeDidRepo(repo_text);
  if (!repo) return Fail(std::string(), "invalid repo id '" + repo_text + "': " + repo.message());
  RepoTarget target{*repo, std::nullopt};
  if (!peer_text.empty()) {
    auto peer = identity::DecodeDidKey(peer_text);
    if (!peer) return Fail(std::string(), "invalid NodeId '" + peer_text + "': " + peer.message());
    target.peer = *peer;
  }
  return target;
}

std::string RepoUrl(const identity::RepoId& repo) { return std::string(URL_SCHEME) + repo.ToString(); }

bool DaemonRunning() {
  auto answer = node::ControlRequest(node::ControlSocketPath(identity::DefaultHome()), {{"command", "status"}}, 2000ms);
  return answer.ok();
}

namespace {

/** Peers to fetch from, best first: connected relays, then known seeders (relays, then by score). */
std::vector<PeerId> Candidates(Session& session, storage::Store& store, const identity::RepoId& repo,
                               const std::optional<PeerId>& preferred) {
  std::vector<PeerId> out;
  auto add = [&](const PeerId& p) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  if (preferred) add(*preferred);
  for (const auto& p : session.connected()) add(p);
  auto seeders = store.ListSeeders(repo.multihash);
  if (seeders) {
    std::vector<std::pair<std::pair<int, double>, PeerId>> ranked;
    for (const auto& s : *seeders) {
      auto key = identity::PublicKeyFromBytes(s.node_id);
      if (!key) continue;
      auto node = store.GetNode(*key);
      if (!node.ok() || !node->has_value() || (*node)->addresses.empty()) continue;
      ranked.push_back({{(*node)->relay ? 0 : 1, -(*node)->score}, *key});
    }
    std::sort(ranked.begin(), ranked.end());
    for (const auto& [_, key] : ranked) add(key);
  }
  return out;
}

}  // namespace

std::function<void(const node::FetchProgress&)> ProgressPrinter(bool show) {
  if (!show) return nullptr;
  return [](const node::FetchProgress& p) {
    double mb = double(p.bytes) / 1e6;
    std::fprintf(stderr, "\rReceiving pack: %.2f MB, %.2f MB/s   ", mb, p.seconds > 0 ? mb / p.seconds : 0.0);
  };
}

void ReportSkipped(const char* prefix, const FetchSummary& summary) {
  for (const auto& s : summary.skipped)
    std::fprintf(stderr, "%s: skipped namespace %s: %s\n", prefix, EscapeForTerminal(s.node, false).c_str(),
                 EscapeForTerminal(s.reason, false).c_str());
}

/** Fetches `repo` into the home: through the daemon when one runs, else over a session. */
Result<FetchSummary, std::string> FetchIntoHome(const identity::NodeKey& key, storage::Store& store,
                                                const RepoTarget& target, const std::vector<std::string>& bootstrap,
                                                bool progress) {
  if (DaemonRunning()) {
    nlohmann::json request = {{"command", "fetch"}, {"repo", target.repo.ToString()}};
    if (target.peer) request["peer"] = identity::EncodeDidKey(*target.peer);
    auto answer = node::ControlRequest(node::ControlSocketPath(identity::DefaultHome()), request, std::chrono::hours(2));
    if (!answer) return Fail(std::string(), "the daemon did not answer: " + answer.message());
    if (!answer->value("ok", false)) return Fail(std::string(), answer->value("error", std::string("fetch failed")));
    FetchSummary summary{answer->value("pack_bytes", uint64_t(0)), answer->value("namespaces_updated", size_t(0)),
                         answer->value("seconds", 0.0), "the daemon's peers", {}};
    if (auto it = answer->find("skipped"); it != answer->end() && it->is_array())
      for (const auto& s : *it)
        if (s.is_object() && s.value("node_id", nlohmann::json()).is_string() && s.value("reason", nlohmann::json()).is_string())
          summary.skipped.push_back({s["node_id"].get<std::string>(), s["reason"].get<std::string>()});
    return summary;
  }
  auto session = Session::Open(key, bootstrap);
  if (!session) return Fail(std::string(), session.message());
  node::FetchOptions options;
  options.progress = ProgressPrinter(progress);
  auto connect = [&](const PeerId& peer) {
    const auto& connected = (*session)->connected();
    if (std::find(connected.begin(), connected.end(), peer) != connected.end()) return true;
    auto node = store.GetNode(peer);
    return node.ok() && node->has_value() && (*session)->ConnectTo(peer, (*node)->addresses);
  };
  auto result = node::FetchFromSeeders((*session)->endpoint(), Candidates(**session, store, target.repo, target.peer),
                                       connect, identity::DefaultHome(), store, target.repo, options);
  if (progress) std::fprintf(stderr, "\n");
  if (!result) {
    if (result.code() == node::FetchFault::Local) return Fail(std::string(), result.message());
    return Fail(std::string(), "no seeder could provide " + target.repo.ToString() + ": " + result.message());
  }
  return FetchSummary{result->pack_bytes, result->namespaces_updated, result->seconds, result->source, result->skipped};
}

std::vector<git::NamespaceRefs> DelegateNamespaces(const storage::RepoRecord& meta, const git::StorageRepo& storage) {
  std::vector<git::NamespaceRefs> out;
  for (const auto& d : meta.delegates) {
    auto key = identity::PublicKeyFromBytes(d);
    if (!key) continue;
    auto refs = storage.ListNamespace(*key);
    out.push_back(git::NamespaceRefs{*key, refs ? *refs : std::vector<git::NamedRef>{}});
  }
  return out;
}


Result<std::vector<wire::SignedMessage>, std::string> SignOwnRefs(const identity::NodeKey& key, storage::Store& store,
                                                                   const git::StorageRepo& storage,
                                                                   const identity::RepoId& repo,
                                                                   const std::vector<git::NamedRef>& refs,
                                                                   std::vector<wire::SignedMessage> messages) {
  if (refs.size() > wire::MAX_REFS_PER_ANNOUNCEMENT)
    return Fail(std::string(), std::to_string(refs.size()) + " refs; at most " +
                                   std::to_string(wire::MAX_REFS_PER_ANNOUNCEMENT) + " can be announced");
  uint64_t now = UnixMillis();
  wire::RefsBody body;
  body.timestamp_ms = now;
  body.repo_id = repo;
  for (const auto& r : refs) body.refs.push_back({r.name, r.oid});
  std::sort(body.refs.begin(), body.refs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  auto previous = store.GetRefs(repo.multihash, key.public_key());
  body.sequence = std::max<uint64_t>((previous.ok() && previous->has_value()) ? (*previous)->sequence + 1 : 1, now);
  if (auto check = wire::DecodeBody(wire::MessageType::Refs, wire::EncodeBody(body)); !check)
    return Fail(std::string(), "cannot announce these refs: " + check.message());
  messages.push_back(wire::SignMessage(key, body));
  // The namespace is exactly what we sign; the store holds the messages (peers reconcile them).
  if (auto s = storage.SetNamespace(key.public_key(), refs); !s)
    return Fail(std::string(), "cannot write this node's refs: " + s.message());
  (void)store.SetRepoPath(repo.multihash, storage.path());
  (void)store.SetFollowed(repo.multihash, true, now);
  auto followed = store.ListFollowed();
  std::vector<identity::RepoId> held;
  if (followed)
    for (const auto& r : *followed)
      if (auto id = identity::RepoIdFromMultihash(r)) held.push_back(*id);
  for (auto& page : wire::SplitInventory(held, now, now)) messages.push_back(wire::SignMessage(key, page));
  routing::StoreRoutingState state(store);
  gossip::Admission admission(state);
  for (const auto& m : messages) {
    auto result = admission.Admit(m.encoded, now);
    if (result.verdict != gossip::Verdict::Accepted && result.verdict != gossip::Verdict::Duplicate)
      return Fail(std::string(), std::string("own announcement refused (") + gossip::VerdictName(result.verdict) + "): " + result.reason);
  }
  return messages;
}

Result<std::string, std::string> Announce(const identity::NodeKey& key, const std::vector<wire::SignedMessage>& messages,
                                          const std::vector<std::string>& bootstrap, double wait_seed_s) {
  if (DaemonRunning()) {
    for (const auto& m : messages) {
      auto answer = node::ControlRequest(node::ControlSocketPath(identity::DefaultHome()),
                                         {{"command", "publish"}, {"message", ToHex(m.encoded)}});
      if (!answer || !answer->value("ok", false))
        return Fail(std::string(), "the daemon refused the announcement: " +
                                       (answer ? answer->value("error", std::string("?")) : answer.message()));
    }
    return std::string("announced through the running daemon, which serves the repository");
  }
  auto session = Session::Open(key, bootstrap);
  if (!session) return std::string("stored and signed locally, not announced: " + session.message());
  for (const auto& peer : (*session)->connected())
    for (const auto& m : messages)
      (void)(*session)->endpoint().SendMessage(peer, wire::EncodeGossipFrame(wire::MessageFrame{m.encoded}));
  if (wait_seed_s <= 0) {
    // A round trip after the messages: everything queued before it has left.
    for (const auto& peer : (*session)->connected()) (void)(*session)->endpoint().Ping(peer, 3s);
    return std::string("announced to " + std::to_string((*session)->connected().size()) + " peer(s)");
  }
  // A relay that seeds asks for the signed state and then, only if it lacks some tip, the pack:
  // one or two streams. A relay that already holds every object (a deletion, a tag or branch on
  // a commit it has) opens no second stream, so waiting for two would sit out the whole timeout.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(wait_seed_s * 1000));
  if ((*session)->WaitServed(1, deadline)) {
    // The pack request follows the state within a round trip and the relay's checks.
    auto grace_end = std::min(deadline, std::chrono::steady_clock::now() + 2s);
    bool pack = false;
    while (std::chrono::steady_clock::now() < grace_end) {
      if ((*session)->started() >= 2) {
        pack = true;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (!pack || (*session)->WaitServed(2, deadline)) {
      std::this_thread::sleep_for(500ms);  // the relay verifies and commits
      return std::string(pack ? "announced; a relay fetched the new tips" : "announced; a relay took the new refs (it held every object)");
    }
  }
  return std::string("announced to " + std::to_string((*session)->connected().size()) +
                     " peer(s), but no relay fetched within " + std::to_string(int(wait_seed_s)) +
                     " s: not yet seeded (run `p2pgit node` to keep serving it)");
}

Result<bool, std::string> AdmitOwn(storage::Store& store, const wire::SignedMessage& message) {
  routing::StoreRoutingState state(store);
  gossip::Admission admission(state);
  auto result = admission.Admit(message.encoded, UnixMillis());
  if (result.verdict != gossip::Verdict::Accepted && result.verdict != gossip::Verdict::Duplicate)
    return Fail(std::string(), std::string("own message refused (") + gossip::VerdictName(result.verdict) + "): " + result.reason);
  return true;
}

Result<RepoActivity, std::string> LoadRepoActivity(storage::Store& store, const identity::RepoId& repo) {
  auto meta = store.GetRepo(repo.multihash);
  if (!meta.ok() || !meta->has_value())
    return Fail(std::string(), repo.ToString() + " is unknown here: clone, sync or share it first");
  RepoActivity out{activity::RepoAuthority{repo, {}}, {}};
  for (const auto& d : (*meta)->delegates)
    if (auto k = identity::PublicKeyFromBytes(d)) out.authority.delegates.push_back(*k);
  auto records = store.ListActivity(repo.multihash);
  if (!records) return Fail(std::string(), "cannot read events: " + records.message());
  for (const auto& r : *records)
    if (auto e = activity::EventFromRecord(r)) out.events.push_back(std::move(*e));
  return out;
}

std::vector<wire::SignedMessage> MergeEventsFor(const identity::NodeKey& key, storage::Store& store,
                                                const git::StorageRepo& storage, const identity::RepoId& repo,
                                                const std::string& branch, const std::optional<Bytes>& old_tip,
                                                const Bytes& new_tip) {
  std::vector<wire::SignedMessage> out;
  if (old_tip && *old_tip == new_tip) return out;  // nothing moved, nothing merged
  auto loaded = LoadRepoActivity(store, repo);
  if (!loaded) return out;
  const auto& [authority, events] = *loaded;
  if (std::find(authority.delegates.begin(), authority.delegates.end(), key.public_key()) == authority.delegates.end())
    return out;
  for (const auto& root : activity::ListThreads(events, repo)) {
    if (root.kind != activity::ThreadKind::Patch) continue;
    auto patch = activity::FoldPatch(events, authority, root.id);
    if (!patch || patch->status != activity::ThreadStatus::Open || patch->base_branch != branch) continue;
    const Bytes& head = patch->revisions.back().head;
    auto merged = git::BroughtInByMove(storage.path(), head, old_tip, new_tip);
    if (!merged.ok() || !*merged) continue;  // an unreadable history signs nothing
    auto body = activity::MakeActivityBody(repo, UnixMillis(), patch->heads, activity::PatchMerge{new_tip});
    if (!body) continue;
    auto message = wire::SignMessage(key, *body);
    if (AdmitOwn(store, message)) out.push_back(std::move(message));
  }
  return out;
}

}  // namespace p2pgit::cli
