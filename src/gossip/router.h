// The send side of gossip, without I/O: who gets a full message, who only hears its id.
//
// Flooding full messages over every link costs each node as many copies as it has links. We
// push the full message to a few peers (EAGER_PUSH_FANOUT, chosen at random per message) and
// announce only its id (IHAVE) to the others; a node that hears of an id it lacks asks one
// announcer for it (IWANT), and asks the next announcer if no answer comes in time. This is the
// lazy-push half of Plumtree / gossipsub's IHAVE/IWANT. What datagram loss still drops,
// reconciliation (pulling by the peer's arrival order) repairs.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "gossip/seen_cache.h"
#include "wire/message.h"

namespace p2pgit::gossip {

using PeerId = wire::PublicKey;

/** Peers that receive each new message in full; the rest get its id. On a random graph push
 *  alone reaches about 1 - e^-3 = 95% of nodes, at ~3 full copies per node. */
inline constexpr size_t EAGER_PUSH_FANOUT = 3;
/** How long to wait for an IWANT answer before asking the next announcer. */
inline constexpr uint64_t IWANT_TIMEOUT_MS = 1000;
/** Full messages kept to answer IWANTs (memory bound); older ones are served by reconciliation. */
inline constexpr size_t RECENT_MESSAGE_CAPACITY = 4096;
/** Ids being fetched at once (memory bound against IHAVE floods). */
inline constexpr size_t MAX_OUTSTANDING_WANTS = 4096;
/** Announcers remembered per wanted id. */
inline constexpr size_t MAX_ANNOUNCERS_PER_WANT = 8;

struct GossipFrame {
  enum class Kind : uint8_t { Full, IHave, IWant };
  PeerId to{};
  Kind kind = Kind::Full;
  wire::MessageId id{};
  const Bytes* message = nullptr;  // Full only; valid until the router forgets it

  /** Bytes this frame takes on the wire (a full message, or a 1-byte tag + 32-byte id). */
  size_t WireBytes() const { return kind == Kind::Full ? 1 + message->size() : 1 + id.size(); }
};

class GossipRouter {
 public:
  /** `eager_fanout`: full pushes per message (SIZE_MAX = naive flooding, a benchmark baseline). */
  explicit GossipRouter(uint64_t rng_seed, size_t eager_fanout = EAGER_PUSH_FANOUT);

  void AddPeer(const PeerId& peer);
  void RemovePeer(const PeerId& peer);
  size_t peer_count() const { return m_peers.size(); }

  /** A message just accepted (from `from`, or our own when nullopt): frames to send. */
  std::vector<GossipFrame> OnAccepted(const wire::SignedMessage& message, const std::optional<PeerId>& from,
                                      uint64_t now_ms);
  /** A peer announced an id. `have` tells whether we already hold that message. */
  std::vector<GossipFrame> OnIHave(const PeerId& from, const wire::MessageId& id, bool have, uint64_t now_ms);
  /** A peer asked for a message: the full frame if we still hold it. */
  std::optional<GossipFrame> OnIWant(const PeerId& from, const wire::MessageId& id) const;
  /** Re-asks other announcers for wants that timed out. */
  std::vector<GossipFrame> Tick(uint64_t now_ms);

  size_t outstanding_wants() const { return m_wants.size(); }

 private:
  struct Want {
    std::deque<PeerId> announcers;  // not yet asked
    uint64_t deadline_ms = 0;
  };

  std::mt19937_64 m_rng;
  size_t m_eager_fanout;
  std::vector<PeerId> m_peers;
  std::map<wire::MessageId, Want> m_wants;
  std::unordered_map<wire::MessageId, Bytes, MessageIdHash> m_recent;
  std::deque<wire::MessageId> m_recent_order;
};

}  // namespace p2pgit::gossip
