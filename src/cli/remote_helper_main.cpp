// git-remote-git+p2p: lets stock git clone, fetch, pull and push git+p2p:// URLs
// (../shared/docs/git-remote-helper-facts.md, Option A: `fetch` + `push` + `option`).
//
// Refs offered to git come only from signed announcements this node verified (the canonical
// branches of the repo's delegates, or one node's namespace for /peer/<NodeId> URLs); objects
// come from the home's store, which holds only verified objects; git's own connectivity check
// runs after every fetch. A push writes this node's own namespace only, then signs and announces.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/home.h"
#include "cli/repo_ops.h"
#include "git/import.h"
#include "git/storage.h"
#include "git/verify.h"
#include "git/working_copy.h"
#include "identity/did.h"

using namespace p2pgit;
using namespace p2pgit::cli;
namespace fs = std::filesystem;

namespace {

/** git shows the helper's stderr as is; a fatal error ends the helper (git then exits 128). */
[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "fatal: git+p2p: %s\n", message.c_str());
  std::exit(128);
}

struct Helper {
  std::string url;
  RepoTarget target;
  std::optional<identity::NodeKey> key;
  std::optional<storage::Store> store;
  bool progress = false;
  int verbosity = 1;
  bool fetched = false;

  void Open() {
    if (key) return;
    auto k = LoadHomeKey();
    if (!k) Die(k.message());
    key.emplace(std::move(*k));
    auto s = OpenHomeStore();
    if (!s) Die("cannot open the store: " + s.message());
    store.emplace(std::move(*s));
  }

  /** Brings the repo's signed state and objects into the home (daemon or bootstrap peers). */
  void FetchOnce() {
    if (fetched) return;
    Open();
    auto result = FetchIntoHome(*key, *store, target, {}, progress);
    if (!result) Die(result.message());
    if (verbosity > 1) std::fprintf(stderr, "git+p2p: %llu pack bytes from %s\n", static_cast<unsigned long long>(result->pack_bytes), result->from.c_str());
    (void)store->SetFollowed(target.repo.multihash, true, NowMs());
    fetched = true;
  }

  git::StorageRepo Storage() {
    auto s = git::StorageRepo::Open(git::StoragePath(identity::DefaultHome(), target.repo));
    if (!s) Die("the repository is not stored in this home: " + s.message());
    return *s;
  }

  storage::RepoRecord Meta() {
    auto meta = store->GetRepo(target.repo.multihash);
    if (!meta.ok() || !meta->has_value()) Die("no signed Repo announcement for " + target.repo.ToString());
    return **meta;
  }

  /** The refs git sees: namespace-relative names with their signed object ids. */
  std::vector<git::NamedRef> OfferedRefs(const git::StorageRepo& storage, const storage::RepoRecord& meta) {
    if (target.peer) {
      auto refs = storage.ListNamespace(*target.peer);
      if (!refs) Die(refs.message());
      return *refs;
    }
    std::vector<git::NamedRef> out;
    for (const auto& c : git::ComputeCanonicalRefs(DelegateNamespaces(meta, storage)))
      if (c.oid) out.push_back({c.name, *c.oid});
    return out;
  }

  void List(bool for_push) {
    if (for_push) {
      // What this node's namespace holds now: git compares it for fast-forwards.
      Open();
      if (target.peer && *target.peer != key->public_key())
        Die("this URL names " + identity::EncodeDidKey(*target.peer) + "'s namespace; you can push only into your own (use git+p2p://" +
            target.repo.ToString() + ")");
      auto path = store->GetRepoPath(target.repo.multihash);
      if (path.ok() && path->has_value()) {
        auto storage = git::StorageRepo::Open(**path);
        if (storage) {
          auto refs = storage->ListNamespace(key->public_key());
          if (refs)
            for (const auto& r : *refs) std::cout << ToHex(r.oid) << " refs/" << r.name << "\n";
        }
      }
      std::cout << "\n" << std::flush;
      return;
    }
    FetchOnce();
    auto storage = Storage();
    auto meta = Meta();
    auto refs = OfferedRefs(storage, meta);
    std::string head_ref = "heads/" + meta.default_branch;
    bool has_head = false;
    for (const auto& r : refs) has_head |= r.name == head_ref;
    if (!has_head && target.peer) {
      for (const auto& r : refs)
        if (r.name.starts_with("heads/")) {
          head_ref = r.name;
          has_head = true;
          break;
        }
    }
    if (has_head) std::cout << "@refs/" << head_ref << " HEAD\n";
    for (const auto& r : refs)
      if (r.name.starts_with("heads/") || r.name.starts_with("tags/")) std::cout << ToHex(r.oid) << " refs/" << r.name << "\n";
    std::cout << "\n" << std::flush;
  }

  /** `fetch <sha> <name>` lines until a blank line: the objects are in the store (verified on
   *  arrival); they reach GIT_DIR by hard link, and git checks connectivity itself. */
  void Fetch(const std::string& first) {
    std::set<std::string> wanted;
    std::string line = first;
    do {
      auto parts = line.substr(6);
      wanted.insert(parts.substr(0, parts.find(' ')));
    } while (std::getline(std::cin, line) && !line.empty());
    FetchOnce();
    auto storage = Storage();
    auto offered = OfferedRefs(storage, Meta());
    std::set<std::string> signed_ids;
    for (const auto& r : offered) signed_ids.insert(ToHex(r.oid));
    for (const auto& w : wanted)
      if (!signed_ids.count(w)) Die("refusing to fetch " + w + ": not a signed tip of " + target.repo.ToString());
    const char* git_dir = std::getenv("GIT_DIR");
    if (git_dir == nullptr) Die("GIT_DIR is not set (run through git)");
    if (auto linked = git::LinkStoreObjects(storage, fs::path(git_dir) / "objects"); !linked)
      Die("cannot copy objects: " + linked.message());
    std::cout << "\n" << std::flush;
  }

