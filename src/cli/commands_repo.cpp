// `p2pgit share`, `clone`, `sync`, `verify`: repositories from the user's side. With a daemon
// running in the home, network work goes through it (control socket); without one, these open
// a short-lived endpoint of their own and dial the bootstrap peers (flags or config.toml).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/repo_ops.h"
#include "cli/config.h"
#include "cli/home.h"
#include "cli/terminal_text.h"
#include "git/import.h"
#include "git/repo_inspect.h"
#include "git/storage.h"
#include "git/verify.h"
#include "git/working_copy.h"
#include "gossip/admission.h"
#include "identity/did.h"
#include "node/control_socket.h"
#include "node/replication.h"
#include "routing/routing_state.h"
#include "transport/endpoint.h"
#include "wire/gossip_frame.h"
#include "wire/message.h"

namespace p2pgit::cli {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using transport::PeerId;

// ---- share ----

struct ShareOptions {
  std::string path = ".";
  std::string name;
  std::string description;
  std::vector<std::string> delegates;
  std::vector<std::string> remove_delegates;
  std::vector<std::string> bootstrap;
  bool new_repo = false;
  double timeout_s = 60;
};

int RunShare(const ShareOptions& opt) {
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  fs::path work = fs::absolute(opt.path).lexically_normal();
  auto branch = git::CurrentBranch(work);
  auto root = git::FindRootCommit(work);
  if (!root) return ReportError(root.message());
  if (!branch) return ReportError("cannot share: " + branch.message());
  auto store = OpenHomeStore();
  if (!store) return ReportError("cannot open the store: " + store.message());

  // A working copy of an existing p2p repo publishes this node's namespace (its fork).
  std::optional<identity::RepoId> existing;
  if (!opt.new_repo) {
    auto url = git::RemoteUrl(work, "p2p");
    if (url.ok() && url->has_value()) {
      auto target = ParseRepoTarget(**url);
      if (target) existing = target->repo;
    }
  }
  identity::RepoId repo = existing ? *existing : identity::ComputeRepoId(*root, key->public_key());
  auto meta = store->GetRepo(repo.multihash);
  bool creator = !meta.ok() || !meta->has_value() || identity::PublicKeyFromBytes((*meta)->creator) == key->public_key();
  if (existing && !creator) {
    if (!meta.ok() || !meta->has_value())
      return ReportError("the p2p remote names " + repo.ToString() + ", which this node does not know; clone it first or use --new");
  }

  auto storage_path = git::StoragePath(identity::DefaultHome(), repo);
  auto storage = git::StorageRepo::OpenOrCreate(storage_path);
  if (!storage) return ReportError("cannot create the repository store: " + storage.message());
  // The branches' tips before this share moves them: a patch is merged only by a move that
  // brings its head in (MergeEventsFor).
  auto listed = storage->ListNamespace(key->public_key());
  std::vector<git::NamedRef> old_tips = listed ? *listed : std::vector<git::NamedRef>{};
  auto imported = git::ImportWorkingRepo(*storage, work);
  if (!imported) return ReportError("cannot import " + work.string() + ": " + imported.message());
  std::vector<wire::SignedMessage> messages;
  uint64_t now = UnixMillis();
  if (creator) {
    wire::RepoBody body;
    body.timestamp_ms = now;
    body.repo_id = repo;
    body.root_commit = *root;
    body.creator = key->public_key();
    body.name = opt.name.empty() ? ((meta.ok() && meta->has_value()) ? (*meta)->name : work.filename().string()) : opt.name;
    body.description = opt.description.empty() && meta.ok() && meta->has_value() ? (*meta)->description : opt.description;
    body.delegates = {key->public_key()};
    for (const auto& d : opt.delegates) {
      auto k = identity::DecodeDidKey(d);
      if (!k) return ReportError("--delegate " + d + ": " + k.message(), EXIT_USAGE);
      if (std::find(body.delegates.begin(), body.delegates.end(), *k) == body.delegates.end()) body.delegates.push_back(*k);
    }
    if (opt.delegates.empty() && meta.ok() && meta->has_value())
      for (const auto& d : (*meta)->delegates)
        if (auto k = identity::PublicKeyFromBytes(d); k && *k != key->public_key()) body.delegates.push_back(*k);
    for (const auto& d : opt.remove_delegates) {
      auto k = identity::DecodeDidKey(d);
      if (!k) return ReportError("--remove-delegate " + d + ": " + k.message(), EXIT_USAGE);
      if (*k == key->public_key()) return ReportError("--remove-delegate: the creator stays a delegate", EXIT_USAGE);
      body.delegates.erase(std::remove(body.delegates.begin(), body.delegates.end(), *k), body.delegates.end());
    }
    body.default_branch = *branch;
    body.sequence = std::max<uint64_t>((meta.ok() && meta->has_value()) ? (*meta)->sequence + 1 : 1, now);
    if (auto check = wire::DecodeBody(wire::MessageType::Repo, wire::EncodeBody(body)); !check)
      return ReportError("cannot announce this repository: " + check.message());
    messages.push_back(wire::SignMessage(*key, body));
  }
  auto signed_messages = SignOwnRefs(*key, *store, *storage, repo, imported->refs, messages);
  if (!signed_messages) return ReportError(signed_messages.message());
  // A delegate's branch that this share moved to contain an open patch's head: the patch is merged.
  for (const auto& r : imported->refs) {
    if (!r.name.starts_with("heads/")) continue;
    std::optional<Bytes> old_tip;
    for (const auto& o : old_tips)
      if (o.name == r.name) old_tip = o.oid;
    for (auto& m : MergeEventsFor(*key, *store, *storage, repo, r.name.substr(6), old_tip, r.oid))
      signed_messages->push_back(std::move(m));
  }
  if (auto r = git::SetRemote(work, "p2p", RepoUrl(repo)); !r) return ReportError("cannot add the p2p remote: " + r.message());
  std::cout << repo.ToString() << "\n" << RepoUrl(repo) << std::endl;

  auto announced = Announce(*key, *signed_messages, opt.bootstrap, opt.timeout_s);
  if (!announced) return ReportError(announced.message());
  std::fprintf(stderr, "share: %s\n", announced->c_str());
  return EXIT_OK;
}

// ---- clone, sync ----

int RunClone(const std::string& source, std::string dir, const std::vector<std::string>& bootstrap, bool progress) {
  auto target = ParseRepoTarget(source);
  if (!target) return ReportError(target.message(), EXIT_USAGE);
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  auto store = OpenHomeStore();
  if (!store) return ReportError("cannot open the store: " + store.message());
  if (!dir.empty() && fs::exists(dir) && !fs::is_empty(dir)) return ReportError(dir + " already exists and is not empty");
  progress = progress || isatty(2);
  auto started = std::chrono::steady_clock::now();
  auto fetched = FetchIntoHome(*key, *store, *target, bootstrap, progress);
  if (!fetched) return ReportError(fetched.message());
  ReportSkipped("clone", *fetched);
  auto meta = store->GetRepo(target->repo.multihash);
  if (!meta.ok() || !meta->has_value()) return ReportError("unknown repo " + target->repo.ToString());
  auto storage = git::StorageRepo::Open(git::StoragePath(identity::DefaultHome(), target->repo));
  if (!storage) return ReportError(storage.message());

  git::WorkingCopySpec spec;
  spec.default_branch = (*meta)->default_branch;
  spec.remote_url = RepoUrl(target->repo) + (target->peer ? "/peer/" + identity::EncodeDidKey(*target->peer) : "");
  if (target->peer) {
    auto refs = storage->ListNamespace(*target->peer);
    if (!refs || refs->empty()) return ReportError(identity::EncodeDidKey(*target->peer) + " has no signed refs in " + target->repo.ToString());
    spec.refs = *refs;
  } else {
    for (const auto& c : git::ComputeCanonicalRefs(DelegateNamespaces(**meta, *storage))) {
      if (c.oid) spec.refs.push_back({c.name, *c.oid});
      if (c.disagreement)
        std::fprintf(stderr, "clone: delegates disagree on %s; using the creator's\n",
                     EscapeForTerminal(c.name, false).c_str());
    }
  }
  // The signed name is a stranger's: it picks one directory inside the cwd, never a path.
  if (dir.empty()) dir = DefaultCloneDirectory((*meta)->name, target->repo);
  auto checkout_started = std::chrono::steady_clock::now();
  if (auto done = git::MaterializeWorkingCopy(*storage, dir, spec); !done) return ReportError("cannot write " + dir + ": " + done.message());
  if (std::getenv("P2PGIT_TRACE_TIMING"))
    std::fprintf(stderr, "timing: %-14s %8.3f s\n", "working-copy",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - checkout_started).count());
  (void)store->SetFollowed(target->repo.multihash, true, UnixMillis());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "cloned " << target->repo.ToString() << " into " << EscapeForTerminal(dir, false) << " ("
            << fetched->pack_bytes / 1000 << " kB from " << EscapeForTerminal(fetched->from, false) << ", " << std::fixed
            << std::setprecision(2) << seconds << " s)" << std::endl;
  return EXIT_OK;
}

