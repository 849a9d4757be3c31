// 500 nodes over the simulated network, running the real admission and routing code.
#include <gtest/gtest.h>

#include "sim/gossip_network.h"

using namespace p2pgit::sim;

namespace {
void Print(const char* name, const GossipSimReport& r) {
  std::printf("%s: online %zu reached %zu (gossip alone %zu) t99 %llu ms tall %llu ms full/node %.2f dup/node %.2f bytes/node %.0f\n",
              name, r.online_nodes, r.reached_nodes, r.reached_before_reconciliation,
              static_cast<unsigned long long>(r.time_to_99_percent_ms), static_cast<unsigned long long>(r.time_to_all_ms),
              r.full_receptions_per_node, r.duplicate_receptions_per_node, r.bytes_per_node);
}
}  // namespace

TEST(GossipSim, FiveHundredNodesAllReachedWithFewDuplicates) {
  GossipSimConfig config;
  config.nodes = 500;
  config.seed = 7;
  auto r = RunAnnouncementSimulation(config);
  Print("500 nodes", r);
  EXPECT_EQ(r.reached_nodes, r.online_nodes);
  EXPECT_GT(r.reached_before_reconciliation, r.online_nodes * 95 / 100);
  EXPECT_LE(r.duplicate_receptions_per_node, 3.0);
  EXPECT_GT(r.time_to_99_percent_ms, 0u);
}

TEST(GossipSim, TenPercentLeavingMidRunStillReachesEveryOnlineNode) {
  GossipSimConfig config;
  config.nodes = 500;
  config.seed = 11;
  config.leave_fraction = 0.10;
  auto r = RunAnnouncementSimulation(config);
  Print("500 nodes, 10% leave", r);
  EXPECT_EQ(r.online_nodes, 450u);
  EXPECT_EQ(r.reached_nodes, r.online_nodes);
  EXPECT_LE(r.duplicate_receptions_per_node, 3.0);
}

TEST(GossipSim, WithoutLossGossipAloneReachesEveryone) {
  GossipSimConfig config;
  config.nodes = 300;
  config.datagram_loss = 0;
  config.seed = 3;
  auto r = RunAnnouncementSimulation(config);
  EXPECT_EQ(r.reached_before_reconciliation, r.online_nodes);
}

TEST(GossipSim, ReconciliationRepairsWhatHeavyLossDropped) {
  GossipSimConfig config;
  config.nodes = 300;
  config.datagram_loss = 0.6;
  config.seed = 5;
  auto r = RunAnnouncementSimulation(config);
  Print("300 nodes, 60% loss", r);
  EXPECT_LT(r.reached_before_reconciliation, r.online_nodes);  // gossip alone fell short…
  EXPECT_EQ(r.reached_nodes, r.online_nodes);                  // …reconciliation finished the job
}
