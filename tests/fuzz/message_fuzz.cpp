// Envelope decoder: never crashes; a parsed message's id is the hash of the input, its body
// re-encodes to the carried body bytes, and verification never crashes either.
#include <cstdint>
#include <cstdlib>

#include "wire/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  p2pgit::ByteSpan input(data, size);
  auto m = p2pgit::wire::ParseMessage(input);
  if (!m.ok()) return 0;
  if (m->id != p2pgit::wire::ComputeMessageId(input)) std::abort();
  if (p2pgit::wire::EncodeBody(m->body) != m->body_bytes) std::abort();
  (void)p2pgit::wire::VerifyMessage(*m);
  return 0;
}