int RunSync(const std::string& repo_text, const std::vector<std::string>& bootstrap, bool json) {
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  auto store = OpenHomeStore();
  if (!store) return ReportError("cannot open the store: " + store.message());
  std::vector<RepoTarget> targets;
  if (!repo_text.empty()) {
    auto target = ParseRepoTarget(repo_text);
    if (!target) return ReportError(target.message(), EXIT_USAGE);
    targets.push_back(*target);
  } else {
    auto followed = store->ListFollowed();
    if (!followed) return ReportError(followed.message());
    for (const auto& r : *followed)
      if (auto id = identity::RepoIdFromMultihash(r)) targets.push_back({*id, std::nullopt});
  }
  nlohmann::json out = nlohmann::json::array();
  int failures = 0;
  for (const auto& t : targets) {
    auto fetched = FetchIntoHome(*key, *store, t, bootstrap, false);
    if (!fetched) {
      ++failures;
      std::fprintf(stderr, "error: %s: %s\n", t.repo.ToString().c_str(), fetched.message().c_str());
      out.push_back({{"repo_id", t.repo.ToString()}, {"ok", false}, {"error", fetched.message()}});
      continue;
    }
    (void)store->SetFollowed(t.repo.multihash, true, UnixMillis());
    ReportSkipped("sync", *fetched);
    out.push_back({{"repo_id", t.repo.ToString()}, {"ok", true}, {"pack_bytes", fetched->pack_bytes},
                   {"namespaces_updated", fetched->namespaces_updated}, {"seconds", fetched->seconds}});
    if (!json)
      std::cout << t.repo.ToString() << ": " << (fetched->namespaces_updated == 0 ? std::string("up to date")
                                                                                   : std::to_string(fetched->namespaces_updated) + " namespaces updated, " +
                                                                                         std::to_string(fetched->pack_bytes) + " bytes")
                << "\n";
  }
  if (json) std::cout << out.dump(2) << "\n";
  if (targets.empty() && !json) std::cout << "no followed repositories\n";
  return failures == 0 ? EXIT_OK : EXIT_FAILURE_;
}

