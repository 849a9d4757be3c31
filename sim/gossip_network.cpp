#include "sim/gossip_network.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "gossip/admission.h"
#include "gossip/router.h"
#include "wire/message.h"

namespace p2pgit::sim {

namespace {

using gossip::GossipFrame;

/** Bytes of a reconciliation request (cursor) and of one id in its answer. */
constexpr size_t RECONCILE_REQUEST_BYTES = 1 + 8;
constexpr size_t RECONCILE_ID_BYTES = 32;

struct PeerKeyHash {
  size_t operator()(const wire::PublicKey& key) const {
    size_t h;
    std::memcpy(&h, key.data(), sizeof h);
    return h;
  }
};

struct SimNode {
  bool relay = false;
  bool dial_out_only = false;
  bool online = true;
  wire::PublicKey key{};
  std::vector<size_t> links;
  std::unordered_map<size_t, uint32_t> latency_ms;  // per link
  std::unique_ptr<gossip::MemoryGossipState> state;
  std::unique_ptr<gossip::Admission> admission;
  std::unique_ptr<gossip::GossipRouter> router;
  std::vector<wire::MessageId> arrival_log;         // local arrival order, served to reconcilers
  std::unordered_map<size_t, size_t> cursor;        // per peer: how far into its log we are
  std::set<wire::MessageId> fetching;               // reconciliation fetches in flight
  uint64_t full_receptions = 0;
  uint64_t bytes = 0;
  int64_t reached_at_ms = -1;
};

enum class EventKind { Frame, Tick, Reconcile, ReconcileAnswer, Leave };

struct Event {
  Event(uint64_t at, uint64_t order_, EventKind kind_, size_t from_, size_t to_,
        GossipFrame::Kind frame_kind_ = GossipFrame::Kind::Full, const wire::MessageId& id_ = {})
      : at_ms(at), order(order_), kind(kind_), from(from_), to(to_), frame_kind(frame_kind_), id(id_) {}
  uint64_t at_ms;
  uint64_t order;  // FIFO among equal times: determinism
  EventKind kind;
  size_t from;
  size_t to;
  GossipFrame::Kind frame_kind;
  wire::MessageId id;
  std::vector<wire::MessageId> ids;  // ReconcileAnswer
  bool operator>(const Event& other) const {
    return at_ms != other.at_ms ? at_ms > other.at_ms : order > other.order;
  }
};

class Simulation {
 public:
  explicit Simulation(const GossipSimConfig& config)
      : m_config(config),
        m_rng(config.seed),
        // An ordinary (non-relay) node announces.
        m_origin_index(config.relays + config.seed % (config.nodes - config.relays)) {}

  GossipSimReport Run() {
    BuildNodes();
    BuildLinks();
    Announce();
    for (uint64_t t = m_config.reconcile_interval_ms; t < m_config.duration_ms; t += m_config.reconcile_interval_ms)
      for (size_t n = 0; n < m_nodes.size(); ++n) Push(Event{t, 0, EventKind::Reconcile, n, n});
    if (m_config.leave_fraction > 0) Push(Event{m_config.leave_at_ms, 0, EventKind::Leave, 0, 0});
    while (!m_events.empty() && m_events.top().at_ms <= m_config.duration_ms) {
      Event e = m_events.top();
      m_events.pop();
      Handle(e);
    }
    return Report();
  }

