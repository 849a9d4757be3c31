// The git layer's error codes. One enum for the whole layer so that a caller (the node, the CLI)
// can map any git failure to a user line and, for transfers, to a peer's misbehaviour.
#pragma once

#include "base/result.h"

namespace p2pgit::git {

enum class GitError {
  NotARepository,           // the path is not a git repository (or cannot be opened)
  NoCommits,                // an unborn HEAD / no branch to share
  UnsupportedObjectFormat,  // a SHA-256 repository (only SHA-1 is supported)
  Corrupt,                  // a missing or unreadable object in a repository we trusted
  InvalidArgument,          // a bad ref name, an object id of the wrong length, …
  NotFound,                 // a wanted object the serving store does not have
  Io,                       // a filesystem operation failed (mkdir, rename, link, …)
  GitFailed,                // git could not be started or failed for a reason not listed here
  BadPack,                  // received pack bytes that are not a valid pack (bad hash, zlib, truncated)
  MissingObjects,           // a received pack that does not make every wanted tip fully connected
  TooLarge,                 // a received pack above the receiver's byte cap
  RefConflict,              // the store's refs changed under us (old-value check failed)
  Cancelled,                // the caller's sink asked to stop, or the transfer was aborted
  RepoIdMismatch,           // the repository's root commit and creator do not give the RepoId
  HostileContent,           // received trees or .gitmodules that git would refuse or that are attack shapes
};

const char* GitErrorName(GitError error);

template <typename T>
using GitResult = Result<T, GitError>;
using GitStatus = Status<GitError>;

}  // namespace p2pgit::git
