#include "node/daemon.h"

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "base/clock.h"
#include "gossip/admission.h"
#include "gossip/peer_guard.h"
#include "gossip/router.h"
#include "identity/did.h"
#include "node/control_socket.h"
#include "node/replication.h"
#include "node/tables_json.h"
#include "routing/routing_state.h"
#include "routing/store_heal.h"
#include "storage/store.h"
#include "transport/endpoint.h"
#include "wire/gossip_frame.h"
#include "wire/message.h"

namespace p2pgit::node {

namespace {

using transport::PeerId;
using SteadyClock = std::chrono::steady_clock;


std::string ShortId(const PeerId& peer) {
  std::string id = identity::EncodeDidKey(peer);
  return id.substr(0, 8 + 12) + "…";
}

bool IsWildcard(const std::string& host) { return host == "0.0.0.0" || host == "::" || host.empty(); }

std::string AddressText(const storage::NodeAddress& a) { return wire::FormatHostPort({a.host, a.port}); }

nlohmann::json SkipsJson(const std::vector<NamespaceSkip>& skips) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : skips) out.push_back({{"node_id", s.node}, {"reason", s.reason}});
  return out;
}

}  // namespace

class Daemon::Impl {
 public:
  Impl(identity::NodeKey key, DaemonConfig config) : m_key(std::move(key)), m_config(std::move(config)) {}

  Result<bool, std::string> Start();
  void Stop();
  nlohmann::json Handle(const nlohmann::json& request);
  std::vector<std::string> ListenAddresses() const { return m_listen_addresses; }

 private:
  // ---- per-peer state (worker thread) ----
  struct PeerState {
    std::string address;
    bool we_dialed = false;
    uint64_t connected_at_ms = 0;
    uint64_t cursor = 0;  // the peer's arrival number we have reconciled up to
    bool reconcile_in_flight = false;
    SteadyClock::time_point next_reconcile{};
  };
  struct DialTarget {
    std::vector<std::string> addresses;
    size_t next_address = 0;
    bool bootstrap = false;
    bool dialing = false;
    Millis backoff = RECONNECT_BACKOFF_MIN;
    SteadyClock::time_point next_attempt{};
  };

  // ---- the worker's queue ----
  void Post(std::function<void()> task, bool droppable = false);
  void WorkerLoop();

  // ---- events (worker thread) ----
  void OnConnected(const transport::PeerInfo& info);
  void OnDisconnected(const PeerId& peer, const std::string& reason);
  void OnFrame(const PeerId& peer, const Bytes& bytes);
  void OnGossipMessage(const PeerId& from, const Bytes& envelope);
  void OnIHave(const PeerId& from, const std::vector<wire::MessageId>& ids);
  void OnIWant(const PeerId& from, const std::vector<wire::MessageId>& ids);
  void OnBatch(const PeerId& from, const std::vector<Bytes>& messages);
  /** Sends the IWANT answers gathered while the queue had work: one batch per peer rather than
   *  one per IWANT frame, so a catching-up peer commits hundreds of messages at once. */
  void FlushAnswers();
  void QueueAnswer(const PeerId& to, Bytes message);
  /** Sends IWANTs for `ids` to `peer` and remembers them as solicited. */
  void RequestIds(const PeerId& peer, const std::vector<wire::MessageId>& ids);
  /** True (and forgotten) when `id` was asked of `peer`. */
  bool TakeRequested(const wire::MessageId& id, const PeerId& peer);
  /** A frame token for unsolicited content; false when the frame must be dropped. */
  bool SpendFrameToken(const PeerId& peer);
  void OnReconcileRequest(const PeerId& from, const wire::ReconcileRequestFrame& request);
  void OnReconcileAnswer(const PeerId& from, const wire::ReconcileAnswerFrame& answer);
  void Tick();
  void Maintain(SteadyClock::time_point now);
  void AskReconcile(const PeerId& peer);
  void Announce();
  gossip::AdmissionResult AdmitLocal(const Bytes& envelope, std::optional<PeerId> from);
  void AfterAdmission(const gossip::AdmissionResult& result, const std::optional<PeerId>& from);
  void SendFrames(const std::vector<gossip::GossipFrame>& frames);
  void Send(const PeerId& peer, const wire::GossipFrameBody& frame);
  void Penalize(const PeerId& peer, const std::string& why);
  void DialTargetNow(const PeerId& peer, DialTarget& target);
  nlohmann::json StatusJson();
  void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 3, 4)));

  identity::NodeKey m_key;
  DaemonConfig m_config;
  std::vector<std::string> m_listen_addresses;
  std::vector<wire::Address> m_announce;

  std::unique_ptr<transport::Endpoint> m_endpoint;
  std::unique_ptr<ControlServer> m_control;

  std::mutex m_mu;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_queue;
  bool m_stopping = false;
  uint64_t m_events_dropped = 0;
  std::thread m_worker;

  // Worker-owned.
  std::optional<storage::Store> m_store;
  std::unique_ptr<routing::StoreRoutingState> m_state;
  std::unique_ptr<gossip::Admission> m_admission;
  std::unique_ptr<gossip::GossipRouter> m_router;
  gossip::PeerGuard m_guard;
  std::map<PeerId, PeerState> m_peers;
  std::map<PeerId, DialTarget> m_targets;
  std::mt19937_64 m_rng{std::random_device{}()};
  uint64_t m_last_announce_ms = 0;
  SteadyClock::time_point m_next_announce{};
  SteadyClock::time_point m_next_reconcile_round{};
  SteadyClock::time_point m_next_upkeep{};
  SteadyClock::time_point m_next_discovery{};
  SteadyClock::time_point m_started = SteadyClock::now();
  uint64_t m_last_inventory_sequence = 0;

  // Replication: serving threads (counted) and the fetch worker with its queue.
  std::atomic<size_t> m_serving{0};
  std::mutex m_fetch_mu;
  std::condition_variable m_fetch_cv;
  std::deque<std::pair<identity::RepoId, std::vector<PeerId>>> m_fetch_queue;  // repo, peers to try first
  std::set<identity::RepoId> m_fetch_pending;
  std::set<identity::RepoId> m_seed_allow, m_seed_deny;
  std::thread m_fetcher;
  bool m_fetch_stopping = false;

  void OnStream(std::shared_ptr<transport::Stream> stream);
  bool ShouldSeed(const identity::RepoId& repo);
  void ScheduleFetch(const identity::RepoId& repo, std::vector<PeerId> preferred);
  void FetcherLoop();
  /** Peers to fetch `repo` from, best first: `preferred`, then connected relays, then connected
   *  seeders (worker thread). */
  std::vector<PeerId> FetchCandidates(const identity::RepoId& repo, const std::vector<PeerId>& preferred);
  FetchResult FetchFromAny(storage::Store& store, const identity::RepoId& repo, const std::vector<PeerId>& candidates);
  void AfterFetched(const identity::RepoId& repo);
  void AnnounceInventory();
  nlohmann::json RunFetchRequest(const nlohmann::json& request);
  uint64_t m_frames_in = 0, m_frames_bad = 0, m_messages_forwarded = 0;
  std::unordered_map<wire::MessageId, PeerId, gossip::MessageIdHash> m_requested;
  std::map<PeerId, std::pair<std::vector<Bytes>, size_t>> m_answers;  // messages, bytes
  std::deque<wire::MessageId> m_requested_order;
};

