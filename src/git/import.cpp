#include "git/import.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <system_error>

#include "git/detail/link.h"
#include "git/detail/oid.h"
#include "git/detail/pack_stream.h"
#include "git/detail/process.h"
#include "git/detail/quarantine.h"
#include "git/detail/reachable.h"
#include "git/detail/tree_audit.h"
#include "git/pack_transfer.h"

namespace p2pgit::git {

namespace fs = std::filesystem;
using detail::GitInvocation;
using detail::RunGitOk;

namespace {

using detail::LinkOrCopy;

struct LinkCounts {
  size_t packs = 0;
  size_t loose = 0;
};

GitResult<LinkCounts> LinkObjects(const fs::path& source_objects, const fs::path& store_dir,
                                  const detail::Quarantine& quarantine) {
  LinkCounts counts;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(source_objects / "pack", ec)) {
    const fs::path& idx = entry.path();
    if (idx.extension() != ".idx" || !idx.filename().string().starts_with("pack-")) continue;
    fs::path pack = fs::path(idx).replace_extension(".pack");
    if (!fs::exists(pack)) continue;
    // The store already holds this exact pack (same name, same content): a repeated share.
    if (fs::exists(store_dir / "objects" / "pack" / idx.filename())) continue;
    if (!LinkOrCopy(pack, quarantine.dir() / "pack" / pack.filename()) ||
        !LinkOrCopy(idx, quarantine.dir() / "pack" / idx.filename()))
      return Fail(GitError::Io, "cannot link or copy " + pack.string() + " into the store");
    ++counts.packs;
  }
  for (const auto& entry : fs::directory_iterator(source_objects, ec)) {
    auto name = entry.path().filename().string();
    if (name.size() != 2 || !std::isxdigit(static_cast<unsigned char>(name[0])) ||
        !std::isxdigit(static_cast<unsigned char>(name[1])) || !entry.is_directory())
      continue;
    std::error_code ec2;
    fs::create_directories(quarantine.dir() / name, ec2);
    for (const auto& obj : fs::directory_iterator(entry.path(), ec2)) {
      if (obj.path().filename().string().size() != 38) continue;  // tmp_obj_* of a running git
      if (fs::exists(store_dir / "objects" / name / obj.path().filename())) continue;
      if (!LinkOrCopy(obj.path(), quarantine.dir() / name / obj.path().filename()))
        return Fail(GitError::Io, "cannot link or copy " + obj.path().string() + " into the store");
      ++counts.loose;
    }
  }
  return counts;
}

GitResult<uint64_t> StreamInto(const StorageRepo& store, const fs::path& git_dir, const std::vector<Bytes>& tips,
                               const std::string& where) {
  auto receiver = PackReceiver::Start(store);
  if (!receiver) return receiver.error();
  auto store_tips = store.ListTips();
  if (!store_tips) return store_tips.error();
  auto in_source = detail::HasObjectsIn(git_dir, *store_tips);
  if (!in_source) return in_source.error();
  std::vector<Bytes> haves;
  for (size_t i = 0; i < store_tips->size(); ++i)
    if ((*in_source)[i]) haves.push_back((*store_tips)[i]);
  GitStatus feed_status = Ok{};
  auto streamed = detail::StreamPack(git_dir, tips, haves, true, [&](ByteSpan bytes) {
    feed_status = receiver->Feed(bytes);
    return feed_status.ok();
  });
  if (!feed_status) return feed_status.error();
  if (!streamed) return Fail(streamed.code() == GitError::GitFailed ? GitError::MissingObjects : streamed.code(),
                             "cannot read every object of " + where + ": " + streamed.message());
  if (auto st = receiver->CommitObjects(tips); !st) return st.error();
  return streamed->bytes;
}

}  // namespace

