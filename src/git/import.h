// The local half of `p2pgit share`: bringing a user's working repository into the store.
#pragma once

#include <filesystem>
#include <vector>

#include "git/error.h"
#include "git/storage.h"

namespace p2pgit::git {

struct ImportResult {
  /** The sharer's namespace: every branch (heads/…) and tag (tags/…) of the working repository,
   *  sorted by name. Annotated tags point at their tag object. */
  std::vector<NamedRef> refs;
  size_t packs_linked = 0;    // pack files hard-linked (or copied) from the working repository
  size_t loose_linked = 0;    // loose objects hard-linked (or copied)
  bool streamed = false;      // the fallback ran: pack-objects from the working repository
  uint64_t streamed_bytes = 0;
  /** Objects of the working repository no shared ref reaches (a stash, dangling commits, other
   *  remotes' objects): left out of the store, so no peer can fetch them. */
  uint64_t objects_left_out = 0;
};

/**
 * Copies the objects of the working repository at `working_dir` (a working tree or a git
 * directory) into `store` and lists the refs the sharer's namespace should hold. No ref of the
 * store changes: the caller signs the refs, then calls StorageRepo::SetNamespace.
 *
 * Only objects reachable from the shared branches and tags enter the store. Fast path: the
 * repository's pack files and loose objects are hard-linked into a quarantine (copied across
 * filesystems), the tips are checked connected, their new objects pass the hostile-content
 * audit, and when the linked files hold anything else (a stash, dangling commits) the reachable
 * objects are repacked from them and the rest is dropped, before the objects move into the store. Git objects are immutable and named by
 * their hash, so a shared inode is safe: a later `git gc` in the working repository unlinks its
 * name, not ours. When that check fails (objects borrowed through alternates, a partial clone),
 * the fallback streams `git pack-objects` (reusing its deltas) through a PackReceiver.
 *
 * @return NotARepository, UnsupportedObjectFormat (SHA-256), HostileContent (a tree git would
 *         refuse on checkout), InvalidArgument (a shallow clone:
 *         its history stops before the root commit), NoCommits (no branch), MissingObjects
 *         (the working repository itself lacks objects), Io, GitFailed.
 */
GitResult<ImportResult> ImportWorkingRepo(const StorageRepo& store, const std::filesystem::path& working_dir);

/**
 * Copies into the store every object reachable from `tips` in the repository at `git_dir` (a
 * user's .git, for `git push`) that the store's tips do not already reach: pack-objects there,
 * streamed into a PackReceiver and verified (hashes, connectivity of `tips`). Moves no ref.
 * @return MissingObjects (a tip not connected in git_dir), BadPack, GitFailed, Io.
 */
GitStatus ImportObjects(const StorageRepo& store, const std::filesystem::path& git_dir, const std::vector<Bytes>& tips);

}  // namespace p2pgit::git