 private:
  void BuildNodes() {
    m_nodes.resize(m_config.nodes);
    for (size_t i = 0; i < m_nodes.size(); ++i) {
      SimNode& node = m_nodes[i];
      identity::Seed seed{};
      for (size_t b = 0; b < 8; ++b) seed[b] = static_cast<uint8_t>((i + 1) >> (8 * b));
      seed[31] = static_cast<uint8_t>(m_config.seed);
      auto key = identity::NodeKey::FromSeed(seed);
      node.key = key.public_key();
      if (i == m_origin_index) m_origin_key = std::make_unique<identity::NodeKey>(std::move(key));
      node.relay = i < m_config.relays;
      node.state = std::make_unique<gossip::MemoryGossipState>();
      node.admission = std::make_unique<gossip::Admission>(*node.state);
      node.router = std::make_unique<gossip::GossipRouter>(
          m_config.seed * 1000003 + i, m_config.naive_flooding ? SIZE_MAX : gossip::EAGER_PUSH_FANOUT);
      m_index[node.key] = i;
    }
    std::uniform_real_distribution<double> coin(0, 1);
    for (size_t i = m_config.relays; i < m_nodes.size(); ++i) {
      m_nodes[i].dial_out_only = coin(m_rng) < m_config.dial_out_only_fraction;
      if (!m_nodes[i].dial_out_only) m_public.push_back(i);
    }
  }

  void Link(size_t a, size_t b) {
    if (a == b || m_nodes[a].latency_ms.count(b)) return;
    uint32_t latency = std::uniform_int_distribution<uint32_t>(m_config.min_latency_ms, m_config.max_latency_ms)(m_rng);
    m_nodes[a].links.push_back(b);
    m_nodes[b].links.push_back(a);
    m_nodes[a].latency_ms[b] = latency;
    m_nodes[b].latency_ms[a] = latency;
    m_nodes[a].router->AddPeer(m_nodes[b].key);
    m_nodes[b].router->AddPeer(m_nodes[a].key);
  }

  void BuildLinks() {
    for (size_t a = 0; a < m_config.relays; ++a)
      for (size_t b = a + 1; b < m_config.relays; ++b) Link(a, b);
    std::uniform_int_distribution<size_t> pick_relay(0, m_config.relays - 1);
    for (size_t i = m_config.relays; i < m_nodes.size(); ++i) {
      for (size_t r = 0; r < m_config.relays_per_node; ++r) Link(i, pick_relay(m_rng));
      // Every node dials ~links_per_node nodes that have addresses (dial-out-only ones cannot be dialed).
      for (size_t k = 0; k < m_config.links_per_node && !m_public.empty(); ++k)
        Link(i, m_public[std::uniform_int_distribution<size_t>(0, m_public.size() - 1)(m_rng)]);
    }
  }

  void Announce() {
    wire::RepoBody repo;
    repo.timestamp_ms = NOW_BASE_MS;
    repo.root_commit = Bytes(20, 0x5a);
    repo.creator = m_origin_key->public_key();
    repo.repo_id = identity::ComputeRepoId(repo.root_commit, repo.creator);
    repo.name = "simulated";
    repo.description = "one new announcement";
    repo.delegates = {repo.creator};
    repo.default_branch = "main";
    repo.sequence = 1;
    wire::SignedMessage message = wire::SignMessage(*m_origin_key, repo);
    m_message_id = message.id;
    SimNode& origin = m_nodes[m_origin_index];
    auto admitted = origin.admission->Admit(message.encoded, NOW_BASE_MS);
    Accepted(m_origin_index, *admitted.message, std::nullopt, 0);
  }

  void Accepted(size_t n, const wire::SignedMessage& message, std::optional<size_t> from, uint64_t now) {
    SimNode& node = m_nodes[n];
    node.arrival_log.push_back(message.id);
    node.fetching.erase(message.id);
    if (message.id == m_message_id && node.reached_at_ms < 0) node.reached_at_ms = static_cast<int64_t>(now);
    std::optional<wire::PublicKey> from_key;
    if (from) from_key = m_nodes[*from].key;
    for (const auto& frame : node.router->OnAccepted(message, from_key, NOW_BASE_MS + now)) Send(n, frame, now);
  }

