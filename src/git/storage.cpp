#include "git/storage.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include "git/detail/oid.h"
#include "git/detail/pack_stream.h"
#include "git/detail/process.h"
#include "git/detail/quarantine.h"
#include "wire/ref_name.h"

namespace p2pgit::git {

namespace fs = std::filesystem;
using detail::InGitDir;
using detail::RunGitOk;

std::string NamespacePrefix(const identity::PublicKey& node) {
  return "refs/nodes/" + identity::DidKeyRefComponent(node) + "/";
}

GitStatus CheckNamespaceRefName(std::string_view name) {
  // The one policy gossip admission also applies: a name the network accepted is never refused
  // here (a refusal would make every clone of the repo fail for as long as the message lives).
  auto refusal = wire::RefNameRefusal(name);
  if (!refusal) return Ok{};
  std::string shown(name.substr(0, 80));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return Fail(GitError::InvalidArgument, "invalid ref name \"" + shown + "\": " + *refusal);
}

fs::path StoragePath(const fs::path& home, const identity::RepoId& repo) {
  std::string text = repo.ToString();  // "did:repo:z…"
  constexpr std::string_view prefix = "did:repo:";
  if (text.starts_with(prefix)) text.erase(0, prefix.size());
  return home / "repos" / (text + ".git");
}

namespace {

bool LooksLikeBareRepo(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "HEAD", ec) && fs::is_directory(dir / "objects", ec) &&
         fs::is_directory(dir / "refs", ec);
}

/** Parses "<oid> <refname>" lines of for-each-ref. */
GitResult<std::vector<std::pair<std::string, Bytes>>> ParseRefLines(std::string_view out) {
  std::vector<std::pair<std::string, Bytes>> refs;
  for (auto line : detail::Lines(out)) {
    size_t space = line.find(' ');
    auto oid = space == std::string_view::npos ? std::nullopt : detail::ParseOidHex(line.substr(0, space));
    if (!oid) return Fail(GitError::GitFailed, "unexpected for-each-ref output: " + std::string(line.substr(0, 100)));
    refs.emplace_back(std::string(line.substr(space + 1)), std::move(*oid));
  }
  return refs;
}

GitResult<std::vector<std::pair<std::string, Bytes>>> ForEachRef(const fs::path& git_dir,
                                                                  const std::vector<std::string>& patterns) {
  std::vector<std::string> args = {"for-each-ref", "--format=%(objectname) %(refname)"};
  for (const auto& p : patterns) args.push_back(p);
  auto out = RunGitOk(InGitDir(git_dir, std::move(args)), "cannot list refs of " + git_dir.string());
  if (!out) return out.error();
  return ParseRefLines(*out);
}

}  // namespace

GitResult<StorageRepo> StorageRepo::Open(const fs::path& git_dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(git_dir, ec);
  if (ec || !LooksLikeBareRepo(abs))
    return Fail(GitError::NotARepository, git_dir.string() + " is not a p2pgit repository store");
  return StorageRepo(abs.lexically_normal());
}

GitResult<StorageRepo> StorageRepo::OpenOrCreate(const fs::path& git_dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(git_dir, ec).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();
  if (fs::exists(abs, ec)) return Open(abs);
  fs::create_directories(abs.parent_path(), ec);
  if (ec) return Fail(GitError::Io, "cannot create " + abs.parent_path().string() + ": " + ec.message());

  std::string tmpl = abs.string() + ".tmp-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return Fail(GitError::Io, "cannot create a directory next to " + abs.string() + ": " + std::strerror(errno));
  fs::path tmp(tmpl);
  auto cleanup = [&] { fs::remove_all(tmp, ec); };
  // An empty template: no sample hooks, no description; hooks never run in a store anyway.
  auto init = RunGitOk({{"init", "--bare", "--quiet", "--template=", "--object-format=sha1", "--initial-branch=main",
                         tmp.string()},
                        {}},
                       "cannot create a repository at " + abs.string());
  if (!init) {
    cleanup();
    return init.error();
  }
  {
    // Automatic gc would repack while a receiver migrates a quarantine, and could prune objects
    // a receiver just moved in but has not yet referenced; the node schedules gc itself.
    std::ofstream config(tmp / "config", std::ios::app);
    config << "[gc]\n\tauto = 0\n\tautoDetach = false\n[core]\n\tlogAllRefUpdates = false\n";
    if (!config) {
      cleanup();
      return Fail(GitError::Io, "cannot write " + (tmp / "config").string());
    }
  }
  ::chmod(tmp.c_str(), 0755);  // mkdtemp made it 0700; the store may be served to local readers
  fs::rename(tmp, abs, ec);
  if (ec) {
    cleanup();
    // Another process created it first: use theirs.
    if (LooksLikeBareRepo(abs)) return Open(abs);
    return Fail(GitError::Io, "cannot create " + abs.string() + ": " + ec.message());
  }
  return StorageRepo(abs);
}

