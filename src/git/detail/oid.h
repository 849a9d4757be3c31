// Object ids between their raw form (the API, the wire) and hex (git's command line).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "git/error.h"
#include "git/storage.h"

namespace p2pgit::git::detail {

inline constexpr std::string_view ZERO_OID_HEX = "0000000000000000000000000000000000000000";

inline GitStatus CheckOid(ByteSpan oid) {
  if (oid.size() != OID_BYTES)
    return Fail(GitError::InvalidArgument,
                "object id of " + std::to_string(oid.size()) + " bytes (only 20-byte SHA-1 ids are supported)");
  return Ok{};
}

inline std::optional<Bytes> ParseOidHex(std::string_view hex) {
  if (hex.size() != 2 * OID_BYTES) return std::nullopt;
  return FromHex(hex);
}

/** Splits git's output into non-empty lines. */
/** `text` without its trailing newline(s): the one value a git command printed. */
inline std::string TrimLineEnd(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

inline std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty()) lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace p2pgit::git::detail
