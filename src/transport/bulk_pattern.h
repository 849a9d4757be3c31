// Deterministic bulk data and a fast streaming checksum, shared by `p2pgit debug-transport`, the
// transport tests and bench/: both ends of a bulk transfer agree on every byte without storing it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace p2pgit::transport {

/** Fills `out` with the pattern bytes at stream offset `offset` (offset must be a multiple of 8). */
inline void FillBulkPattern(uint64_t offset, std::span<uint8_t> out) {
  uint64_t word_index = offset / 8;
  size_t i = 0;
  for (; i + 8 <= out.size(); i += 8, ++word_index) {
    uint64_t z = word_index + 0x9e3779b97f4a7c15ull;  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(out.data() + i, &z, 8);
  }
  if (i < out.size()) {
    uint64_t z = word_index + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(out.data() + i, &z, out.size() - i);
  }
}

/** A 64-bit checksum of a byte stream, independent of how the stream is split into calls. Not
 *  cryptographic: it detects corruption, reordering and loss in tests (multiply-xor per word). */
class BulkChecksum {
 public:
  void Update(std::span<const uint8_t> data) {
    size_t i = 0;
    while (m_carry_len > 0 && i < data.size()) {
      m_carry[m_carry_len++] = data[i++];
      if (m_carry_len == 8) {
        uint64_t w;
        std::memcpy(&w, m_carry, 8);
        Mix(w);
        m_carry_len = 0;
      }
    }
    for (; i + 8 <= data.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, data.data() + i, 8);
      Mix(w);
    }
    for (; i < data.size(); ++i) m_carry[m_carry_len++] = data[i];
    m_total += data.size();
  }
  uint64_t Finish() const {
    uint64_t h = m_hash;
    for (size_t i = 0; i < m_carry_len; ++i) h = (h ^ m_carry[i]) * 0x100000001b3ull;
    return (h ^ m_total) * 0xff51afd7ed558ccdull;
  }
  uint64_t total() const { return m_total; }

 private:
  void Mix(uint64_t w) {
    m_hash = (m_hash ^ w) * 0x9fb21c651e98df25ull;
    m_hash ^= m_hash >> 29;
  }
  uint64_t m_hash = 0xcbf29ce484222325ull;
  uint64_t m_total = 0;
  uint8_t m_carry[8] = {};
  size_t m_carry_len = 0;
};

}  // namespace p2pgit::transport
