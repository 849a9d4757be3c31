// Opening the node's store, healed: stored messages that break rules added since they were
// accepted (the ref-name policy, the clock bound on timestamps and sequences, the object format)
// are removed with the rows derived from them, once per rules version. A poisoned Refs message
// would otherwise make every clone of its repo fail for as long as the store keeps serving it.
#pragma once

#include <cstdint>
#include <filesystem>

#include "storage/store.h"
#include "wire/message.h"

namespace p2pgit::routing {

/** Version of the rules every stored message must obey. Raise it whenever admission starts to
 *  refuse something it used to accept: each store re-checks its messages once, on its next open.
 *  1: the one ref-name policy (no notes/, no '-' or "@" components, no directory prefixes in one
 *  message), timestamps and sequences at most MAX_CLOCK_SKEW_MS ahead, SHA-1 ids only. */
inline constexpr int64_t STORED_MESSAGE_RULES_VERSION = 1;
/** The store's meta key holding the version its messages were last checked against. */
inline constexpr const char* STORED_MESSAGE_RULES_KEY = "message_rules_version";

/** Whether a stored message still passes every stateless admission rule: it parses
 *  (wire::ParseMessage, with the ref-name policy), its type matches the row, and
 *  gossip::CheckClockAndFormat refuses nothing at max(now_ms, its arrival time), so a clock that
 *  runs behind at this open cannot make honest messages look future-dated. The signature is not
 *  checked again (it was at admission). */
bool StoredMessageObeysRules(const storage::StoredMessage& message, uint64_t now_ms);

/**
 * Re-checks the stored messages against STORED_MESSAGE_RULES_VERSION's rules unless the store
 * already was (storage::Store::PruneMessagesOnce); removes those that fail and their rows.
 * @return how many messages were removed (0 when current), or the store's error.
 */
storage::StoreResult<int64_t> HealStore(storage::Store& store, uint64_t now_ms);

struct HealedStore {
  storage::Store store;
  int64_t healed = 0;  // messages removed by this open's heal; callers log it when non-zero
};

/** storage::Store::Open then HealStore: the one way the daemon and the CLI open their store. */
storage::StoreResult<HealedStore> OpenHealedStore(const std::filesystem::path& db_path, uint64_t now_ms);

}  // namespace p2pgit::routing
