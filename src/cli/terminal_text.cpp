#include "cli/terminal_text.h"

#include <cstdint>
#include <optional>

namespace p2pgit::cli {

namespace {

constexpr char HEX_DIGITS[] = "0123456789abcdef";
/** How many trailing characters of the repo id's base58 part name the fallback directory: 12
 *  base58 characters (~70 bits) keep two repos of one user apart without a long name. */
constexpr size_t FALLBACK_ID_CHARS = 12;

struct CodePoint {
  uint32_t value;
  size_t length;  // bytes it took
};

/** The well-formed UTF-8 sequence at `text[i]` (Unicode Table 3-7: no overlongs, no surrogates,
 *  nothing past U+10FFFF), or nullopt when the byte at `i` does not start one. */
std::optional<CodePoint> DecodeUtf8(std::string_view text, size_t i) {
  auto byte = [&](size_t k) -> uint32_t { return static_cast<unsigned char>(text[k]); };
  uint32_t b0 = byte(i);
  if (b0 < 0x80) return CodePoint{b0, 1};
  size_t length;
  uint32_t low = 0x80, high = 0xbf;  // allowed range of the second byte
  uint32_t value;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
    value = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    value = b0 & 0x0f;
    if (b0 == 0xe0) low = 0xa0;   // overlong
    if (b0 == 0xed) high = 0x9f;  // surrogates U+D800..U+DFFF
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    value = b0 & 0x07;
    if (b0 == 0xf0) low = 0x90;   // overlong
    if (b0 == 0xf4) high = 0x8f;  // beyond U+10FFFF
  } else {
    return std::nullopt;  // a continuation byte, C0/C1 (overlong 2-byte), or F5..FF
  }
  if (i + length > text.size()) return std::nullopt;
  for (size_t k = 1; k < length; ++k) {
    uint32_t b = byte(i + k);
    if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xbf)) return std::nullopt;
    value = (value << 6) | (b & 0x3f);
  }
  return CodePoint{value, length};
}

bool IsBidiControl(uint32_t c) {
  return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

/** C0, DEL and C1: what a terminal interprets (ESC and CSI start escape sequences). */
bool IsControl(uint32_t c) {
  return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f);
}

void AppendByteEscape(std::string& out, unsigned char b) {
  out += "\\x";
  out.push_back(HEX_DIGITS[b >> 4]);
  out.push_back(HEX_DIGITS[b & 0x0f]);
}

void AppendCodePointEscape(std::string& out, uint32_t c) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(HEX_DIGITS[(c >> shift) & 0x0f]);
}

}  // namespace

std::string EscapeForTerminal(std::string_view text, bool allow_newlines) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto cp = DecodeUtf8(text, i);
    if (!cp) {
      AppendByteEscape(out, static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    uint32_t c = cp->value;
    if (allow_newlines && (c == '\n' || c == '\t')) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x80 && IsControl(c)) {
      AppendByteEscape(out, static_cast<unsigned char>(c));
    } else if (IsControl(c) || IsBidiControl(c)) {
      AppendCodePointEscape(out, c);
    } else {
      out.append(text.substr(i, cp->length));
    }
    i += cp->length;
  }
  return out;
}

std::string DefaultCloneDirectory(std::string_view signed_name, const identity::RepoId& repo) {
  // 1. One pass over the name: every unsafe code point (and every invalid byte) becomes '-', a
  //    run of such replacements one '-'; separators ('/', '\\') count as unsafe, as do the line
  //    and paragraph separators; a run of dots becomes one dot (so no "..", ever).
  std::string mapped;
  bool last_replaced = false;
  size_t i = 0;
  while (i < signed_name.size()) {
    auto cp = DecodeUtf8(signed_name, i);
    size_t length = cp ? cp->length : 1;
    bool unsafe = !cp || IsControl(cp->value) || IsBidiControl(cp->value) || cp->value == '/' ||
                  cp->value == '\\' || cp->value == 0x2028 || cp->value == 0x2029;
    if (unsafe) {
      if (!last_replaced) mapped.push_back('-');
      last_replaced = true;
    } else if (cp->value == '.' && !mapped.empty() && mapped.back() == '.') {
      last_replaced = false;
    } else {
      mapped.append(signed_name.substr(i, length));
      last_replaced = false;
    }
    i += length;
  }
  // 2. No leading '.', '-' or space: not hidden, not an option to whatever the user runs next.
  size_t start = mapped.find_first_not_of(".- ");
  mapped = start == std::string::npos ? std::string() : mapped.substr(start);
  // 3. Bounded, cut at a code point boundary (the mapped text is valid UTF-8), then no trailing
  //    space (invisible in listings).
  if (mapped.size() > MAX_CLONE_DIRECTORY_BYTES) {
    size_t cut = MAX_CLONE_DIRECTORY_BYTES;
    while (cut > 0 && (static_cast<unsigned char>(mapped[cut]) & 0xc0) == 0x80) --cut;
    mapped.resize(cut);
  }
  while (!mapped.empty() && mapped.back() == ' ') mapped.pop_back();
  if (!mapped.empty()) return mapped;
  // 4. Nothing usable: a short form of the id, which is ASCII base58 by construction.
  std::string id = repo.ToString();
  return "repo-" + id.substr(id.size() - FALLBACK_ID_CHARS);
}

}  // namespace p2pgit::cli
