// The routing tables as the JSON documents `p2pgit nodes --json` / `repos --json` print, built in
// one place for the CLI (reading the store) and the daemon (answering on its control socket).
#pragma once

#include <nlohmann/json.hpp>
#include <set>

#include "identity/did.h"
#include "storage/store.h"

namespace p2pgit::node {

/** "did:key:…" of a stored 32-byte key ("(invalid key)" otherwise). */
std::string NodeIdText(const Bytes& key);
/** "did:repo:…" of a stored multihash. */
std::string RepoIdText(const Bytes& multihash);

/** The node table, highest score first. `connected`: peers the daemon is connected to now
 *  (their `online` is true whatever the store says); nullopt when no daemon answers. */
Result<nlohmann::json, storage::StoreError> NodesJson(storage::Store& store,
                                                      const std::set<identity::PublicKey>* connected = nullptr);
/** The repo table with seeders. */
Result<nlohmann::json, storage::StoreError> ReposJson(storage::Store& store);

}  // namespace p2pgit::node
