#include "routing/store_heal.h"

#include <algorithm>

#include "gossip/admission.h"

namespace p2pgit::routing {

bool StoredMessageObeysRules(const storage::StoredMessage& stored, uint64_t now_ms) {
  auto parsed = wire::ParseMessage(stored.raw);
  if (!parsed) return false;
  if (static_cast<uint8_t>(parsed->type()) != stored.type) return false;
  // Judged at the later of now and its arrival: a clock that is wrong at this open (a machine
  // booting in 1970) must not make every stored message look future-dated and wipe the store.
  // Sequences nobody can exceed (2^63-1) are refused either way.
  return !gossip::CheckClockAndFormat(*parsed, std::max(now_ms, stored.received_at_ms)).has_value();
}

storage::StoreResult<int64_t> HealStore(storage::Store& store, uint64_t now_ms) {
  return store.PruneMessagesOnce(STORED_MESSAGE_RULES_KEY, STORED_MESSAGE_RULES_VERSION,
                                 [now_ms](const storage::StoredMessage& m) { return StoredMessageObeysRules(m, now_ms); });
}

storage::StoreResult<HealedStore> OpenHealedStore(const std::filesystem::path& db_path, uint64_t now_ms) {
  auto store = storage::Store::Open(db_path);
  if (!store) return store.error();
  auto healed = HealStore(*store, now_ms);
  if (!healed) return healed.error();
  return HealedStore{std::move(*store), *healed};
}

}  // namespace p2pgit::routing
