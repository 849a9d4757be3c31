// Envelope decoder: never crashes; whatever parses re-encodes to exactly the input (envelope and
// body), its id is the hash of the input, and verification never crashes either.
#include <cstdint>
#include <cstdlib>

#include "wire/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  p2pgit::ByteSpan input(data, size);
  auto m = p2pgit::wire::ParseMessage(input);
  if (!m.ok()) return 0;
  if (m->id != p2pgit::wire::ComputeMessageId(input)) std::abort();
  if (p2pgit::wire::EncodeBody(m->body) != m->body_bytes) std::abort();
  p2pgit::Bytes again = p2pgit::wire::EncodeEnvelope(m->type(), m->author, m->signature, m->body_bytes);
  if (again != p2pgit::Bytes(input.begin(), input.end())) std::abort();
  (void)p2pgit::wire::VerifyMessage(*m);
  return 0;
}
