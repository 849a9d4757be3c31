// The ref-name policy against libgit2 as the oracle: every name wire::IsValidRefName accepts
// must be a valid reference name to libgit2 as refs/nodes/<id>/<name>, so no name admission lets
// in can be refused when the git layer writes it. The input is the name, raw bytes; a second
// property checks the per-message directory rule on the input split at '\n'.
#include <git2.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "wire/ref_name.h"

namespace {

constexpr std::string_view NAMESPACE = "refs/nodes/z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd/";

bool Libgit2Accepts(std::string_view name) {
  std::string full = std::string(NAMESPACE) + std::string(name);
  int valid = 0;
  return git_reference_name_is_valid(&valid, full.c_str()) == 0 && valid == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool initialised = git_libgit2_init() > 0;
  (void)initialised;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // A NUL would end the C string libgit2 reads: the policy must refuse it itself.
  if (p2pgit::wire::IsValidRefName(input) && (input.find('\0') != std::string_view::npos || !Libgit2Accepts(input)))
    std::abort();

  // Several names: the directory rule must find a prefix exactly when one name is a directory
  // of another.
  std::vector<std::string_view> names;
  for (size_t start = 0; start <= input.size();) {
    size_t end = std::min(input.find('\n', start), input.size());
    names.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  bool expected = false;
  for (auto a : names)
    for (auto b : names)
      if (b.size() > a.size() && b.starts_with(a) && b[a.size()] == '/') expected = true;
  if (p2pgit::wire::RefDirectoryConflict(names).has_value() != expected) std::abort();
  return 0;
}
