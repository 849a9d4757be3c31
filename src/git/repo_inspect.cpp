#include "git/repo_inspect.h"

#include <git2.h>

#include <memory>
#include <string>

namespace p2pgit::git {

namespace {
struct Libgit2 {
  Libgit2() { git_libgit2_init(); }
};

void EnsureLibgit2() { static Libgit2 once; }

std::string LastGitError() {
  const git_error* e = git_error_last();
  return e != nullptr && e->message != nullptr ? e->message : "unknown libgit2 error";
}

struct RepoDeleter {
  void operator()(git_repository* r) const { git_repository_free(r); }
};
struct CommitDeleter {
  void operator()(git_commit* c) const { git_commit_free(c); }
};
using RepoPtr = std::unique_ptr<git_repository, RepoDeleter>;
using CommitPtr = std::unique_ptr<git_commit, CommitDeleter>;
}  // namespace

Result<Bytes, GitError> FindRootCommit(const std::filesystem::path& repo_dir) {
  EnsureLibgit2();
  git_repository* raw_repo = nullptr;
  if (git_repository_open_ext(&raw_repo, repo_dir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0) {
    std::string why = LastGitError();
    if (why.find("objectformat") != std::string::npos || why.find("extension") != std::string::npos)
      return Fail(GitError::UnsupportedObjectFormat,
                  repo_dir.string() + " uses an object format p2pgit does not support (only SHA-1 repositories): " + why);
    return Fail(GitError::NotARepository, repo_dir.string() + " is not a git repository: " + why);
  }
  RepoPtr repo(raw_repo);

  git_oid head_oid;
  if (git_reference_name_to_id(&head_oid, repo.get(), "HEAD") != 0)
    return Fail(GitError::NoCommits, repo_dir.string() + " has no commits on its default branch yet");

  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, repo.get(), &head_oid) != 0)
    return Fail(GitError::Corrupt, "HEAD of " + repo_dir.string() + " is not a readable commit: " + LastGitError());
  CommitPtr commit(raw_commit);
  while (git_commit_parentcount(commit.get()) > 0) {
    git_commit* parent = nullptr;
    if (git_commit_parent(&parent, commit.get(), 0) != 0)
      return Fail(GitError::Corrupt, "cannot read a first parent in " + repo_dir.string() + ": " + LastGitError());
    commit.reset(parent);
  }
  const git_oid* root = git_commit_id(commit.get());
  return Bytes(root->id, root->id + GIT_OID_RAWSZ);
}

}  // namespace p2pgit::git
