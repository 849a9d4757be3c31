// A temporary object directory inside a store (objects/incoming-XXXXXX), as git receive-pack
// uses: received objects land there, git sees the store's objects through an alternate so thin
// packs resolve, and nothing reaches the store until Migrate().
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "git/error.h"

namespace p2pgit::git::detail {

inline constexpr const char* QUARANTINE_PREFIX = "incoming-";

class Quarantine {
 public:
  static GitResult<Quarantine> Create(const std::filesystem::path& store_dir);
  Quarantine(Quarantine&& other) noexcept;
  Quarantine& operator=(Quarantine&& other) noexcept;
  ~Quarantine() { Discard(); }

  const std::filesystem::path& dir() const { return m_dir; }
  /** Environment for a git child that must read and write through the quarantine. */
  std::vector<std::string> Env() const;
  /** Moves every object into the store: packs (the .pack before its .idx, so the store never
   *  sees an index without its pack) and loose objects, then removes the directory. */
  GitStatus Migrate();
  /** Deletes the directory and all it holds; the store is as if nothing was received. */
  void Discard();

 private:
  Quarantine() = default;
  std::filesystem::path m_store_objects;
  std::filesystem::path m_dir;
};

}  // namespace p2pgit::git::detail
