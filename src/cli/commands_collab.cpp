// `p2pgit issue …` and `p2pgit patch …`: collaboration as signed event DAGs (src/activity).
// Each command signs one Activity event naming as parents the thread heads this node has seen,
// stores it (the same admission as gossip) and announces it; listings fold what the store holds.
#include <iostream>
#include <nlohmann/json.hpp>

#include "activity/events.h"
#include "activity/fold.h"
#include "cli/commands.h"
#include "cli/home.h"
#include "cli/repo_ops.h"
#include "cli/terminal_text.h"
#include "git/import.h"
#include "git/working_copy.h"

namespace p2pgit::cli {

namespace {

namespace fs = std::filesystem;
using activity::EventId;

struct RepoContext {
  identity::RepoId repo;
  identity::NodeKey key;
  storage::Store store;
  activity::RepoAuthority authority;
  std::vector<activity::Event> events;
};

/** --repo, else the git+p2p:// remote (p2p, then origin) of the working copy in `dir`. */
Result<identity::RepoId, std::string> RepoFrom(const std::string& repo_flag, const fs::path& dir) {
  if (!repo_flag.empty()) {
    auto t = ParseRepoTarget(repo_flag);
    if (!t) return Fail(std::string(), t.message());
    return t->repo;
  }
  for (const char* remote : {"p2p", "origin"}) {
    auto url = git::RemoteUrl(dir, remote);
    if (url.ok() && url->has_value() && (*url)->rfind(URL_SCHEME, 0) == 0) {
      auto t = ParseRepoTarget(**url);
      if (t) return t->repo;
    }
  }
  return Fail(std::string(), "no --repo given and " + fs::absolute(dir).string() + " has no git+p2p:// remote");
}

Result<RepoContext, std::string> Load(const std::string& repo_flag, const fs::path& dir = ".") {
  auto repo = RepoFrom(repo_flag, dir);
  if (!repo) return repo.error();
  auto key = LoadHomeKey();
  if (!key) return Fail(std::string(), key.message());
  auto store = OpenHomeStore();
  if (!store) return Fail(std::string(), "cannot open the store: " + store.message());
  auto loaded = LoadRepoActivity(*store, *repo);
  if (!loaded) return loaded.error();
  return RepoContext{*repo, std::move(*key), std::move(*store), std::move(loaded->authority), std::move(loaded->events)};
}

Result<EventId, std::string> FindThread(RepoContext& ctx, const std::string& prefix, activity::ThreadKind kind) {
  std::vector<EventId> ids;
  for (const auto& root : activity::ListThreads(ctx.events, ctx.repo))
    if (root.kind == kind) ids.push_back(root.id);
  auto id = activity::ResolveIdPrefix(prefix, ids);
  const char* what = kind == activity::ThreadKind::Issue ? "issue" : "patch";
  if (!id) return Fail(std::string(), std::string(what) + " '" + prefix + "': " + id.message());
  return *id;
}

/** Signs, stores and announces one event; returns its id. */
Result<EventId, std::string> Publish(RepoContext& ctx, std::vector<EventId> parents, activity::Payload payload,
                                     std::vector<wire::SignedMessage> also = {}) {
  auto body = activity::MakeActivityBody(ctx.repo, UnixMillis(), std::move(parents), std::move(payload));
  if (!body) return Fail(std::string(), "invalid event: " + body.message());
  auto message = wire::SignMessage(ctx.key, *body);
  if (auto admitted = AdmitOwn(ctx.store, message); !admitted) return admitted.error();
  std::vector<wire::SignedMessage> all = {message};
  all.insert(all.end(), also.begin(), also.end());
  auto announced = Announce(ctx.key, all, {}, 0);
  if (!announced) std::fprintf(stderr, "warning: stored, not announced: %s\n", announced.message().c_str());
  return message.id;
}

std::string Did(const identity::PublicKey& k) { return identity::EncodeDidKey(k); }

nlohmann::json CommentsJson(const std::vector<activity::Comment>& comments) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : comments) {
    nlohmann::json j = {{"id", ToHex(c.id)}, {"author", Did(c.author)}, {"timestamp_ms", c.timestamp_ms}, {"body", c.body}};
    if (c.reply_to) j["reply_to"] = ToHex(*c.reply_to);
    out.push_back(j);
  }
  return out;
}

