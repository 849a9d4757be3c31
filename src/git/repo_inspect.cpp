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

GitResult<RepoPtr> OpenRepo(const std::filesystem::path& repo_dir) {
  EnsureLibgit2();
  git_repository* raw_repo = nullptr;
  if (git_repository_open_ext(&raw_repo, repo_dir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0) {
    std::string why = LastGitError();
    if (why.find("objectformat") != std::string::npos || why.find("extension") != std::string::npos)
      return Fail(GitError::UnsupportedObjectFormat,
                  repo_dir.string() + " uses an object format p2pgit does not support (only SHA-1 repositories): " + why);
    return Fail(GitError::NotARepository, repo_dir.string() + " is not a git repository: " + why);
  }
  return RepoPtr(raw_repo);
}

/** First parents from `start` down to the commit that has none. */
GitResult<Bytes> WalkToRoot(git_repository* repo, const git_oid& start, const std::filesystem::path& repo_dir) {
  git_object* raw_object = nullptr;
  if (git_object_lookup(&raw_object, repo, &start, GIT_OBJECT_ANY) != 0)
    return Fail(GitError::Corrupt, "tip " + std::string(git_oid_tostr_s(&start)) + " is not in " + repo_dir.string() +
                                       ": " + LastGitError());
  git_object* raw_peeled = nullptr;
  int peeled = git_object_peel(&raw_peeled, raw_object, GIT_OBJECT_COMMIT);
  git_object_free(raw_object);
  if (peeled != 0)
    return Fail(GitError::Corrupt, "tip " + std::string(git_oid_tostr_s(&start)) + " is not a commit: " + LastGitError());
  CommitPtr commit(reinterpret_cast<git_commit*>(raw_peeled));
  while (git_commit_parentcount(commit.get()) > 0) {
    git_commit* parent = nullptr;
    if (git_commit_parent(&parent, commit.get(), 0) != 0)
      return Fail(GitError::Corrupt, "cannot read a first parent in " + repo_dir.string() + ": " + LastGitError());
    commit.reset(parent);
  }
  const git_oid* root = git_commit_id(commit.get());
  return Bytes(root->id, root->id + GIT_OID_RAWSZ);
}
}  // namespace

Result<Bytes, GitError> FindRootCommit(const std::filesystem::path& repo_dir) {
  auto repo = OpenRepo(repo_dir);
  if (!repo) return repo.error();
  git_oid head_oid;
  if (git_reference_name_to_id(&head_oid, repo->get(), "HEAD") != 0)
    return Fail(GitError::NoCommits, repo_dir.string() + " has no commits on its default branch yet");
  return WalkToRoot(repo->get(), head_oid, repo_dir);
}

Result<Bytes, GitError> FindRootCommitFrom(const std::filesystem::path& repo_dir, ByteSpan tip,
                                           const std::vector<std::filesystem::path>& extra_object_dirs) {
  if (tip.size() != GIT_OID_RAWSZ)
    return Fail(GitError::InvalidArgument, "object id of " + std::to_string(tip.size()) + " bytes");
  auto repo = OpenRepo(repo_dir);
  if (!repo) return repo.error();
  if (!extra_object_dirs.empty()) {
    git_odb* odb = nullptr;
    if (git_repository_odb(&odb, repo->get()) != 0)
      return Fail(GitError::Corrupt, "cannot open the objects of " + repo_dir.string() + ": " + LastGitError());
    for (const auto& dir : extra_object_dirs) {
      if (git_odb_add_disk_alternate(odb, dir.c_str()) != 0) {
        git_odb_free(odb);
        return Fail(GitError::Corrupt, "cannot read objects in " + dir.string() + ": " + LastGitError());
      }
    }
    git_odb_free(odb);
  }
  git_oid oid;
  git_oid_fromraw(&oid, tip.data());
  return WalkToRoot(repo->get(), oid, repo_dir);
}

}  // namespace p2pgit::git
