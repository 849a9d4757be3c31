// The node daemon (`p2pgit node`, `p2pgit relay`): puts the gossip pipeline, the routing tables
// and the connection policy on a QUIC endpoint, and answers the control socket.
//
// Threads: the transport's loop thread only enqueues events; one worker thread owns the store,
// admission, router and peer guard and handles every event and timer in order; the control
// socket thread posts requests to the worker and waits for the answer. See ARCHITECTURE.md.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "identity/node_key.h"

namespace p2pgit::node {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

/** Non-bootstrap peers a node keeps dialled, chosen by score among nodes with addresses: enough
 *  for gossip to reach everyone (the simulator's figure), few enough to be cheap behind NAT. */
inline constexpr size_t DEFAULT_OUTBOUND_PEERS = 8;
/** Connections a plain node accepts; a relay keeps the transport's larger cap. */
inline constexpr size_t NODE_MAX_CONNECTIONS = 128;
/** How often each peer is asked for what we lack (its arrival order after our cursor). */
inline constexpr Millis DEFAULT_RECONCILE_INTERVAL = 60s;
/** Node announcements are refreshed well within the routing TTL (24 h). */
inline constexpr Millis DEFAULT_REANNOUNCE_INTERVAL = 30min;
/** Dial retry backoff: doubles from the first to the last value. */
inline constexpr Millis RECONNECT_BACKOFF_MIN = 1s;
inline constexpr Millis RECONNECT_BACKOFF_MAX = 60s;
/** Ids asked per reconciliation page; the next page is asked as soon as one is answered. */
inline constexpr uint64_t RECONCILE_PAGE_IDS = 1024;
/** Ids we asked peers for and still expect: their answers cost bytes but no frame token (a
 *  catch-up of thousands of messages is not a flood). Beyond the cap the oldest are forgotten. */
inline constexpr size_t MAX_REQUESTED_IDS = 131072;
/** Events queued for the worker before new gossip frames are dropped (memory bound under flood;
 *  connection events are never dropped). */
inline constexpr size_t MAX_QUEUED_EVENTS = 20'000;

/** What the daemon writes on stderr: errors only, … every dial and transport event. */
enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };
/** "error" | "warn" | "info" | "debug" → level; nullopt otherwise. */
std::optional<LogLevel> ParseLogLevel(const std::string& text);

struct DaemonConfig {
  std::filesystem::path home;
  bool relay = false;
  std::vector<std::string> listen;     // HOST:PORT; empty = dial out only
  std::vector<std::string> announce;   // HOST:PORT announced in our Node message
  std::vector<std::string> bootstrap;  // NODEID@HOST:PORT
  std::string alias;
  Millis reconcile_interval = DEFAULT_RECONCILE_INTERVAL;
  Millis reannounce_interval = DEFAULT_REANNOUNCE_INTERVAL;
  size_t outbound_peers = DEFAULT_OUTBOUND_PEERS;
  size_t max_connections = 0;  // 0: the role's default
  Millis idle_timeout{0};      // 0: the transport's default
  bool log = true;             // one line per notable event on stderr
  LogLevel log_level = LogLevel::Info;
  /** Which repos this daemon replicates when their signed refs change: a relay seeds all by
   *  default, a node the repos it follows (shared or cloned). Allow/deny take did:repo ids;
   *  a deny wins. The quota stops new fetches once the stored repositories reach it. */
  std::optional<bool> seed_all;
  std::vector<std::string> seed_allow;
  std::vector<std::string> seed_deny;
  uint64_t seed_quota_bytes = 0;  // 0: no quota
};

class Daemon {
 public:
  /** Opens the store, binds the endpoint, starts the worker and the control socket. */
  static Result<std::unique_ptr<Daemon>, std::string> Start(const identity::NodeKey& key, DaemonConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /** Closes connections, stops threads, removes the control socket. Idempotent. */
  void Stop();

  std::vector<std::string> ListenAddresses() const;
  /** Runs `request` (a control-socket JSON object) on the worker; thread-safe. */
  nlohmann::json Handle(const nlohmann::json& request);

  class Impl;

 private:
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace p2pgit::node
