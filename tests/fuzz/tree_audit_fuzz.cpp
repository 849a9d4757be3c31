// The hostile tree audit's pure checks (src/git/detail/tree_audit.h). The input is read three
// ways: as a raw tree object (ParseTree, then CheckTreeEntries and every entry's name checks),
// as a .gitmodules file (CheckGitmodulesBlob), and as one entry name under every mode.
// Properties, beyond no crash and no UB:
// - a tree that parses re-serializes to exactly the input (mode text, name, oid in order);
// - CheckTreeEntries refuses whatever any single entry's CheckTreeEntryName refuses;
// - a symlink named as .gitmodules is always refused;
// - the name rules ignore ASCII case: a name and its upper-cased form are judged alike.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "git/detail/tree_audit.h"

namespace {

using namespace p2pgit::git::detail;

std::string UpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

void CheckName(std::string_view name) {
  for (uint32_t mode : {MODE_TREE, MODE_FILE, MODE_EXECUTABLE, MODE_SYMLINK, MODE_GITLINK, 0100664u}) {
    bool refused = CheckTreeEntryName(name, mode).has_value();
    if (refused != CheckTreeEntryName(UpperAscii(name), mode).has_value()) std::abort();
    if (mode == MODE_SYMLINK && IsGitmodulesName(name) && !refused) std::abort();
  }
  if (IsGitmodulesName(name) != IsGitmodulesName(UpperAscii(name))) std::abort();
  std::string escaped = EscapeForLine(name);
  for (char c : escaped)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  p2pgit::ByteSpan bytes(data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto parsed = ParseTree(bytes);
  if (parsed.ok()) {
    std::string again;
    bool any_entry_refused = false;
    for (const auto& e : *parsed) {
      again.append(e.mode_text);
      again += ' ';
      again.append(e.name);
      again += '\0';
      again.append(reinterpret_cast<const char*>(e.oid.data()), e.oid.size());
      if (e.oid.size() != 20) std::abort();
      any_entry_refused |= CheckTreeEntryName(e.name, e.mode).has_value();
      CheckName(e.name);
    }
    if (again != text) std::abort();
    auto verdict = CheckTreeEntries(*parsed);
    if (any_entry_refused && !verdict) std::abort();
  }

  (void)CheckGitmodulesBlob(text);
  if (size <= 512) CheckName(text);
  return 0;
}