// ---- verify ----

int RunVerify(const std::string& what) {
  auto store = OpenHomeStore();
  if (!store) return ReportError("cannot open the store: " + store.message());
  std::optional<identity::RepoId> repo;
  if (auto target = ParseRepoTarget(what)) {
    repo = target->repo;
  } else {
    auto url = git::RemoteUrl(what, "p2p");
    if (!url.ok() || !url->has_value()) url = git::RemoteUrl(what, "origin");
    if (!url.ok() || !url->has_value()) return ReportError(what + " is neither a repo id nor a working copy with a git+p2p:// remote");
    auto t = ParseRepoTarget(**url);
    if (!t) return ReportError(t.message());
    repo = t->repo;
  }
  auto meta = store->GetRepo(repo->multihash);
  if (!meta.ok() || !meta->has_value()) return ReportError("no signed Repo announcement for " + repo->ToString() + " in this home");
  auto path = store->GetRepoPath(repo->multihash);
  if (!path.ok() || !path->has_value()) return ReportError(repo->ToString() + " is not stored in this home; clone or sync it first");
  auto storage = git::StorageRepo::Open(**path);
  if (!storage) return ReportError(storage.message());
  auto creator = identity::PublicKeyFromBytes((*meta)->creator);
  if (!creator) return ReportError("bad creator in the repo record");
  // 1. Every namespace equals its owner's latest signed refs.
  auto namespaces = storage->ListNamespaces();
  if (!namespaces) return ReportError(namespaces.message());
  std::vector<Bytes> tips;
  size_t refs_checked = 0;
  for (const auto& ns : *namespaces) {
    auto signed_refs = store->GetRefs(repo->multihash, ns.node);
    if (!signed_refs.ok() || !signed_refs->has_value())
      return ReportError("namespace " + identity::EncodeDidKey(ns.node) + " has no signed refs announcement");
    std::vector<git::NamedRef> expected;
    for (const auto& r : (*signed_refs)->refs) expected.push_back({r.name, r.oid});
    auto have = ns.refs;
    std::sort(expected.begin(), expected.end());
    std::sort(have.begin(), have.end());
    if (have != expected)
      return ReportError("namespace " + identity::EncodeDidKey(ns.node) + " differs from its signed refs (sequence " +
                         std::to_string((*signed_refs)->sequence) + ")");
    for (const auto& r : have) tips.push_back(r.oid);
    refs_checked += have.size();
  }
  // 2. The repo id: root commit (first parents from the creator's default branch) and creator.
  auto creator_refs = storage->ListNamespace(*creator);
  std::optional<Bytes> head;
  if (creator_refs)
    for (const auto& r : *creator_refs)
      if (r.name == "heads/" + (*meta)->default_branch) head = r.oid;
  if (!head) return ReportError("the creator's " + (*meta)->default_branch + " branch is not stored");
  if (auto v = git::VerifyRepoId(**path, *head, *repo, *creator); !v) return ReportError(v.message());
  // 3. Every object reachable from every signed tip is present.
  if (auto c = git::CheckConnected(**path, tips); !c) return ReportError("objects missing: " + c.message());
  std::cout << repo->ToString() << ": ok (repo id matches root commit and creator; " << namespaces->size()
            << " namespaces, " << refs_checked << " refs match their signatures; all objects present)\n";
  return EXIT_OK;
}

}  // namespace

