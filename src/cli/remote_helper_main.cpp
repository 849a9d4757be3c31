// git-remote-git+p2p: lets stock git clone, fetch, pull and push git+p2p:// URLs
// (../shared/docs/git-remote-helper-facts.md, Option A: `fetch` + `push` + `option`).
//
// Refs offered to git come only from signed announcements this node verified (the canonical
// branches of the repo's delegates, or one node's namespace for /peer/<NodeId> URLs); objects
// come from the home's store, which holds only verified objects; git's own connectivity check
// runs after every fetch. A push writes this node's own namespace only, then signs and announces.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "activity/events.h"
#include "activity/fold.h"
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

/** Where git reads GIT_DIR's objects. Not always GIT_DIR/objects: a linked worktree's GIT_DIR
 *  (.git/worktrees/<name>) names the shared repository in its `commondir` file, and git honours
 *  GIT_OBJECT_DIRECTORY and GIT_COMMON_DIR. Objects linked anywhere else stay invisible to git. */
fs::path ObjectsDir(const fs::path& git_dir) {
  if (const char* objects = std::getenv("GIT_OBJECT_DIRECTORY"); objects != nullptr && *objects != '\0') return objects;
  if (const char* common = std::getenv("GIT_COMMON_DIR"); common != nullptr && *common != '\0') return fs::path(common) / "objects";
  std::ifstream in(git_dir / "commondir");
  std::string common;
  if (std::getline(in, common) && !common.empty()) {
    fs::path dir(common);
    return (dir.is_absolute() ? dir : git_dir / dir) / "objects";
  }
  return git_dir / "objects";
}

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
  std::map<std::string, std::string> push_options;  // -o key=value

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
    ReportSkipped("git+p2p", *result);
    if (verbosity > 1) std::fprintf(stderr, "git+p2p: %llu pack bytes from %s\n", static_cast<unsigned long long>(result->pack_bytes), result->from.c_str());
    (void)store->SetFollowed(target.repo.multihash, true, UnixMillis());
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
    if (auto linked = git::LinkStoreObjects(storage, ObjectsDir(git_dir)); !linked)
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
    std::vector<std::pair<std::string, Bytes>> branches;  // pushed branches, for merge detection
    std::vector<wire::SignedMessage> events;               // patch events, announced with the refs
    for (const auto& spec : specs) {
      std::string s = spec.starts_with("+") ? spec.substr(1) : spec;
      std::string src = s.substr(0, s.find(':')), dst = s.substr(s.find(':') + 1);
      if (dst == "refs/patches" || dst.starts_with("refs/patches/")) {
        auto oid = src.empty() ? std::nullopt : ResolveInGitDir(git_dir, src);
        if (!oid) {
          errors[dst] = "a patch needs commits: push <branch>:refs/patches";
          continue;
        }
        if (auto imported = git::ImportObjects(*storage, git_dir, {*oid}); !imported) {
          errors[dst] = "objects rejected: " + imported.message();
          continue;
        }
        auto event = PatchEvent(*storage, **meta, git_dir, dst, *oid);
        if (!event) {
          errors[dst] = event.message();
          continue;
        }
        refs["patches/" + ToHex(event->second)] = *oid;
        events.push_back(std::move(event->first));
        continue;
      }
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
      if (name.starts_with("heads/")) branches.emplace_back(name.substr(6), *oid);
    }
    if (errors.empty()) {
      if (auto imported = git::ImportObjects(*storage, git_dir, tips); !imported) {
        for (const auto& spec : specs) errors[spec.substr(spec.find(':') + 1)] = "objects rejected: " + imported.message();
      } else {
        std::vector<git::NamedRef> named;
        for (const auto& [n, o] : refs) named.push_back({n, o});
        for (const auto& e : events) (void)AdmitOwn(*store, e);
        auto messages = SignOwnRefs(*key, *store, *storage, target.repo, named, events);
        // A delegate's branch that this push moved to contain an open patch's head: the patch
        // is merged. The old tip is the namespace's value before the push (`current`).
        if (messages)
          for (const auto& [branch, tip] : branches) {
            std::optional<Bytes> old_tip;
            for (const auto& r : *current)
              if (r.name == "heads/" + branch) old_tip = r.oid;
            for (auto& m : MergeEventsFor(*key, *store, *storage, target.repo, branch, old_tip, tip))
              messages->push_back(std::move(m));
          }
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

  /** A patch.create (dst refs/patches) or patch.update (dst refs/patches/<id-prefix>) event for
   *  `head`, signed; returns it with the patch id. Title: -o title=… or the head's first line. */
  Result<std::pair<wire::SignedMessage, activity::EventId>, std::string> PatchEvent(const git::StorageRepo& storage,
                                                                                    const storage::RepoRecord& meta,
                                                                                    const fs::path& git_dir,
                                                                                    const std::string& dst, const Bytes& head) {
    if (dst == "refs/patches") {
      std::string base_branch = push_options.count("base") ? push_options["base"] : meta.default_branch;
      Bytes base;
      for (const auto& c : git::ComputeCanonicalRefs(DelegateNamespaces(meta, storage)))
        if (c.name == "heads/" + base_branch && c.oid) base = *c.oid;
      if (base.empty()) return Fail(std::string(), "the repo has no signed " + base_branch + " branch to propose into");
      std::string title = push_options.count("title") ? push_options["title"] : "";
      if (title.empty()) {
        auto subject = git::CommitSubject(git_dir, head);
        title = subject ? *subject : "patch";
      }
      std::string description = push_options.count("description") ? push_options["description"] : "";
      auto body = activity::MakeActivityBody(target.repo, UnixMillis(), {}, activity::PatchCreate{base_branch, base, head, title, description});
      if (!body) return Fail(std::string(), "invalid patch: " + body.message());
      auto message = wire::SignMessage(*key, *body);
      std::fprintf(stderr, "git+p2p: opened patch %s: %s\n", activity::ShortId(message.id).c_str(), title.c_str());
      return std::make_pair(message, message.id);
    }
    // An update: the patch is found and folded from the stored events.
    auto loaded = LoadRepoActivity(*store, target.repo);
    if (!loaded) return loaded.error();
    const auto& [authority, events] = *loaded;
    std::vector<activity::EventId> ids;
    for (const auto& root : activity::ListThreads(events, target.repo))
      if (root.kind == activity::ThreadKind::Patch) ids.push_back(root.id);
    auto id = activity::ResolveIdPrefix(dst.substr(std::string("refs/patches/").size()), ids);
    if (!id) return Fail(std::string(), "patch: " + id.message());
    auto state = activity::FoldPatch(events, authority, *id);
    if (!state) return Fail(std::string(), "cannot read the patch: " + state.message());
    if (state->author != key->public_key()) return Fail(std::string(), "only the patch's author can update it");
    std::optional<std::string> note;
    if (push_options.count("note")) note = push_options["note"];
    auto body = activity::MakeActivityBody(target.repo, UnixMillis(), state->heads, activity::PatchUpdate{head, std::nullopt, note});
    if (!body) return Fail(std::string(), "invalid update: " + body.message());
    std::fprintf(stderr, "git+p2p: updated patch %s (revision %zu)\n", activity::ShortId(*id).c_str(), state->revisions.size());
    return std::make_pair(wire::SignMessage(*key, *body), *id);
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
      } else if (name == "push-option") {
        auto eq = value.find('=');
        helper.push_options[value.substr(0, eq)] = eq == std::string::npos ? "" : value.substr(eq + 1);
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
