// What may enter a store: only objects reachable from the signed tips being committed. Objects
// arrive in a quarantine (a received pack, or a working repository's packs hard-linked at
// share); the walk here lists the new objects the tips reach, and whatever else the quarantine
// holds (a stash, other remotes' objects, a peer's unrequested extras) is dropped before the
// objects move into the store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "git/detail/quarantine.h"
#include "git/error.h"

namespace p2pgit::git::detail {

/** The objects reachable from some tips and not from the store's refs (or from `exclude`). */
struct NewObjects {
  /** `git rev-list --objects` lines ("<hex>[ <path>]"): the input pack-objects takes. */
  std::string listing;
  size_t count = 0;
  /** The object ids alone (hex), for checks that read the objects. */
  std::vector<std::string> Oids() const;
};

/**
 * Walks `tips_hex` inside `quarantine` (so quarantined objects are visible), stopping at
 * everything the store's refs reach and at `exclude_hex` (tips already accepted in this
 * commit). A tip the store holds but no ref reaches is walked like any other: presence alone is
 * not proof of connectivity. @return MissingObjects with git's line when an object is absent.
 */
GitResult<NewObjects> WalkNewObjects(const std::filesystem::path& store_dir, const Quarantine& quarantine,
                                     const std::vector<std::string>& tips_hex,
                                     const std::vector<std::string>& exclude_hex = {});

/** Objects in the quarantine: every pack index's count plus loose objects. */
GitResult<uint64_t> CountQuarantineObjects(const Quarantine& quarantine);

/**
 * Leaves in the store's future only `keep`: when the quarantine holds exactly `keep.count`
 * objects (the honest case: a full clone, a clean share), nothing is rewritten; otherwise the
 * kept objects are packed (pack-objects reusing the received deltas) into a fresh quarantine
 * that replaces `quarantine`, and the rest is discarded. @return the number of objects dropped
 * (an upper bound when the quarantine held duplicates of store objects, e.g. thin-pack bases).
 */
GitResult<uint64_t> KeepOnlyReachable(const std::filesystem::path& store_dir, Quarantine& quarantine,
                                      const NewObjects& keep);

}  // namespace p2pgit::git::detail