  /** `push [+]<src>:<dst>` lines until a blank line, all into this node's namespace. */
  void Push(const std::string& first) {
    std::vector<std::string> specs;
    std::string line = first;
    do specs.push_back(line.substr(5));
    while (std::getline(std::cin, line) && !line.empty());
    Open();
    const char* git_dir_env = std::getenv("GIT_DIR");
    if (git_dir_env == nullptr) Die("GIT_DIR is not set (run through git)");
    fs::path git_dir = fs::absolute(git_dir_env);
    std::map<std::string, std::string> errors;  // dst → why
    if (target.peer && *target.peer != key->public_key()) {
      for (const auto& spec : specs) errors[spec.substr(spec.find(':') + 1)] = "not your namespace: " + identity::EncodeDidKey(*target.peer) + " owns it";
      return Report(specs, errors);
    }
    auto meta = store->GetRepo(target.repo.multihash);
    if (!meta.ok() || !meta->has_value()) {
      for (const auto& spec : specs) errors[spec.substr(spec.find(':') + 1)] = target.repo.ToString() + " is unknown here; clone or share it first";
      return Report(specs, errors);
    }
    auto storage = git::StorageRepo::OpenOrCreate(git::StoragePath(identity::DefaultHome(), target.repo));
    if (!storage) Die(storage.message());
    auto current = storage->ListNamespace(key->public_key());
    if (!current) Die(current.message());
    std::map<std::string, Bytes> refs;
    for (const auto& r : *current) refs[r.name] = r.oid;
    std::vector<Bytes> tips;
    for (const auto& spec : specs) {
      std::string s = spec.starts_with("+") ? spec.substr(1) : spec;
      std::string src = s.substr(0, s.find(':')), dst = s.substr(s.find(':') + 1);
      if (!dst.starts_with("refs/heads/") && !dst.starts_with("refs/tags/")) {
        errors[dst] = "only branches and tags can be pushed";
        continue;
      }
      std::string name = dst.substr(5);
      if (auto ok = git::CheckNamespaceRefName(name); !ok) {
        errors[dst] = ok.message();
        continue;
      }
      if (src.empty()) {
        refs.erase(name);
        continue;
      }
      auto oid = ResolveInGitDir(git_dir, src);
      if (!oid) {
        errors[dst] = "cannot resolve " + src;
        continue;
      }
      refs[name] = *oid;
      tips.push_back(*oid);
    }
    if (errors.empty()) {
      if (auto imported = git::ImportObjects(*storage, git_dir, tips); !imported) {
        for (const auto& spec : specs) errors[spec.substr(spec.find(':') + 1)] = "objects rejected: " + imported.message();
      } else {
        std::vector<git::NamedRef> named;
        for (const auto& [n, o] : refs) named.push_back({n, o});
        auto messages = SignOwnRefs(*key, *store, *storage, target.repo, named);
        if (!messages) {
          for (const auto& spec : specs) errors[spec.substr(spec.find(':') + 1)] = messages.message();
        } else {
          auto announced = Announce(*key, *messages, {}, 30);
          if (announced)
            std::fprintf(stderr, "git+p2p: signed refs/nodes/%s; %s\n",
                         identity::EncodeDidKey(key->public_key()).substr(8).c_str(), announced->c_str());
          else
            std::fprintf(stderr, "git+p2p: signed and stored, announcement failed: %s\n", announced.message().c_str());
        }
      }
    }
    Report(specs, errors);
  }

  std::optional<Bytes> ResolveInGitDir(const fs::path& git_dir, const std::string& rev) {
    auto oid = git::ResolveRevision(git_dir, rev);
    if (!oid) return std::nullopt;
    return *oid;
  }

  void Report(const std::vector<std::string>& specs, const std::map<std::string, std::string>& errors) {
    for (const auto& spec : specs) {
      std::string dst = spec.substr(spec.find(':') + 1);
      auto it = errors.find(dst);
      if (it == errors.end())
        std::cout << "ok " << dst << "\n";
      else
        std::cout << "error " << dst << " " << it->second << "\n";
    }
    std::cout << "\n" << std::flush;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: git-remote-git+p2p <remote> <url> (run by git for git+p2p:// URLs)\n");
    return 2;
  }
  Helper helper;
  helper.url = argv[2];
  auto target = ParseRepoTarget(helper.url);
  if (!target) Die(target.message());
  helper.target = *target;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "capabilities") {
      std::cout << "option\nfetch\npush\n\n" << std::flush;
    } else if (line.rfind("option ", 0) == 0) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' ')), value = rest.substr(rest.find(' ') + 1);
      if (name == "progress") {
        helper.progress = value == "true";
        std::cout << "ok\n";
      } else if (name == "verbosity") {
        helper.verbosity = std::atoi(value.c_str());
        std::cout << "ok\n";
      } else if (name == "followtags") {
        std::cout << "ok\n";
      } else {
        std::cout << "unsupported\n";
      }
      std::cout << std::flush;
    } else if (line == "list" || line == "list for-push") {
      helper.List(line == "list for-push");
    } else if (line.rfind("fetch ", 0) == 0) {
      helper.Fetch(line);
    } else if (line.rfind("push ", 0) == 0) {
      helper.Push(line);
    } else if (line.empty()) {
      break;
    } else {
      Die("unknown command from git: " + line);
    }
  }
  return 0;
}