void Daemon::Impl::Log(LogLevel level, const char* format, ...) {
  if (!m_config.log || level > m_config.log_level) return;
  char line[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  static const char* const names[] = {"error", "warn", "info", "debug"};
  std::fprintf(stderr, "%s: %s: %s\n", m_config.relay ? "relay" : "node", names[int(level)], line);
}

Result<bool, std::string> Daemon::Impl::Start() {
  std::error_code ec;
  std::filesystem::create_directories(m_config.home, ec);
  auto store = routing::OpenHealedStore(m_config.home / "store.db", UnixMillis());
  if (!store) return Fail(std::string(), "cannot open the store: " + store.message());
  if (store->healed > 0)
    Log(LogLevel::Info, "healed: removed %lld stored messages that break the ref/time rules",
        static_cast<long long>(store->healed));
  m_store.emplace(std::move(store->store));
  (void)m_store->MarkAllOffline();
  m_state = std::make_unique<routing::StoreRoutingState>(*m_store);
  m_admission = std::make_unique<gossip::Admission>(*m_state);
  m_router = std::make_unique<gossip::GossipRouter>(m_rng());

  for (const auto& text : m_config.announce) {
    auto addr = wire::ParseHostPort(text);
    if (!addr) return Fail(std::string(), "--announce '" + text + "' must be HOST:PORT");
    if (IsWildcard(addr->host)) return Fail(std::string(), "--announce '" + text + "': a wildcard address cannot be dialled; give the address peers should use");
    m_announce.push_back(*addr);
  }
  for (const auto& text : m_config.bootstrap) {
    auto parsed = transport::ParseNodeAddress(text);
    if (!parsed) return Fail(std::string(), "bootstrap: " + parsed.message());
    if (parsed->first == m_key.public_key()) continue;  // our own address in a shared config
    auto& target = m_targets[parsed->first];
    target.bootstrap = true;
    target.addresses.push_back(parsed->second);
  }

  for (const auto& [texts, out] : {std::pair{&m_config.seed_allow, &m_seed_allow}, std::pair{&m_config.seed_deny, &m_seed_deny}}) {
    for (const auto& text : *texts) {
      auto id = identity::DecodeDidRepo(text);
      if (!id) return Fail(std::string(), "seed list: " + id.message());
      out->insert(*id);
    }
  }

  transport::EndpointConfig tc;
  tc.listen = m_config.listen;
  tc.log = m_config.log && m_config.log_level >= LogLevel::Debug;
  tc.max_connections = m_config.max_connections != 0 ? m_config.max_connections
                                                     : (m_config.relay ? transport::MAX_CONNECTIONS : NODE_MAX_CONNECTIONS);
  if (m_config.idle_timeout.count() > 0) {
    tc.idle_timeout = m_config.idle_timeout;
    tc.keep_alive = std::min<transport::Duration>(tc.keep_alive, m_config.idle_timeout / 3);
  }
  transport::EndpointHandlers handlers;
  handlers.on_connected = [this](const transport::PeerInfo& info) { Post([this, info] { OnConnected(info); }); };
  handlers.on_disconnected = [this](const PeerId& peer, const std::string& reason) {
    Post([this, peer, reason] { OnDisconnected(peer, reason); });
  };
  handlers.on_message = [this](const PeerId& peer, Bytes message) {
    Post([this, peer, m = std::move(message)] { OnFrame(peer, m); }, /*droppable=*/true);
  };
  handlers.on_stream = [this](std::shared_ptr<transport::Stream> stream) { OnStream(std::move(stream)); };
  auto endpoint = transport::Endpoint::Create(m_key, tc, handlers);
  if (!endpoint) return Fail(std::string(), "cannot start the endpoint: " + endpoint.message());
  m_endpoint = std::move(*endpoint);
  if (!m_config.listen.empty()) m_listen_addresses = m_endpoint->LocalAddresses();

  // Without --announce, a listen address bound to one specific IP is announced as bound.
  if (m_announce.empty()) {
    for (const auto& bound : m_listen_addresses) {
      auto addr = wire::ParseHostPort(bound);
      if (addr && !IsWildcard(addr->host)) m_announce.push_back(*addr);
    }
    if (m_announce.empty() && !m_config.listen.empty())
      Log(LogLevel::Warn, "listening on a wildcard address: not announcing any address (use --announce HOST:PORT)");
  }

  auto control = ControlServer::Start(ControlSocketPath(m_config.home),
                                      [this](const nlohmann::json& request) { return Handle(request); });
  if (!control) {
    m_endpoint->Stop();
    return Fail(std::string(), control.code() == ControlError::AlreadyRunning
                                   ? "a daemon is already running for " + m_config.home.string()
                                   : "cannot open the control socket: " + control.message());
  }
  m_control = std::move(*control);
  m_worker = std::thread([this] { WorkerLoop(); });
  m_fetcher = std::thread([this] { FetcherLoop(); });
  Post([this] {
    Announce();
    // Repos this node holds (shared, cloned or seeded, maybe while no daemon ran) are announced
    // once at start, so peers can find it as a seeder.
    if (auto followed = m_store->ListFollowed(); followed.ok() && !followed->empty()) AnnounceInventory();
    Maintain(SteadyClock::now());
  });
  return true;
}

void Daemon::Impl::Stop() {
  {
    std::lock_guard lock(m_mu);
    if (m_stopping) return;
  }
  // The endpoint first: in-flight streams fail at once, so serving threads and a fetch running
  // on the control thread end; then the control socket (its thread joins).
  if (m_endpoint) m_endpoint->Stop();
  m_control.reset();
  {
    std::lock_guard lock(m_fetch_mu);
    m_fetch_stopping = true;
  }
  m_fetch_cv.notify_all();
  if (m_fetcher.joinable()) m_fetcher.join();
  for (int i = 0; i < 500 && m_serving.load() > 0; ++i) std::this_thread::sleep_for(10ms);
  {
    std::lock_guard lock(m_mu);
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_worker.joinable()) m_worker.join();
  if (m_store) (void)m_store->MarkAllOffline();
}

void Daemon::Impl::Post(std::function<void()> task, bool droppable) {
  {
    std::lock_guard lock(m_mu);
    if (m_stopping) return;
    if (droppable && m_queue.size() >= MAX_QUEUED_EVENTS) {
      ++m_events_dropped;
      return;
    }
    m_queue.push_back(std::move(task));
  }
  m_cv.notify_one();
}

void Daemon::Impl::WorkerLoop() {
  auto next_tick = SteadyClock::now();
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(m_mu);
      m_cv.wait_until(lock, next_tick, [this] { return m_stopping || !m_queue.empty(); });
      if (m_stopping) return;
      if (!m_queue.empty()) {
        task = std::move(m_queue.front());
        m_queue.pop_front();
      }
    }
    if (task) task();
    bool idle;
    {
      std::lock_guard lock(m_mu);
      idle = m_queue.empty();
    }
    if (idle) FlushAnswers();
    if (SteadyClock::now() >= next_tick) {
      Tick();
      next_tick = SteadyClock::now() + 250ms;
    }
  }
}