nlohmann::json IgnoredJson(const std::vector<activity::IgnoredEvent>& ignored) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : ignored)
    out.push_back({{"id", ToHex(i.id)}, {"author", Did(i.author)}, {"op", i.op},
                   {"reason", activity::IgnoreReasonName(i.reason)}, {"detail", i.detail}});
  return out;
}

nlohmann::json IssueJson(const activity::IssueState& s) {
  return {{"id", ToHex(s.id)},           {"short_id", activity::ShortId(s.id)},
          {"author", Did(s.author)},     {"title", s.title},
          {"body", s.body},              {"labels", s.labels},
          {"status", activity::StatusName(s.status)},
          {"created_ms", s.created_ms},  {"updated_ms", s.updated_ms},
          {"comments", CommentsJson(s.comments)},
          {"ignored", IgnoredJson(s.ignored)}, {"events", s.event_count}};
}

nlohmann::json PatchJson(const activity::PatchState& s) {
  nlohmann::json revisions = nlohmann::json::array();
  for (const auto& r : s.revisions)
    revisions.push_back({{"id", ToHex(r.id)}, {"author", Did(r.author)}, {"base", ToHex(r.base)}, {"head", ToHex(r.head)},
                         {"note", r.note}, {"timestamp_ms", r.timestamp_ms}});
  nlohmann::json reviews = nlohmann::json::array();
  for (const auto& r : s.reviews)
    reviews.push_back({{"id", ToHex(r.id)}, {"author", Did(r.author)},
                       {"verdict", r.verdict == activity::Verdict::Accept ? "accept" : "reject"},
                       {"comment", r.comment}, {"revision", r.revision}});
  nlohmann::json out = {{"id", ToHex(s.id)},          {"short_id", activity::ShortId(s.id)},
                        {"author", Did(s.author)},    {"title", s.title},
                        {"description", s.description}, {"base_branch", s.base_branch},
                        {"status", activity::StatusName(s.status)},
                        {"revisions", revisions},     {"reviews", reviews},
                        {"comments", CommentsJson(s.comments)},
                        {"ignored", IgnoredJson(s.ignored)},
                        {"created_ms", s.created_ms}, {"updated_ms", s.updated_ms}};
  if (s.merge) out["merge"] = {{"id", ToHex(s.merge->id)}, {"author", Did(s.merge->author)}, {"commit", ToHex(s.merge->commit)}};
  return out;
}

// ---- issues ----

struct IssueArgs {
  std::string repo, id, title, body, reply_to;
  std::vector<std::string> labels;
  bool json = false;
  bool has_title = false, has_body = false;
};

