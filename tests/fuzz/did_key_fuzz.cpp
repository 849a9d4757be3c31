// did:key decoder: never crashes; whatever decodes re-encodes to the same text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "identity/did.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto key = p2pgit::identity::DecodeDidKey(text);
  if (key.ok() && p2pgit::identity::EncodeDidKey(*key) != text) std::abort();
  return 0;
}