GitResult<std::vector<NamedRef>> StorageRepo::ListNamespace(const identity::PublicKey& node) const {
  std::string prefix = NamespacePrefix(node);
  auto refs = ForEachRef(m_path, {prefix});
  if (!refs) return refs.error();
  std::vector<NamedRef> out;
  for (auto& [name, oid] : *refs)
    if (name.starts_with(prefix)) out.push_back({name.substr(prefix.size()), std::move(oid)});
  std::sort(out.begin(), out.end());
  return out;
}

GitResult<std::vector<NamespaceRefs>> StorageRepo::ListNamespaces() const {
  auto refs = ForEachRef(m_path, {"refs/nodes/"});
  if (!refs) return refs.error();
  std::map<std::string, NamespaceRefs> by_component;
  for (auto& [name, oid] : *refs) {
    std::string_view rest = std::string_view(name).substr(std::string_view("refs/nodes/").size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) continue;
    std::string component(rest.substr(0, slash));
    auto it = by_component.find(component);
    if (it == by_component.end()) {
      auto key = identity::DecodeDidKey("did:key:" + component);
      if (!key) continue;  // not a namespace this code wrote; ignore rather than fail a listing
      it = by_component.emplace(component, NamespaceRefs{*key, {}}).first;
    }
    it->second.refs.push_back({std::string(rest.substr(slash + 1)), std::move(oid)});
  }
  std::vector<NamespaceRefs> out;
  for (auto& [component, ns] : by_component) {
    std::sort(ns.refs.begin(), ns.refs.end());
    out.push_back(std::move(ns));
  }
  std::sort(out.begin(), out.end(), [](const NamespaceRefs& a, const NamespaceRefs& b) { return a.node < b.node; });
  return out;
}

GitStatus StorageRepo::SetNamespaces(const std::vector<NamespaceRefs>& namespaces) const {
  std::vector<std::string> patterns;
  std::set<std::string> prefixes;
  for (const auto& ns : namespaces) {
    std::string prefix = NamespacePrefix(ns.node);
    if (!prefixes.insert(prefix).second)
      return Fail(GitError::InvalidArgument, "namespace " + prefix + " given twice");
    std::set<std::string_view> names;
    for (const auto& ref : ns.refs) {
      if (auto st = CheckNamespaceRefName(ref.name); !st) return st;
      if (auto st = detail::CheckOid(ref.oid); !st) return st;
      if (!names.insert(ref.name).second)
        return Fail(GitError::InvalidArgument, "ref " + ref.name + " given twice in namespace " + prefix);
    }
    patterns.push_back(prefix);
  }
  if (patterns.empty()) return Ok{};
  auto current = ForEachRef(m_path, patterns);
  if (!current) return current.error();
  std::map<std::string, Bytes> old_values(current->begin(), current->end());

  std::string commands;
  for (const auto& ns : namespaces) {
    std::string prefix = NamespacePrefix(ns.node);
    for (const auto& ref : ns.refs) {
      std::string full = prefix + ref.name;
      auto it = old_values.find(full);
      std::string new_hex = ToHex(ref.oid);
      if (it != old_values.end()) {
        std::string old_hex = ToHex(it->second);
        old_values.erase(it);
        if (old_hex == new_hex) continue;
        commands += "update " + full + " " + new_hex + " " + old_hex + "\n";
      } else {
        commands += "create " + full + " " + new_hex + "\n";  // fails if someone created it meanwhile
      }
    }
  }
  // Deletions first would be nicer for D/F conflicts (heads/a → heads/a/b), but git resolves a
  // transaction as a whole; what is left in old_values is exactly what the set dropped.
  std::string deletes;
  for (const auto& [full, oid] : old_values) deletes += "delete " + full + " " + ToHex(oid) + "\n";
  commands = deletes + commands;
  if (commands.empty()) return Ok{};
  auto run = detail::RunGit(InGitDir(m_path, {"update-ref", "--stdin"}), commands);
  if (!run) return run.error();
  if (run->exit_code != 0) {
    std::string line = run->exit.Line();
    GitError code = GitError::GitFailed;
    if (line.find("No space left") != std::string::npos || line.find("Disk quota") != std::string::npos ||
        line.find("Read-only file system") != std::string::npos || line.find("Permission denied") != std::string::npos)
      code = GitError::Io;  // this machine's disk, not the signer's refs
    else if (line.find("nonexistent object") != std::string::npos) code = GitError::MissingObjects;
    else if (line.find("but expected") != std::string::npos || line.find("already exists") != std::string::npos ||
             line.find("cannot lock ref") != std::string::npos || line.find("is at ") != std::string::npos)
      code = GitError::RefConflict;
    return Fail(code, "cannot update refs of " + m_path.string() + ": " + line);
  }
  return Ok{};
}

