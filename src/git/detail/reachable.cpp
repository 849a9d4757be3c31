#include "git/detail/reachable.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <system_error>

#include "git/detail/oid.h"
#include "git/detail/pack_stream.h"
#include "git/detail/process.h"

namespace p2pgit::git::detail {

namespace fs = std::filesystem;

namespace {

/** Pack index v2: magic, version, then 256 big-endian fan-out counts, the last = objects. */
constexpr std::array<unsigned char, 4> IDX_V2_MAGIC = {0xff, 't', 'O', 'c'};
constexpr size_t IDX_FANOUT_LAST_V2 = 8 + 255 * 4;
constexpr size_t IDX_FANOUT_LAST_V1 = 255 * 4;

GitResult<uint64_t> IndexObjectCount(const fs::path& idx) {
  std::ifstream in(idx, std::ios::binary);
  std::array<unsigned char, IDX_FANOUT_LAST_V2 + 4> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  if (in.gcount() != static_cast<std::streamsize>(head.size()))
    return Fail(GitError::Io, "cannot read pack index " + idx.string());
  bool v2 = std::equal(IDX_V2_MAGIC.begin(), IDX_V2_MAGIC.end(), head.begin());
  size_t at = v2 ? IDX_FANOUT_LAST_V2 : IDX_FANOUT_LAST_V1;
  return (uint64_t(head[at]) << 24) | (uint64_t(head[at + 1]) << 16) | (uint64_t(head[at + 2]) << 8) |
         uint64_t(head[at + 3]);
}

}  // namespace

std::vector<std::string> NewObjects::Oids() const {
  std::vector<std::string> out;
  out.reserve(count);
  for (auto line : Lines(listing)) out.emplace_back(line.substr(0, std::min<size_t>(line.size(), 2 * 20)));
  return out;
}

GitResult<NewObjects> WalkNewObjects(const fs::path& store_dir, const Quarantine& quarantine,
                                     const std::vector<std::string>& tips_hex, const std::vector<std::string>& exclude_hex) {
  NewObjects out;
  if (tips_hex.empty()) return out;
  // --stdin is read where it stands, before --not: the tips are positive, "^x" lines negative.
  std::string input;
  for (const auto& t : tips_hex) input += t + "\n";
  for (const auto& x : exclude_hex) input += "^" + x + "\n";
  auto run = RunGit(InGitDir(store_dir.string(), {"rev-list", "--objects", "--stdin", "--not", "--all"}, quarantine.Env()),
                    input);
  if (!run) return run.error();
  if (run->exit_code != 0) return Fail(GitError::MissingObjects, "not fully connected: " + run->exit.Line());
  out.listing = std::move(run->out);
  for (char c : out.listing)
    if (c == '\n') ++out.count;
  return out;
}

GitResult<uint64_t> CountQuarantineObjects(const Quarantine& quarantine) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(quarantine.dir() / "pack", ec)) {
    if (entry.path().extension() != ".idx") continue;
    auto n = IndexObjectCount(entry.path());
    if (!n) return n.error();
    total += *n;
  }
  if (ec) return Fail(GitError::Io, "cannot read " + (quarantine.dir() / "pack").string() + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(quarantine.dir(), ec)) {
    if (entry.path().filename().string().size() != 2 || !entry.is_directory()) continue;
    std::error_code ec2;
    for (const auto& obj : fs::directory_iterator(entry.path(), ec2))
      if (obj.path().filename().string().size() == 38) ++total;
  }
  return total;
}

GitResult<uint64_t> KeepOnlyReachable(const fs::path& store_dir, Quarantine& quarantine, const NewObjects& keep) {
  auto held = CountQuarantineObjects(quarantine);
  if (!held) return held.error();
  if (*held == keep.count) {
    // Equal counts are equal sets only if every kept object is in the quarantine itself: a
    // kept object the store already held (unreferenced) would let one extra object through.
    std::vector<Bytes> oids;
    for (const auto& hex : keep.Oids())
      if (auto raw = ParseOidHex(hex)) oids.push_back(std::move(*raw));
    auto inside = HasObjectsIn(store_dir, oids,
                               {"GIT_OBJECT_DIRECTORY=" + quarantine.dir().string(), "GIT_ALTERNATE_OBJECT_DIRECTORIES="});
    if (!inside) return inside.error();
    if (std::all_of(inside->begin(), inside->end(), [](bool b) { return b; })) return uint64_t(0);
  }
  auto fresh = Quarantine::Create(store_dir);
  if (!fresh) return fresh.error();
  if (keep.count > 0) {
    // Reads through the old quarantine (and the store as its alternate), writes into the new.
    std::string base = (fresh->dir() / "pack" / "pack").string();
    auto run = RunGitOk(InGitDir(store_dir.string(), {"pack-objects", "--quiet", "--delta-base-offset", base},
                                 quarantine.Env()),
                        "cannot repack the verified objects", keep.listing);
    if (!run) return run.error();
  }
  uint64_t dropped = *held > keep.count ? *held - keep.count : 0;
  quarantine = std::move(*fresh);  // discards the old one with everything unreachable in it
  return dropped;
}

}  // namespace p2pgit::git::detail