  void Send(size_t from, const GossipFrame& frame, uint64_t now) {
    size_t to = m_index.at(frame.to);
    size_t bytes = frame.WireBytes();
    m_nodes[from].bytes += bytes;
    // Gossip frames are datagrams: lost with the configured probability.
    if (std::uniform_real_distribution<double>(0, 1)(m_rng) < m_config.datagram_loss) return;
    Event e{now + m_nodes[from].latency_ms.at(to), ++m_order, EventKind::Frame, from, to, frame.kind, frame.id};
    m_bytes_in_flight[e.order] = bytes;
    if (frame.kind == GossipFrame::Kind::Full) m_full_payloads[e.order] = *frame.message;
    m_events.push(std::move(e));
  }

  void Push(Event e) {
    e.order = ++m_order;
    m_events.push(std::move(e));
  }

  void Handle(const Event& e) {
    if (e.kind == EventKind::Leave) {
      LeaveSome();
      return;
    }
    SimNode& node = m_nodes[e.to];
    if (!node.online) {
      m_full_payloads.erase(e.order);
      return;
    }
    uint64_t now = e.at_ms;
    switch (e.kind) {
      case EventKind::Frame: {
        node.bytes += m_bytes_in_flight[e.order];
        m_bytes_in_flight.erase(e.order);
        if (e.frame_kind == GossipFrame::Kind::Full) {
          Bytes payload = std::move(m_full_payloads[e.order]);
          m_full_payloads.erase(e.order);
          ++node.full_receptions;
          auto result = node.admission->Admit(payload, NOW_BASE_MS + now);
          if (result.verdict == gossip::Verdict::Accepted) Accepted(e.to, *result.message, e.from, now);
        } else if (e.frame_kind == GossipFrame::Kind::IHave) {
          bool have = node.state->HasMessage(e.id);
          auto frames = node.router->OnIHave(m_nodes[e.from].key, e.id, have, NOW_BASE_MS + now);
          for (const auto& f : frames) Send(e.to, f, now);
          if (!frames.empty()) Push(Event{now + gossip::IWANT_TIMEOUT_MS, 0, EventKind::Tick, e.to, e.to});
        } else if (auto frame = node.router->OnIWant(m_nodes[e.from].key, e.id)) {
          Send(e.to, *frame, now);
        }
        break;
      }
      case EventKind::Tick: {
        auto frames = node.router->Tick(NOW_BASE_MS + now);
        for (const auto& f : frames) Send(e.to, f, now);
        if (node.router->outstanding_wants() > 0) Push(Event{now + gossip::IWANT_TIMEOUT_MS, 0, EventKind::Tick, e.to, e.to});
        break;
      }
      case EventKind::Reconcile:
        // Ask every online peer for what it received after our cursor, by its arrival order.
        for (size_t peer : node.links) {
          node.bytes += RECONCILE_REQUEST_BYTES;
          if (!m_nodes[peer].online) continue;
          SimNode& server = m_nodes[peer];
          server.bytes += RECONCILE_REQUEST_BYTES;
          size_t& cursor = node.cursor[peer];
          Event answer{now + 2 * node.latency_ms.at(peer), 0, EventKind::ReconcileAnswer, peer, e.to};
          answer.ids.assign(server.arrival_log.begin() + static_cast<std::ptrdiff_t>(cursor), server.arrival_log.end());
          cursor = server.arrival_log.size();
          server.bytes += answer.ids.size() * RECONCILE_ID_BYTES;
          Push(std::move(answer));
        }
        break;
      case EventKind::ReconcileAnswer:
        node.bytes += e.ids.size() * RECONCILE_ID_BYTES;
        for (const auto& id : e.ids) {
          if (node.state->HasMessage(id) || node.fetching.count(id)) continue;
          // Fetch the missing message on a stream (reliable): one more round trip.
          auto frame = m_nodes[e.from].router->OnIWant(node.key, id);
          if (!frame) continue;
          node.fetching.insert(id);
          node.bytes += 1 + id.size();
          Event fetched{now + 2 * node.latency_ms.at(e.from), 0, EventKind::Frame, e.from, e.to,
                        GossipFrame::Kind::Full, id};
          fetched.order = ++m_order;
          m_bytes_in_flight[fetched.order] = frame->WireBytes();
          m_nodes[e.from].bytes += frame->WireBytes();
          m_full_payloads[fetched.order] = *frame->message;
          m_events.push(std::move(fetched));
        }
        break;
      case EventKind::Leave: break;
    }
    if (m_first_reconcile_seen == false && e.kind == EventKind::Reconcile) {
      m_first_reconcile_seen = true;
      m_reached_before_reconcile = CountReached();
    }
  }

