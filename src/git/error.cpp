#include "git/error.h"

namespace p2pgit::git {

const char* GitErrorName(GitError error) {
  switch (error) {
    case GitError::NotARepository: return "not-a-repository";
    case GitError::NoCommits: return "no-commits";
    case GitError::UnsupportedObjectFormat: return "unsupported-object-format";
    case GitError::Corrupt: return "corrupt";
    case GitError::InvalidArgument: return "invalid-argument";
    case GitError::NotFound: return "not-found";
    case GitError::Io: return "io";
    case GitError::GitFailed: return "git-failed";
    case GitError::BadPack: return "bad-pack";
    case GitError::MissingObjects: return "missing-objects";
    case GitError::TooLarge: return "too-large";
    case GitError::RefConflict: return "ref-conflict";
    case GitError::Cancelled: return "cancelled";
    case GitError::RepoIdMismatch: return "repo-id-mismatch";
    case GitError::HostileContent: return "hostile-content";
  }
  return "unknown";
}

}  // namespace p2pgit::git
