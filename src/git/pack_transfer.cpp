#include "git/pack_transfer.h"

#include <optional>
#include <set>

#include "git/detail/oid.h"
#include "git/detail/pack_stream.h"
#include "git/detail/process.h"
#include "git/detail/quarantine.h"
#include "git/detail/reachable.h"
#include "git/detail/tree_audit.h"
#include "git/repo_inspect.h"

namespace p2pgit::git {

using detail::GitProcess;
using detail::InGitDir;

GitResult<ServeStats> ServePack(const StorageRepo& store, const std::vector<Bytes>& wants,
                                const std::vector<Bytes>& haves, const PackSink& sink, ServeOptions options) {
  if (wants.empty()) return Fail(GitError::InvalidArgument, "no objects wanted");
  std::vector<Bytes> all(wants);
  all.insert(all.end(), haves.begin(), haves.end());
  for (const auto& oid : all)
    if (auto st = detail::CheckOid(oid); !st) return st.error();
  auto has = detail::HasObjectsIn(store.path(), all);
  if (!has) return has.error();
  for (size_t i = 0; i < wants.size(); ++i)
    if (!(*has)[i]) return Fail(GitError::NotFound, "this node does not have object " + ToHex(wants[i]));
  // An unknown have would make pack-objects fail ("bad revision"); the requester may well hold
  // objects we never saw, they just cannot serve as delta bases or walk boundaries here.
  std::vector<Bytes> known_haves;
  for (size_t i = 0; i < haves.size(); ++i)
    if ((*has)[wants.size() + i]) known_haves.push_back(haves[i]);
  return detail::StreamPack(store.path(), wants, known_haves, options.thin, sink);
}

struct PackReceiver::Impl {
  std::filesystem::path store_dir;
  ReceiveOptions options;
  detail::Quarantine quarantine;
  std::optional<GitProcess> index_pack;
  uint64_t bytes = 0;
  bool finished = false;
  bool committed = false;
  std::optional<Failure<GitError>> failure;

  Impl(std::filesystem::path dir, ReceiveOptions opts, detail::Quarantine q)
      : store_dir(std::move(dir)), options(opts), quarantine(std::move(q)) {}

  GitStatus Failed(GitError code, std::string message) {
    if (index_pack) index_pack->Kill();
    index_pack.reset();
    quarantine.Discard();
    failure = Failure<GitError>{code, std::move(message)};
    return *failure;
  }

  /** Maps index-pack's exit to a typed error: the sender's (BadPack, MissingObjects, TooLarge)
   *  or this machine's (Io: index-pack could not write — disk full, permissions). */
  GitStatus IndexPackFailed(const detail::GitExit& exit) {
    std::string line = exit.Line();
    if (IsLocalWriteFailure(line)) return Failed(GitError::Io, "cannot store the received pack on this machine: " + line);
    GitError code = GitError::BadPack;
    if (line.find("did not receive expected object") != std::string::npos) code = GitError::MissingObjects;
    else if (line.find("maximum allowed size") != std::string::npos) code = GitError::TooLarge;
    std::string what = code == GitError::MissingObjects ? "pack rejected, an object is missing: "
                                                        : "pack rejected: ";
    if (line.find("early EOF") != std::string::npos) what = "pack rejected, truncated: ";
    return Failed(code, what + line);
  }

