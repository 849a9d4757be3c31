// Gossip frame decoder: never crashes; whatever decodes re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "wire/gossip_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  p2pgit::ByteSpan input(data, size);
  auto frame = p2pgit::wire::DecodeGossipFrame(input);
  if (frame.ok() && p2pgit::wire::EncodeGossipFrame(*frame) != p2pgit::Bytes(input.begin(), input.end()))
    std::abort();
  return 0;
}
