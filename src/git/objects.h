// Reading single objects out of a stored repository, for `p2pgit cat mega://…`.
#pragma once

#include <filesystem>
#include <string>

#include "base/bytes.h"
#include "git/error.h"

namespace p2pgit::git {

/** "commit", "tree", "blob" or "tag" for an object or a `<tree-ish>:<path>` expression;
 *  NotFound when it names nothing. */
GitResult<std::string> ObjectType(const std::filesystem::path& git_dir, const std::string& spec);
/** The object's content exactly as stored (a blob's bytes, a commit's text, a tree's binary). */
GitResult<Bytes> ObjectContent(const std::filesystem::path& git_dir, const std::string& spec);
/** A directory listing of a tree: one "<mode> <type> <oid>\t<name>" line per entry. */
GitResult<std::string> TreeListing(const std::filesystem::path& git_dir, const std::string& spec);
/** The history from `oid` (first line of each commit, newest first), at most `max` commits. */
GitResult<std::string> History(const std::filesystem::path& git_dir, const std::string& oid, size_t max);

}  // namespace p2pgit::git
