// What the repository commands and the git remote helper share: repo URLs, the route to the
// network (the home's daemon through its control socket, else a short-lived session dialing the
// bootstrap peers), fetching into the home, and announcing signed messages.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "activity/fold.h"
#include "base/clock.h"
#include "base/result.h"
#include "cli/config.h"
#include "git/storage.h"
#include "identity/did.h"
#include "identity/node_key.h"
#include "node/replication.h"
#include "storage/store.h"
#include "transport/endpoint.h"
#include "wire/message.h"

namespace p2pgit::cli {

using transport::PeerId;
using namespace std::chrono_literals;

inline constexpr char URL_SCHEME[] = "git+p2p://";


struct RepoTarget {
  identity::RepoId repo;
  std::optional<PeerId> peer;  // /peer/<NodeId>: that node's namespace (its fork)
};

/** did:repo:z… or git+p2p://did:repo:z…[/peer/did:key:z…]; the error is one line. */
Result<RepoTarget, std::string> ParseRepoTarget(const std::string& text);
std::string RepoUrl(const identity::RepoId& repo);

/** A daemon answers on the home's control socket. */
bool DaemonRunning();

/**
 * A short-lived endpoint for commands run without a daemon: dials the bootstrap peers, serves
 * replication streams (so a relay can fetch what we share) and collects gossip it receives.
 */
class Session {
 public:
  static Result<std::unique_ptr<Session>, std::string> Open(const identity::NodeKey& key,
                                                            std::vector<std::string> bootstrap) {
    auto session = std::unique_ptr<Session>(new Session());
    DaemonFlags settings;
    settings.bootstrap = std::move(bootstrap);
    if (auto applied = ApplyConfigFile(identity::DefaultHome() / "config.toml", settings); !applied)
      return Fail(std::string(), "config: " + applied.message());
    transport::EndpointHandlers handlers;
    Session* self = session.get();
    handlers.on_stream = [self](std::shared_ptr<transport::Stream> stream) {
      ++self->m_serving;
      ++self->m_started;
      std::thread([self, stream] {
        node::ServeReplicationStream(identity::DefaultHome(), stream);
        {
          std::lock_guard lock(self->m_mu);
          ++self->m_served;
        }
        self->m_cv.notify_all();
        --self->m_serving;
      }).detach();
    };
    handlers.on_message = [self](const PeerId& peer, Bytes message) {
      std::lock_guard lock(self->m_mu);
      if (self->m_messages.size() < 10000) self->m_messages.emplace_back(peer, std::move(message));
      self->m_cv.notify_all();
    };
    auto endpoint = transport::Endpoint::Create(key, transport::EndpointConfig{}, handlers);
    if (!endpoint) return Fail(std::string(), "cannot open an endpoint: " + endpoint.message());
    session->m_endpoint = std::move(*endpoint);
    std::string errors;
    for (const auto& text : settings.bootstrap) {
      auto parsed = transport::ParseNodeAddress(text);
      if (!parsed) return Fail(std::string(), "bootstrap: " + parsed.message());
      auto info = session->m_endpoint->Connect(parsed->first, parsed->second);
      if (info) {
        session->m_connected.push_back(info->peer);
      } else {
        errors += (errors.empty() ? "" : "; ") + text + ": " + info.message();
      }
    }
    if (settings.bootstrap.empty())
      return Fail(std::string(), "no daemon is running and no bootstrap peer is known: give --bootstrap NODEID@HOST:PORT, "
                                 "add bootstrap = [...] to config.toml, or start `p2pgit node`");
    if (session->m_connected.empty()) return Fail(std::string(), "no bootstrap peer reachable: " + errors);
    return session;
  }

  ~Session() {
    m_endpoint->Stop();
    for (int i = 0; i < 500 && m_serving.load() > 0; ++i) std::this_thread::sleep_for(10ms);
  }

  transport::Endpoint& endpoint() { return *m_endpoint; }
  const std::vector<PeerId>& connected() const { return m_connected; }

  /** Connects to a node from the routing table (its announced addresses). */
  bool ConnectTo(const PeerId& peer, const std::vector<storage::NodeAddress>& addresses) {
    if (std::find(m_connected.begin(), m_connected.end(), peer) != m_connected.end()) return true;
    for (const auto& a : addresses) {
      if (m_endpoint->Connect(peer, wire::FormatHostPort({a.host, a.port}))) {
        m_connected.push_back(peer);
        return true;
      }
    }
    return false;
  }