GitResult<ImportResult> ImportWorkingRepo(const StorageRepo& store, const fs::path& working_dir) {
  std::string where = working_dir.string();
  auto info = detail::RunGit({{"-C", where, "rev-parse", "--path-format=absolute", "--git-common-dir",
                               "--git-path", "objects", "--show-object-format", "--is-shallow-repository"},
                              {}});
  if (!info) return info.error();
  if (info->exit_code != 0) {
    std::string line = info->exit.Line();
    if (line.find("objectformat") != std::string::npos || line.find("extension") != std::string::npos)
      return Fail(GitError::UnsupportedObjectFormat, where + " uses an object format p2pgit does not support: " + line);
    return Fail(GitError::NotARepository, where + " is not a git repository: " + line);
  }
  auto lines = detail::Lines(info->out);
  if (lines.size() != 4) return Fail(GitError::GitFailed, "unexpected rev-parse output for " + where);
  fs::path git_dir(lines[0]);
  fs::path objects(lines[1]);
  if (lines[2] != "sha1")
    return Fail(GitError::UnsupportedObjectFormat, where + " is a " + std::string(lines[2]) +
                                                       " repository; p2pgit supports only SHA-1 repositories");
  if (lines[3] == "true")
    return Fail(GitError::InvalidArgument, where + " is a shallow clone; fetch its whole history first "
                                                   "(git fetch --unshallow)");

  auto listed = RunGitOk({{"--git-dir=" + git_dir.string(), "for-each-ref", "--format=%(objectname) %(refname)",
                           "refs/heads/", "refs/tags/"},
                          {}},
                         "cannot list the branches of " + where);
  if (!listed) return listed.error();
  ImportResult result;
  std::vector<Bytes> tips;
  for (auto line : detail::Lines(*listed)) {
    size_t space = line.find(' ');
    auto oid = space == std::string_view::npos ? std::nullopt : detail::ParseOidHex(line.substr(0, space));
    if (!oid) return Fail(GitError::GitFailed, "unexpected for-each-ref output: " + std::string(line.substr(0, 100)));
    std::string name(line.substr(space + 1 + std::string_view("refs/").size()));
    if (auto st = CheckNamespaceRefName(name); !st) return st.error();
    tips.push_back(*oid);
    result.refs.push_back({std::move(name), std::move(*oid)});
  }
  if (result.refs.empty()) return Fail(GitError::NoCommits, where + " has no branch to share yet");
  std::sort(result.refs.begin(), result.refs.end());

  // Fast path: link the files, prove the tips connected, then keep only what the tips reach:
  // the working repository's packs may also hold a stash, other remotes' objects or dangling
  // commits, which must never become fetchable from the store.
  {
    auto quarantine = detail::Quarantine::Create(store.path());
    if (!quarantine) return quarantine.error();
    auto counts = LinkObjects(objects, store.path(), *quarantine);
    if (!counts) return counts.error();
    std::vector<std::string> tips_hex;
    for (const auto& t : tips) tips_hex.push_back(ToHex(t));
    auto walked = detail::WalkNewObjects(store.path(), *quarantine, tips_hex);
    if (walked) {
      if (walked->count > 0)
        if (auto audited = detail::AuditObjects(store.path(), quarantine->Env(), walked->Oids()); !audited)
          return Fail(audited.code(), "cannot share " + where + ": " + audited.message());
      auto dropped = detail::KeepOnlyReachable(store.path(), *quarantine, *walked);
      if (!dropped) return dropped.error();
      if (auto st = quarantine->Migrate(); !st) return st.error();
      result.packs_linked = counts->packs;
      result.loose_linked = counts->loose;
      result.objects_left_out = *dropped;
      return result;
    }
    if (walked.code() != GitError::MissingObjects) return walked.error();
  }  // the quarantine is discarded here

  // Fallback: let the working repository's git find every object (alternates included) and
  // stream a pack of what the store lacks, verified like any received pack.
  auto streamed = StreamInto(store, git_dir, tips, where);
  if (!streamed) return streamed.error();
  result.streamed = true;
  result.streamed_bytes = *streamed;
  return result;
}

GitStatus ImportObjects(const StorageRepo& store, const fs::path& git_dir, const std::vector<Bytes>& tips) {
  for (const auto& t : tips)
    if (auto c = detail::CheckOid(t); !c) return c;
  auto present = store.HasObjects(tips);
  if (!present) return present.error();
  if (std::all_of(present->begin(), present->end(), [](bool b) { return b; })) return Ok{};
  auto streamed = StreamInto(store, git_dir, tips, git_dir.string());
  if (!streamed) return streamed.error();
  return Ok{};
}

}  // namespace p2pgit::git