int IssueCommand(const std::string& action, const IssueArgs& a) {
  auto ctx = Load(a.repo);
  if (!ctx) return ReportError(ctx.message());
  if (action == "new") {
    auto id = Publish(*ctx, {}, activity::IssueCreate{a.title, a.body, activity::NormalizeLabels(a.labels)});
    if (!id) return ReportError(id.message());
    std::cout << ToHex(*id) << "\n";
    return EXIT_OK;
  }
  if (action == "list") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& root : activity::ListThreads(ctx->events, ctx->repo)) {
      if (root.kind != activity::ThreadKind::Issue) continue;
      auto state = activity::FoldIssue(ctx->events, ctx->authority, root.id);
      if (!state) continue;
      out.push_back(IssueJson(*state));
    }
    if (a.json) {
      std::cout << out.dump(2) << "\n";
    } else {
      if (out.empty()) std::cout << "no issues\n";
      for (const auto& i : out)
        std::cout << i["short_id"].get<std::string>() << "  " << i["status"].get<std::string>() << "  "
                  << EscapeForTerminal(i["title"].get<std::string>(), false) << "  (" << i["comments"].size()
                  << " comments)\n";
    }
    return EXIT_OK;
  }
  auto root = FindThread(*ctx, a.id, activity::ThreadKind::Issue);
  if (!root) return ReportError(root.message());
  auto state = activity::FoldIssue(ctx->events, ctx->authority, *root);
  if (!state) return ReportError("cannot fold the issue: " + state.message());
  if (action == "show") {
    auto j = IssueJson(*state);
    if (a.json) {
      std::cout << j.dump(2) << "\n";
      return EXIT_OK;
    }
    // Titles, labels, bodies and comments are strangers' text: escaped for the terminal.
    std::cout << "issue " << ToHex(state->id) << "  [" << j["status"].get<std::string>() << "]\n"
              << EscapeForTerminal(state->title, false) << "\nby " << Did(state->author) << "\n";
    if (!state->labels.empty()) {
      std::cout << "labels:";
      for (const auto& l : state->labels) std::cout << " " << EscapeForTerminal(l, false);
      std::cout << "\n";
    }
    if (!state->body.empty()) std::cout << "\n" << EscapeForTerminal(state->body, true) << "\n";
    for (const auto& c : state->comments)
      std::cout << "\n-- " << activity::ShortId(c.id) << " " << Did(c.author) << "\n"
                << EscapeForTerminal(c.body, true) << "\n";
    for (const auto& i : state->ignored)
      std::cout << "\n(ignored " << activity::ShortId(i.id) << " " << EscapeForTerminal(i.op, false) << " by "
                << Did(i.author) << ": " << activity::IgnoreReasonName(i.reason)
                << (i.detail.empty() ? "" : ", " + EscapeForTerminal(i.detail, false)) << ")\n";
    return EXIT_OK;
  }
  activity::Payload payload;
  if (action == "comment") {
    std::optional<EventId> reply;
    if (!a.reply_to.empty()) {
      std::vector<EventId> ids;
      for (const auto& c : state->comments) ids.push_back(c.id);
      ids.push_back(state->id);
      auto r = activity::ResolveIdPrefix(a.reply_to, ids);
      if (!r) return ReportError("--reply-to: " + r.message(), EXIT_USAGE);
      reply = *r;
    }
    payload = activity::IssueComment{a.body, reply};
  } else if (action == "edit") {
    if (!a.has_title && !a.has_body) return ReportError("edit needs --title or --body", EXIT_USAGE);
    payload = activity::IssueEdit{a.has_title ? std::optional(a.title) : std::nullopt,
                                  a.has_body ? std::optional(a.body) : std::nullopt};
  } else if (action == "close") {
    payload = activity::IssueClose{};
  } else {
    payload = activity::IssueReopen{};
  }
  auto id = Publish(*ctx, state->heads, payload);
  if (!id) return ReportError(id.message());
  std::cout << ToHex(*id) << "\n";
  return EXIT_OK;
}

// ---- patches ----

struct PatchArgs {
  std::string repo, id, base, head, title, description, body, path = ".";
  bool accept = false, reject = false, json = false;
};

/** Resolves a branch of the working copy: local, then p2p/…, then origin/…. */
std::optional<Bytes> ResolveBranch(const fs::path& git_dir, const std::string& name) {
  for (const std::string& ref : {"refs/heads/" + name, "refs/remotes/p2p/" + name, "refs/remotes/origin/" + name, name}) {
    auto oid = git::ResolveRevision(git_dir, ref + "^{commit}");
    if (oid) return *oid;
  }
  return std::nullopt;
}

/** Imports `head`'s objects into the store and points refs/nodes/<self>/patches/<patch> at it. */
Result<std::vector<wire::SignedMessage>, std::string> PublishPatchRef(RepoContext& ctx, const fs::path& git_dir,
                                                                      const EventId& patch, const Bytes& head) {
  auto storage = git::StorageRepo::OpenOrCreate(git::StoragePath(identity::DefaultHome(), ctx.repo));
  if (!storage) return Fail(std::string(), storage.message());
  if (auto imported = git::ImportObjects(*storage, git_dir, {head}); !imported)
    return Fail(std::string(), "cannot store the patch's commits: " + imported.message());
  auto refs = storage->ListNamespace(ctx.key.public_key());
  if (!refs) return Fail(std::string(), refs.message());
  std::string name = "patches/" + ToHex(patch);
  std::vector<git::NamedRef> updated;
  for (const auto& r : *refs)
    if (r.name != name) updated.push_back(r);
  updated.push_back({name, head});
  return SignOwnRefs(ctx.key, ctx.store, *storage, ctx.repo, updated);
}