  /** What index-pack says when the local disk, not the pack, failed it. */
  static bool IsLocalWriteFailure(const std::string& line) {
    for (const char* local : {"No space left on device", "Disk quota exceeded", "Read-only file system",
                              "Permission denied", "unable to create", "Too many open files", "write error",
                              "cannot store pack file", "cannot store index file", "unable to write"})
      if (line.find(local) != std::string::npos) return true;
    return false;
  }
};

PackReceiver::PackReceiver(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
PackReceiver::PackReceiver(PackReceiver&&) noexcept = default;
PackReceiver& PackReceiver::operator=(PackReceiver&& other) noexcept {
  if (this != &other) {
    Abort();
    m_impl = std::move(other.m_impl);
  }
  return *this;
}
PackReceiver::~PackReceiver() { Abort(); }

GitResult<PackReceiver> PackReceiver::Start(const StorageRepo& store, ReceiveOptions options) {
  auto quarantine = detail::Quarantine::Create(store.path());
  if (!quarantine) return quarantine.error();
  auto impl = std::make_unique<Impl>(store.path(), options, std::move(*quarantine));
  // --fix-thin completes a thin pack from the store (through the alternate); index-pack hashes
  // every object as it reads. The cap is also passed to index-pack so it stops on its own.
  std::vector<std::string> args = {"index-pack", "--stdin", "--fix-thin",
                                   "--max-input-size=" + std::to_string(options.max_pack_bytes)};
  if (options.strict) args.push_back("--strict");
  auto started = GitProcess::Start(InGitDir(store.path(), std::move(args), impl->quarantine.Env()), true, true);
  if (!started) return started.error();
  impl->index_pack.emplace(std::move(*started));
  return PackReceiver(std::move(impl));
}

GitStatus PackReceiver::Feed(ByteSpan bytes) {
  Impl& d = *m_impl;
  if (d.failure) return *d.failure;
  if (d.finished || !d.index_pack) return Fail(GitError::InvalidArgument, "pack bytes after the end of the pack");
  if (bytes.size() > d.options.max_pack_bytes - d.bytes)
    return d.Failed(GitError::TooLarge,
                    "pack rejected: larger than " + std::to_string(d.options.max_pack_bytes) + " bytes");
  d.bytes += bytes.size();
  if (!d.index_pack->Write(bytes)) {
    // index-pack stopped reading: it found the stream invalid (or could not write it).
    detail::GitExit exit = d.index_pack->Wait();
    d.index_pack.reset();
    return d.IndexPackFailed(exit);
  }
  return Ok{};
}

GitStatus PackReceiver::Finish() {
  Impl& d = *m_impl;
  if (d.failure) return *d.failure;
  if (d.finished) return Ok{};
  if (d.bytes == 0) {
    // Nothing to receive (the requester had everything): not a truncated pack.
    d.index_pack->Kill();
    d.index_pack.reset();
    d.finished = true;
    return Ok{};
  }
  d.index_pack->CloseStdin();
  std::string out;
  uint8_t buffer[256];
  for (;;) {
    ssize_t n = d.index_pack->Read(buffer);
    if (n <= 0) break;
    if (out.size() < 4096) out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
  }
  detail::GitExit exit = d.index_pack->Wait();
  d.index_pack.reset();
  if (exit.exit_code != 0) return d.IndexPackFailed(exit);
  d.finished = true;
  return Ok{};
}

namespace {

std::vector<std::string> TipsHex(const NamespaceRefs& ns) {
  std::set<std::string> distinct;
  for (const auto& r : ns.refs) distinct.insert(ToHex(r.oid));
  return {distinct.begin(), distinct.end()};
}

GitStatus CheckRefArguments(const std::vector<NamespaceRefs>& namespaces) {
  for (const auto& ns : namespaces)
    for (const auto& ref : ns.refs) {
      if (auto st = CheckNamespaceRefName(ref.name); !st) return st;
      if (auto st = detail::CheckOid(ref.oid); !st) return st;
    }
  return Ok{};
}

/** Errors that concern this machine, not the objects: they stop the whole commit. */
bool IsLocalFailure(GitError code) { return code == GitError::Io || code == GitError::GitFailed; }

/**
 * The one verification path: groups of tips (namespaces) in order, each walked from its tips
 * down to what the store's refs and the already-accepted groups reach, its new objects audited,
 * the RepoId checked on the first candidate that passes. `all_or_nothing` stops at the first
 * failure.
 */
class NamespaceVerifier {
 public:
  NamespaceVerifier(const std::filesystem::path& store_dir, const detail::Quarantine& quarantine,
                    const std::optional<RepoIdCheckSpec>& check, bool all_or_nothing)
      : m_store_dir(store_dir), m_quarantine(quarantine), m_check(check), m_all_or_nothing(all_or_nothing) {}

  /** @return a local failure (Io, GitFailed) that stops everything; otherwise see the accessors. */
  GitStatus Run(const std::vector<NamespaceRefs>& groups) {
    std::vector<std::string> accepted_tips;
    for (size_t i = 0; i < groups.size(); ++i) {
      auto failure = VerifyOne(groups[i], accepted_tips);
      if (!failure) {
        if (IsLocalFailure(failure.code())) return failure.error();
        m_skipped.push_back({groups[i].node, failure.code(), failure.message()});
        if (m_all_or_nothing) return Ok{};
        continue;
      }
      m_accepted.push_back(i);
      for (auto& t : TipsHex(groups[i])) accepted_tips.push_back(std::move(t));
    }
    return Ok{};
  }

  const std::vector<size_t>& accepted() const { return m_accepted; }
  std::vector<SkippedNamespace>& skipped() { return m_skipped; }
  const detail::NewObjects& kept() const { return m_kept; }
  bool check_settled() const { return m_check_settled; }

 private:
  GitStatus VerifyOne(const NamespaceRefs& ns, const std::vector<std::string>& exclude) {
    auto walked = detail::WalkNewObjects(m_store_dir, m_quarantine, TipsHex(ns), exclude);
    if (!walked) return walked.error();
    if (walked->count > 0)
      if (auto audited = detail::AuditObjects(m_store_dir, m_quarantine.Env(), walked->Oids()); !audited) return audited;
    if (m_check && !m_check_settled) {
      for (const auto& [owner, tip] : m_check->tips) {
        if (owner != ns.node) continue;
        auto root = FindRootCommitFrom(m_store_dir, tip, {m_quarantine.dir()});
        if (!root) return Fail(GitError::MissingObjects, root.message());
        if (identity::ComputeRepoId(*root, m_check->creator) != m_check->repo_id)
          return Fail(GitError::RepoIdMismatch, "the history has root commit " + ToHex(*root) +
                                                    ", which with its creator does not give " +
                                                    m_check->repo_id.ToString());
        m_check_settled = true;
        break;
      }
    }
    m_kept.listing += walked->listing;
    m_kept.count += walked->count;
    return Ok{};
  }

  const std::filesystem::path& m_store_dir;
  const detail::Quarantine& m_quarantine;
  const std::optional<RepoIdCheckSpec>& m_check;
  bool m_all_or_nothing;
  std::vector<size_t> m_accepted;
  std::vector<SkippedNamespace> m_skipped;
  detail::NewObjects m_kept;
  bool m_check_settled = false;
};

/** All or nothing: every group passes, then only what they reach stays in the quarantine. */
GitStatus VerifyAllAndKeepReachable(const std::filesystem::path& store_dir, detail::Quarantine& quarantine,
                                    std::vector<NamespaceRefs> groups, const std::optional<RepoIdCheck>& check) {
  std::optional<RepoIdCheckSpec> spec;
  if (check) {
    // The check's tip is one more group, walked and audited like the refs.
    spec = RepoIdCheckSpec{check->repo_id, check->creator, {{check->creator, check->tip}}};
    groups.insert(groups.begin(), NamespaceRefs{check->creator, {{"heads/check", check->tip}}});
  }
  NamespaceVerifier verifier(store_dir, quarantine, spec, true);
  if (auto st = verifier.Run(groups); !st) return st;
  if (!verifier.skipped().empty()) {
    const auto& s = verifier.skipped().front();
    return Fail(s.code, "pack rejected, " + s.reason);
  }
  auto dropped = detail::KeepOnlyReachable(store_dir, quarantine, verifier.kept());
  if (!dropped) return dropped.error();
  return Ok{};
}

}  // namespace

GitStatus PackReceiver::Commit(const std::vector<NamespaceRefs>& signed_refs, const std::optional<RepoIdCheck>& check) {
  // Argument errors are the caller's, not the peer's: checked before touching anything, and
  // they leave the receiver usable.
  if (auto st = CheckRefArguments(signed_refs); !st) return st;
  if (check)
    if (auto st = detail::CheckOid(check->tip); !st) return st;
  Impl& d = *m_impl;
  if (d.failure) return *d.failure;
  if (d.committed) return Fail(GitError::InvalidArgument, "pack already committed");
  if (auto st = Finish(); !st) return st;
  if (auto st = VerifyAllAndKeepReachable(d.store_dir, d.quarantine, signed_refs, check); !st)
    return d.Failed(st.code(), st.message());
  if (auto st = d.quarantine.Migrate(); !st) return d.Failed(st.code(), st.message());
  d.committed = true;
  // The objects are in the store now; a failed ref update leaves only unreferenced objects
  // (verified, never served), never a ref to something missing.
  auto store = StorageRepo::Open(d.store_dir);
  if (!store) return store.error();
  return store->SetNamespaces(signed_refs);
}

GitStatus PackReceiver::CommitObjects(const std::vector<Bytes>& tip_oids, const std::optional<RepoIdCheck>& check) {
  NamespaceRefs group{check ? check->creator : identity::PublicKey{}, {}};
  for (size_t i = 0; i < tip_oids.size(); ++i) {
    if (auto st = detail::CheckOid(tip_oids[i]); !st) return st;
    group.refs.push_back({"heads/t" + std::to_string(i), tip_oids[i]});
  }
  if (check)
    if (auto st = detail::CheckOid(check->tip); !st) return st;
  Impl& d = *m_impl;
  if (d.failure) return *d.failure;
  if (d.committed) return Fail(GitError::InvalidArgument, "pack already committed");
  if (auto st = Finish(); !st) return st;
  std::vector<NamespaceRefs> groups;
  if (!group.refs.empty()) groups.push_back(group);
  if (auto st = VerifyAllAndKeepReachable(d.store_dir, d.quarantine, groups, check); !st)
    return d.Failed(st.code(), st.message());
  if (auto st = d.quarantine.Migrate(); !st) return d.Failed(st.code(), st.message());
  d.committed = true;
  return Ok{};
}

GitResult<CommitReport> PackReceiver::CommitNamespaces(const std::vector<NamespaceRefs>& candidates,
                                                      const std::optional<RepoIdCheckSpec>& check) {
  Impl& d = *m_impl;
  if (d.failure) return *d.failure;
  if (d.committed) return Fail(GitError::InvalidArgument, "pack already committed");
  if (auto st = Finish(); !st) return st.error();
  CommitReport report;
  // A namespace with a name or oid the ref policy refuses is skipped up front (admission never
  // accepts one; a store written by older code may still hold one).
  std::vector<NamespaceRefs> valid;
  for (const auto& ns : candidates) {
    if (auto st = CheckRefArguments({ns}); !st) {
      report.skipped.push_back({ns.node, st.code(), st.message()});
      continue;
    }
    valid.push_back(ns);
  }
  NamespaceVerifier verifier(d.store_dir, d.quarantine, check, false);
  if (auto st = verifier.Run(valid); !st) return d.Failed(st.code(), st.message()).error();
  for (auto& s : verifier.skipped()) report.skipped.push_back(std::move(s));
  auto dropped = detail::KeepOnlyReachable(d.store_dir, d.quarantine, verifier.kept());
  if (!dropped) return d.Failed(dropped.code(), dropped.message()).error();
  report.objects_dropped = *dropped;
  report.objects_kept = verifier.kept().count;
  if (auto st = d.quarantine.Migrate(); !st) return d.Failed(st.code(), st.message()).error();
  d.committed = true;

  std::vector<NamespaceRefs> accepted;
  for (size_t i : verifier.accepted()) accepted.push_back(valid[i]);
  if (accepted.empty()) return report;
  auto store = StorageRepo::Open(d.store_dir);
  if (!store) return store.error();
  auto together = store->SetNamespaces(accepted);
  if (together) {
    for (const auto& ns : accepted) report.committed.push_back(ns.node);
    return report;
  }
  if (together.code() == GitError::Io) return together.error();
  // The one transaction failed: each namespace alone, to find the one git refuses.
  for (const auto& ns : accepted) {
    auto st = store->SetNamespace(ns.node, ns.refs);
    if (st) {
      report.committed.push_back(ns.node);
    } else {
      if (st.code() == GitError::Io) return st.error();
      report.skipped.push_back({ns.node, st.code(), st.message()});
    }
  }
  return report;
}

void PackReceiver::Abort() {
  if (!m_impl) return;
  if (m_impl->index_pack) m_impl->index_pack->Kill();
  m_impl->index_pack.reset();
  m_impl->quarantine.Discard();
  if (!m_impl->committed && !m_impl->failure)
    m_impl->failure = Failure<GitError>{GitError::Cancelled, "pack transfer aborted"};
}

uint64_t PackReceiver::bytes_received() const { return m_impl ? m_impl->bytes : 0; }

}  // namespace p2pgit::git
