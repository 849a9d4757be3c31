// Refusing hostile tree contents before any ref moves (issue 11): tree entry names that git
// would refuse on checkout or that are known attack shapes (".git" and its HFS+/NTFS aliases,
// "..", symlinked .gitmodules, …) and .gitmodules files that would make a later
// `git submodule update` run a command or reach outside the work tree.
//
// The rules mirror git 2.39's fsck (`git fsck --strict`, transfer.fsckObjects) for trees and
// .gitmodules, and are stricter where git only warns or where a shape our parser cannot read
// might be read differently by git. Everything but AuditObjects is pure and I/O-free, so the
// unit tests and tests/fuzz/tree_audit_fuzz.cpp drive it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "git/error.h"

namespace p2pgit::git::detail {

/** A tree object above this is refused unread. The audit holds one tree at a time; the threat
 *  is a single crafted tree sized to exhaust the receiver's memory. Real trees are far smaller
 *  (the largest directories of big monorepos are a few MB). */
inline constexpr size_t MAX_TREE_BYTES = 32u << 20;
/** Entries per tree: bounds the entry vector and the ordering check (threat: CPU/memory). */
inline constexpr size_t MAX_TREE_ENTRIES = 1u << 20;
/** An entry name above this is refused: no filesystem holds it (NAME_MAX is 255 on most),
 *  and it would only serve to flood logs and terminals with the refusal line. */
inline constexpr size_t MAX_TREE_ENTRY_NAME_BYTES = 4096;
/** Octal digits of a mode: "0100644" (a zero-padded 100644, itself refused) is the longest
 *  shape with a meaning; more digits could only overflow the value. */
inline constexpr size_t MAX_TREE_MODE_DIGITS = 7;

/** A .gitmodules blob above this is refused unread (threat: memory and parse time per blob;
 *  git itself refuses .gitmodules it cannot load whole). Real files are a few KB. */
inline constexpr size_t MAX_GITMODULES_BYTES = 1u << 20;
/** A section, subsection or key name above this is refused (git caps a base name at 256). */
inline constexpr size_t MAX_GITMODULES_NAME_BYTES = 1024;
/** A value (url, path, …) above this is refused: no real url or path is that long, and the
 *  value ends up on git's command lines and in error lines. */
inline constexpr size_t MAX_GITMODULES_VALUE_BYTES = 8192;

/** File modes git writes into trees. 100664 (very old git) is refused, as by fsck --strict. */
inline constexpr uint32_t MODE_TREE = 040000;
inline constexpr uint32_t MODE_FILE = 0100644;
inline constexpr uint32_t MODE_EXECUTABLE = 0100755;
inline constexpr uint32_t MODE_SYMLINK = 0120000;
inline constexpr uint32_t MODE_GITLINK = 0160000;

/** One entry of a raw tree object; the views point into the parsed bytes. */
struct TreeEntry {
  uint32_t mode = 0;
  std::string_view mode_text;  // the octal digits as written ("40000"); a leading '0' is refused
  std::string_view name;
  ByteSpan oid;  // 20 bytes
};

enum class TreeParseError {
  TooLarge,        // more than MAX_TREE_BYTES
  TooManyEntries,  // more than MAX_TREE_ENTRIES
  BadMode,         // empty, a non-octal digit, or more than MAX_TREE_MODE_DIGITS
  Truncated,       // the bytes end inside an entry (no space, no NUL, short object id)
};

const char* TreeParseErrorName(TreeParseError error);

/** Parses raw tree object contents: repeated `<octal mode> SP <name> NUL <20-byte oid>`.
 *  @return the entries in order, or the first malformation with its byte offset. Names are
 *  not judged here (see CheckTreeEntryName / CheckTreeEntries). */
Result<std::vector<TreeEntry>, TreeParseError> ParseTree(ByteSpan tree);

/**
 * Why one entry is refused, or nullopt when it is acceptable:
 * empty, over MAX_TREE_ENTRY_NAME_BYTES, ".", "..", a '/' or NUL in the name, a mode other than
 * 040000/100644/100755/120000/160000, ".git" in any spelling git or a filesystem would treat as
 * ".git" (case, HFS+ ignorable code points, NTFS "git~1", trailing dots/spaces, ":" stream
 * suffixes, backslash-separated components), a .gitmodules (or alias) that is not a regular
 * file, and a symlinked .gitattributes, .gitignore or .mailmap (or alias).
 */
std::optional<std::string> CheckTreeEntryName(std::string_view name, uint32_t mode);

/** CheckTreeEntryName for every entry, plus what needs the whole tree: zero-padded modes,
 *  null object ids, entries out of git's order, and duplicate names (also a file and a
 *  directory of one name, adjacent or not). The reason names the entry (escaped). */
std::optional<std::string> CheckTreeEntries(std::span<const TreeEntry> entries);

/** True for ".gitmodules" and every name git treats as it (HFS+ and NTFS aliases such as
 *  ".GitModules", ".git\u200cmodules", "gitmod~1", ".gitmodules ::$DATA", backslash
 *  components): the blobs such entries name must pass CheckGitmodulesBlob. */
bool IsGitmodulesName(std::string_view name);

/**
 * Parses a .gitmodules file as git-config syntax (sections, quoted subsections, escapes,
 * comments, continuation lines) and returns why it is refused, or nullopt:
 * over MAX_GITMODULES_BYTES, a NUL byte, anything the parser cannot read, a submodule name
 * that is empty, absolute or has a ".." component, a url or path or branch starting with '-'
 * (it would become an option of git or ssh), a path that is absolute or has a ".." component,
 * `update = !command`, a url with a (possibly %-encoded) newline, a relative url whose leading
 * "../" climb ends in ':' or '/', an http(s)/ftp(s) url without a host.
 */
std::optional<std::string> CheckGitmodulesBlob(std::string_view content);

/** `bytes` fit for one log or terminal line: printable ASCII as is, '"' and '\\' and every
 *  other byte as \xNN, at most `max_bytes` of input (then "…"). */
std::string EscapeForLine(std::string_view bytes, size_t max_bytes = 200);

/**
 * Audits objects new to a store before any ref may point at them: learns their types with
 * `git cat-file --batch-check`, streams the trees through `git cat-file --batch` (one tree in
 * memory at a time) checking every entry (CheckTreeEntries), then reads and checks every blob
 * those trees name as .gitmodules (CheckGitmodulesBlob), wherever it is stored.
 * `git_dir` and `env` are how git reads the objects (a quarantine's Env() sees the quarantine
 * and, through the alternate, the store). `oid_hex`: 40 lowercase hex digits each.
 * @return HostileContent with one line naming the object and the entry (bytes escaped);
 * InvalidArgument for an id that is not 40 lowercase hex digits; MissingObjects when an id
 * or a .gitmodules blob cannot be read; GitFailed when git cannot be run or misbehaves.
 */
GitStatus AuditObjects(const std::filesystem::path& git_dir, const std::vector<std::string>& env,
                       const std::vector<std::string>& oid_hex);

}  // namespace p2pgit::git::detail
