// Streaming `git pack-objects` out of any git directory (a store, or a user's working
// repository during import): shared by ServePack and the import fallback.
#pragma once

#include <filesystem>
#include <vector>

#include "git/pack_transfer.h"

namespace p2pgit::git::detail {

/** Which of `oids` (raw, already length-checked) exist in `git_dir`, through one cat-file. */
GitResult<std::vector<bool>> HasObjectsIn(const std::filesystem::path& git_dir, const std::vector<Bytes>& oids,
                                          const std::vector<std::string>& env = {});

/** pack-objects of `wants` minus `haves` (every have must exist in git_dir) into `sink`. */
GitResult<ServeStats> StreamPack(const std::filesystem::path& git_dir, const std::vector<Bytes>& wants,
                                 const std::vector<Bytes>& haves, bool thin, const PackSink& sink);

}  // namespace p2pgit::git::detail
