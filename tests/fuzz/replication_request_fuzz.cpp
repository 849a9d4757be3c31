// Replication request and fetch answer decoders: never crash; whatever decodes re-encodes to the
// same bytes (one encoding per value).
#include <cstdint>
#include <cstdlib>

#include "wire/replication.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  p2pgit::ByteSpan input(data, size);
  p2pgit::Bytes bytes(input.begin(), input.end());
  auto request = p2pgit::wire::DecodeReplicationRequest(input);
  if (request.ok() && p2pgit::wire::EncodeReplicationRequest(*request) != bytes) std::abort();
  auto answer = p2pgit::wire::DecodeFetchAnswer(input);
  if (answer.ok() && p2pgit::wire::EncodeFetchAnswer(*answer) != bytes) std::abort();
  return 0;
}
