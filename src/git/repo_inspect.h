// Reading facts out of a git repository with libgit2 (reading is what libgit2 is good at;
// packs move through git's own plumbing, see docs/DECISIONS.md).
#pragma once

#include <filesystem>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "git/error.h"

namespace p2pgit::git {

/**
 * The root commit a RepoId is derived from: starting at the commit HEAD (the default branch)
 * points to, follow first parents to the commit that has none. Returns its raw object id
 * (20 bytes in a SHA-1 repository).
 * @return NotARepository, NoCommits (unborn HEAD), UnsupportedObjectFormat (SHA-256 repos),
 *         Corrupt (a missing or unreadable commit on the way).
 */
Result<Bytes, GitError> FindRootCommit(const std::filesystem::path& repo_dir);

/**
 * The same walk from a given tip (raw object id of a commit, or of a tag that peels to one):
 * the commit reached by following first parents until one has none. `extra_object_dirs` are
 * object directories read as well as the repository's own (a quarantine whose objects are not
 * yet in the store).
 * @return NotARepository, UnsupportedObjectFormat, InvalidArgument (oid length), Corrupt (the
 *         tip or a first parent missing or not a commit).
 */
Result<Bytes, GitError> FindRootCommitFrom(const std::filesystem::path& repo_dir, ByteSpan tip,
                                           const std::vector<std::filesystem::path>& extra_object_dirs = {});

}  // namespace p2pgit::git
