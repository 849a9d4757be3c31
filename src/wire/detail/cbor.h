// A deterministic-CBOR subset (RFC 8949 §4.2.1 core deterministic encoding) for the wire layer.
// Supported: unsigned ints (major 0), byte strings (2), UTF-8 text strings (3), arrays (4),
// maps with unsigned-int keys in strictly increasing order (5), false/true. Everything else —
// negative ints, floats, tags, indefinite lengths, non-shortest arguments — is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace p2pgit::wire::detail {

class CborWriter {
 public:
  void Uint(uint64_t value) { Head(0, value); }
  void ByteString(ByteSpan bytes) {
    Head(2, bytes.size());
    m_out.insert(m_out.end(), bytes.begin(), bytes.end());
  }
  void Text(std::string_view text) {
    Head(3, text.size());
    m_out.insert(m_out.end(), text.begin(), text.end());
  }
  void Array(uint64_t count) { Head(4, count); }
  void Map(uint64_t count) { Head(5, count); }
  void Bool(bool value) { m_out.push_back(value ? 0xf5 : 0xf4); }

  Bytes Take() { return std::move(m_out); }

 private:
  void Head(uint8_t major, uint64_t arg) {
    uint8_t m = static_cast<uint8_t>(major << 5);
    if (arg < 24) {
      m_out.push_back(m | static_cast<uint8_t>(arg));
    } else if (arg <= 0xff) {
      m_out.push_back(m | 24);
      m_out.push_back(static_cast<uint8_t>(arg));
    } else if (arg <= 0xffff) {
      m_out.push_back(m | 25);
      PutBig(arg, 2);
    } else if (arg <= 0xffffffffULL) {
      m_out.push_back(m | 26);
      PutBig(arg, 4);
    } else {
      m_out.push_back(m | 27);
      PutBig(arg, 8);
    }
  }
  void PutBig(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) m_out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes m_out;
};

enum class CborStatus { Ok, Truncated, NonCanonical, Malformed, TooLarge };

/** Reads one item at a time; every read checks the remaining length first. Never allocates. */
class CborReader {
 public:
  explicit CborReader(ByteSpan input) : m_in(input) {}

  CborStatus Uint(uint64_t& out) { return Expect(0, out); }
  CborStatus ByteString(ByteSpan& out, size_t max_len) { return Span(2, out, max_len); }
  CborStatus Text(std::string_view& out, size_t max_len) {
    ByteSpan raw;
    if (CborStatus s = Span(3, raw, max_len); s != CborStatus::Ok) return s;
    if (!IsValidUtf8(raw)) return CborStatus::Malformed;
    out = std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size());
    return CborStatus::Ok;
  }
  CborStatus Array(uint64_t& count, uint64_t max_count) { return Count(4, count, max_count); }
  CborStatus Map(uint64_t& count, uint64_t max_count) { return Count(5, count, max_count); }
  CborStatus Bool(bool& out) {
    if (m_pos >= m_in.size()) return CborStatus::Truncated;
    uint8_t b = m_in[m_pos];
    if (b != 0xf4 && b != 0xf5) return CborStatus::Malformed;
    out = b == 0xf5;
    ++m_pos;
    return CborStatus::Ok;
  }
  /** Major type of the next item, or -1 at the end. */
  int PeekMajor() const { return m_pos < m_in.size() ? m_in[m_pos] >> 5 : -1; }
  bool AtEnd() const { return m_pos == m_in.size(); }
  size_t Position() const { return m_pos; }

  static bool IsValidUtf8(ByteSpan s) {
    size_t i = 0;
    while (i < s.size()) {
      uint8_t c = s[i];
      size_t n;
      uint32_t cp;
      if (c < 0x80) {
        ++i;
        continue;
      }
      if ((c & 0xe0) == 0xc0) {
        n = 1;
        cp = c & 0x1f;
      } else if ((c & 0xf0) == 0xe0) {
        n = 2;
        cp = c & 0x0f;
      } else if ((c & 0xf8) == 0xf0) {
        n = 3;
        cp = c & 0x07;
      } else
        return false;
      if (i + n >= s.size()) return false;
      for (size_t k = 1; k <= n; ++k) {
        if ((s[i + k] & 0xc0) != 0x80) return false;
        cp = (cp << 6) | (s[i + k] & 0x3f);
      }
      // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8.
      if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
      i += n + 1;
    }
    return true;
  }

 private:
  CborStatus Head(uint8_t& major, uint64_t& arg) {
    if (m_pos >= m_in.size()) return CborStatus::Truncated;
    uint8_t initial = m_in[m_pos];
    major = initial >> 5;
    uint8_t info = initial & 0x1f;
    size_t extra;
    if (info < 24)
      extra = 0;
    else if (info == 24)
      extra = 1;
    else if (info == 25)
      extra = 2;
    else if (info == 26)
      extra = 4;
    else if (info == 27)
      extra = 8;
    else
      return CborStatus::Malformed;  // 28-30 reserved, 31 indefinite length
    if (m_in.size() - m_pos - 1 < extra) return CborStatus::Truncated;
    arg = extra == 0 ? info : 0;
    for (size_t i = 0; i < extra; ++i) arg = (arg << 8) | m_in[m_pos + 1 + i];
    // Shortest form only (RFC 8949 §4.2.1).
    if ((extra == 1 && arg < 24) || (extra == 2 && arg <= 0xff) || (extra == 4 && arg <= 0xffff) ||
        (extra == 8 && arg <= 0xffffffffULL))
      return CborStatus::NonCanonical;
    m_pos += 1 + extra;
    return CborStatus::Ok;
  }
  CborStatus Expect(uint8_t want, uint64_t& arg) {
    size_t start = m_pos;
    uint8_t major;
    if (CborStatus s = Head(major, arg); s != CborStatus::Ok) return s;
    if (major != want) {
      m_pos = start;
      return CborStatus::Malformed;
    }
    return CborStatus::Ok;
  }
  CborStatus Span(uint8_t want, ByteSpan& out, size_t max_len) {
    uint64_t len;
    if (CborStatus s = Expect(want, len); s != CborStatus::Ok) return s;
    if (len > max_len) return CborStatus::TooLarge;
    if (len > m_in.size() - m_pos) return CborStatus::Truncated;
    out = m_in.subspan(m_pos, len);
    m_pos += len;
    return CborStatus::Ok;
  }
  CborStatus Count(uint8_t want, uint64_t& count, uint64_t max_count) {
    if (CborStatus s = Expect(want, count); s != CborStatus::Ok) return s;
    if (count > max_count) return CborStatus::TooLarge;
    // Every element takes at least one byte: a count beyond the remaining input is truncated.
    if (count > m_in.size() - m_pos) return CborStatus::Truncated;
    return CborStatus::Ok;
  }

  ByteSpan m_in;
  size_t m_pos = 0;
};

}  // namespace p2pgit::wire::detail
