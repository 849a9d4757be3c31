// Per-peer budgets and misbehaviour: what stops one peer from flooding or poisoning a node.
// Bitcoin Core's addr relay bucket and misbehaviour score, libtorrent's per-source DHT limits.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

#include "gossip/admission.h"
#include "gossip/token_bucket.h"

namespace p2pgit::gossip {

/** Gossip frames a peer may send per second (sustained) and in a burst: an honest node sends a
 *  few per second; catch-up goes through reconciliation pages, not floods. */
inline constexpr double PEER_FRAMES_PER_SECOND = 200;
inline constexpr double PEER_FRAME_BURST = 1000;
/** Gossip bytes per peer per second / burst: bounds decode and hashing work. */
inline constexpr double PEER_BYTES_PER_SECOND = 1 << 20;
inline constexpr double PEER_BYTE_BURST = 8 << 20;
/** Misbehaviour points that get a peer disconnected and banned; a malformed frame or forged
 *  signature costs MISBEHAVIOUR_POINTS each, so a handful of honest bugs is forgiven. */
inline constexpr int MISBEHAVIOUR_BAN_THRESHOLD = 100;
inline constexpr int MISBEHAVIOUR_POINTS = 20;
/** Frames dropped for the rate limit, without the peer letting its budget refill, before it is
 *  disconnected (not banned): ~1 s of a 10,000 frames/s flood. */
inline constexpr uint64_t THROTTLED_FRAMES_BEFORE_DISCONNECT = 10'000;
inline constexpr std::chrono::minutes BAN_DURATION{10};
/** Peers tracked at once (memory bound); the least recently seen is forgotten first. */
inline constexpr size_t MAX_TRACKED_PEERS = 4096;

enum class PeerDecision { Process, Drop, Disconnect };

struct PeerGuardCounters {
  uint64_t throttled_frames = 0;
  uint64_t misbehaviour_events = 0;
  uint64_t disconnects = 0;
  uint64_t bans = 0;
};

class PeerGuard {
 public:
  /** Before decoding a frame of `bytes` from `peer`: Process, Drop (over budget) or Disconnect. */
  PeerDecision OnFrame(const wire::PublicKey& peer, size_t bytes, Clock::time_point now);
  /** Bytes of a frame before it is decoded, without spending a frame token: for frames whose
   *  content may be solicited (answers to our IWANTs cost no frame token, only bytes). */
  PeerDecision OnBytes(const wire::PublicKey& peer, size_t bytes, Clock::time_point now);
  /** After admission: Disconnect (and ban) once misbehaviour reaches the threshold. */
  PeerDecision OnVerdict(const wire::PublicKey& peer, Verdict verdict, Clock::time_point now);
  /** Whether a connection from `peer` is refused now. */
  bool IsBanned(const wire::PublicKey& peer, Clock::time_point now) const;

  const PeerGuardCounters& counters() const { return m_counters; }
  size_t tracked_peers() const { return m_peers.size(); }

 private:
  struct PeerState {
    TokenBucket frames;
    TokenBucket bytes;
    int misbehaviour = 0;
    uint64_t throttled_since_calm = 0;  // reset once its budget refills to half
    Clock::time_point last_seen;
  };
  PeerState& Track(const wire::PublicKey& peer, Clock::time_point now);
  PeerDecision Charge(const wire::PublicKey& peer, int frames, size_t bytes, Clock::time_point now);

  std::map<wire::PublicKey, PeerState> m_peers;
  std::map<wire::PublicKey, Clock::time_point> m_bans;  // until
  PeerGuardCounters m_counters;
};

}  // namespace p2pgit::gossip
