// Text that strangers signed, made safe for the two places the CLI puts it: a terminal and a
// directory name. Every repo name, description, alias, issue or patch text, label, ref name and
// commit message arrives from the network; the wire layer refuses control characters in some
// fields, but not bidi controls, not in ref names or commit text, and not in objects.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "identity/did.h"

namespace p2pgit::cli {

/** Longest directory name `DefaultCloneDirectory` returns, in bytes. Threat: a long signed name
 *  exceeding NAME_MAX (255) makes the clone fail after the whole fetch, and floods the summary. */
inline constexpr size_t MAX_CLONE_DIRECTORY_BYTES = 100;

/** `text` with everything a terminal would act on instead of showing replaced by a visible escape:
 *  C0 controls as `\xNN` (newline and tab kept when `allow_newlines`; carriage return never), DEL
 *  as `\x7f`, C1 controls (U+0080..U+009F) and Unicode bidi controls (U+061C, U+200E, U+200F,
 *  U+202A..U+202E, U+2066..U+2069) as `\uNNNN`, and each byte that is not part of well-formed
 *  UTF-8 (overlong, surrogate, beyond U+10FFFF, truncated) as `\xNN`. Everything else, including
 *  non-ASCII letters and a literal backslash, is returned unchanged. Never fails. */
std::string EscapeForTerminal(std::string_view text, bool allow_newlines);

/** The directory `p2pgit clone` creates when the user gives none: exactly one path component
 *  derived from the repo's signed `name` (see docs/DECISIONS.md D21). The result is never empty,
 *  never ".", "..", or contains "..", never contains '/' or '\\', never starts with '.', '-' or a
 *  space, holds no control or bidi character and no invalid UTF-8, and is at most
 *  MAX_CLONE_DIRECTORY_BYTES long. When nothing usable is left of the name it is "repo-" and the
 *  last 12 characters of the repo id's base58 part. */
std::string DefaultCloneDirectory(std::string_view signed_name, const identity::RepoId& repo);

}  // namespace p2pgit::cli
