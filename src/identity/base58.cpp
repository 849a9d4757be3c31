#include "identity/base58.h"

#include <algorithm>

namespace p2pgit::identity {

namespace {
constexpr char ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int DigitValue(char c) {
  const char* end = ALPHABET + 58;
  const char* hit = std::find(ALPHABET, end, c);
  return hit == end ? -1 : static_cast<int>(hit - ALPHABET);
}
}  // namespace

std::string EncodeBase58(ByteSpan bytes) {
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  // Big-endian base-58 digits; log(256)/log(58) < 1.37.
  std::vector<uint8_t> digits(bytes.size() * 137 / 100 + 1, 0);
  size_t used = 0;
  for (size_t i = zeros; i < bytes.size(); ++i) {
    uint32_t carry = bytes[i];
    size_t j = 0;
    for (auto it = digits.rbegin(); (carry != 0 || j < used) && it != digits.rend(); ++it, ++j) {
      carry += 256u * *it;
      *it = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    used = j;
  }
  auto first = digits.begin() + static_cast<std::ptrdiff_t>(digits.size() - used);
  std::string out(zeros, '1');
  for (auto it = first; it != digits.end(); ++it) out.push_back(ALPHABET[*it]);
  return out;
}

std::optional<Bytes> DecodeBase58(std::string_view text) {
  size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;
  // log(58)/log(256) < 0.733.
  std::vector<uint8_t> bytes(text.size() * 733 / 1000 + 1, 0);
  size_t used = 0;
  for (size_t i = ones; i < text.size(); ++i) {
    int value = DigitValue(text[i]);
    if (value < 0) return std::nullopt;
    uint32_t carry = static_cast<uint32_t>(value);
    size_t j = 0;
    for (auto it = bytes.rbegin(); (carry != 0 || j < used) && it != bytes.rend(); ++it, ++j) {
      carry += 58u * *it;
      *it = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    used = j;
  }
  for (size_t i = 0; i < ones; ++i) {
    if (text[i] != '1') return std::nullopt;
  }
  Bytes out(ones, 0);
  out.insert(out.end(), bytes.end() - static_cast<std::ptrdiff_t>(used), bytes.end());
  return out;
}

}  // namespace p2pgit::identity