nlohmann::json Daemon::Impl::Handle(const nlohmann::json& request) {
  // A fetch takes as long as the transfer: it runs on the control thread, not the worker.
  if (request.value("command", "") == "fetch") return RunFetchRequest(request);
  auto promise = std::make_shared<std::promise<nlohmann::json>>();
  auto future = promise->get_future();
  Post([this, request, promise] {
    nlohmann::json out;
    std::string command = request.value("command", "");
    if (command == "status") {
      out = StatusJson();
    } else if (command == "nodes") {
      std::set<PeerId> connected;
      for (const auto& [peer, _] : m_peers) connected.insert(peer);
      auto nodes = NodesJson(*m_store, &connected);
      out = nodes ? nlohmann::json{{"ok", true}, {"nodes", *nodes}}
                  : nlohmann::json{{"ok", false}, {"error", "cannot read the node table: " + nodes.message()}};
    } else if (command == "repos") {
      auto repos = ReposJson(*m_store);
      out = repos ? nlohmann::json{{"ok", true}, {"repos", *repos}}
                  : nlohmann::json{{"ok", false}, {"error", "cannot read the repo table: " + repos.message()}};
    } else if (command == "publish") {
      auto hex = request.value("message", "");
      auto decoded = FromHex(hex);
      if (!decoded) {
        out = {{"ok", false}, {"error", "message is not hex"}};
      } else {
        auto result = AdmitLocal(*decoded, std::nullopt);
        // Our own message already stored by the CLI (share writes its store first): announce it.
        if (result.verdict == gossip::Verdict::Duplicate) {
          if (auto parsed = wire::DecodeMessage(*decoded); parsed && parsed->author == m_key.public_key()) {
            gossip::AdmissionResult own{gossip::Verdict::Accepted, "", std::move(*parsed)};
            AfterAdmission(own, std::nullopt);
          }
        }
        bool good = result.verdict == gossip::Verdict::Accepted || result.verdict == gossip::Verdict::Duplicate;
        out = {{"ok", good}, {"verdict", gossip::VerdictName(result.verdict)}};
        if (!good) out["error"] = std::string(gossip::VerdictName(result.verdict)) + ": " + result.reason;
        if (result.message) out["id"] = ToHex(result.message->id);
      }
    } else {
      out = {{"ok", false}, {"error", "unknown command '" + command + "'"}};
    }
    promise->set_value(std::move(out));
  });
  if (future.wait_for(10s) != std::future_status::ready) return {{"ok", false}, {"error", "the daemon is busy or stopping"}};
  return future.get();
}

// ---- events ----

