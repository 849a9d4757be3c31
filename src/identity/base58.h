// base58btc (Bitcoin alphabet), as multibase 'z' uses it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace p2pgit::identity {

std::string EncodeBase58(ByteSpan bytes);
/** nullopt on any character outside the alphabet. Callers bound the input length. */
std::optional<Bytes> DecodeBase58(std::string_view text);

}  // namespace p2pgit::identity
