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
  auto has = repo->HasObjects(request.wants);
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
  auto fail = [&](const std::string& what) -> FetchResult { return Fail(std::string(), who + ": " + what); };

  // 1. The signed state, through the same admission as gossip.
  {
    auto stream = endpoint.OpenStream(peer);
    if (!stream) return fail("cannot open a stream: " + stream.message());
    if (!(*stream)->WriteFrame(wire::EncodeReplicationRequest(wire::RepoStateRequest{repo})))
      return fail("connection lost");
    (void)(*stream)->Finish();
    routing::StoreRoutingState state(store);
    gossip::Admission admission(state);
    for (size_t n = 0;; ++n) {
      auto frame = (*stream)->ReadFrame(REPLICATION_IO_TIMEOUT);
      if (!frame) {
        if (frame.code() == transport::TransportError::EndOfStream) break;
        return fail("repo state: " + frame.message());
      }
      if (n >= wire::MAX_REPO_STATE_MESSAGES) return fail("sent too many messages");
      auto result = admission.Admit(*frame, UnixMillis());
      if (gossip::IsMisbehaviour(result.verdict))
        return fail(std::string("sent an invalid signed message (") + gossip::VerdictName(result.verdict) + "): " +
                    result.reason);
    }
  }
  phase("repo-state");
  auto record = store.GetRepo(repo.multihash);
  if (!record.ok()) return fail("cannot read the store: " + record.message());
  if (!record->has_value()) return fail("does not know " + repo.ToString());
  const storage::RepoRecord& meta = **record;
  auto creator = identity::PublicKeyFromBytes(meta.creator);
  if (!creator) return fail("bad creator in the repo record");

  // 2. What the owners signed, namespace by namespace.
  auto headers = store.ListRefNamespaces(repo.multihash);
  if (!headers) return fail("cannot read the store: " + headers.message());
  std::vector<git::NamespaceRefs> signed_refs;
  for (const auto& h : *headers) {
    auto refs = store.GetRefs(repo.multihash, h.node_id);
    auto node = identity::PublicKeyFromBytes(h.node_id);
    if (!refs.ok() || !refs->has_value() || !node) continue;
    git::NamespaceRefs ns{*node, {}};
    for (const auto& r : (*refs)->refs) ns.refs.push_back({r.name, r.oid});
    signed_refs.push_back(std::move(ns));
  }
  if (signed_refs.empty()) return fail("no signed refs for " + repo.ToString());

  auto storage_path = git::StoragePath(home, repo);
  auto local = git::StorageRepo::OpenOrCreate(storage_path);
  if (!local) return fail("cannot create the local repository: " + local.message());
  (void)local->RemoveStaleQuarantines(STALE_QUARANTINE_AGE);  // else nothing ever reclaims them
  if (auto s = store.SetRepoPath(repo.multihash, storage_path); !s) return fail("cannot record the repository: " + s.message());

  FetchOutcome outcome;
  outcome.storage = storage_path;
  auto current = local->ListNamespaces();
  if (!current) return fail(current.message());
  std::map<identity::PublicKey, std::vector<git::NamedRef>> held;
  for (auto& ns : *current) held[ns.node] = std::move(ns.refs);
  std::vector<git::NamespaceRefs> stale;
  for (auto& ns : signed_refs) {
    auto sorted = ns.refs;
    std::sort(sorted.begin(), sorted.end());
    auto it = held.find(ns.node);
    std::vector<git::NamedRef> have = it == held.end() ? std::vector<git::NamedRef>{} : it->second;
    std::sort(have.begin(), have.end());
    if (have == sorted)
      ++outcome.namespaces_current;
    else
      stale.push_back(ns);
  }
  if (stale.empty()) {
    outcome.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    return outcome;
  }

  phase("local-state");
  // 3. Wants: every tip of a stale namespace the local repository lacks.
  std::set<Bytes> want_set;
  for (const auto& ns : stale)
    for (const auto& r : ns.refs) want_set.insert(r.oid);
  std::vector<Bytes> candidates(want_set.begin(), want_set.end());
  auto present = local->HasObjects(candidates);
  if (!present) return fail(present.message());
  std::vector<Bytes> wants;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (!(*present)[i]) wants.push_back(candidates[i]);
  if (wants.size() > wire::MAX_FETCH_WANTS) wants.resize(wire::MAX_FETCH_WANTS);

  std::set<Bytes> missing;
  uint64_t pack_bytes = 0;
  std::optional<git::PackReceiver> receiver;
  if (!wants.empty()) {
    auto haves = local->ListTips();
    if (!haves) return fail(haves.message());
    if (haves->size() > wire::MAX_FETCH_HAVES) haves->resize(wire::MAX_FETCH_HAVES);
    auto stream = endpoint.OpenStream(peer);
    if (!stream) return fail("cannot open a stream: " + stream.message());
    if (!(*stream)->WriteFrame(wire::EncodeReplicationRequest(wire::FetchRequest{repo, wants, *haves})))
      return fail("connection lost");
    (void)(*stream)->Finish();
    auto frame = (*stream)->ReadFrame(REPLICATION_IO_TIMEOUT);
    if (!frame) return fail("no answer to the fetch: " + frame.message());
    auto answer = wire::DecodeFetchAnswer(*frame);
    if (!answer) return fail("bad fetch answer: " + answer.message());
    if (!answer->ok) return fail("refused the fetch: " + answer->reason);
    missing.insert(answer->missing.begin(), answer->missing.end());
    if (missing.size() == wants.size()) return fail("holds none of the signed tips");
    auto started_receiver = git::PackReceiver::Start(*local);
    if (!started_receiver) return fail("cannot receive: " + started_receiver.message());
    receiver.emplace(std::move(*started_receiver));
    std::vector<uint8_t> buffer(256 * 1024);
    auto last_report = SteadyClock::now();
    for (;;) {
      auto n = (*stream)->Read(buffer, REPLICATION_IO_TIMEOUT);
      if (!n) return fail("transfer interrupted after " + std::to_string(pack_bytes) + " bytes: " + n.message());
      if (*n == 0) break;
      pack_bytes += *n;
      if (auto fed = receiver->Feed(ByteSpan(buffer.data(), *n)); !fed) return fail("sent a bad pack: " + fed.message());
      if (options.progress && SteadyClock::now() - last_report > std::chrono::milliseconds(100)) {
        last_report = SteadyClock::now();
        options.progress({pack_bytes, std::chrono::duration<double>(last_report - started).count()});
      }
    }
  }

  phase("transfer");
  // 4. Commit the namespaces whose every tip is now available, to exactly their signed values.
  std::vector<git::NamespaceRefs> commit;
  for (const auto& ns : stale) {
    bool complete = std::none_of(ns.refs.begin(), ns.refs.end(), [&](const git::NamedRef& r) { return missing.count(r.oid) != 0; });
    if (complete)
      commit.push_back(ns);
    else
      outcome.not_served.push_back(identity::EncodeDidKey(ns.node));
  }
  // The RepoId check: the creator's (else a delegate's) default branch must lead by first
  // parents to the root commit the id was derived from.
  std::optional<git::RepoIdCheck> check;
  std::string default_ref = "heads/" + meta.default_branch;
  std::vector<identity::PublicKey> owners = {*creator};
  for (const auto& d : meta.delegates)
    if (auto k = identity::PublicKeyFromBytes(d)) owners.push_back(*k);
  for (const auto& owner : owners) {
    if (check) break;
    for (const auto& ns : commit) {
      if (ns.node != owner) continue;
      for (const auto& r : ns.refs)
        if (r.name == default_ref) check = git::RepoIdCheck{repo, *creator, r.oid};
    }
  }
  if (receiver) {
    auto committed = receiver->Commit(commit, check);
    if (!committed) return fail("sent objects that do not verify: " + committed.message());
  } else if (!commit.empty()) {
    if (check) {
      if (auto v = git::VerifyRepoId(storage_path, check->tip, repo, *creator); !v)
        return fail("signed refs do not match the repo id: " + v.message());
    }
    if (auto s = local->SetNamespaces(commit); !s) return fail("cannot set refs: " + s.message());
  }
  phase("verify+commit");
  outcome.pack_bytes = pack_bytes;
  outcome.namespaces_updated = commit.size();
  outcome.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  if (options.progress) options.progress({pack_bytes, outcome.seconds});
  return outcome;
}

}  // namespace p2pgit::node