void Daemon::Impl::OnConnected(const transport::PeerInfo& info) {
  auto now = SteadyClock::now();
  if (m_guard.IsBanned(info.peer, now)) {
    Log(LogLevel::Info, "refusing banned peer %s", ShortId(info.peer).c_str());
    m_endpoint->Disconnect(info.peer);
    return;
  }
  PeerState& p = m_peers[info.peer];
  p.address = info.remote_address;
  p.we_dialed = info.we_dialed;
  p.connected_at_ms = UnixMillis();
  m_router->AddPeer(info.peer);
  if (auto it = m_targets.find(info.peer); it != m_targets.end()) {
    it->second.dialing = false;
    it->second.backoff = RECONNECT_BACKOFF_MIN;
  }
  (void)m_store->RecordContact(info.peer, true, 1.0, UnixMillis());
  Log(LogLevel::Info, "connected %s %s (%s)", info.we_dialed ? "to" : "from", identity::EncodeDidKey(info.peer).c_str(),
      info.remote_address.c_str());
  AskReconcile(info.peer);
}

void Daemon::Impl::OnDisconnected(const PeerId& peer, const std::string& reason) {
  auto it = m_peers.find(peer);
  if (it == m_peers.end()) return;
  m_peers.erase(it);
  m_router->RemovePeer(peer);
  (void)m_store->RecordContact(peer, false, 0.0, UnixMillis());
  if (auto t = m_targets.find(peer); t != m_targets.end()) {
    t->second.dialing = false;
    t->second.next_attempt = SteadyClock::now() + t->second.backoff;
  }
  Log(LogLevel::Info, "disconnected %s: %s", ShortId(peer).c_str(), reason.c_str());
}

void Daemon::Impl::Penalize(const PeerId& peer, const std::string& why) {
  (void)m_store->RecordContact(peer, m_peers.count(peer) != 0, -10.0, UnixMillis());
  Log(LogLevel::Warn, "dropping %s: %s", identity::EncodeDidKey(peer).c_str(), why.c_str());
  m_endpoint->Disconnect(peer);
}

void Daemon::Impl::OnFrame(const PeerId& peer, const Bytes& bytes) {
  ++m_frames_in;
  // Bytes are charged before decoding; frame tokens after, for unsolicited content only.
  auto decision = m_guard.OnBytes(peer, bytes.size(), SteadyClock::now());
  if (decision == gossip::PeerDecision::Drop) return;
  if (decision == gossip::PeerDecision::Disconnect) return Penalize(peer, "over its gossip rate budget");
  auto frame = wire::DecodeGossipFrame(bytes);
  if (!frame) {
    if (frame.code() == wire::WireError::UnknownType) return;  // a newer peer: ignored, not misbehaviour
    ++m_frames_bad;
    if (m_guard.OnVerdict(peer, gossip::Verdict::Malformed, SteadyClock::now()) == gossip::PeerDecision::Disconnect)
      Penalize(peer, "malformed gossip frames (banned)");
    return;
  }
  if (auto* message = std::get_if<wire::MessageFrame>(&*frame)) {
    if (!TakeRequested(wire::ComputeMessageId(message->message), peer) && !SpendFrameToken(peer)) return;
    return OnGossipMessage(peer, message->message);
  }
  if (auto* batch = std::get_if<wire::MessageBatchFrame>(&*frame)) return OnBatch(peer, batch->messages);
  if (!SpendFrameToken(peer)) return;
  std::visit(
      [&](auto& f) {
        using F = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<F, wire::IHaveFrame>) OnIHave(peer, f.ids);
        if constexpr (std::is_same_v<F, wire::IWantFrame>) OnIWant(peer, f.ids);
        if constexpr (std::is_same_v<F, wire::ReconcileRequestFrame>) OnReconcileRequest(peer, f);
        if constexpr (std::is_same_v<F, wire::ReconcileAnswerFrame>) OnReconcileAnswer(peer, f);
      },
      *frame);
}

bool Daemon::Impl::SpendFrameToken(const PeerId& peer) {
  auto decision = m_guard.OnFrame(peer, 0, SteadyClock::now());
  if (decision == gossip::PeerDecision::Disconnect) Penalize(peer, "over its gossip rate budget");
  return decision == gossip::PeerDecision::Process;
}

void Daemon::Impl::RequestIds(const PeerId& peer, const std::vector<wire::MessageId>& ids) {
  wire::IWantFrame want;
  for (const auto& id : ids) {
    if (m_requested.emplace(id, peer).second) {
      m_requested_order.push_back(id);
      while (m_requested_order.size() > MAX_REQUESTED_IDS) {
        m_requested.erase(m_requested_order.front());
        m_requested_order.pop_front();
      }
    }
    want.ids.push_back(id);
    if (want.ids.size() == wire::MAX_IDS_PER_FRAME) {
      Send(peer, want);
      want.ids.clear();
    }
  }
  if (!want.ids.empty()) Send(peer, want);
}

bool Daemon::Impl::TakeRequested(const wire::MessageId& id, const PeerId& peer) {
  auto it = m_requested.find(id);
  if (it == m_requested.end() || it->second != peer) return false;
  m_requested.erase(it);  // its slot in the order deque expires on its own
  return true;
}

void Daemon::Impl::OnBatch(const PeerId& from, const std::vector<Bytes>& messages) {
  // One store transaction for the whole batch: a catch-up of thousands of events is bounded by
  // signature checks, not by one commit per message.
  (void)m_store->InTransaction([&]() -> storage::StoreStatus {
    for (const auto& m : messages) {
      if (!TakeRequested(wire::ComputeMessageId(m), from) && !SpendFrameToken(from)) continue;
      if (m_peers.count(from) == 0) break;  // dropped for misbehaviour meanwhile
      OnGossipMessage(from, m);
    }
    return Ok{};
  });
}

gossip::AdmissionResult Daemon::Impl::AdmitLocal(const Bytes& envelope, std::optional<PeerId> from) {
  auto result = m_admission->Admit(envelope, UnixMillis());
  AfterAdmission(result, from);
  return result;
}

