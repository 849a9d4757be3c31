// The node home ($P2PGIT_HOME) as every command sees it.
#pragma once

#include <string>

#include "base/result.h"
#include "identity/node_key.h"

namespace p2pgit::cli {

/** Loads (creating on first use) the home's key; the message is ready for the user. */
Result<identity::NodeKey, identity::KeyStoreError> LoadHomeKey();

}  // namespace p2pgit::cli