int PatchCommand(const std::string& action, const PatchArgs& a) {
  fs::path work = a.path;
  auto ctx = Load(a.repo, work);
  if (!ctx) return ReportError(ctx.message());
  if (action == "new") {
    auto git_dir = git::GitDirOf(work);
    if (!git_dir) return ReportError(git_dir.message());
    auto head = ResolveBranch(*git_dir, a.head);
    if (!head) return ReportError("no branch '" + a.head + "' in " + fs::absolute(work).string());
    auto base = ResolveBranch(*git_dir, a.base);
    if (!base) return ReportError("no branch '" + a.base + "' in " + fs::absolute(work).string());
    std::string title = a.title;
    if (title.empty()) {
      auto subject = git::CommitSubject(*git_dir, *head);
      title = subject ? *subject : a.head;
    }
    // The event first (its id names the ref), then the ref; both announced together.
    auto body = activity::MakeActivityBody(ctx->repo, UnixMillis(), {}, activity::PatchCreate{a.base, *base, *head, title, a.description});
    if (!body) return ReportError("invalid patch: " + body.message());
    auto event = wire::SignMessage(ctx->key, *body);
    auto refs = PublishPatchRef(*ctx, *git_dir, event.id, *head);
    if (!refs) return ReportError(refs.message());
    if (auto admitted = AdmitOwn(ctx->store, event); !admitted) return ReportError(admitted.message());
    std::vector<wire::SignedMessage> all = {event};
    all.insert(all.end(), refs->begin(), refs->end());
    auto announced = Announce(ctx->key, all, {}, 0);
    if (!announced) std::fprintf(stderr, "warning: stored, not announced: %s\n", announced.message().c_str());
    std::cout << ToHex(event.id) << "\n";
    return EXIT_OK;
  }
  if (action == "list") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& root : activity::ListThreads(ctx->events, ctx->repo)) {
      if (root.kind != activity::ThreadKind::Patch) continue;
      if (auto state = activity::FoldPatch(ctx->events, ctx->authority, root.id)) out.push_back(PatchJson(*state));
    }
    if (a.json) {
      std::cout << out.dump(2) << "\n";
    } else {
      if (out.empty()) std::cout << "no patches\n";
      for (const auto& p : out)
        std::cout << p["short_id"].get<std::string>() << "  " << p["status"].get<std::string>() << "  "
                  << EscapeForTerminal(p["title"].get<std::string>(), false) << "  -> "
                  << EscapeForTerminal(p["base_branch"].get<std::string>(), false) << "  ("
                  << p["revisions"].size() << " revisions, " << p["reviews"].size() << " reviews)\n";
    }
    return EXIT_OK;
  }
  auto root = FindThread(*ctx, a.id, activity::ThreadKind::Patch);
  if (!root) return ReportError(root.message());
  auto state = activity::FoldPatch(ctx->events, ctx->authority, *root);
  if (!state) return ReportError("cannot fold the patch: " + state.message());
  const Bytes& head = state->revisions.back().head;
  if (action == "show") {
    auto j = PatchJson(*state);
    if (a.json) {
      std::cout << j.dump(2) << "\n";
      return EXIT_OK;
    }
    std::cout << "patch " << ToHex(state->id) << "  [" << j["status"].get<std::string>() << "]\n"
              << EscapeForTerminal(state->title, false) << "\nby " << Did(state->author) << "  into "
              << EscapeForTerminal(state->base_branch, false) << "\n";
    if (!state->description.empty()) std::cout << "\n" << EscapeForTerminal(state->description, true) << "\n";
    for (size_t i = 0; i < state->revisions.size(); ++i)
      std::cout << "revision " << i << ": " << ToHex(state->revisions[i].head) << " on "
                << ToHex(state->revisions[i].base)
                << (state->revisions[i].note.empty()
                        ? ""
                        : "  " + EscapeForTerminal(state->revisions[i].note, true))
                << "\n";
    for (const auto& r : state->reviews)
      std::cout << "review by " << Did(r.author) << ": "
                << (r.verdict == activity::Verdict::Accept ? "accept" : "reject")
                << (r.comment.empty() ? "" : "  " + EscapeForTerminal(r.comment, true)) << "\n";
    if (state->merge) std::cout << "merged as " << ToHex(state->merge->commit) << " by " << Did(state->merge->author) << "\n";
    for (const auto& c : state->comments)
      std::cout << "\n-- " << activity::ShortId(c.id) << " " << Did(c.author) << "\n"
                << EscapeForTerminal(c.body, true) << "\n";
    for (const auto& i : state->ignored)
      std::cout << "(ignored " << activity::ShortId(i.id) << " " << EscapeForTerminal(i.op, false) << " by "
                << Did(i.author) << ": " << activity::IgnoreReasonName(i.reason)
                << (i.detail.empty() ? "" : ", " + EscapeForTerminal(i.detail, false)) << ")\n";
    return EXIT_OK;
  }
  if (action == "checkout" || action == "merge") {
    auto git_dir = git::GitDirOf(work);
    if (!git_dir) return ReportError(git_dir.message());
    auto storage = git::StorageRepo::Open(git::StoragePath(identity::DefaultHome(), ctx->repo));
    if (!storage) return ReportError("the repository is not stored here: " + storage.message());
    auto present = storage->HasObjects({head});
    if (!present.ok() || !(*present)[0]) {
      auto fetched = FetchIntoHome(ctx->key, ctx->store, RepoTarget{ctx->repo, state->author}, {}, false);
      if (!fetched) return ReportError("the patch's commits are not here and fetching failed: " + fetched.message());
    }
    if (auto linked = git::LinkStoreObjects(*storage, *git_dir / "objects"); !linked) return ReportError(linked.message());
    if (action == "checkout") {
      std::string branch = "patch/" + activity::ShortId(state->id);
      if (auto b = git::CreateBranch(work, branch, head, true); !b) return ReportError(b.message());
      std::cout << "branch " << branch << " at " << ToHex(head) << "\n";
      return EXIT_OK;
    }
    // merge: delegates only; merge in the working copy, publish the branch, sign the Merge.
    if (std::find(ctx->authority.delegates.begin(), ctx->authority.delegates.end(), ctx->key.public_key()) ==
        ctx->authority.delegates.end())
      return ReportError("only a delegate of " + ctx->repo.ToString() + " can merge patches");
    auto tip = git::MergeInto(work, state->base_branch, head,
                              "Merge patch " + activity::ShortId(state->id) + ": " + state->title);
    if (!tip) return ReportError(tip.message());
    if (auto imported = git::ImportObjects(*storage, *git_dir, {*tip}); !imported) return ReportError(imported.message());
    auto refs = storage->ListNamespace(ctx->key.public_key());
    if (!refs) return ReportError(refs.message());
    std::vector<git::NamedRef> updated;
    for (const auto& r : *refs)
      if (r.name != "heads/" + state->base_branch) updated.push_back(r);
    updated.push_back({"heads/" + state->base_branch, *tip});
    auto signed_refs = SignOwnRefs(ctx->key, ctx->store, *storage, ctx->repo, updated);
    if (!signed_refs) return ReportError(signed_refs.message());
    auto id = Publish(*ctx, state->heads, activity::PatchMerge{*tip}, *signed_refs);
    if (!id) return ReportError(id.message());
    std::cout << "merged patch " << activity::ShortId(state->id) << " into "
              << EscapeForTerminal(state->base_branch, false) << " as " << ToHex(*tip) << "\n";
    return EXIT_OK;
  }
  activity::Payload payload;
  std::vector<wire::SignedMessage> also;
  if (action == "update") {
    auto git_dir = git::GitDirOf(work);
    if (!git_dir) return ReportError(git_dir.message());
    std::string branch = a.head;
    if (branch.empty()) {
      auto current = git::CurrentBranch(work);
      if (!current) return ReportError(current.message());
      branch = *current;
    }
    auto new_head = ResolveBranch(*git_dir, branch);
    if (!new_head) return ReportError("no branch '" + branch + "'");
    auto refs = PublishPatchRef(*ctx, *git_dir, state->id, *new_head);
    if (!refs) return ReportError(refs.message());
    also = *refs;
    payload = activity::PatchUpdate{*new_head, std::nullopt,
                                    a.body.empty() ? std::nullopt : std::optional<std::string>(a.body)};
  } else if (action == "comment") {
    payload = activity::PatchComment{a.body, std::nullopt};
  } else if (action == "review") {
    if (a.accept == a.reject) return ReportError("review needs exactly one of --accept or --reject", EXIT_USAGE);
    payload = activity::PatchReview{a.accept ? activity::Verdict::Accept : activity::Verdict::Reject, a.body};
  } else {
    payload = activity::PatchClose{};
  }
  auto id = Publish(*ctx, state->heads, payload, also);
  if (!id) return ReportError(id.message());
  std::cout << ToHex(*id) << "\n";
  return EXIT_OK;
}

}  // namespace