void Daemon::Impl::AfterAdmission(const gossip::AdmissionResult& result, const std::optional<PeerId>& from) {
  if (result.verdict == gossip::Verdict::Accepted && result.message) {
    const auto& m = *result.message;
    // A node we are connected to is online whatever its (new) route row says.
    if (m.type() == wire::MessageType::Node && m_peers.count(m.author) != 0)
      (void)m_store->RecordContact(m.author, true, 0.0, UnixMillis());
    auto frames = m_router->OnAccepted(m, from, UnixMillis());
    m_messages_forwarded += frames.size();
    SendFrames(frames);
    // An event whose parents we lack: ask the peer that sent it (event id = message id).
    if (const auto* activity = std::get_if<wire::ActivityBody>(&m.body); activity && from) {
      std::vector<wire::MessageId> missing;
      for (const auto& parent : activity->parents) {
        if (parent.size() != 32) continue;
        wire::MessageId id;
        std::copy(parent.begin(), parent.end(), id.begin());
        if (!m_state->HasMessage(id)) missing.push_back(id);
      }
      if (!missing.empty()) RequestIds(*from, missing);
    }
    // New signed refs (or repo metadata) of a repo we seed: fetch from whoever has it, the
    // announcing peer first (it may be a node that only dials out: we use its connection).
    const identity::RepoId* repo = nullptr;
    if (const auto* refs = std::get_if<wire::RefsBody>(&m.body)) repo = &refs->repo_id;
    if (const auto* meta = std::get_if<wire::RepoBody>(&m.body)) repo = &meta->repo_id;
    if (repo != nullptr && m.author != m_key.public_key() && ShouldSeed(*repo)) {
      std::vector<PeerId> preferred;
      if (m_peers.count(m.author) != 0) preferred.push_back(m.author);
      if (from && *from != m.author) preferred.push_back(*from);
      ScheduleFetch(*repo, preferred);
    }
    return;
  }
  if (from && gossip::IsMisbehaviour(result.verdict)) {
    Log(LogLevel::Warn, "rejected message from %s: %s: %s", ShortId(*from).c_str(), gossip::VerdictName(result.verdict),
        result.reason.c_str());
    if (m_guard.OnVerdict(*from, result.verdict, SteadyClock::now()) == gossip::PeerDecision::Disconnect)
      Penalize(*from, std::string("repeated ") + gossip::VerdictName(result.verdict) + " messages (banned)");
    else
      (void)m_store->RecordContact(*from, true, -2.0, UnixMillis());
  }
}

void Daemon::Impl::OnGossipMessage(const PeerId& from, const Bytes& envelope) { AdmitLocal(envelope, from); }

void Daemon::Impl::OnIHave(const PeerId& from, const std::vector<wire::MessageId>& ids) {
  std::vector<gossip::GossipFrame> frames;
  for (const auto& id : ids) {
    auto out = m_router->OnIHave(from, id, m_state->HasMessage(id), UnixMillis());
    frames.insert(frames.end(), out.begin(), out.end());
  }
  SendFrames(frames);
}

void Daemon::Impl::OnIWant(const PeerId& from, const std::vector<wire::MessageId>& ids) {
  for (const auto& id : ids) {
    if (auto frame = m_router->OnIWant(from, id)) {
      QueueAnswer(from, *frame->message);
      continue;
    }
    // Older than the router's cache: served from the store (reconciliation asks for these).
    auto stored = m_store->GetMessage(id);
    if (stored.ok() && stored->has_value()) QueueAnswer(from, std::move((*stored)->raw));
  }
}

/** Bytes of gathered answers per batch frame: well under a frame, a bounded burst per peer. */
constexpr size_t MAX_ANSWER_BATCH_BYTES = 1u << 20;

void Daemon::Impl::QueueAnswer(const PeerId& to, Bytes message) {
  auto& [messages, bytes] = m_answers[to];
  bytes += message.size();
  messages.push_back(std::move(message));
  if (messages.size() >= wire::MAX_BATCH_MESSAGES || bytes >= MAX_ANSWER_BATCH_BYTES) {
    Send(to, wire::MessageBatchFrame{std::move(messages)});
    m_answers.erase(to);
  }
}

void Daemon::Impl::FlushAnswers() {
  for (auto& [peer, pending] : m_answers) {
    auto& messages = pending.first;
    // One message as a plain frame (a datagram when it fits); several as one batch on a stream.
    if (messages.size() == 1)
      Send(peer, wire::MessageFrame{std::move(messages[0])});
    else if (!messages.empty())
      Send(peer, wire::MessageBatchFrame{std::move(messages)});
  }
  m_answers.clear();
}

void Daemon::Impl::OnReconcileRequest(const PeerId& from, const wire::ReconcileRequestFrame& request) {
  uint64_t limit = std::clamp<uint64_t>(request.limit, 1, wire::MAX_RECONCILE_ENTRIES);
  int64_t cursor = int64_t(std::min<uint64_t>(request.cursor, uint64_t(INT64_MAX)));
  auto page = m_store->MessagesSince(cursor, size_t(limit) + 1);
  if (!page) return;
  wire::ReconcileAnswerFrame answer;
  answer.next_cursor = request.cursor;
  for (size_t i = 0; i < page->size() && i < limit; ++i) {
    const auto& m = (*page)[i];
    if (m.id.size() != 32) continue;
    wire::MessageId id;
    std::copy(m.id.begin(), m.id.end(), id.begin());
    answer.ids.push_back(id);
    answer.next_cursor = uint64_t(m.arrival);
  }
  answer.more = page->size() > limit;
  Send(from, answer);
}