GitResult<std::vector<Bytes>> StorageRepo::ListTips() const {
  auto refs = ForEachRef(m_path, {"refs/nodes/"});
  if (!refs) return refs.error();
  // Sorted as hex (same order as the bytes); GCC 12 warns spuriously on sorting byte vectors.
  std::set<std::string> distinct;
  for (auto& [name, oid] : *refs) distinct.insert(ToHex(oid));
  std::vector<Bytes> tips;
  for (const auto& hex : distinct) tips.push_back(*FromHex(hex));
  return tips;
}

GitResult<std::vector<bool>> StorageRepo::ServableObjects(const std::vector<Bytes>& wants) const {
  for (const auto& oid : wants)
    if (auto st = detail::CheckOid(oid); !st) return st.error();
  std::vector<bool> out(wants.size(), false);
  if (wants.empty()) return out;
  auto tips = ListTips();
  if (!tips) return tips.error();
  std::set<std::string> tip_set;
  for (const auto& t : *tips) tip_set.insert(ToHex(t));
  // Not a tip: served only when it is a commit an announced tip reaches. Trees, blobs and tags
  // that are no tip are refused for now; partial clones will need a walk of the tips' objects.
  std::vector<size_t> others;
  std::vector<std::string> other_hex;
  for (size_t i = 0; i < wants.size(); ++i) {
    std::string hex = ToHex(wants[i]);
    if (tip_set.count(hex) != 0)
      out[i] = true;
    else {
      others.push_back(i);
      other_hex.push_back(std::move(hex));
    }
  }
  if (others.empty() || tip_set.empty()) return out;
  std::string query;
  for (const auto& hex : other_hex) query += hex + "\n";
  auto types = RunGitOk(InGitDir(m_path, {"cat-file", "--batch-check=%(objectname) %(objecttype)"}), "cannot read objects",
                        query);
  if (!types) return types.error();
  std::set<std::string> commits;
  for (auto line : detail::Lines(*types))
    if (line.size() > 41 && line.substr(41) == "commit") commits.insert(std::string(line.substr(0, 40)));
  if (commits.empty()) return out;
  // rev-list lists the commits the wants reach and the tips do not: a want absent from its
  // output is reachable from a tip.
  std::string input;
  for (const auto& c : commits) input += c + "\n";
  for (const auto& t : tip_set) input += "^" + t + "\n";
  auto listed = RunGitOk(InGitDir(m_path, {"rev-list", "--stdin"}), "cannot walk the history", input);
  if (!listed) return listed.error();
  std::set<std::string> unreachable;
  for (auto line : detail::Lines(*listed)) unreachable.insert(std::string(line));
  for (size_t k = 0; k < others.size(); ++k)
    if (commits.count(other_hex[k]) != 0 && unreachable.count(other_hex[k]) == 0) out[others[k]] = true;
  return out;
}

GitResult<std::vector<bool>> StorageRepo::HasObjects(const std::vector<Bytes>& oids) const {
  for (const auto& oid : oids)
    if (auto st = detail::CheckOid(oid); !st) return st.error();
  return detail::HasObjectsIn(m_path, oids);
}

size_t StorageRepo::RemoveStaleQuarantines(std::chrono::seconds min_age) const {
  size_t removed = 0;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(m_path / "objects", ec)) {
    if (!entry.path().filename().string().starts_with(detail::QUARANTINE_PREFIX)) continue;
    auto mtime = fs::last_write_time(entry.path(), ec);
    if (ec || now - mtime < min_age) continue;
    fs::remove_all(entry.path(), ec);
    if (!ec) ++removed;
  }
  return removed;
}

}  // namespace p2pgit::git