void RegisterCollabCommands(CLI::App& app, CommandRun& run) {
  auto* issue = app.add_subcommand("issue", "Issues: signed event DAGs that merge the same on every replica");
  issue->require_subcommand(1);
  auto ia = std::make_shared<IssueArgs>();
  auto add_repo = [](CLI::App* c, std::string& repo) {
    c->add_option("--repo", repo, "did:repo:z… (default: the working copy's git+p2p:// remote)");
  };
  {
    auto* c = issue->add_subcommand("new", "Open an issue; prints its id");
    add_repo(c, ia->repo);
    c->add_option("--title", ia->title, "one line")->required();
    c->add_option("--body", ia->body, "text");
    c->add_option("--label", ia->labels, "a label (repeatable)");
    c->callback([&run, ia] { run = [ia] { return IssueCommand("new", *ia); }; });
  }
  {
    auto* c = issue->add_subcommand("list", "Issues of a repo: short id, status, title");
    add_repo(c, ia->repo);
    c->add_flag("--json", ia->json, "one JSON array");
    c->callback([&run, ia] { run = [ia] { return IssueCommand("list", *ia); }; });
  }
  for (const std::string action : {"show", "comment", "edit", "close", "reopen"}) {
    auto* c = issue->add_subcommand(action, action == "show" ? "An issue, its comments and ignored events"
                                             : action == "comment" ? "Comment on an issue"
                                             : action == "edit"    ? "Change the title or body (author or delegate)"
                                             : action == "close"   ? "Close (author or delegate)"
                                                                   : "Reopen (author or delegate)");
    c->add_option("id", ia->id, "issue id or a unique prefix (7+ hex)")->required();
    add_repo(c, ia->repo);
    if (action == "show") c->add_flag("--json", ia->json, "one JSON document");
    if (action == "comment") {
      c->add_option("--body", ia->body, "text")->required();
      c->add_option("--reply-to", ia->reply_to, "comment id (prefix) answered");
    }
    if (action == "edit") {
      c->add_option("--title", ia->title, "new title")->each([ia](const std::string&) { ia->has_title = true; });
      c->add_option("--body", ia->body, "new body")->each([ia](const std::string&) { ia->has_body = true; });
    }
    c->callback([&run, ia, action] { run = [ia, action] { return IssueCommand(action, *ia); }; });
  }

  auto* patch = app.add_subcommand("patch", "Patches: proposed commits with revisions, reviews and merges");
  patch->require_subcommand(1);
  auto pa = std::make_shared<PatchArgs>();
  {
    auto* c = patch->add_subcommand("new", "Open a patch from a branch of the working copy; prints its id");
    add_repo(c, pa->repo);
    c->add_option("--base", pa->base, "branch it goes into (e.g. main)")->required();
    c->add_option("--head", pa->head, "branch with the proposed commits")->required();
    c->add_option("--title", pa->title, "one line (default: the head commit's first line)");
    c->add_option("--description", pa->description, "text");
    c->add_option("--path", pa->path, "the working copy (default: .)");
    c->callback([&run, pa] { run = [pa] { return PatchCommand("new", *pa); }; });
  }
  {
    auto* c = patch->add_subcommand("list", "Patches of a repo");
    add_repo(c, pa->repo);
    c->add_flag("--json", pa->json, "one JSON array");
    c->callback([&run, pa] { run = [pa] { return PatchCommand("list", *pa); }; });
  }
  for (const std::string action : {"show", "update", "comment", "review", "checkout", "merge", "close"}) {
    auto* c = patch->add_subcommand(action, action == "show"       ? "A patch: revisions, reviews, comments, merge"
                                             : action == "update"   ? "A new revision from a branch (default: the current one)"
                                             : action == "comment"  ? "Comment on a patch"
                                             : action == "review"   ? "Accept or reject the latest revision"
                                             : action == "checkout" ? "Create branch patch/<id7> at the patch's head"
                                             : action == "merge"    ? "Merge into its base branch here, publish, sign the merge (delegates)"
                                                                    : "Close without merging (author or delegate)");
    c->add_option("id", pa->id, "patch id or a unique prefix (7+ hex)")->required();
    add_repo(c, pa->repo);
    c->add_option("--path", pa->path, "the working copy (default: .)");
    if (action == "show") c->add_flag("--json", pa->json, "one JSON document");
    if (action == "update") {
      c->add_option("--head", pa->head, "branch with the new revision");
      c->add_option("--note", pa->body, "what changed");
    }
    if (action == "comment") c->add_option("--body", pa->body, "text")->required();
    if (action == "review") {
      c->add_flag("--accept", pa->accept, "accept");
      c->add_flag("--reject", pa->reject, "reject");
      c->add_option("--body", pa->body, "comment");
    }
    c->callback([&run, pa, action] { run = [pa, action] { return PatchCommand(action, *pa); }; });
  }
}

}  // namespace p2pgit::cli
