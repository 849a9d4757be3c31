#include "wire/ref_name.h"

#include <algorithm>
#include <cstring>

namespace p2pgit::wire {

namespace {

/** Roots a signed name may live under. notes/ was dropped (docs/DECISIONS.md): nothing uses it,
 *  and every root is one more place where git's own tools act on the refs. */
constexpr std::string_view ALLOWED_REF_ROOTS[] = {"heads/", "tags/", "patches/"};

/** Characters git's check-ref-format refuses anywhere in a name (besides controls and DEL). */
constexpr const char* FORBIDDEN_REF_CHARACTERS = " ~^:?*[\\";

/** Strict UTF-8: no overlong forms, surrogates or values above U+10FFFF (the wire decodes text
 *  the same way; this keeps the policy whole for callers that pass raw bytes, such as git). */
bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    static constexpr uint32_t MIN_FOR_LENGTH[] = {0, 0x80, 0x800, 0x10000};
    if (cp < MIN_FOR_LENGTH[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

std::optional<std::string> RefNameRefusal(std::string_view name) {
  if (name.size() > MAX_REF_NAME_BYTES) return "longer than " + std::to_string(MAX_REF_NAME_BYTES) + " bytes";
  if (std::none_of(std::begin(ALLOWED_REF_ROOTS), std::end(ALLOWED_REF_ROOTS),
                   [&](std::string_view root) { return name.starts_with(root); }))
    return "must start with heads/, tags/ or patches/";
  if (!IsValidUtf8(name)) return "is not valid UTF-8";
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || std::strchr(FORBIDDEN_REF_CHARACTERS, c) != nullptr)
      return "contains a control character or one of \" ~^:?*[\\\"";
  }
  // C1 controls (U+0080..U+009F, 0xc2 0x80..0x9f): git allows them, but CLIs print ref names and
  // 0x9b is a terminal's CSI (escape injection), as for aliases and repo names.
  for (size_t i = 0; i + 1 < name.size(); ++i) {
    if (static_cast<unsigned char>(name[i]) == 0xc2 && static_cast<unsigned char>(name[i + 1]) <= 0x9f)
      return "contains a C1 control character";
  }
  if (name.find("..") != std::string_view::npos) return "contains \"..\"";
  if (name.find("@{") != std::string_view::npos) return "contains \"@{\"";
  if (name.back() == '.') return "ends with \".\"";
  std::string_view rest = name;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view component = rest.substr(0, slash);
    // Empty components are "//", a trailing '/' or nothing after the root.
    if (component.empty()) return "has an empty path component";
    if (component.front() == '.') return "has a component starting with \".\"";
    if (component.front() == '-') return "has a component starting with \"-\"";
    if (component.ends_with(".lock")) return "has a component ending with \".lock\"";
    if (component == "@") return "has a component \"@\"";
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return std::nullopt;
}

bool IsValidRefName(std::string_view name) { return !RefNameRefusal(name).has_value(); }

std::optional<std::string> RefDirectoryConflict(const std::vector<std::string_view>& sorted_names) {
  // A prefix and its descendants are not adjacent in byte order ("a" < "a-b" < "a/b"), so each
  // name's directory prefixes are looked up: O(n · components · log n), n ≤ 8192.
  for (std::string_view name : sorted_names) {
    for (size_t slash = name.find('/'); slash != std::string_view::npos; slash = name.find('/', slash + 1)) {
      std::string_view directory = name.substr(0, slash);
      if (std::binary_search(sorted_names.begin(), sorted_names.end(), directory))
        return "\"" + std::string(directory) + "\" and \"" + std::string(name) +
               "\": a ref cannot also be a directory of refs";
    }
  }
  return std::nullopt;
}

}  // namespace p2pgit::wire