  void LeaveSome() {
    std::vector<size_t> candidates;
    for (size_t i = m_config.relays; i < m_nodes.size(); ++i)
      if (i != m_origin_index) candidates.push_back(i);
    std::shuffle(candidates.begin(), candidates.end(), m_rng);
    size_t leaving = static_cast<size_t>(m_config.leave_fraction * static_cast<double>(m_nodes.size()));
    for (size_t k = 0; k < leaving && k < candidates.size(); ++k) m_nodes[candidates[k]].online = false;
  }

  size_t CountReached() const {
    size_t n = 0;
    for (const auto& node : m_nodes) n += node.online && node.reached_at_ms >= 0;
    return n;
  }

  GossipSimReport Report() {
    GossipSimReport r;
    std::vector<uint64_t> times;
    double full = 0, bytes = 0;
    for (const auto& node : m_nodes) {
      if (!node.online) continue;
      ++r.online_nodes;
      full += static_cast<double>(node.full_receptions);
      bytes += static_cast<double>(node.bytes);
      r.signature_checks += node.admission->counters().signature_checks;
      if (node.reached_at_ms >= 0) times.push_back(static_cast<uint64_t>(node.reached_at_ms));
    }
    r.reached_nodes = times.size();
    r.reached_before_reconciliation = m_first_reconcile_seen ? m_reached_before_reconcile : r.reached_nodes;
    std::sort(times.begin(), times.end());
    size_t need99 = (r.online_nodes * 99 + 99) / 100;
    if (times.size() >= need99 && need99 > 0) r.time_to_99_percent_ms = times[need99 - 1];
    if (times.size() == r.online_nodes && !times.empty()) r.time_to_all_ms = times.back();
    double online = std::max<double>(1, static_cast<double>(r.online_nodes));
    r.full_receptions_per_node = full / online;
    // The origin received nothing; every other reached node's first copy is not a duplicate.
    r.duplicate_receptions_per_node = (full - static_cast<double>(r.reached_nodes > 0 ? r.reached_nodes - 1 : 0)) / online;
    r.bytes_per_node = bytes / online;
    return r;
  }

  static constexpr uint64_t NOW_BASE_MS = 1'800'000'000'000;

  GossipSimConfig m_config;
  std::mt19937_64 m_rng;
  std::vector<SimNode> m_nodes;
  std::vector<size_t> m_public;
  std::unordered_map<wire::PublicKey, size_t, PeerKeyHash> m_index;
  size_t m_origin_index;
  std::unique_ptr<identity::NodeKey> m_origin_key;
  wire::MessageId m_message_id{};
  std::priority_queue<Event, std::vector<Event>, std::greater<>> m_events;
  std::unordered_map<uint64_t, size_t> m_bytes_in_flight;
  std::unordered_map<uint64_t, Bytes> m_full_payloads;
  uint64_t m_order = 0;
  bool m_first_reconcile_seen = false;
  size_t m_reached_before_reconcile = 0;
};

}  // namespace

GossipSimReport RunAnnouncementSimulation(const GossipSimConfig& config) {
  GossipSimConfig adjusted = config;
  adjusted.relays = std::max<size_t>(1, std::min(config.relays, config.nodes - 1));
  Simulation sim(adjusted);
  return sim.Run();
}

}  // namespace p2pgit::sim
