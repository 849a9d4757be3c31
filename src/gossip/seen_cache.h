// Bounded set of recently seen message ids: the gossip layer's dedup step.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <unordered_set>

namespace p2pgit::gossip {

using MessageId = std::array<uint8_t, 32>;

struct MessageIdHash {
  size_t operator()(const MessageId& id) const {
    // Ids are SHA-256 outputs: any 8 bytes are already uniformly distributed.
    size_t h;
    std::memcpy(&h, id.data(), sizeof h);
    return h;
  }
};

/**
 * Remembers at most `capacity` ids; the oldest insert is forgotten first. A forgotten id that
 * comes back is caught by the store's own lookup, so eviction costs a database read, never
 * correctness.
 */
class SeenCache {
 public:
  explicit SeenCache(size_t capacity) : m_capacity(capacity) {}

  bool Contains(const MessageId& id) const { return m_ids.count(id) != 0; }

  /** Inserts `id`; returns false if it was already there. */
  bool Insert(const MessageId& id) {
    if (!m_ids.insert(id).second) return false;
    m_order.push_back(id);
    if (m_order.size() > m_capacity) {
      m_ids.erase(m_order.front());
      m_order.pop_front();
    }
    return true;
  }

  size_t size() const { return m_ids.size(); }

 private:
  size_t m_capacity;
  std::unordered_set<MessageId, MessageIdHash> m_ids;
  std::deque<MessageId> m_order;
};

}  // namespace p2pgit::gossip
