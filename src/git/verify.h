// Checks a node runs on what it stores or receives: the RepoId against the history, object
// connectivity, and the canonical branches its delegates agree on.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "git/error.h"
#include "git/storage.h"
#include "identity/did.h"
#include "identity/node_key.h"

namespace p2pgit::git {

/** The RepoId is multihash(root ‖ creator), the root found by first parents from `tip` (see
 *  FindRootCommitFrom in repo_inspect.h). @return RepoIdMismatch (with the root found), and
 *  FindRootCommitFrom's errors. */
GitStatus VerifyRepoId(const std::filesystem::path& repo_dir, ByteSpan tip, const identity::RepoId& expected,
                       const identity::PublicKey& creator);

/** Every object reachable from `tips` exists in the repository (a full walk, as `p2pgit verify`
 *  wants; receiving uses the cheaper walk of new objects only). @return MissingObjects with
 *  git's line, InvalidArgument (oid length), GitFailed. */
GitStatus CheckConnected(const std::filesystem::path& repo_dir, const std::vector<Bytes>& tips);

/** The canonical value of one ref across a repository's delegates. */
struct CanonicalRef {
  std::string name;          // namespace-relative, "heads/main"
  std::optional<Bytes> oid;  // none: no delegate has it, or they disagree and the creator lacks it
  bool disagreement = false;
  /** Delegates (in delegate order) holding a value other than `oid`: every holder when the
   *  creator lacks the ref and the others disagree. */
  std::vector<identity::PublicKey> dissenters;
};

/**
 * `delegates` are the repository's delegates in announcement order, creator first, each with
 * its namespace's refs (an absent namespace: empty refs). The canonical value of `name` is the
 * one every delegate holding the ref agrees on; when they disagree, the creator's; when the
 * creator does not hold it either, none.
 */
CanonicalRef ComputeCanonicalRef(std::string_view name, const std::vector<NamespaceRefs>& delegates);

/** ComputeCanonicalRef for every heads/ and tags/ name any delegate holds, sorted by name. */
std::vector<CanonicalRef> ComputeCanonicalRefs(const std::vector<NamespaceRefs>& delegates);

}  // namespace p2pgit::git
