#include "git/verify.h"

#include <set>

#include "git/detail/oid.h"
#include "git/detail/process.h"
#include "git/repo_inspect.h"

namespace p2pgit::git {

GitStatus VerifyRepoId(const std::filesystem::path& repo_dir, ByteSpan tip, const identity::RepoId& expected,
                       const identity::PublicKey& creator) {
  auto root = FindRootCommitFrom(repo_dir, tip);
  if (!root) return root.error();
  if (identity::ComputeRepoId(*root, creator) != expected)
    return Fail(GitError::RepoIdMismatch, "root commit " + ToHex(*root) + " and creator " +
                                              identity::EncodeDidKey(creator) + " do not give " + expected.ToString());
  return Ok{};
}

GitStatus CheckConnected(const std::filesystem::path& repo_dir, const std::vector<Bytes>& tips) {
  std::string input;
  for (const auto& tip : tips) {
    if (auto st = detail::CheckOid(tip); !st) return st;
    input += ToHex(tip) + "\n";
  }
  if (tips.empty()) return Ok{};
  auto run = detail::RunGit(detail::InGitDir(repo_dir.string(), {"rev-list", "--objects", "--stdin", "--quiet"}), input);
  if (!run) return run.error();
  if (run->exit_code != 0)
    return Fail(GitError::MissingObjects, repo_dir.string() + " is missing objects: " + run->exit.Line());
  return Ok{};
}

CanonicalRef ComputeCanonicalRef(std::string_view name, const std::vector<NamespaceRefs>& delegates) {
  CanonicalRef result;
  result.name = std::string(name);
  std::vector<std::pair<identity::PublicKey, const Bytes*>> holders;
  const Bytes* creator_value = nullptr;
  for (size_t i = 0; i < delegates.size(); ++i)
    for (const auto& ref : delegates[i].refs)
      if (ref.name == name) {
        holders.emplace_back(delegates[i].node, &ref.oid);
        if (i == 0) creator_value = &ref.oid;
        break;
      }
  if (holders.empty()) return result;
  bool all_agree = true;
  for (const auto& [node, value] : holders) all_agree = all_agree && *value == *holders.front().second;
  if (all_agree) {
    result.oid = *holders.front().second;
    return result;
  }
  result.disagreement = true;
  if (creator_value != nullptr) result.oid = *creator_value;
  for (const auto& [node, value] : holders)
    if (creator_value == nullptr || *value != *creator_value) result.dissenters.push_back(node);
  return result;
}

std::vector<CanonicalRef> ComputeCanonicalRefs(const std::vector<NamespaceRefs>& delegates) {
  std::set<std::string> names;
  for (const auto& ns : delegates)
    for (const auto& ref : ns.refs)
      if (ref.name.starts_with("heads/") || ref.name.starts_with("tags/")) names.insert(ref.name);
  std::vector<CanonicalRef> out;
  for (const auto& name : names) out.push_back(ComputeCanonicalRef(name, delegates));
  return out;
}

}  // namespace p2pgit::git
