#include "node/replication.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <map>
#include <set>

#include "base/clock.h"
#include "git/pack_transfer.h"
#include "git/storage.h"
#include "git/verify.h"
#include "gossip/admission.h"
#include "routing/routing_state.h"
#include "wire/replication.h"

namespace p2pgit::node {

namespace {

using SteadyClock = std::chrono::steady_clock;

/** A quarantine (objects/incoming-*) this old is what a receiver killed mid-transfer (SIGKILL,
 *  power loss) left behind: no pack takes a day to arrive. A younger one may be a transfer still
 *  running in another process (the daemon and a CLI command share the store), so it stays. */
constexpr std::chrono::hours STALE_QUARANTINE_AGE{24};



/** The signed messages of a repo this store holds: its Repo message, then one Refs per namespace. */
std::vector<Bytes> RepoStateMessages(storage::Store& store, const identity::RepoId& repo) {
  std::vector<Bytes> out;
  auto add = [&](const std::optional<Bytes>& id) {
    if (!id || out.size() >= wire::MAX_REPO_STATE_MESSAGES) return;
    auto m = store.GetMessage(*id);
    if (m.ok() && m->has_value()) out.push_back((*m)->raw);
  };
  auto record = store.GetRepo(repo.multihash);
  if (!record.ok() || !record->has_value()) return out;
  add((*record)->message_id);
  auto namespaces = store.ListRefNamespaces(repo.multihash);
  if (!namespaces) return out;
  for (const auto& ns : *namespaces) {
    auto refs = store.GetRefs(repo.multihash, ns.node_id);
    if (refs.ok() && refs->has_value()) add((*refs)->message_id);
  }
  return out;
}

void Refuse(transport::Stream& stream, const std::string& reason) {
  (void)stream.WriteFrame(wire::EncodeFetchAnswer(wire::FetchAnswer{false, {}, reason}));
  (void)stream.Finish();
}

void ServeFetch(storage::Store& store, transport::Stream& stream, const wire::FetchRequest& request) {
  auto path = store.GetRepoPath(request.repo.multihash);
  if (!path.ok() || !path->has_value()) return Refuse(stream, "repository not held here");
  auto repo = git::StorageRepo::Open(**path);
  if (!repo) return Refuse(stream, "repository unavailable here");
  // Only what someone signed (a stored namespace's tip, or a commit one reaches) is served: an
  // object the store holds but no signed ref reaches stays private, whoever guesses its id.
  auto has = repo->ServableObjects(request.wants);
  if (!has) return Refuse(stream, "cannot read the repository");
  wire::FetchAnswer answer{true, {}, ""};
  std::vector<Bytes> present;
  for (size_t i = 0; i < request.wants.size(); ++i) {
    if ((*has)[i])
      present.push_back(request.wants[i]);
    else
      answer.missing.push_back(request.wants[i]);
  }
  if (!stream.WriteFrame(wire::EncodeFetchAnswer(answer))) return;
  if (!present.empty()) {
    auto served = git::ServePack(*repo, present, request.haves,
                                 [&](ByteSpan chunk) { return stream.Write(chunk).ok(); });
    if (!served) {
      stream.Reset();  // the receiver sees a truncated pack and keeps its store as it was
      return;
    }
  }
  (void)stream.Finish();
  (void)stream.Flush(REPLICATION_IO_TIMEOUT);
}

}  // namespace

void ServeReplicationStream(const std::filesystem::path& home, const std::shared_ptr<transport::Stream>& stream) {
  auto frame = stream->ReadFrame(REPLICATION_IO_TIMEOUT);
  if (!frame) return stream->Reset();
  auto request = wire::DecodeReplicationRequest(*frame);
  if (!request) return stream->Reset();
  auto store = storage::Store::Open(home / "store.db");
  if (!store) return stream->Reset();
  if (const auto* state = std::get_if<wire::RepoStateRequest>(&*request)) {
    for (const auto& message : RepoStateMessages(*store, state->repo))
      if (!stream->WriteFrame(message)) return;
    (void)stream->Finish();
    (void)stream->Flush(REPLICATION_IO_TIMEOUT);
    return;
  }
  ServeFetch(*store, *stream, std::get<wire::FetchRequest>(*request));
}

const char* FetchFaultName(FetchFault fault) {
  switch (fault) {
    case FetchFault::PeerMisbehaved: return "peer-misbehaved";
    case FetchFault::PeerLacks: return "peer-lacks";
    case FetchFault::Transport: return "transport";
    case FetchFault::Local: return "local";
  }
  return "unknown";
}

namespace {

/** Pack-level receive errors: the sender's, except what this machine failed at. */
FetchFault FaultOfPackError(git::GitError code) {
  switch (code) {
    case git::GitError::Io:
    case git::GitError::GitFailed:
    case git::GitError::InvalidArgument:
      return FetchFault::Local;
    default:
      return FetchFault::PeerMisbehaved;
  }
}

Bytes RepoBytes(const identity::RepoId& repo) { return Bytes(repo.multihash.begin(), repo.multihash.end()); }

/** Namespaces in trust order: the creator, the other delegates as announced, then the rest. */
std::vector<git::NamespaceRefs> InTrustOrder(std::vector<git::NamespaceRefs> namespaces,
                                             const std::vector<identity::PublicKey>& owners) {
  auto rank = [&](const identity::PublicKey& node) {
    auto it = std::find(owners.begin(), owners.end(), node);
    return it == owners.end() ? owners.size() : static_cast<size_t>(it - owners.begin());
  };
  std::stable_sort(namespaces.begin(), namespaces.end(), [&](const auto& a, const auto& b) {
    size_t ra = rank(a.node), rb = rank(b.node);
    return ra != rb ? ra < rb : a.node < b.node;
  });
  return namespaces;
}

}  // namespace

FetchResult FetchRepo(transport::Endpoint& endpoint, const transport::PeerId& peer, const std::filesystem::path& home,
                      storage::Store& store, const identity::RepoId& repo, const FetchOptions& options) {
  auto started = SteadyClock::now();
  // P2PGIT_TRACE_TIMING=1: one stderr line per phase (benchmark analysis).
  bool trace = std::getenv("P2PGIT_TRACE_TIMING") != nullptr;
  auto last = started;
  auto phase = [&](const char* name) {
    if (!trace) return;
    auto now = SteadyClock::now();
    std::fprintf(stderr, "timing: %-14s %8.3f s\n", name, std::chrono::duration<double>(now - last).count());
    last = now;
  };
  std::string who = identity::EncodeDidKey(peer);
  auto fail = [&](FetchFault fault, const std::string& what) -> FetchResult {
    if (fault == FetchFault::Local) return Fail(fault, what);  // never names the peer
    return Fail(fault, who + ": " + what);
  };

  // 1. The signed state, through the same admission as gossip.
  {
    auto stream = endpoint.OpenStream(peer);
    if (!stream) return fail(FetchFault::Transport, "cannot open a stream: " + stream.message());
    if (!(*stream)->WriteFrame(wire::EncodeReplicationRequest(wire::RepoStateRequest{repo})))
      return fail(FetchFault::Transport, "connection lost");
    (void)(*stream)->Finish();
    routing::StoreRoutingState state(store);
    gossip::Admission admission(state);
    for (size_t n = 0;; ++n) {
      auto frame = (*stream)->ReadFrame(REPLICATION_IO_TIMEOUT);
      if (!frame) {
        if (frame.code() == transport::TransportError::EndOfStream) break;
        return fail(FetchFault::Transport, "repo state: " + frame.message());
      }
      if (n >= wire::MAX_REPO_STATE_MESSAGES) return fail(FetchFault::PeerMisbehaved, "sent too many messages");
      auto result = admission.Admit(*frame, UnixMillis());
      if (result.verdict == gossip::Verdict::StoreFailed)
        return fail(FetchFault::Local, "cannot write the local store " + store.path().string() + ": " + result.reason);
      // A forged signature is the peer's doing. A message our rules refuse (Malformed) may be one
      // an older peer accepted before those rules: skipped, never blamed (PROTOCOL.md, versions).
      if (result.verdict == gossip::Verdict::BadSignature)
        return fail(FetchFault::PeerMisbehaved, std::string("sent an invalid signed message (") +
                                                    gossip::VerdictName(result.verdict) + "): " + result.reason);
    }
  }
  phase("repo-state");
  auto record = store.GetRepo(repo.multihash);
  if (!record.ok()) return fail(FetchFault::Local, "cannot read the local store: " + record.message());
  if (!record->has_value()) return fail(FetchFault::PeerLacks, "does not know " + repo.ToString());
  const storage::RepoRecord& meta = **record;
  auto creator = identity::PublicKeyFromBytes(meta.creator);
  if (!creator) return fail(FetchFault::Local, "bad creator in the local repo record");
  std::vector<identity::PublicKey> owners = {*creator};
  for (const auto& d : meta.delegates)
    if (auto k = identity::PublicKeyFromBytes(d); k && *k != *creator) owners.push_back(*k);

  // 2. What the owners signed, namespace by namespace.
  auto headers = store.ListRefNamespaces(repo.multihash);
  if (!headers) return fail(FetchFault::Local, "cannot read the local store: " + headers.message());
  std::vector<git::NamespaceRefs> signed_refs;
  for (const auto& h : *headers) {
    auto refs = store.GetRefs(repo.multihash, h.node_id);
    auto node = identity::PublicKeyFromBytes(h.node_id);
    if (!refs.ok() || !refs->has_value() || !node) continue;
    git::NamespaceRefs ns{*node, {}};
    for (const auto& r : (*refs)->refs) ns.refs.push_back({r.name, r.oid});
    signed_refs.push_back(std::move(ns));
  }
  if (signed_refs.empty()) return fail(FetchFault::PeerLacks, "has no signed refs for " + repo.ToString());
  signed_refs = InTrustOrder(std::move(signed_refs), owners);

  auto storage_path = git::StoragePath(home, repo);
  auto local = git::StorageRepo::OpenOrCreate(storage_path);
  if (!local) return fail(FetchFault::Local, "cannot create the local repository: " + local.message());
  (void)local->RemoveStaleQuarantines(STALE_QUARANTINE_AGE);  // else nothing ever reclaims them
  if (auto s = store.SetRepoPath(repo.multihash, storage_path); !s)
    return fail(FetchFault::Local, "cannot record the repository in the local store: " + s.message());

  FetchOutcome outcome;
  outcome.storage = storage_path;
  outcome.source = who;
  auto current = local->ListNamespaces();
  if (!current) return fail(FetchFault::Local, current.message());
  std::map<identity::PublicKey, std::vector<git::NamedRef>> held;
  for (auto& ns : *current) held[ns.node] = std::move(ns.refs);
  std::vector<git::NamespaceRefs> stale;
  std::set<identity::PublicKey> complete;  // namespaces now exactly as signed
  for (auto& ns : signed_refs) {
    auto sorted = ns.refs;
    std::sort(sorted.begin(), sorted.end());
    auto it = held.find(ns.node);
    std::vector<git::NamedRef> have = it == held.end() ? std::vector<git::NamedRef>{} : it->second;
    std::sort(have.begin(), have.end());
    if (have == sorted) {
      ++outcome.namespaces_current;
      complete.insert(ns.node);
    } else {
      stale.push_back(ns);
    }
  }
  auto finish_outcome = [&]() -> FetchResult {
    for (const auto& node : complete) (void)store.ClearNamespaceSkip(repo.multihash, node);
    for (const auto& ns : signed_refs) {
      bool is_owner = std::find(owners.begin(), owners.end(), ns.node) != owners.end();
      if (!is_owner) continue;
      if (complete.count(ns.node) != 0)
        outcome.usable = true;
      else
        outcome.delegates_missing.push_back(identity::EncodeDidKey(ns.node));
    }
    outcome.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    if (options.progress) options.progress({outcome.pack_bytes, outcome.seconds});
    return outcome;
  };
  if (stale.empty()) return finish_outcome();

  phase("local-state");
  // 3. Wants: every tip of a stale namespace the local repository lacks.
  std::set<Bytes> want_set;
  for (const auto& ns : stale)
    for (const auto& r : ns.refs)
      if (r.oid.size() == git::OID_BYTES) want_set.insert(r.oid);
  std::vector<Bytes> candidates(want_set.begin(), want_set.end());
  auto present = local->HasObjects(candidates);
  if (!present) return fail(FetchFault::Local, present.message());
  std::vector<Bytes> wants;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (!(*present)[i]) wants.push_back(candidates[i]);
  std::set<Bytes> missing;  // wanted tips this peer does not serve
  if (wants.size() > wire::MAX_FETCH_WANTS) {
    missing.insert(wants.begin() + wire::MAX_FETCH_WANTS, wants.end());
    wants.resize(wire::MAX_FETCH_WANTS);
  }

  // A receiver even when nothing is wanted: tips already present are still walked and checked.
  auto started_receiver = git::PackReceiver::Start(*local);
  if (!started_receiver) return fail(FetchFault::Local, "cannot receive into the local repository: " + started_receiver.message());
  git::PackReceiver receiver = std::move(*started_receiver);
  uint64_t pack_bytes = 0;
  if (!wants.empty()) {
    auto haves = local->ListTips();
    if (!haves) return fail(FetchFault::Local, haves.message());
    if (haves->size() > wire::MAX_FETCH_HAVES) haves->resize(wire::MAX_FETCH_HAVES);
    auto stream = endpoint.OpenStream(peer);
    if (!stream) return fail(FetchFault::Transport, "cannot open a stream: " + stream.message());
    if (!(*stream)->WriteFrame(wire::EncodeReplicationRequest(wire::FetchRequest{repo, wants, *haves})))
      return fail(FetchFault::Transport, "connection lost");
    (void)(*stream)->Finish();
    auto frame = (*stream)->ReadFrame(REPLICATION_IO_TIMEOUT);
    if (!frame) return fail(FetchFault::Transport, "no answer to the fetch: " + frame.message());
    auto answer = wire::DecodeFetchAnswer(*frame);
    if (!answer) return fail(FetchFault::PeerMisbehaved, "bad fetch answer: " + answer.message());
    if (!answer->ok) return fail(FetchFault::PeerLacks, "refused the fetch: " + answer->reason);
    missing.insert(answer->missing.begin(), answer->missing.end());
    std::vector<uint8_t> buffer(256 * 1024);
    auto last_report = SteadyClock::now();
    for (;;) {
      auto n = (*stream)->Read(buffer, REPLICATION_IO_TIMEOUT);
      if (!n)
        return fail(FetchFault::Transport,
                    "transfer interrupted after " + std::to_string(pack_bytes) + " bytes: " + n.message());
      if (*n == 0) break;
      pack_bytes += *n;
      if (auto fed = receiver.Feed(ByteSpan(buffer.data(), *n)); !fed) {
        if (FaultOfPackError(fed.code()) == FetchFault::Local) return fail(FetchFault::Local, fed.message());
        return fail(FetchFault::PeerMisbehaved, "sent a bad pack: " + fed.message());
      }
      if (options.progress && SteadyClock::now() - last_report > std::chrono::milliseconds(100)) {
        last_report = SteadyClock::now();
        options.progress({pack_bytes, std::chrono::duration<double>(last_report - started).count()});
      }
    }
  }

  phase("transfer");
  // 4. Commit namespace by namespace: those whose every tip this peer served (or we hold).
  std::vector<git::NamespaceRefs> commit;
  for (const auto& ns : stale) {
    bool served = std::none_of(ns.refs.begin(), ns.refs.end(),
                               [&](const git::NamedRef& r) { return missing.count(r.oid) != 0; });
    if (served)
      commit.push_back(ns);
    else
      outcome.not_served.push_back(identity::EncodeDidKey(ns.node));
  }
  // The RepoId check: a delegate's default branch must lead by first parents to the root commit
  // the id was derived from; the creator's is tried first.
  std::optional<git::RepoIdCheckSpec> check;
  std::string default_ref = "heads/" + meta.default_branch;
  for (const auto& ns : commit) {
    if (std::find(owners.begin(), owners.end(), ns.node) == owners.end()) continue;
    for (const auto& r : ns.refs)
      if (r.name == default_ref) {
        if (!check) check = git::RepoIdCheckSpec{repo, *creator, {}};
        check->tips.emplace_back(ns.node, r.oid);
      }
  }
  auto committed = receiver.CommitNamespaces(commit, check);
  if (!committed) {
    if (FaultOfPackError(committed.code()) == FetchFault::Local)
      return fail(FetchFault::Local, "cannot store what was received: " + committed.message());
    return fail(FetchFault::PeerMisbehaved, "sent objects that do not verify: " + committed.message());
  }
  phase("verify+commit");
  uint64_t now = UnixMillis();
  for (const auto& node : committed->committed) complete.insert(node);
  for (const auto& skip : committed->skipped) {
    std::string reason = std::string(git::GitErrorName(skip.code)) + ": " + skip.reason;
    outcome.skipped.push_back({identity::EncodeDidKey(skip.node), reason});
    (void)store.RecordNamespaceSkip({RepoBytes(repo), Bytes(skip.node.begin(), skip.node.end()), reason, now});
    // Objects missing for tips the peer sent: an honest store is always connected.
    auto ns = std::find_if(commit.begin(), commit.end(), [&](const auto& n) { return n.node == skip.node; });
    bool sent_by_peer = ns != commit.end() && std::any_of(ns->refs.begin(), ns->refs.end(), [&](const auto& r) {
                          return std::find(wants.begin(), wants.end(), r.oid) != wants.end();
                        });
    if (skip.code == git::GitError::MissingObjects && sent_by_peer && !outcome.peer_fault)
      outcome.peer_fault = "sent a pack that does not connect the tips of " + identity::EncodeDidKey(skip.node);
  }
  for (const auto& node_text : outcome.not_served) {
    auto node = identity::DecodeDidKey(node_text);
    if (!node || complete.count(*node) != 0) continue;
    std::string reason = "not served: " + who + " does not hold its tips";
    outcome.skipped.push_back({node_text, reason});
    (void)store.RecordNamespaceSkip({RepoBytes(repo), Bytes(node->begin(), node->end()), reason, now});
  }
  outcome.pack_bytes = pack_bytes;
  outcome.namespaces_updated = committed->committed.size();
  outcome.objects_dropped = committed->objects_dropped;
  return finish_outcome();
}

/** Score lost by a peer for its own fault in a transfer (Node::score starts at 0). */
constexpr double FETCH_FAULT_SCORE = -5.0;

FetchResult FetchFromSeeders(transport::Endpoint& endpoint, const std::vector<transport::PeerId>& candidates,
                             const EnsureConnected& ensure_connected, const std::filesystem::path& home,
                             storage::Store& store, const identity::RepoId& repo, const FetchOptions& options) {
  std::string errors;
  std::optional<FetchOutcome> best;
  auto note = [&](const std::string& line) { errors += (errors.empty() ? "" : "; ") + line; };
  for (const auto& peer : candidates) {
    if (ensure_connected && !ensure_connected(peer)) continue;
    auto result = FetchRepo(endpoint, peer, home, store, repo, options);
    if (!result) {
      if (result.code() == FetchFault::Local) return result;
      if (result.code() == FetchFault::PeerMisbehaved)
        (void)store.RecordContact(peer, true, FETCH_FAULT_SCORE, UnixMillis());
      note(result.message());
      continue;
    }
    if (result->peer_fault) {
      (void)store.RecordContact(peer, true, FETCH_FAULT_SCORE, UnixMillis());
      note(identity::EncodeDidKey(peer) + ": " + *result->peer_fault);
    }
    if (result->delegates_missing.empty()) return result;
    note(identity::EncodeDidKey(peer) + ": could not provide the namespaces of " +
         std::to_string(result->delegates_missing.size()) + " delegate(s)");
    if (result->usable || !best) {
      // Later attempts add to what this one committed; keep the last usable view.
      uint64_t bytes = result->pack_bytes + (best ? best->pack_bytes : 0);
      size_t updated = result->namespaces_updated + (best ? best->namespaces_updated : 0);
      best = std::move(*result);
      best->pack_bytes = bytes;
      best->namespaces_updated = updated;
    }
  }
  if (best && best->usable) return *best;
  if (candidates.empty()) return Fail(FetchFault::PeerLacks, "no known peer holds " + repo.ToString());
  if (errors.empty()) errors = "no candidate could be reached";
  return Fail(FetchFault::PeerLacks, errors);
}

}  // namespace p2pgit::node