void Daemon::Impl::OnReconcileAnswer(const PeerId& from, const wire::ReconcileAnswerFrame& answer) {
  auto it = m_peers.find(from);
  if (it == m_peers.end()) return;
  PeerState& p = it->second;
  if (!p.reconcile_in_flight) return;  // unsolicited
  p.reconcile_in_flight = false;
  if (answer.next_cursor < p.cursor) return;  // a peer cannot move our cursor back
  p.cursor = answer.next_cursor;
  std::vector<wire::MessageId> lacking;
  for (const auto& id : answer.ids)
    if (!m_state->HasMessage(id)) lacking.push_back(id);
  if (!lacking.empty()) RequestIds(from, lacking);
  if (answer.more) AskReconcile(from);  // the next page at once: answers are solicited
  else p.next_reconcile = SteadyClock::now() + m_config.reconcile_interval;
}

void Daemon::Impl::AskReconcile(const PeerId& peer) {
  auto it = m_peers.find(peer);
  if (it == m_peers.end()) return;
  it->second.reconcile_in_flight = true;
  it->second.next_reconcile = SteadyClock::now() + m_config.reconcile_interval;
  Send(peer, wire::ReconcileRequestFrame{it->second.cursor, RECONCILE_PAGE_IDS});
}

void Daemon::Impl::SendFrames(const std::vector<gossip::GossipFrame>& frames) {
  // Ids to one peer are batched into as few IHAVE/IWANT frames as fit a datagram.
  std::map<PeerId, wire::IHaveFrame> ihaves;
  std::map<PeerId, wire::IWantFrame> iwants;
  for (const auto& f : frames) {
    switch (f.kind) {
      case gossip::GossipFrame::Kind::Full: Send(f.to, wire::MessageFrame{*f.message}); break;
      case gossip::GossipFrame::Kind::IHave: {
        auto& batch = ihaves[f.to];
        batch.ids.push_back(f.id);
        if (batch.ids.size() == wire::MAX_IDS_PER_FRAME) {
          Send(f.to, batch);
          batch.ids.clear();
        }
        break;
      }
      case gossip::GossipFrame::Kind::IWant: iwants[f.to].ids.push_back(f.id); break;
    }
  }
  for (auto& [peer, batch] : ihaves)
    if (!batch.ids.empty()) Send(peer, batch);
  for (auto& [peer, batch] : iwants)
    if (!batch.ids.empty()) RequestIds(peer, batch.ids);
}

void Daemon::Impl::Send(const PeerId& peer, const wire::GossipFrameBody& frame) {
  Bytes bytes = wire::EncodeGossipFrame(frame);
  (void)m_endpoint->SendMessage(peer, bytes);  // NotConnected: the peer left; reconciliation repairs
}

// ---- replication ----

void Daemon::Impl::OnStream(std::shared_ptr<transport::Stream> stream) {
  // Loop thread: hand the stream to its own thread at once.
  if (m_serving.load() >= MAX_CONCURRENT_SERVES) {
    stream->Reset();
    return;
  }
  ++m_serving;
  std::thread([this, stream] {
    ServeReplicationStream(m_config.home, stream);
    --m_serving;
  }).detach();
}

bool Daemon::Impl::ShouldSeed(const identity::RepoId& repo) {
  if (m_seed_deny.count(repo) != 0) return false;
  if (m_seed_allow.count(repo) != 0) return true;
  bool all = m_config.seed_all.value_or(m_config.relay);
  if (all) return true;
  auto followed = m_store->IsFollowed(repo.multihash);
  return followed.ok() && *followed;
}

