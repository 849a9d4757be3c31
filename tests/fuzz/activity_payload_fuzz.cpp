// Issue/patch payload decoder (src/activity/events.h). Input: byte 0 selects the op (low 4 bits;
// 12..15 an unknown op name) and the payload version (bit 7 set: version 2); the rest is the
// payload. Decode must never crash, and whatever decodes must re-encode to exactly the input and
// carry the op it was decoded as.
#include <cstdint>
#include <cstdlib>

#include "activity/events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace p2pgit::activity;
  if (size == 0) return 0;
  uint8_t op_index = data[0] & 0x0f;
  uint64_t version = (data[0] & 0x80) ? 2 : 1;
  const char* op = op_index < 12 ? OpName(static_cast<Op>(op_index)) : "issue.unknown";
  p2pgit::ByteSpan payload(data + 1, size - 1);
  auto decoded = DecodePayload(op, version, payload);
  if (decoded.ok()) {
    if (OpOf(*decoded) != static_cast<Op>(op_index)) std::abort();
    auto again = EncodePayload(*decoded);
    if (again.size() != payload.size() || !std::equal(again.begin(), again.end(), payload.begin())) std::abort();
    if (!CheckPayload(*decoded).ok()) std::abort();
  }
  return 0;
}
