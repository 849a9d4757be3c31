// Shared body for the per-type fuzz targets: decode must never crash, and whatever decodes must
// re-encode to exactly the input (one canonical encoding per value).
#pragma once

#include <cstdint>
#include <cstdlib>

#include "wire/message.h"

inline int FuzzBody(p2pgit::wire::MessageType type, const uint8_t* data, size_t size) {
  p2pgit::ByteSpan input(data, size);
  auto body = p2pgit::wire::DecodeBody(type, input);
  if (body.ok()) {
    auto again = p2pgit::wire::EncodeBody(*body);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  return 0;
}
