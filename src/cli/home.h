// The node home ($P2PGIT_HOME) as every command sees it.
#pragma once

#include <filesystem>
#include <string>

#include "base/result.h"
#include "identity/node_key.h"
#include "storage/store.h"

namespace p2pgit::cli {

/** The home's SQLite store file. */
std::filesystem::path StorePath();

/** Opens the home's store, creating the home (0700) first if needed. */
Result<storage::Store, storage::StoreError> OpenHomeStore();

/** Loads (creating on first use) the home's key; the message is ready for the user. */
Result<identity::NodeKey, identity::KeyStoreError> LoadHomeKey();

}  // namespace p2pgit::cli
