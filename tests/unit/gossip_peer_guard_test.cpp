#include <gtest/gtest.h>

#include "gossip/peer_guard.h"

using namespace p2pgit;
using namespace p2pgit::gossip;
using namespace std::chrono_literals;

namespace {
wire::PublicKey Peer(uint8_t n) {
  wire::PublicKey k{};
  k.fill(n);
  return k;
}
}  // namespace

TEST(PeerGuard, FloodingPeerIsThrottledThenDroppedWhileHonestPeerIsUnaffected) {
  PeerGuard guard;
  auto t0 = Clock::time_point{} + 1h;
  auto flooder = Peer(1), honest = Peer(2);
  uint64_t processed = 0, dropped = 0, disconnected = 0;
  // 10,000 frames per second for 2 simulated seconds, 300-byte frames.
  for (int i = 0; i < 20'000; ++i) {
    auto now = t0 + std::chrono::microseconds(i * 100);
    switch (guard.OnFrame(flooder, 300, now)) {
      case PeerDecision::Process: ++processed; break;
      case PeerDecision::Drop: ++dropped; break;
      case PeerDecision::Disconnect: ++disconnected; break;
    }
    if (i % 1000 == 0) {
      EXPECT_EQ(guard.OnFrame(honest, 300, now), PeerDecision::Process);
    }
  }
  // Burst + 2 s of sustained rate, nothing more.
  EXPECT_LE(processed, PEER_FRAME_BURST + 2 * PEER_FRAMES_PER_SECOND + 1);
  EXPECT_GT(dropped, 10'000u);
  EXPECT_EQ(disconnected, 1u);  // after THROTTLED_FRAMES_BEFORE_DISCONNECT drops without calming
  EXPECT_EQ(guard.counters().disconnects, 1u);
  EXPECT_FALSE(guard.IsBanned(flooder, t0 + 3s));  // throttling alone does not ban
}

TEST(PeerGuard, ByteBudgetLimitsLargeFrames) {
  PeerGuard guard;
  auto t0 = Clock::time_point{} + 1h;
  size_t processed_bytes = 0;
  for (int i = 0; i < 100; ++i)
    if (guard.OnFrame(Peer(3), 1 << 20, t0) == PeerDecision::Process) processed_bytes += 1 << 20;
  EXPECT_LE(processed_bytes, static_cast<size_t>(PEER_BYTE_BURST));
}

TEST(PeerGuard, MisbehaviourBansForAWhile) {
  PeerGuard guard;
  auto t0 = Clock::time_point{} + 1h;
  auto bad = Peer(4);
  for (int i = 0; i < MISBEHAVIOUR_BAN_THRESHOLD / MISBEHAVIOUR_POINTS - 1; ++i)
    EXPECT_EQ(guard.OnVerdict(bad, Verdict::BadSignature, t0), PeerDecision::Process);
  EXPECT_EQ(guard.OnVerdict(bad, Verdict::Malformed, t0), PeerDecision::Disconnect);
  EXPECT_TRUE(guard.IsBanned(bad, t0 + 1min));
  EXPECT_EQ(guard.OnFrame(bad, 10, t0 + 1min), PeerDecision::Disconnect);
  EXPECT_FALSE(guard.IsBanned(bad, t0 + BAN_DURATION + 1s));
  // Honest verdicts never count.
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(guard.OnVerdict(Peer(5), Verdict::Duplicate, t0), PeerDecision::Process);
  EXPECT_EQ(guard.OnVerdict(Peer(5), Verdict::UnknownType, t0), PeerDecision::Process);
}

TEST(PeerGuard, TrackedPeersAreBounded) {
  PeerGuard guard;
  auto t0 = Clock::time_point{} + 1h;
  for (size_t i = 0; i < MAX_TRACKED_PEERS + 100; ++i) {
    wire::PublicKey k{};
    k[0] = static_cast<uint8_t>(i), k[1] = static_cast<uint8_t>(i >> 8);
    guard.OnFrame(k, 10, t0 + std::chrono::milliseconds(i));
  }
  EXPECT_EQ(guard.tracked_peers(), MAX_TRACKED_PEERS);
}
