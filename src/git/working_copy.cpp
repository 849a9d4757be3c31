#include "git/working_copy.h"

#include <cctype>
#include <cstdlib>

#include "git/detail/link.h"
#include "git/detail/oid.h"
#include "git/detail/process.h"

namespace p2pgit::git {

namespace fs = std::filesystem;
using detail::GitInvocation;
using detail::RunGit;
using detail::RunGitOk;

namespace {

GitInvocation InWorkTree(const fs::path& dir, std::vector<std::string> args) {
  std::vector<std::string> full = {"-C", dir.string()};
  full.insert(full.end(), args.begin(), args.end());
  return GitInvocation{std::move(full), {}};
}

/** The guard for branch names that reach git: heads/<branch> under the one ref-name policy
 *  (CheckNamespaceRefName applies wire/ref_name.h). Threat: a signed payload naming branch "-f"
 *  or "--upload-pack=x" that git would read as an option. */
GitStatus CheckBranchName(const std::string& branch) {
  return CheckNamespaceRefName("heads/" + branch);
}

GitStatus LinkAllObjects(const fs::path& from_objects, const fs::path& to_objects) {
  std::error_code ec;
  fs::create_directories(to_objects / "pack", ec);
  for (const auto& entry : fs::directory_iterator(from_objects / "pack", ec)) {
    auto name = entry.path().filename().string();
    bool pack_file = name.starts_with("pack-") && (name.ends_with(".pack") || name.ends_with(".idx"));
    if (!pack_file) continue;
    if (!detail::LinkOrCopy(entry.path(), to_objects / "pack" / name))
      return Fail(GitError::Io, "cannot link or copy " + entry.path().string());
  }
  for (const auto& entry : fs::directory_iterator(from_objects, ec)) {
    auto name = entry.path().filename().string();
    if (name.size() != 2 || !std::isxdigit(static_cast<unsigned char>(name[0])) ||
        !std::isxdigit(static_cast<unsigned char>(name[1])) || !entry.is_directory())
      continue;
    std::error_code ec2;
    fs::create_directories(to_objects / name, ec2);
    for (const auto& obj : fs::directory_iterator(entry.path(), ec2))
      if (!detail::LinkOrCopy(obj.path(), to_objects / name / obj.path().filename()))
        return Fail(GitError::Io, "cannot link or copy " + obj.path().string());
  }
  return Ok{};
}

GitStatus Materialize(const StorageRepo& store, const fs::path& dir, const WorkingCopySpec& spec) {
  if (auto ok = CheckBranchName(spec.default_branch); !ok) return ok;
  std::string default_ref = "heads/" + spec.default_branch;
  const NamedRef* head = nullptr;
  for (const auto& r : spec.refs)
    if (r.name == default_ref) head = &r;
  if (head == nullptr) return Fail(GitError::InvalidArgument, "the default branch '" + spec.default_branch + "' has no signed tip");
  auto init = RunGitOk(GitInvocation{{"init", "-q", "--template=", "-b", spec.default_branch, dir.string()}, {}},
                       "git init");
  if (!init) return init.error();
  if (auto linked = LinkStoreObjects(store, dir / ".git" / "objects"); !linked) return linked;
  std::string updates;
  for (const auto& r : spec.refs) {
    std::string hex = ToHex(r.oid);
    if (r.name.starts_with("heads/"))
      updates += "create refs/remotes/" + spec.remote_name + "/" + r.name.substr(6) + " " + hex + "\n";
    else if (r.name.starts_with("tags/"))
      updates += "create refs/" + r.name + " " + hex + "\n";
  }
  updates += "create refs/heads/" + spec.default_branch + " " + ToHex(head->oid) + "\n";
  if (auto u = RunGitOk(InWorkTree(dir, {"update-ref", "--stdin"}), "writing refs", updates); !u) return u.error();
  if (auto r = SetRemote(dir, spec.remote_name, spec.remote_url); !r) return r;
  for (const auto& [key, value] : {std::pair{"branch." + spec.default_branch + ".remote", spec.remote_name},
                                   std::pair{"branch." + spec.default_branch + ".merge", "refs/heads/" + spec.default_branch}}) {
    if (auto c = RunGitOk(InWorkTree(dir, {"config", key, value}), "git config"); !c) return c.error();
  }
  // Sequential checkout, as git clone does: parallel workers (checkout.workers) saved ~15% of
  // the checkout time on the benchmark repository but doubled the clone's peak memory.
  if (auto c = RunGitOk(InWorkTree(dir, {"reset", "-q", "--hard", "HEAD"}), "checkout"); !c) return c.error();
  return Ok{};
}

}  // namespace

GitStatus MaterializeWorkingCopy(const StorageRepo& store, const fs::path& dir, const WorkingCopySpec& spec) {
  std::error_code ec;
  bool existed = fs::exists(dir, ec);
  if (existed && !fs::is_empty(dir, ec))
    return Fail(GitError::InvalidArgument, dir.string() + " already exists and is not empty");
  auto done = Materialize(store, dir, spec);
  if (!done) {
    if (existed) {
      for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
    } else {
      fs::remove_all(dir, ec);
    }
  }
  return done;
}

GitStatus LinkStoreObjects(const StorageRepo& store, const fs::path& objects_dir) {
  return LinkAllObjects(store.path() / "objects", objects_dir);
}

GitResult<Bytes> ResolveRevision(const fs::path& git_dir, const std::string& revision) {
  auto run = RunGit(detail::InGitDir(git_dir.string(), {"rev-parse", "--verify", "-q", "--end-of-options", revision}));
  if (!run) return run.error();
  std::string out = detail::TrimLineEnd(run->out);
  auto oid = detail::ParseOidHex(out);
  if (run->exit_code != 0 || !oid) return Fail(GitError::NotFound, "no object named " + revision);
  return *oid;
}

GitResult<bool> IsAncestor(const fs::path& git_dir, ByteSpan ancestor, ByteSpan descendant) {
  auto run = RunGit(detail::InGitDir(git_dir.string(), {"merge-base", "--is-ancestor", ToHex(ancestor), ToHex(descendant)}));
  if (!run) return run.error();
  if (run->exit_code == 0) return true;
  if (run->exit_code == 1) return false;
  return Fail(GitError::GitFailed, "merge-base: " + run->exit.Line());
}

GitResult<bool> BroughtInByMove(const fs::path& git_dir, ByteSpan commit, const std::optional<Bytes>& old_tip,
                                ByteSpan new_tip) {
  auto in_new = IsAncestor(git_dir, commit, new_tip);
  if (!in_new || !*in_new) return in_new;
  if (!old_tip) return true;
  auto in_old = IsAncestor(git_dir, commit, *old_tip);
  if (!in_old) return in_old.error();
  return !*in_old;
}

GitResult<std::string> CommitSubject(const fs::path& git_dir, ByteSpan commit) {
  auto out = RunGitOk(detail::InGitDir(git_dir.string(), {"log", "-1", "--format=%s", ToHex(commit), "--"}), "reading a commit");
  if (!out) return out.error();
  std::string line = detail::TrimLineEnd(*out);
  return line;
}

GitStatus CreateBranch(const fs::path& dir, const std::string& name, ByteSpan oid, bool force) {
  if (auto ok = CheckBranchName(name); !ok) return ok;
  std::vector<std::string> args = {"branch"};
  if (force) args.push_back("-f");
  // git 2.39's branch honours --end-of-options (tests/unit/git_working_copy_test.cpp).
  args.push_back("--end-of-options");
  args.push_back(name);
  args.push_back(ToHex(oid));
  if (auto r = RunGitOk(InWorkTree(dir, args), "creating branch " + name); !r) return r.error();
  return Ok{};
}

GitResult<Bytes> MergeInto(const fs::path& dir, const std::string& branch, ByteSpan commit, const std::string& message) {
  if (auto ok = CheckBranchName(branch); !ok) return ok.error();
  // Not `git checkout`: git 2.39 reads what follows its --end-of-options as pathspecs; `git
  // switch` takes it as the branch (tests/unit/git_working_copy_test.cpp), and a full ref name
  // would detach HEAD. The policy check above already refuses a leading '-'; this is the second
  // wall.
  if (auto c = RunGitOk(InWorkTree(dir, {"switch", "-q", "--end-of-options", branch}), "checking out " + branch); !c)
    return c.error();
  // A merge commit needs an identity. The controlled environment drops every GIT_* variable
  // (they could redirect git to another repository); the identity ones only name the user.
  auto merge_invocation = InWorkTree(dir, {"merge", "-q", "--no-edit", "-m", message, ToHex(commit)});
  for (const char* name : {"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME",
                           "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE"})
    if (const char* value = std::getenv(name); value != nullptr) merge_invocation.env.push_back(std::string(name) + "=" + value);
  auto merge = RunGit(merge_invocation);
  if (!merge) return merge.error();
  if (merge->exit_code != 0)
    return Fail(GitError::GitFailed, "merge conflict in " + dir.string() + " (resolve it and commit, or git merge --abort): " +
                                         merge->exit.Line());
  auto tip = RunGitOk(InWorkTree(dir, {"rev-parse", "HEAD"}), "reading HEAD");
  if (!tip) return tip.error();
  std::string hex = detail::TrimLineEnd(*tip);
  auto oid = detail::ParseOidHex(hex);
  if (!oid) return Fail(GitError::GitFailed, "unexpected rev-parse output");
  return *oid;
}

GitResult<fs::path> GitDirOf(const fs::path& dir) {
  auto out = RunGitOk(InWorkTree(dir, {"rev-parse", "--path-format=absolute", "--git-dir"}), dir.string() + " is not a git repository",
                      {}, GitError::NotARepository);
  if (!out) return out.error();
  std::string path = detail::TrimLineEnd(*out);
  return fs::path(path);
}

GitResult<std::string> CurrentBranch(const fs::path& dir) {
  auto run = RunGit(InWorkTree(dir, {"symbolic-ref", "--short", "-q", "HEAD"}));
  if (!run) return run.error();
  if (run->exit_code != 0) return Fail(GitError::NotFound, "HEAD of " + dir.string() + " is not on a branch");
  std::string out = detail::TrimLineEnd(run->out);
  return out;
}

GitResult<std::optional<std::string>> RemoteUrl(const fs::path& dir, const std::string& remote) {
  auto run = RunGit(InWorkTree(dir, {"config", "--get", "remote." + remote + ".url"}));
  if (!run) return run.error();
  if (run->exit_code != 0) return std::optional<std::string>();
  std::string out = detail::TrimLineEnd(run->out);
  return std::optional<std::string>(out);
}

GitStatus SetRemote(const fs::path& dir, const std::string& remote, const std::string& url) {
  auto existing = RemoteUrl(dir, remote);
  if (!existing) return existing.error();
  std::vector<std::string> args = existing->has_value() ? std::vector<std::string>{"remote", "set-url", remote, url}
                                                        : std::vector<std::string>{"remote", "add", remote, url};
  if (auto r = RunGitOk(InWorkTree(dir, args), "git remote"); !r) return r.error();
  return Ok{};
}

}  // namespace p2pgit::git
