// The node's copy of a repository: one bare git repository per RepoId in the home, holding
// every node's refs in its own namespace, refs/nodes/<NodeId without "did:key:">/{heads,tags,
// patches}/*. A namespace holds exactly what its owner signed; this module only stores and
// lists refs, the caller decides (from verified announcements) what they must be.
//
// Threads/processes: a StorageRepo is a path; every operation runs git plumbing, whose own ref
// locking and old-value checks arbitrate between concurrent writers (RefConflict).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "git/error.h"
#include "identity/did.h"
#include "identity/node_key.h"

namespace p2pgit::git {

/** Raw object id length: SHA-1 repositories only (SHA-256 ones are refused). */
inline constexpr size_t OID_BYTES = 20;
/** A ref of one node's namespace, relative to it: "heads/main", "tags/v1", "patches/<id>". */
struct NamedRef {
  std::string name;
  Bytes oid;  // OID_BYTES raw bytes
  bool operator==(const NamedRef&) const = default;
  auto operator<=>(const NamedRef&) const = default;
};

/** One node's namespace: the refs it signed. */
struct NamespaceRefs {
  identity::PublicKey node{};
  std::vector<NamedRef> refs;
};

/** "refs/nodes/z6Mk…/" for a node. */
std::string NamespacePrefix(const identity::PublicKey& node);

/** Checks a namespace-relative ref name with the project's one ref-name policy
 *  (wire::RefNameRefusal, docs/PROTOCOL.md): nothing admission accepts is refused here, and no
 *  signed name can escape the namespace, read as an option or make update-ref fail halfway.
 *  @return InvalidArgument with the reason. */
GitStatus CheckNamespaceRefName(std::string_view name);

/** Where the repository of `repo` lives in a home: <home>/repos/<RepoId without "did:repo:">.git
 *  (base58btc: only letters and digits, safe on every filesystem). */
std::filesystem::path StoragePath(const std::filesystem::path& home, const identity::RepoId& repo);

class StorageRepo {
 public:
  /** Opens the bare repository at `git_dir`, creating it first when absent. Creation builds it
   *  under a temporary name and renames it into place, so concurrent creators agree on one and
   *  a crash never leaves a half-initialised store. @return Io, GitFailed, NotARepository (the
   *  path exists but is not a bare repository). */
  static GitResult<StorageRepo> OpenOrCreate(const std::filesystem::path& git_dir);
  /** Opens an existing store. @return NotARepository. */
  static GitResult<StorageRepo> Open(const std::filesystem::path& git_dir);

  /** Absolute path of the bare repository. */
  const std::filesystem::path& path() const { return m_path; }

  /** The refs of one namespace, sorted by name. */
  GitResult<std::vector<NamedRef>> ListNamespace(const identity::PublicKey& node) const;

  /** Every namespace in the store (a relay keeps all it received), sorted by node. */
  GitResult<std::vector<NamespaceRefs>> ListNamespaces() const;

  /**
   * Sets each given namespace to exactly its refs (refs absent from the set are deleted) in one
   * `git update-ref --stdin` transaction: all namespaces change or none does. Every update and
   * delete carries the value read just before, so a concurrent writer makes the transaction fail
   * (RefConflict) instead of being overwritten. Every object must already be in the store.
   * @return InvalidArgument (bad name, oid length, duplicate name), MissingObjects (an oid not in
   * the store), RefConflict, GitFailed.
   */
  GitStatus SetNamespaces(const std::vector<NamespaceRefs>& namespaces) const;
  GitStatus SetNamespace(const identity::PublicKey& node, const std::vector<NamedRef>& refs) const {
    return SetNamespaces({NamespaceRefs{node, refs}});
  }

  /** The distinct objects every ref under refs/nodes/ points to, sorted: the "haves" a sync
   *  sends so that the server leaves out what we already hold. */
  GitResult<std::vector<Bytes>> ListTips() const;

  /** Which of `wants` this store may serve (same order): a tip of a stored namespace (what
   *  someone signed), or a commit such a tip reaches. Anything else — an object the store holds
   *  but no signed ref reaches, a tree or blob asked for by id — is not served, so a guessed id
   *  never leaks an unannounced object. Later partial or lazy fetches must use this check. */
  GitResult<std::vector<bool>> ServableObjects(const std::vector<Bytes>& wants) const;

  /** Which of `oids` the store has (same order). */
  GitResult<std::vector<bool>> HasObjects(const std::vector<Bytes>& oids) const;

  /** Deletes quarantine directories (objects/incoming-*) older than `min_age`: what a receiver
   *  killed mid-transfer (SIGKILL, power loss) left behind. A younger one may belong to a
   *  transfer still running in another process. @return how many were removed. */
  size_t RemoveStaleQuarantines(std::chrono::seconds min_age) const;

 private:
  explicit StorageRepo(std::filesystem::path path) : m_path(std::move(path)) {}
  std::filesystem::path m_path;
};

}  // namespace p2pgit::git
