#include "git/pack_transfer.h"

#include <optional>
#include <set>

#include "git/detail/oid.h"
#include "git/detail/pack_stream.h"
#include "git/detail/process.h"
#include "git/detail/quarantine.h"
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
  bool self_contained = false;  // index-pack proved the pack self-contained and connected
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

  /** Maps index-pack's exit to a typed error. */
  GitStatus IndexPackFailed(const detail::GitExit& exit) {
    std::string line = exit.Line();
    GitError code = GitError::BadPack;
    if (line.find("did not receive expected object") != std::string::npos) code = GitError::MissingObjects;
    else if (line.find("maximum allowed size") != std::string::npos) code = GitError::TooLarge;
    std::string what = code == GitError::MissingObjects ? "pack rejected, an object is missing: "
                                                        : "pack rejected: ";
    if (line.find("early EOF") != std::string::npos) what = "pack rejected, truncated: ";
    return Failed(code, what + line);
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
  if (options.check_self_contained) args.push_back("--check-self-contained-and-connected");
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
    // index-pack stopped reading: it found the stream invalid.
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
  // With --check-self-contained-and-connected, exit 1 (not die()'s 128) only says the pack
  // links to objects outside itself: indexed fine, connectivity is walked at commit.
  bool outside_links = d.options.check_self_contained && exit.exit_code == 1;
  if (exit.exit_code != 0 && !outside_links) return d.IndexPackFailed(exit);
  d.self_contained = d.options.check_self_contained && exit.exit_code == 0;
  d.finished = true;
  return Ok{};
}

GitStatus PackReceiver::Commit(const std::vector<NamespaceRefs>& signed_refs, const std::optional<RepoIdCheck>& check) {
  // Argument errors are the caller's, not the peer's: checked before touching anything, and
  // they leave the receiver usable.
  std::vector<Bytes> tips;
  for (const auto& ns : signed_refs)
    for (const auto& ref : ns.refs) {
      if (auto st = CheckNamespaceRefName(ref.name); !st) return st;
      if (auto st = detail::CheckOid(ref.oid); !st) return st;
      tips.push_back(ref.oid);
    }
  if (auto st = CommitObjects(tips, check); !st) return st;
  // The objects are in the store now; a failed ref update leaves only unreferenced objects
  // (harmless, collectable), never a ref to something missing.
  auto store = StorageRepo::Open(m_impl->store_dir);
  if (!store) return store.error();
  return store->SetNamespaces(signed_refs);
}

GitStatus PackReceiver::CommitObjects(const std::vector<Bytes>& tip_oids, const std::optional<RepoIdCheck>& check) {
  Impl& d = *m_impl;
  if (d.failure) return *d.failure;
  if (d.committed) return Fail(GitError::InvalidArgument, "pack already committed");
  std::set<std::string> tips;
  for (const auto& oid : tip_oids) {
    if (auto st = detail::CheckOid(oid); !st) return st;
    tips.insert(ToHex(oid));
  }
  if (check) {
    if (auto st = detail::CheckOid(check->tip); !st) return st;
    tips.insert(ToHex(check->tip));
  }
  if (auto st = Finish(); !st) return st;

  if (!tips.empty() && d.self_contained) {
    // Every link inside the pack resolved inside the pack: the tips need only be in it (or in
    // the store already, whose refs were checked when set).
    std::vector<Bytes> raw;
    for (const auto& t : tips) raw.push_back(*detail::ParseOidHex(t));
    auto present = detail::HasObjectsIn(d.store_dir, raw, d.quarantine.Env());
    if (!present) return d.Failed(present.code(), present.message());
    for (size_t i = 0; i < raw.size(); ++i)
      if (!(*present)[i])
        return d.Failed(GitError::MissingObjects,
                        "pack rejected, a signed tip is not fully connected: missing " + ToHex(raw[i]));
  } else if (!tips.empty()) {
    // Only what the store's refs do not already reach is walked: those were checked when they
    // were set (git's own check_connected does the same).
    std::string input;
    for (const auto& t : tips) input += t + "\n";
    auto run = detail::RunGit(InGitDir(d.store_dir, {"rev-list", "--objects", "--stdin", "--not", "--all", "--quiet"},
                                       d.quarantine.Env()),
                              input);
    if (!run) return d.Failed(run.code(), run.message());
    if (run->exit_code != 0)
      return d.Failed(GitError::MissingObjects,
                      "pack rejected, a signed tip is not fully connected: " + run->exit.Line());
  }
  if (check) {
    auto root = FindRootCommitFrom(d.store_dir, check->tip, {d.quarantine.dir()});
    if (!root) return d.Failed(GitError::MissingObjects, "pack rejected: " + root.message());
    if (identity::ComputeRepoId(*root, check->creator) != check->repo_id)
      return d.Failed(GitError::RepoIdMismatch, "the received history has root commit " + ToHex(*root) +
                                                    ", which with its creator does not give " +
                                                    check->repo_id.ToString());
  }
  if (auto st = d.quarantine.Migrate(); !st) return d.Failed(st.code(), st.message());
  d.committed = true;
  return Ok{};
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