void RegisterRepoCommands(CLI::App& app, CommandRun& run) {
  {
    auto opt = std::make_shared<ShareOptions>();
    auto* cmd = app.add_subcommand("share", "Publish the repository at PATH: prints its did:repo id and git+p2p:// URL");
    cmd->add_option("path", opt->path, "the working repository (default: .)");
    cmd->add_option("--name", opt->name, "name shown to others (default: the folder's name)");
    cmd->add_option("--description", opt->description, "one line");
    cmd->add_option("--delegate", opt->delegates, "did:key of a co-maintainer (repeatable)");
    cmd->add_option("--remove-delegate", opt->remove_delegates,
                    "did:key of a delegate to remove (the creator only; repeatable)");
    cmd->add_flag("--new", opt->new_repo, "a new repo id with this node as creator, even in a clone of another");
    cmd->add_option("--bootstrap", opt->bootstrap, "NODEID@HOST:PORT to announce to when no daemon runs (repeatable)");
    cmd->add_option("--timeout", opt->timeout_s, "seconds to wait for a relay to fetch, without a daemon (default 60)");
    cmd->callback([&run, opt] { run = [opt] { return RunShare(*opt); }; });
  }
  {
    auto source = std::make_shared<std::string>();
    auto dir = std::make_shared<std::string>();
    auto bootstrap = std::make_shared<std::vector<std::string>>();
    auto progress = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("clone", "Fetch, verify and check out a repository by its id");
    cmd->add_option("repo", *source, "did:repo:z… or git+p2p://did:repo:z…[/peer/did:key:z…]")->required();
    cmd->add_option("dir", *dir, "target directory (default: the repo's name)");
    cmd->add_option("--bootstrap", *bootstrap, "NODEID@HOST:PORT to ask when no daemon runs (repeatable)");
    cmd->add_flag("--progress", *progress, "progress on stderr even when it is not a terminal");
    cmd->callback([&run, source, dir, bootstrap, progress] {
      run = [=] { return RunClone(*source, *dir, *bootstrap, *progress); };
    });
  }
  {
    auto repo = std::make_shared<std::string>();
    auto bootstrap = std::make_shared<std::vector<std::string>>();
    auto json = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("sync", "Fetch what is new for one or all followed repositories");
    cmd->add_option("repo", *repo, "did:repo:z… (default: every followed repo)");
    cmd->add_option("--bootstrap", *bootstrap, "NODEID@HOST:PORT to ask when no daemon runs (repeatable)");
    cmd->add_flag("--json", *json, "one JSON array: repo_id, ok, pack_bytes, namespaces_updated, seconds");
    cmd->callback([&run, repo, bootstrap, json] { run = [=] { return RunSync(*repo, *bootstrap, *json); }; });
  }
  {
    auto what = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("verify", "Check a stored repo: id vs root commit and creator, refs vs signatures, objects");
    cmd->add_option("target", *what, "did:repo:z… or a working copy with a git+p2p:// remote")->required();
    cmd->callback([&run, what] { run = [what] { return RunVerify(*what); }; });
  }
}

}  // namespace p2pgit::cli
