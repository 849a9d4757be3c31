// Moving objects between stores as git packs: the serving side streams what `git pack-objects`
// writes, the receiving side pipes the bytes as they arrive into `git index-pack` inside a
// quarantine, and refs move only after every object is hash-checked and every signed tip is
// connected. The transport (QUIC streams) is the caller's: this module sees byte spans.
//
// Threads: both sides block (on the child's pipes); run them on a worker, never on the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "git/error.h"
#include "git/storage.h"
#include "identity/did.h"

namespace p2pgit::git {

/** Receives the pack bytes in order; returns false to stop the transfer (Cancelled). */
using PackSink = std::function<bool(ByteSpan)>;

/** Bytes handed to the sink at a time (the read size from pack-objects' pipe). */
inline constexpr size_t PACK_CHUNK_BYTES = 64 * 1024;
/** Default cap on one received pack. Threat: a peer streaming an endless pack to fill the disk.
 *  Far above any repository we expect (the benchmark's is ~0.1 GB); the node may lower it. */
inline constexpr uint64_t DEFAULT_MAX_PACK_BYTES = 16ull << 30;

struct ServeOptions {
  /** Thin pack: deltas against objects the requester said it has, left out of the pack. The
   *  receiver completes them (index-pack --fix-thin). */
  bool thin = true;
};

struct ServeStats {
  uint64_t bytes = 0;
};

/**
 * Streams a pack holding every object reachable from `wants` and not from `haves` into `sink`,
 * as `git pack-objects --revs --stdout` produces it (on-disk deltas are reused, nothing is
 * recompressed), in PACK_CHUNK_BYTES pieces; the whole pack is never in memory.
 * Haves this store does not know are ignored (a requester may have objects we lack).
 * @return NotFound (a want the store lacks), InvalidArgument (oid length), Cancelled (the sink
 * returned false; pack-objects is killed), GitFailed (pack-objects failed).
 */
GitResult<ServeStats> ServePack(const StorageRepo& store, const std::vector<Bytes>& wants,
                                const std::vector<Bytes>& haves, const PackSink& sink, ServeOptions options = {});

struct ReceiveOptions {
  /** index-pack --strict: also checks every object's format and links. Off by default, like
   *  git clone (transfer.fsckObjects=false): objects are hash-checked, must be reachable from
   *  signed tips, and the trees among them pass the targeted hostile-content audit
   *  (detail/tree_audit.h) before anything moves; --strict costs +42% of the receive time on
   *  the benchmark repository (docs/GIT-LAYER.md). */
  bool strict = false;
  uint64_t max_pack_bytes = DEFAULT_MAX_PACK_BYTES;
};

/** Optional check run inside the quarantine before anything moves: the root commit (first
 *  parents from `tip`) and the creator must give `repo_id` (clone of an unknown repository). */
struct RepoIdCheck {
  identity::RepoId repo_id;
  identity::PublicKey creator{};
  Bytes tip;  // a commit (or a tag of one) of the default branch
};

/** The RepoId check of a per-namespace commit: `tips` are candidate namespaces' default-branch
 *  tips in trust order (creator first). The first candidate that passes settles the check; a
 *  candidate before it that fails is skipped (RepoIdMismatch), so one delegate's bad history
 *  does not hide another's good one. */
struct RepoIdCheckSpec {
  identity::RepoId repo_id;
  identity::PublicKey creator{};
  std::vector<std::pair<identity::PublicKey, Bytes>> tips;
};

/** A namespace a commit left as it was, and why. */
struct SkippedNamespace {
  identity::PublicKey node{};
  GitError code = GitError::MissingObjects;  // MissingObjects, HostileContent, RepoIdMismatch,
                                             // InvalidArgument, RefConflict, GitFailed
  std::string reason;
};

struct CommitReport {
  std::vector<identity::PublicKey> committed;  // now exactly as signed, in the order given
  std::vector<SkippedNamespace> skipped;
  uint64_t objects_kept = 0;     // new objects that entered the store
  uint64_t objects_dropped = 0;  // received objects no committed tip reaches: never entered
};

/**
 * One incoming pack. Start() creates a quarantine (objects/incoming-*) in the store and starts
 * `git index-pack --stdin --fix-thin` in it; Feed() pipes bytes to it as they arrive; Commit()
 * verifies and publishes. Any failure, Abort(), or destroying the receiver before Commit()
 * succeeded deletes the quarantine: the store is exactly as it was.
 *
 * Errors are typed for the caller's peer scoring: BadPack (bytes are not a valid pack: bad
 * hash, zlib error, truncated), MissingObjects (valid, but a signed tip is not connected),
 * TooLarge (above max_pack_bytes) are the sender's; Io (disk full, permissions) and GitFailed
 * are this machine's. Once a call failed, later calls return the same error.
 */
class PackReceiver {
 public:
  static GitResult<PackReceiver> Start(const StorageRepo& store, ReceiveOptions options = {});
  PackReceiver(PackReceiver&&) noexcept;
  PackReceiver& operator=(PackReceiver&&) noexcept;
  ~PackReceiver();

  /** Passes the next bytes of the pack to index-pack; blocks while it is behind (so a slow
   *  disk slows the sender through the transport's flow control). @return BadPack when
   *  index-pack already rejected the stream, TooLarge. */
  GitStatus Feed(ByteSpan bytes);

  /** The pack is complete: waits for index-pack to finish hashing and resolving deltas. No
   *  bytes at all is valid (the requester already had everything). Called by Commit if needed.
   *  @return BadPack (including a truncated pack), MissingObjects (a thin-pack base absent). */
  GitStatus Finish();

  /**
   * Verifies and publishes, all or nothing: every tip of `signed_refs` must be fully connected
   * (a tip the store holds is walked too unless a ref already reaches it), the new objects they
   * reach must pass the hostile-content audit, `check` (if given) must hold; then only the
   * objects the tips reach move into the store (the rest are dropped) and each namespace is set
   * to exactly its refs in one transaction (StorageRepo::SetNamespaces).
   * @return MissingObjects, HostileContent, RepoIdMismatch, InvalidArgument, RefConflict, Io,
   * plus Finish's.
   */
  GitStatus Commit(const std::vector<NamespaceRefs>& signed_refs, const std::optional<RepoIdCheck>& check = std::nullopt);

  /**
   * Verifies and publishes namespace by namespace, in the order given (delegates first): a
   * namespace whose objects are missing, that reaches hostile content, fails `check`, or whose
   * refs git refuses is skipped and reported; it never blocks another. Walks are cumulative (a
   * namespace's walk stops at the tips already accepted), so shared history is walked once; the
   * ref update is one transaction, retried per namespace only to isolate a culprit.
   * @return the report; a failure only for what concerns the whole pack (Finish's errors) or
   * this machine (Io, GitFailed).
   */
  GitResult<CommitReport> CommitNamespaces(const std::vector<NamespaceRefs>& candidates,
                                           const std::optional<RepoIdCheckSpec>& check = std::nullopt);

  /** Commit without refs: checks `tips` connected, the audit and `check`, then moves the objects
   *  the tips reach into the store (the rest are dropped). For callers that set refs later
   *  (import, or verification beyond this module). */
  GitStatus CommitObjects(const std::vector<Bytes>& tips, const std::optional<RepoIdCheck>& check = std::nullopt);

  /** Kills index-pack and deletes the quarantine. Idempotent. */
  void Abort();

  uint64_t bytes_received() const;

 private:
  struct Impl;
  explicit PackReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace p2pgit::git
