#include "git/objects.h"

#include "git/detail/oid.h"
#include "git/detail/process.h"

namespace p2pgit::git {

using detail::InGitDir;
using detail::RunGit;
using detail::RunGitOk;


GitResult<std::string> ObjectType(const std::filesystem::path& git_dir, const std::string& spec) {
  auto run = RunGit(InGitDir(git_dir.string(), {"cat-file", "-t", "--end-of-options", spec}));
  if (!run) return run.error();
  if (run->exit_code != 0) return Fail(GitError::NotFound, "no object named " + spec);
  return detail::TrimLineEnd(run->out);
}

GitResult<Bytes> ObjectContent(const std::filesystem::path& git_dir, const std::string& spec) {
  auto type = ObjectType(git_dir, spec);
  if (!type) return type.error();
  auto out = RunGitOk(InGitDir(git_dir.string(), {"cat-file", *type, spec}), "reading " + spec);
  if (!out) return out.error();
  return Bytes(out->begin(), out->end());
}

GitResult<std::string> TreeListing(const std::filesystem::path& git_dir, const std::string& spec) {
  return RunGitOk(InGitDir(git_dir.string(), {"ls-tree", "--end-of-options", spec}), "listing " + spec);
}

GitResult<std::string> History(const std::filesystem::path& git_dir, const std::string& oid, size_t max) {
  return RunGitOk(InGitDir(git_dir.string(), {"log", "--no-decorate", "--format=%H %ad %an%n    %s", "--date=short",
                                              "--max-count=" + std::to_string(max), oid, "--"}),
                  "history of " + oid);
}

}  // namespace p2pgit::git
