// Reading facts out of a git repository with libgit2 (reading is what libgit2 is good at;
// packs move through git's own plumbing, see docs/DECISIONS.md).
#pragma once

#include <filesystem>

#include "base/bytes.h"
#include "base/result.h"

namespace p2pgit::git {

enum class GitError { NotARepository, NoCommits, UnsupportedObjectFormat, Corrupt };

/**
 * The root commit a RepoId is derived from: starting at the commit HEAD (the default branch)
 * points to, follow first parents to the commit that has none. Returns its raw object id
 * (20 bytes in a SHA-1 repository).
 * @return NotARepository, NoCommits (unborn HEAD), UnsupportedObjectFormat (SHA-256 repos),
 *         Corrupt (a missing or unreadable commit on the way).
 */
Result<Bytes, GitError> FindRootCommit(const std::filesystem::path& repo_dir);

}  // namespace p2pgit::git
