// A simulated network that runs the real gossip code (wire decoding, Admission, GossipRouter)
// for thousands of nodes in one process: per-link latency, datagram loss, relays, dial-out-only
// nodes, churn. Discrete-event: no threads, no sleeping, deterministic for a seed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace p2pgit::sim {

struct GossipSimConfig {
  size_t nodes = 500;                 // including relays
  size_t relays = 10;                 // federated: a full mesh among themselves
  double dial_out_only_fraction = 0.3;
  size_t links_per_node = 8;          // known nodes with addresses each node keeps links to
  size_t relays_per_node = 1;         // bootstrap relays each node stays linked to
  double datagram_loss = 0.05;
  uint32_t min_latency_ms = 10;
  uint32_t max_latency_ms = 200;
  double leave_fraction = 0.0;        // nodes that go offline mid-run
  uint64_t leave_at_ms = 150;         // when they leave (the announcement starts at 0)
  uint64_t reconcile_interval_ms = 60'000;
  uint64_t duration_ms = 130'000;     // two reconciliation rounds
  uint64_t seed = 1;
  bool naive_flooding = false;        // baseline: every full message on every link
};

struct GossipSimReport {
  size_t online_nodes = 0;
  size_t reached_nodes = 0;                 // online nodes holding the announcement at the end
  size_t reached_before_reconciliation = 0; // … by gossip alone (before the first round)
  uint64_t time_to_99_percent_ms = 0;       // 0 if never
  uint64_t time_to_all_ms = 0;              // 0 if never
  double full_receptions_per_node = 0;      // full copies received, averaged over online nodes
  double duplicate_receptions_per_node = 0; // full copies beyond the first
  double bytes_per_node = 0;                // gossip bytes sent + received, averaged
  size_t signature_checks = 0;
};

/** One new signed announcement from a random ordinary node; runs until duration_ms. */
GossipSimReport RunAnnouncementSimulation(const GossipSimConfig& config);

}  // namespace p2pgit::sim
