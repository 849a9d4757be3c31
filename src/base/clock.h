// Wall-clock time as the protocol writes it: Unix milliseconds (timestamps, sequences, expiry).
#pragma once

#include <chrono>
#include <cstdint>

namespace p2pgit {

inline uint64_t UnixMillis() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace p2pgit
