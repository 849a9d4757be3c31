#include "gossip/router.h"

#include <algorithm>

namespace p2pgit::gossip {

GossipRouter::GossipRouter(uint64_t rng_seed, size_t eager_fanout) : m_rng(rng_seed), m_eager_fanout(eager_fanout) {}

void GossipRouter::AddPeer(const PeerId& peer) {
  if (std::find(m_peers.begin(), m_peers.end(), peer) == m_peers.end()) m_peers.push_back(peer);
}

void GossipRouter::RemovePeer(const PeerId& peer) {
  m_peers.erase(std::remove(m_peers.begin(), m_peers.end(), peer), m_peers.end());
  for (auto& [id, want] : m_wants) {
    want.announcers.erase(std::remove(want.announcers.begin(), want.announcers.end(), peer), want.announcers.end());
  }
}

std::vector<GossipFrame> GossipRouter::OnAccepted(const wire::SignedMessage& message,
                                                  const std::optional<PeerId>& from, uint64_t) {
  m_wants.erase(message.id);
  auto [slot, inserted] = m_recent.try_emplace(message.id, message.encoded);
  if (inserted) {
    m_recent_order.push_back(message.id);
    if (m_recent_order.size() > RECENT_MESSAGE_CAPACITY) {
      m_recent.erase(m_recent_order.front());
      m_recent_order.pop_front();
    }
  }
  std::vector<PeerId> targets;
  for (const auto& peer : m_peers) {
    if (!from || peer != *from) targets.push_back(peer);
  }
  std::shuffle(targets.begin(), targets.end(), m_rng);
  std::vector<GossipFrame> out;
  out.reserve(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    GossipFrame frame;
    frame.to = targets[i];
    frame.id = message.id;
    if (i < m_eager_fanout) {
      frame.kind = GossipFrame::Kind::Full;
      frame.message = &slot->second;
    } else {
      frame.kind = GossipFrame::Kind::IHave;
    }
    out.push_back(frame);
  }
  return out;
}

std::vector<GossipFrame> GossipRouter::OnIHave(const PeerId& from, const wire::MessageId& id, bool have,
                                               uint64_t now_ms) {
  if (have) return {};
  auto it = m_wants.find(id);
  if (it != m_wants.end()) {
    // Already asked someone; remember this announcer as a fallback.
    if (it->second.announcers.size() < MAX_ANNOUNCERS_PER_WANT) it->second.announcers.push_back(from);
    return {};
  }
  if (m_wants.size() >= MAX_OUTSTANDING_WANTS) return {};  // reconciliation will catch up
  m_wants[id] = Want{{}, now_ms + IWANT_TIMEOUT_MS};
  return {GossipFrame{from, GossipFrame::Kind::IWant, id, nullptr}};
}

std::optional<GossipFrame> GossipRouter::OnIWant(const PeerId& from, const wire::MessageId& id) const {
  auto it = m_recent.find(id);
  if (it == m_recent.end()) return std::nullopt;
  return GossipFrame{from, GossipFrame::Kind::Full, id, &it->second};
}

std::vector<GossipFrame> GossipRouter::Tick(uint64_t now_ms) {
  std::vector<GossipFrame> out;
  for (auto it = m_wants.begin(); it != m_wants.end();) {
    Want& want = it->second;
    if (want.deadline_ms > now_ms) {
      ++it;
      continue;
    }
    if (want.announcers.empty()) {
      it = m_wants.erase(it);  // nobody else announced it: reconciliation's job now
      continue;
    }
    out.push_back(GossipFrame{want.announcers.front(), GossipFrame::Kind::IWant, it->first, nullptr});
    want.announcers.pop_front();
    want.deadline_ms = now_ms + IWANT_TIMEOUT_MS;
    ++it;
  }
  return out;
}

}  // namespace p2pgit::gossip
