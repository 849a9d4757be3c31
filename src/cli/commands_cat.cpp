// `p2pgit cat mega://<RepoId>/peer/<NodeId>/{refs[/<RefName>]|path/<FilePath>|raw/<object-id>}`:
// the seed's addressing, served from the home's store (fetched from seeders when missing).
// Everything shown is under a signature: refs come from the node's signed Refs announcement, and
// files and objects are looked up from those refs (raw ids must be reachable in the store, which
// holds only verified objects).
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/home.h"
#include "cli/repo_ops.h"
#include "cli/terminal_text.h"
#include "git/objects.h"
#include "git/storage.h"

namespace p2pgit::cli {

namespace {

namespace fs = std::filesystem;

constexpr char MEGA_SCHEME[] = "mega://";

struct MegaAddress {
  identity::RepoId repo;
  PeerId node{};
  std::string kind;  // "refs", "ref", "path", "raw"
  std::string rest;  // ref name, file path or object id
};

Result<MegaAddress, std::string> ParseMega(const std::string& text) {
  auto usage = [&](const std::string& why) -> Result<MegaAddress, std::string> {
    return Fail(std::string(), "'" + text + "': " + why +
                                   " (mega://<RepoId>/peer/<NodeId>/refs[/<RefName>] | /path/<FilePath> | /raw/<object-id>)");
  };
  if (text.rfind(MEGA_SCHEME, 0) != 0) return usage("not a mega:// address");
  std::string rest = text.substr(sizeof(MEGA_SCHEME) - 1);
  auto slash = rest.find('/');
  if (slash == std::string::npos) return usage("missing /peer/<NodeId>");
  auto repo = identity::DecodeDidRepo(rest.substr(0, slash));
  if (!repo) return usage("invalid repo id: " + repo.message());
  rest = rest.substr(slash);
  if (rest.rfind("/peer/", 0) != 0) return usage("expected /peer/<NodeId> after the repo id");
  rest = rest.substr(6);
  slash = rest.find('/');
  auto node = identity::DecodeDidKey(rest.substr(0, slash));
  if (!node) return usage("invalid NodeId: " + node.message());
  MegaAddress out{*repo, *node, "", ""};
  std::string tail = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (tail == "refs" || tail == "refs/") {
    out.kind = "refs";
  } else if (tail.rfind("refs/", 0) == 0) {
    out.kind = "ref";
    out.rest = tail.substr(5);
  } else if (tail == "path" || tail.rfind("path/", 0) == 0) {
    out.kind = "path";
    out.rest = tail.size() > 5 ? tail.substr(5) : "";
    while (!out.rest.empty() && out.rest.back() == '/') out.rest.pop_back();
  } else if (tail.rfind("raw/", 0) == 0) {
    out.kind = "raw";
    out.rest = tail.substr(4);
    if (out.rest.size() != 40 || out.rest.find_first_not_of("0123456789abcdef") != std::string::npos)
      return usage("an object id is 40 lowercase hex characters");
  } else {
    return usage(tail.empty() ? "nothing after the NodeId" : "unknown part '" + tail + "'");
  }
  return out;
}

/** The node's signed refs for the repo, fetching the repo first when this home lacks it. */
Result<storage::RefsRecord, std::string> SignedRefs(storage::Store& store, const MegaAddress& a, bool fetch_if_missing) {
  auto refs = store.GetRefs(a.repo.multihash, a.node);
  auto path = store.GetRepoPath(a.repo.multihash);
  bool have = refs.ok() && refs->has_value() && path.ok() && path->has_value();
  if (!have && fetch_if_missing) {
    auto key = LoadHomeKey();
    if (!key) return Fail(std::string(), key.message());
    auto fetched = FetchIntoHome(*key, store, RepoTarget{a.repo, a.node}, {}, false);
    if (!fetched) return Fail(std::string(), "not stored here, and fetching failed: " + fetched.message());
    refs = store.GetRefs(a.repo.multihash, a.node);
  }
  if (!refs.ok() || !refs->has_value())
    return Fail(std::string(), identity::EncodeDidKey(a.node) + " has no signed refs for " + a.repo.ToString());
  return **refs;
}

/** File and object bytes as stored: exact when stdout is a file or a pipe (scripts, `> file`),
 *  escaped when it is a terminal, where a stranger's file could carry escape sequences. */
void WriteContent(const Bytes& content) {
  std::string_view bytes(reinterpret_cast<const char*>(content.data()), content.size());
  if (isatty(STDOUT_FILENO)) {
    std::cout << EscapeForTerminal(bytes, true);
    return;
  }
  std::cout.write(bytes.data(), std::streamsize(bytes.size()));
}

/** A ref name as the seed writes it: relative (heads/main, tags/v1), or bare (branch, then tag). */
std::optional<Bytes> FindRef(const storage::RefsRecord& refs, const std::string& name) {
  for (const std::string& candidate : {name, "heads/" + name, "tags/" + name})
    for (const auto& r : refs.refs)
      if (r.name == candidate) return r.oid;
  return std::nullopt;
}

int RunCat(const std::string& address, const std::string& ref, bool json) {
  auto a = ParseMega(address);
  if (!a) return ReportError(a.message(), EXIT_USAGE);
  auto store = OpenHomeStore();
  if (!store) return ReportError("cannot open the store: " + store.message());
  auto refs = SignedRefs(*store, *a, true);
  if (!refs) return ReportError(refs.message());
  if (a->kind == "refs") {
    if (json) {
      nlohmann::json out = {{"repo_id", a->repo.ToString()}, {"node_id", identity::EncodeDidKey(a->node)},
                            {"sequence", refs->sequence}, {"timestamp_ms", refs->timestamp_ms}, {"refs", nlohmann::json::object()}};
      for (const auto& r : refs->refs) out["refs"][r.name] = ToHex(r.oid);
      std::cout << out.dump(2) << "\n";
    } else {
      for (const auto& r : refs->refs)
        std::cout << ToHex(r.oid) << " " << EscapeForTerminal(r.name, false) << "\n";
    }
    return EXIT_OK;
  }
  auto path = store->GetRepoPath(a->repo.multihash);
  if (!path.ok() || !path->has_value()) return ReportError(a->repo.ToString() + " is not stored in this home");
  fs::path git_dir = **path;
  // Refs stored for this namespace must equal the signed ones (the store only ever sets them so).
  if (a->kind == "ref") {
    auto oid = FindRef(*refs, a->rest);
    if (!oid) return ReportError("no ref '" + a->rest + "' in " + identity::EncodeDidKey(a->node) + "'s signed refs");
    auto history = git::History(git_dir, ToHex(*oid), 10000);
    if (!history) return ReportError(history.message());
    // Commit messages and author names are the committer's text: escaped, newlines kept.
    std::cout << ToHex(*oid) << "\n" << EscapeForTerminal(*history, true);
    return EXIT_OK;
  }
  if (a->kind == "path") {
    std::string branch = ref;
    if (branch.empty()) {
      auto meta = store->GetRepo(a->repo.multihash);
      branch = meta.ok() && meta->has_value() ? (*meta)->default_branch : "main";
    }
    auto oid = FindRef(*refs, branch);
    if (!oid)
      return ReportError("no ref '" + EscapeForTerminal(branch, false) + "' in " +
                         identity::EncodeDidKey(a->node) + "'s signed refs");
    std::string spec = ToHex(*oid) + ":" + a->rest;
    auto type = git::ObjectType(git_dir, spec);
    if (!type)
      return ReportError("no file or directory '" + a->rest + "' at " + EscapeForTerminal(branch, false));
    if (*type == "tree") {
      auto listing = git::TreeListing(git_dir, spec);
      if (!listing) return ReportError(listing.message());
      // Entry names are the committer's: escaped on a terminal, exact for scripts.
      std::cout << (isatty(STDOUT_FILENO) ? EscapeForTerminal(*listing, true) : *listing);
      return EXIT_OK;
    }
    auto content = git::ObjectContent(git_dir, spec);
    if (!content) return ReportError(content.message());
    WriteContent(*content);
    return EXIT_OK;
  }
  // raw: any object of the store (verified on arrival), shown as git stores it.
  auto content = git::ObjectContent(git_dir, a->rest);
  if (!content) return ReportError("object " + a->rest + " is not in " + a->repo.ToString());
  WriteContent(*content);
  return EXIT_OK;
}

}  // namespace

void RegisterCatCommands(CLI::App& app, CommandRun& run) {
  auto address = std::make_shared<std::string>();
  auto ref = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("cat", "Show what a mega:// address names: signed refs, a ref's history, a file, an object");
  cmd->add_option("address", *address,
                  "mega://<RepoId>/peer/<NodeId>/refs[/<RefName>] | …/path/<FilePath> | …/raw/<object-id>")
      ->required();
  cmd->add_option("--ref", *ref, "for /path/: the branch or tag to read (default: the repo's default branch)");
  cmd->add_flag("--json", *json, "for /refs: one JSON document");
  cmd->callback([&run, address, ref, json] { run = [=] { return RunCat(*address, *ref, *json); }; });
}

}  // namespace p2pgit::cli
