#include "gossip/peer_guard.h"

#include <algorithm>

namespace p2pgit::gossip {

PeerGuard::PeerState& PeerGuard::Track(const wire::PublicKey& peer, Clock::time_point now) {
  auto it = m_peers.find(peer);
  if (it == m_peers.end()) {
    if (m_peers.size() >= MAX_TRACKED_PEERS) {
      auto oldest = std::min_element(m_peers.begin(), m_peers.end(),
                                     [](const auto& a, const auto& b) { return a.second.last_seen < b.second.last_seen; });
      m_peers.erase(oldest);
    }
    it = m_peers
             .emplace(peer, PeerState{TokenBucket(PEER_FRAMES_PER_SECOND, PEER_FRAME_BURST, now),
                                      TokenBucket(PEER_BYTES_PER_SECOND, PEER_BYTE_BURST, now), 0, 0, now})
             .first;
  }
  it->second.last_seen = now;
  return it->second;
}

PeerDecision PeerGuard::OnBytes(const wire::PublicKey& peer, size_t bytes, Clock::time_point now) {
  return Charge(peer, 0, bytes, now);
}

PeerDecision PeerGuard::OnFrame(const wire::PublicKey& peer, size_t bytes, Clock::time_point now) {
  return Charge(peer, 1, bytes, now);
}

PeerDecision PeerGuard::Charge(const wire::PublicKey& peer, int frames, size_t bytes, Clock::time_point now) {
  if (IsBanned(peer, now)) return PeerDecision::Disconnect;
  PeerState& state = Track(peer, now);
  bool within = (frames == 0 || state.frames.Take(frames, now)) && state.bytes.Take(static_cast<double>(bytes), now);
  if (within) {
    // A peer that lets its budget refill has calmed down; one that keeps draining it has not.
    if (state.frames.Available(now) >= PEER_FRAME_BURST / 2) state.throttled_since_calm = 0;
    return PeerDecision::Process;
  }
  ++m_counters.throttled_frames;
  if (++state.throttled_since_calm >= THROTTLED_FRAMES_BEFORE_DISCONNECT) {
    state.throttled_since_calm = 0;
    ++m_counters.disconnects;
    return PeerDecision::Disconnect;
  }
  return PeerDecision::Drop;
}

PeerDecision PeerGuard::OnVerdict(const wire::PublicKey& peer, Verdict verdict, Clock::time_point now) {
  if (!IsMisbehaviour(verdict)) return PeerDecision::Process;
  ++m_counters.misbehaviour_events;
  PeerState& state = Track(peer, now);
  state.misbehaviour += MISBEHAVIOUR_POINTS;
  if (state.misbehaviour < MISBEHAVIOUR_BAN_THRESHOLD) return PeerDecision::Process;
  m_bans[peer] = now + BAN_DURATION;
  m_peers.erase(peer);
  ++m_counters.bans;
  ++m_counters.disconnects;
  return PeerDecision::Disconnect;
}

bool PeerGuard::IsBanned(const wire::PublicKey& peer, Clock::time_point now) const {
  auto it = m_bans.find(peer);
  return it != m_bans.end() && it->second > now;
}

}  // namespace p2pgit::gossip
