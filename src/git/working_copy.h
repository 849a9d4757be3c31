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

/** Hard-links (or copies) every pack and loose object of the store into `objects_dir` (a git
 *  repository's objects directory), skipping files it already has: objects are immutable and
 *  named by content. Objects in the store were verified when they arrived. */
GitStatus LinkStoreObjects(const StorageRepo& store, const std::filesystem::path& objects_dir);

/** The object a revision names in the repository at `git_dir`, peeled to a commit or tag
 *  target ("refs/heads/main", "HEAD", a hex id). NotFound when it names nothing. */
GitResult<Bytes> ResolveRevision(const std::filesystem::path& git_dir, const std::string& revision);

/** Whether `ancestor` is reachable from `descendant` (both must exist in `git_dir`). */
GitResult<bool> IsAncestor(const std::filesystem::path& git_dir, ByteSpan ancestor, ByteSpan descendant);

/**
 * Whether moving a branch from `old_tip` (nullopt: the branch did not exist) to `new_tip`
 * brought `commit` into it: `commit` is `new_tip` or an ancestor of it, and neither `old_tip`
 * nor an ancestor of it. The merge rule of docs/ACTIVITY.md: a commit the branch already held
 * was not merged by this move, so a patch naming it is not merged either.
 * @return the git errors of IsAncestor (an object missing from `git_dir`: GitFailed).
 */
GitResult<bool> BroughtInByMove(const std::filesystem::path& git_dir, ByteSpan commit,
                                const std::optional<Bytes>& old_tip, ByteSpan new_tip);

/** The first line of a commit's message. */
GitResult<std::string> CommitSubject(const std::filesystem::path& git_dir, ByteSpan commit);

// Branch names below may come from signed but untrusted payloads (a patch's base branch): each
// function first checks `heads/<name>` against the project's one ref-name policy
// (CheckNamespaceRefName, which applies wire/ref_name.h) and refuses a failing name with
// InvalidArgument before git runs, and git reads the name only where it cannot be an option.

/** Creates (or moves, with `force`) branch `name` at `oid` in the working repository at `dir`.
 *  @return InvalidArgument (a name the ref-name policy refuses), GitFailed. */
GitStatus CreateBranch(const std::filesystem::path& dir, const std::string& name, ByteSpan oid, bool force = false);

/** In the working repository at `dir`: checks out `branch` and merges `commit` into it with
 *  `message` (a merge commit, or a fast-forward when possible). On a conflict the repository is
 *  left in git's conflict state and the error (Conflict… as GitFailed) says so in one line.
 *  Returns the new tip of `branch`. InvalidArgument (before git runs): a branch name the
 *  ref-name policy refuses ("-f", "--upload-pack=x", "a..b", …). */
GitResult<Bytes> MergeInto(const std::filesystem::path& dir, const std::string& branch, ByteSpan commit,
                           const std::string& message);

/** The git directory of the working repository at `dir` (absolute). */
GitResult<std::filesystem::path> GitDirOf(const std::filesystem::path& dir);

/** The branch HEAD names in the working repository at `dir` ("main"); NotFound when detached. */
GitResult<std::string> CurrentBranch(const std::filesystem::path& dir);

/** The URL of `remote` in the repository at `dir`, if configured. */
GitResult<std::optional<std::string>> RemoteUrl(const std::filesystem::path& dir, const std::string& remote);

/** Adds `remote` with `url` (git's default fetch refspec), or sets its
 *  URL when it exists. */
GitStatus SetRemote(const std::filesystem::path& dir, const std::string& remote, const std::string& url);

}  // namespace p2pgit::git
