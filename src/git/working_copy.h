// Working repositories as users see them: the one `p2pgit clone` writes from the store, and the
// facts `share` reads from the one a user publishes.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "git/error.h"
#include "git/storage.h"

namespace p2pgit::git {

struct WorkingCopySpec {
  /** Branch checked out (its tip must be among `refs` as "heads/<branch>"). */
  std::string default_branch;
  /** Namespace-relative refs to write: "heads/x" become remote-tracking branches
   *  refs/remotes/<remote>/x (and the default branch also refs/heads/x), "tags/y" become tags. */
  std::vector<NamedRef> refs;
  std::string remote_name = "p2p";
  std::string remote_url;
};

/**
 * Creates a non-bare repository at `dir` (absent or empty) holding the store's objects by hard
 * link (as `git clone --local` does: no alternates, so the working copy never depends on the
 * store), writes `spec.refs`, configures the remote and checks out the default branch.
 * On failure the directory it created is removed.
 * @return InvalidArgument (dir not empty, default branch not in refs), Io, GitFailed.
 */
GitStatus MaterializeWorkingCopy(const StorageRepo& store, const std::filesystem::path& dir, const WorkingCopySpec& spec);

/** The branch HEAD names in the working repository at `dir` ("main"); NotFound when detached. */
GitResult<std::string> CurrentBranch(const std::filesystem::path& dir);

/** The URL of `remote` in the repository at `dir`, if configured. */
GitResult<std::optional<std::string>> RemoteUrl(const std::filesystem::path& dir, const std::string& remote);

/** Adds `remote` with `url` (git's default fetch refspec), or sets its
 *  URL when it exists. */
GitStatus SetRemote(const std::filesystem::path& dir, const std::string& remote, const std::string& url);

}  // namespace p2pgit::git