std::vector<PeerId> Daemon::Impl::FetchCandidates(const identity::RepoId& repo, const std::vector<PeerId>& preferred) {
  std::vector<PeerId> out;
  auto add = [&](const PeerId& p) {
    if (m_peers.count(p) != 0 && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  for (const auto& p : preferred) add(p);
  auto seeders = m_store->ListSeeders(repo.multihash);
  std::vector<PeerId> relays, others;
  for (const auto& [peer, _] : m_peers) {
    auto node = m_store->GetNode(peer);
    bool is_relay = node.ok() && node->has_value() && (*node)->relay;
    bool seeds = false;
    if (seeders)
      for (const auto& sd : *seeders)
        if (identity::PublicKeyFromBytes(sd.node_id) == peer) seeds = true;
    if (is_relay) relays.push_back(peer);
    else if (seeds) others.push_back(peer);
  }
  for (const auto& p : relays) add(p);
  for (const auto& p : others) add(p);
  return out;
}

void Daemon::Impl::ScheduleFetch(const identity::RepoId& repo, std::vector<PeerId> preferred) {
  auto candidates = FetchCandidates(repo, preferred);
  if (candidates.empty()) return;
  std::lock_guard lock(m_fetch_mu);
  if (!m_fetch_pending.insert(repo).second) {
    // Already queued: the queued job will see the newest signed refs when it runs.
    return;
  }
  m_fetch_queue.emplace_back(repo, std::move(candidates));
  m_fetch_cv.notify_one();
}

FetchResult Daemon::Impl::FetchFromAny(storage::Store& store, const identity::RepoId& repo,
                                       const std::vector<PeerId>& candidates) {
  auto result = FetchFromSeeders(*m_endpoint, candidates, nullptr, m_config.home, store, repo);
  if (!result) Log(LogLevel::Warn, "fetch %s failed: %s", repo.ToString().c_str(), result.message().c_str());
  else
    for (const auto& skip : result->skipped)
      Log(LogLevel::Warn, "fetch %s: namespace %s skipped: %s", repo.ToString().c_str(), skip.node.c_str(),
          skip.reason.c_str());
  return result;
}

uint64_t DirectoryBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::end(it); it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

void Daemon::Impl::FetcherLoop() {
  auto store = storage::Store::Open(m_config.home / "store.db");
  if (!store) {
    Log(LogLevel::Error, "replication disabled: cannot open the store: %s", store.message().c_str());
    return;
  }
  for (;;) {
    std::pair<identity::RepoId, std::vector<PeerId>> job;
    {
      std::unique_lock lock(m_fetch_mu);
      m_fetch_cv.wait(lock, [this] { return m_fetch_stopping || !m_fetch_queue.empty(); });
      if (m_fetch_stopping) return;
      job = std::move(m_fetch_queue.front());
      m_fetch_queue.pop_front();
      m_fetch_pending.erase(job.first);
    }
    if (m_config.seed_quota_bytes > 0 && DirectoryBytes(m_config.home / "repos") >= m_config.seed_quota_bytes) {
      Log(LogLevel::Warn, "not seeding %s: the seed quota is reached", job.first.ToString().c_str());
      continue;
    }
    auto result = FetchFromAny(*store, job.first, job.second);
    if (!result) continue;
    if (result->namespaces_updated > 0)
      Log(LogLevel::Info, "replicated %s: %llu bytes, %zu namespaces updated in %.2f s", job.first.ToString().c_str(),
          static_cast<unsigned long long>(result->pack_bytes), result->namespaces_updated, result->seconds);
    auto repo = job.first;
    Post([this, repo] { AfterFetched(repo); });
  }
}

void Daemon::Impl::AfterFetched(const identity::RepoId& repo) {
  auto followed = m_store->IsFollowed(repo.multihash);
  if (followed.ok() && *followed) return;
  (void)m_store->SetFollowed(repo.multihash, true, UnixMillis());
  AnnounceInventory();
}

void Daemon::Impl::AnnounceInventory() {
  auto followed = m_store->ListFollowed();
  if (!followed) return;
  std::vector<identity::RepoId> repos;
  for (const auto& r : *followed)
    if (auto id = identity::RepoIdFromMultihash(r)) repos.push_back(*id);
  uint64_t sequence = std::max(UnixMillis(), m_last_inventory_sequence + 1);
  m_last_inventory_sequence = sequence;
  for (auto& page : wire::SplitInventory(std::move(repos), sequence, UnixMillis())) {
    auto message = wire::SignMessage(m_key, page);
    AdmitLocal(message.encoded, std::nullopt);
  }
}

nlohmann::json Daemon::Impl::RunFetchRequest(const nlohmann::json& request) {
  auto repo = identity::DecodeDidRepo(request.value("repo", ""));
  if (!repo) return {{"ok", false}, {"error", "invalid repo id: " + repo.message()}};
  std::vector<PeerId> preferred;
  if (request.contains("peer")) {
    auto peer = identity::DecodeDidKey(request.value("peer", ""));
    if (!peer) return {{"ok", false}, {"error", "invalid peer: " + peer.message()}};
    preferred.push_back(*peer);
  }
  // Candidates are read on the worker (it owns the tables), the transfer runs here.
  auto promise = std::make_shared<std::promise<std::vector<PeerId>>>();
  auto future = promise->get_future();
  Post([this, r = *repo, preferred, promise] { promise->set_value(FetchCandidates(r, preferred)); });
  if (future.wait_for(10s) != std::future_status::ready) return {{"ok", false}, {"error", "the daemon is busy or stopping"}};
  auto candidates = future.get();
  auto store = storage::Store::Open(m_config.home / "store.db");
  if (!store) return {{"ok", false}, {"error", "cannot open the store: " + store.message()}};
  if (candidates.empty()) return {{"ok", false}, {"error", "no connected peer to fetch " + repo->ToString() + " from"}};
  auto result = FetchFromAny(*store, *repo, candidates);
  if (!result) return {{"ok", false}, {"error", result.message()}};
  Post([this, r = *repo] { AfterFetched(r); });
  return {{"ok", true},
          {"pack_bytes", result->pack_bytes},
          {"namespaces_updated", result->namespaces_updated},
          {"namespaces_current", result->namespaces_current},
          {"not_served", result->not_served},
          {"delegates_missing", result->delegates_missing},
          {"skipped", SkipsJson(result->skipped)},
          {"seconds", result->seconds},
          {"storage", result->storage.string()}};
}

// ---- timers ----

void Daemon::Impl::Tick() {
  auto now = SteadyClock::now();
  SendFrames(m_router->Tick(UnixMillis()));
  for (auto& [peer, p] : m_peers) {
    if (now >= p.next_reconcile) AskReconcile(peer);
  }
  if (now >= m_next_announce) Announce();
  if (now >= m_next_upkeep) {
    m_next_upkeep = now + 60s;
    (void)m_store->ExpireNodes(UnixMillis());
    // Uptime raises the score of peers that stay connected.
    for (const auto& [peer, _] : m_peers) (void)m_store->RecordContact(peer, true, 0.5, UnixMillis());
  }
  Maintain(now);
}

void Daemon::Impl::DialTargetNow(const PeerId& peer, DialTarget& target) {
  if (target.addresses.empty()) return;
  target.dialing = true;
  std::string address = target.addresses[target.next_address++ % target.addresses.size()];
  m_endpoint->Dial(peer, address, [this, peer, address](transport::TResult<transport::PeerInfo> r) {
    if (r) return;  // OnConnected follows
    std::string error = r.message();
    Post([this, peer, address, error] {
      auto it = m_targets.find(peer);
      if (it == m_targets.end()) return;
      DialTarget& t = it->second;
      t.dialing = false;
      t.next_attempt = SteadyClock::now() + t.backoff;
      Log(LogLevel::Debug, "dial %s at %s failed: %s (retry in %lld s)", ShortId(peer).c_str(), address.c_str(), error.c_str(),
          static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(t.backoff).count()));
      t.backoff = std::min(t.backoff * 2, RECONNECT_BACKOFF_MAX);
      (void)m_store->RecordContact(peer, false, -1.0, UnixMillis());
      if (!t.bootstrap && t.backoff >= RECONNECT_BACKOFF_MAX) m_targets.erase(it);  // try someone else
    });
  });
}

void Daemon::Impl::Maintain(SteadyClock::time_point now) {
  // Bootstrap peers: always wanted, redialled with backoff.
  for (auto& [peer, target] : m_targets) {
    if (m_peers.count(peer) != 0 || target.dialing || now < target.next_attempt) continue;
    if (target.bootstrap) DialTargetNow(peer, target);
  }
  // Other known nodes with addresses, by score, up to the outbound target.
  size_t outbound = 0;
  for (const auto& [peer, p] : m_peers) {
    auto t = m_targets.find(peer);
    if (p.we_dialed && (t == m_targets.end() || !t->second.bootstrap)) ++outbound;
  }
  for (const auto& [peer, target] : m_targets)
    if (!target.bootstrap && target.dialing) ++outbound;
  if (outbound >= m_config.outbound_peers || now < m_next_discovery) return;
  m_next_discovery = now + 2s;  // the table scan is not free on a large table
  auto nodes = m_store->ListNodes();  // highest score first
  if (!nodes) return;
  for (const auto& n : *nodes) {
    if (outbound >= m_config.outbound_peers) break;
    auto key = identity::PublicKeyFromBytes(n.node_id);
    if (!key || *key == m_key.public_key() || n.addresses.empty() || m_peers.count(*key) != 0) continue;
    if (m_guard.IsBanned(*key, now)) continue;
    auto& target = m_targets[*key];
    if (target.dialing || now < target.next_attempt) continue;
    target.addresses.clear();
    for (const auto& a : n.addresses) target.addresses.push_back(AddressText(a));
    DialTargetNow(*key, target);
    ++outbound;
  }
}

void Daemon::Impl::Announce() {
  wire::NodeBody body;
  body.timestamp_ms = std::max(UnixMillis(), m_last_announce_ms + 1);
  m_last_announce_ms = body.timestamp_ms;
  body.addresses = m_announce;
  body.relay = m_config.relay;
  body.alias = m_config.alias;
  auto message = wire::SignMessage(m_key, body);
  auto result = AdmitLocal(message.encoded, std::nullopt);
  if (result.verdict != gossip::Verdict::Accepted)
    Log(LogLevel::Error, "own node announcement not accepted: %s %s", gossip::VerdictName(result.verdict), result.reason.c_str());
  m_next_announce = SteadyClock::now() + m_config.reannounce_interval;
}

nlohmann::json Daemon::Impl::StatusJson() {
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& [peer, p] : m_peers)
    peers.push_back({{"node_id", identity::EncodeDidKey(peer)}, {"address", p.address},
                     {"direction", p.we_dialed ? "outbound" : "inbound"}, {"connected_at", p.connected_at_ms}});
  nlohmann::json announce = nlohmann::json::array();
  for (const auto& a : m_announce) announce.push_back(wire::FormatHostPort(a));
  auto followed = m_store->ListFollowed();
  nlohmann::json held = nlohmann::json::array();
  if (followed)
    for (const auto& r : *followed) held.push_back(RepoIdText(r));
  nlohmann::json verdicts = nlohmann::json::object();
  for (const auto& [v, n] : m_admission->counters().by_verdict) verdicts[gossip::VerdictName(v)] = n;
  auto stats = m_endpoint->Stats();
  auto count = [](auto r) { return r.ok() ? *r : int64_t(-1); };
  return {{"ok", true},
          {"node_id", identity::EncodeDidKey(m_key.public_key())},
          {"role", m_config.relay ? "relay" : "node"},
          {"alias", m_config.alias},
          {"listen", m_listen_addresses},
          {"announce", announce},
          {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - m_started).count()},
          {"peers", peers},
          {"repos", held},
          {"tables",
           {{"nodes", count(m_store->CountNodes())},
            {"repos", count(m_store->CountRepos())},
            {"messages", count(m_store->CountMessages())},
            {"activity", count(m_store->CountActivity())}}},
          {"gossip",
           {{"frames_in", m_frames_in},
            {"frames_malformed", m_frames_bad},
            {"frames_out", m_messages_forwarded},
            {"verdicts", verdicts},
            {"throttled_frames", m_guard.counters().throttled_frames},
            {"bans", m_guard.counters().bans},
            {"events_dropped", m_events_dropped}}},
          {"transport",
           {{"connections", stats.connections_open},
            {"handshakes_failed", stats.handshakes_failed},
            {"packets_ignored", stats.packets_ignored},
            {"datagrams_sent", stats.datagrams_sent},
            {"datagrams_received", stats.datagrams_received}}}};
}

// ---- Daemon ----

std::optional<LogLevel> ParseLogLevel(const std::string& text) {
  if (text == "error") return LogLevel::Error;
  if (text == "warn") return LogLevel::Warn;
  if (text == "info") return LogLevel::Info;
  if (text == "debug") return LogLevel::Debug;
  return std::nullopt;
}

Result<std::unique_ptr<Daemon>, std::string> Daemon::Start(const identity::NodeKey& key, DaemonConfig config) {
  auto impl = std::make_unique<Impl>(identity::NodeKey::FromSeed(key.seed()), std::move(config));
  auto started = impl->Start();
  if (!started) return started.error();
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Daemon::~Daemon() { Stop(); }
void Daemon::Stop() { m_impl->Stop(); }
std::vector<std::string> Daemon::ListenAddresses() const { return m_impl->ListenAddresses(); }
nlohmann::json Daemon::Handle(const nlohmann::json& request) { return m_impl->Handle(request); }

}  // namespace p2pgit::node
