// Node body decoder (see body_fuzz.h).
#include "body_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return FuzzBody(p2pgit::wire::MessageType::Node, data, size);
}