  /** Waits until `served` replication streams have been served, or the deadline. */
  bool WaitServed(size_t served, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(m_mu);
    return m_cv.wait_until(lock, deadline, [&] { return m_served >= served; });
  }
  size_t served() {
    std::lock_guard lock(m_mu);
    return m_served;
  }
  /** Replication streams peers opened so far (served or being served). */
  size_t started() const { return m_started.load(); }

 private:
  Session() = default;
  std::unique_ptr<transport::Endpoint> m_endpoint;
  std::vector<PeerId> m_connected;
  std::atomic<size_t> m_serving{0};
  std::atomic<size_t> m_started{0};
  std::mutex m_mu;
  std::condition_variable m_cv;
  size_t m_served = 0;
  std::vector<std::pair<PeerId, Bytes>> m_messages;
};


struct FetchSummary {
  uint64_t pack_bytes = 0;
  size_t namespaces_updated = 0;
  double seconds = 0;
  std::string from;
  std::vector<node::NamespaceSkip> skipped;  // namespaces refused, with the reason
};

/** One stderr line per namespace the fetch skipped: "<prefix>: skipped namespace <did:key>:
 *  <reason>", escaped for the terminal (the reason can quote a stranger's ref or path). */
void ReportSkipped(const char* prefix, const FetchSummary& summary);

/** Progress lines on stderr ("Receiving pack: … MB, … MB/s"), or none. */
std::function<void(const node::FetchProgress&)> ProgressPrinter(bool show);

/** Fetches `target` into the home: through the daemon when one runs, else over a session with
 *  the bootstrap peers (flags, then config.toml), trying seeders best first. */
Result<FetchSummary, std::string> FetchIntoHome(const identity::NodeKey& key, storage::Store& store,
                                                const RepoTarget& target, const std::vector<std::string>& bootstrap,
                                                bool progress);

/** The delegates' namespaces (creator first) as stored, for canonical refs. */
std::vector<git::NamespaceRefs> DelegateNamespaces(const storage::RepoRecord& meta, const git::StorageRepo& storage);

/** Signs a Refs message for this node's namespace of `repo` (sequence = stored + 1) and an
 *  Inventory of the followed repos, admits both into the store and sets the namespace in
 *  `storage` to exactly `refs`. Returns the signed messages, to be announced. */
Result<std::vector<wire::SignedMessage>, std::string> SignOwnRefs(const identity::NodeKey& key, storage::Store& store,
                                                                   const git::StorageRepo& storage,
                                                                   const identity::RepoId& repo,
                                                                   const std::vector<git::NamedRef>& refs,
                                                                   std::vector<wire::SignedMessage> extra = {});

/** Announces signed messages: through the daemon, or over a session that waits up to
 *  `wait_seed_s` for a relay to fetch (0: only until the peers have the messages). Returns a
 *  one-line report for stderr. */
Result<std::string, std::string> Announce(const identity::NodeKey& key, const std::vector<wire::SignedMessage>& messages,
                                          const std::vector<std::string>& bootstrap, double wait_seed_s);

/** A repo's collaboration as the fold takes it: its delegates and every stored event. */
struct RepoActivity {
  activity::RepoAuthority authority;
  std::vector<activity::Event> events;
};
/** Errors (one line): the repo is unknown here, or its events cannot be read. */
Result<RepoActivity, std::string> LoadRepoActivity(storage::Store& store, const identity::RepoId& repo);

/** Admits a signed message into the home's store (the same pipeline as gossip); one-line error. */
Result<bool, std::string> AdmitOwn(storage::Store& store, const wire::SignedMessage& message);

/**
 * After this node moved `branch` of its namespace from `old_tip` (nullopt: the branch is new) to
 * `new_tip`: when this node is a delegate of the repo, every open patch against `branch` that
 * THIS move merged gets a signed Merge event (the maintainer merged it with plain git). A patch
 * is merged by the move iff its latest head is `new_tip` or an ancestor of it and neither
 * `old_tip` nor an ancestor of it (git::BroughtInByMove): a stranger's patch naming a commit the
 * branch already held is not merged by an unrelated push. Returns the new events, admitted.
 */
std::vector<wire::SignedMessage> MergeEventsFor(const identity::NodeKey& key, storage::Store& store,
                                                const git::StorageRepo& storage, const identity::RepoId& repo,
                                                const std::string& branch, const std::optional<Bytes>& old_tip,
                                                const Bytes& new_tip);

}  // namespace p2pgit::cli
