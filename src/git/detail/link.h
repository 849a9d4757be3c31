// Sharing immutable object files between repositories by hard link.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace p2pgit::git::detail {

/** Hard link, or copy where a link is impossible (another filesystem, protected_hardlinks).
 *  Object files are named by their content, so an existing target is the same file. */
inline bool LinkOrCopy(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return true;
  if (errno == EEXIST) return true;
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::skip_existing, ec);
  return !ec;
}

}  // namespace p2pgit::git::detail
