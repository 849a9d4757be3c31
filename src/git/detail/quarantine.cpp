#include "git/detail/quarantine.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace p2pgit::git::detail {

namespace fs = std::filesystem;

GitResult<Quarantine> Quarantine::Create(const fs::path& store_dir) {
  Quarantine q;
  q.m_store_objects = store_dir / "objects";
  std::string tmpl = (q.m_store_objects / (std::string(QUARANTINE_PREFIX) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return Fail(GitError::Io, "cannot create a quarantine in " + q.m_store_objects.string() + ": " +
                                  std::strerror(errno));
  q.m_dir = tmpl;
  std::error_code ec;
  fs::create_directory(q.m_dir / "pack", ec);
  if (ec) {
    q.Discard();
    return Fail(GitError::Io, "cannot create " + (fs::path(tmpl) / "pack").string() + ": " + ec.message());
  }
  return q;
}

Quarantine::Quarantine(Quarantine&& other) noexcept
    : m_store_objects(std::move(other.m_store_objects)), m_dir(std::move(other.m_dir)) {
  other.m_dir.clear();
}

Quarantine& Quarantine::operator=(Quarantine&& other) noexcept {
  if (this != &other) {
    Discard();
    m_store_objects = std::move(other.m_store_objects);
    m_dir = std::move(other.m_dir);
    other.m_dir.clear();
  }
  return *this;
}

std::vector<std::string> Quarantine::Env() const {
  return {"GIT_OBJECT_DIRECTORY=" + m_dir.string(), "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + m_store_objects.string(),
          // What git itself sets while a push sits in quarantine: refuses ref updates that
          // would point at quarantined objects.
          "GIT_QUARANTINE_PATH=" + m_dir.string()};
}

void Quarantine::Discard() {
  if (m_dir.empty()) return;
  std::error_code ec;
  fs::remove_all(m_dir, ec);
  m_dir.clear();
}

namespace {
/** Rank of a pack-directory file in migration order: the pack data first, its index last
 *  (git only looks at packs through their .idx). */
int PackFileRank(const fs::path& p) {
  auto ext = p.extension().string();
  if (ext == ".pack") return 0;
  if (ext == ".idx") return 2;
  return 1;
}

GitStatus MoveFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (fs::exists(to, ec)) {
    // Same name = same content (packs are named by their hash, loose objects by their id).
    fs::remove(from, ec);
    return Ok{};
  }
  fs::rename(from, to, ec);
  if (ec) return Fail(GitError::Io, "cannot move " + from.string() + " into the store: " + ec.message());
  return Ok{};
}
}  // namespace

GitStatus Quarantine::Migrate() {
  if (m_dir.empty()) return Fail(GitError::Io, "quarantine already discarded");
  std::error_code ec;
  // Loose objects first: nothing refers to them until refs move.
  for (const auto& entry : fs::directory_iterator(m_dir, ec)) {
    auto name = entry.path().filename().string();
    if (name.size() != 2 || !entry.is_directory()) continue;
    fs::path target_dir = m_store_objects / name;
    fs::create_directories(target_dir, ec);
    if (ec) return Fail(GitError::Io, "cannot create " + target_dir.string() + ": " + ec.message());
    for (const auto& obj : fs::directory_iterator(entry.path(), ec)) {
      auto st = MoveFile(obj.path(), target_dir / obj.path().filename());
      if (!st) return st;
    }
  }
  if (ec) return Fail(GitError::Io, "cannot read quarantine " + m_dir.string() + ": " + ec.message());
  std::vector<fs::path> pack_files;
  for (const auto& entry : fs::directory_iterator(m_dir / "pack", ec)) {
    auto name = entry.path().filename().string();
    if (name.starts_with("pack-")) pack_files.push_back(entry.path());  // not tmp_pack_* leftovers
  }
  if (ec) return Fail(GitError::Io, "cannot read quarantine " + m_dir.string() + ": " + ec.message());
  std::stable_sort(pack_files.begin(), pack_files.end(),
                   [](const fs::path& a, const fs::path& b) { return PackFileRank(a) < PackFileRank(b); });
  fs::create_directories(m_store_objects / "pack", ec);
  for (const auto& p : pack_files) {
    auto st = MoveFile(p, m_store_objects / "pack" / p.filename());
    if (!st) return st;
  }
  Discard();
  return Ok{};
}

}  // namespace p2pgit::git::detail
