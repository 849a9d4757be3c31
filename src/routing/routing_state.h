// The routing tables of the seed (NodeRouting, RepoRouting), kept in the SQLite store and fed by
// admitted gossip: this is the GossipState a real node runs (the simulator uses the in-memory one).
#pragma once

#include <map>

#include <cstdint>
#include <string>

#include "gossip/admission.h"
#include "storage/store.h"

namespace p2pgit::routing {

/** A node route not refreshed by a new Node announcement for this long is dropped. */
inline constexpr uint64_t NODE_ROUTE_TTL_MS = 24ULL * 60 * 60 * 1000;
/** Score of a newly learned node; contact, uptime and misbehaviour move it later. */
inline constexpr double INITIAL_NODE_SCORE = 0.0;

/** Node routes kept; beyond it the lowest-scored, least recently seen are evicted (a flood of
 *  fresh identities must not grow the table without bound). */
inline constexpr size_t MAX_NODE_ROUTES = 100'000;
/** Activity events per (repo, author) and per repo. Beyond them new events are refused; accepted
 *  ones are never evicted (each is part of a DAG others may build on). */
inline constexpr int64_t MAX_ACTIVITY_PER_AUTHOR = 10'000;
inline constexpr int64_t MAX_ACTIVITY_PER_REPO = 200'000;
/** New repos one creator may announce, and repos one node may announce refs for: what one key
 *  can make every relay store is bounded (updates of existing entries are always accepted). */
inline constexpr int64_t MAX_REPOS_PER_CREATOR = 10'000;
inline constexpr int64_t MAX_REF_NAMESPACES_PER_NODE = 10'000;

/** The caps above, as one value (tests shrink them). */
struct RoutingLimits {
  size_t max_node_routes = MAX_NODE_ROUTES;
  int64_t max_activity_per_author = MAX_ACTIVITY_PER_AUTHOR;
  int64_t max_activity_per_repo = MAX_ACTIVITY_PER_REPO;
  int64_t max_repos_per_creator = MAX_REPOS_PER_CREATOR;
  int64_t max_ref_namespaces_per_node = MAX_REF_NAMESPACES_PER_NODE;
};

class StoreRoutingState : public gossip::GossipState {
 public:
  explicit StoreRoutingState(storage::Store& store, RoutingLimits limits = {}) : m_store(store), m_limits(limits) {}

  bool HasMessage(const wire::MessageId& id) override;
  std::optional<uint64_t> NodeTimestamp(const wire::PublicKey& author) override;
  std::optional<wire::RepoBody> LatestRepo(const wire::RepoId& repo) override;
  std::optional<uint64_t> RefsSequence(const wire::PublicKey& author, const wire::RepoId& repo) override;
  std::optional<uint64_t> InventorySequence(const wire::PublicKey& author, uint64_t page) override;
  /**
   * Stores the message and applies it in one transaction: Node → node routing row (addresses,
   * relay, alias, expiry now + TTL); Repo → repo row and delegates; Refs → the author's
   * namespace and the author as a seeder; Inventory → the page and the author as seeder of each
   * repo; Activity → the event and its parents. The message it supersedes (same author's
   * previous Node, Refs for that repo, Inventory page; the repo's previous Repo) is deleted,
   * so the message table holds one live announcement per slot; the node table is capped.
   */
  bool Accept(const wire::SignedMessage& message, uint64_t now_ms) override;
  std::optional<std::string> QuotaRefusal(const wire::SignedMessage& message) override;

  /** The last storage error, for logs (Accept returns false on one). */
  const std::string& last_error() const { return m_last_error; }

 private:
  /** Activity counts per repo and per (repo, author), read from the store once and then kept
   *  up to date by Accept: a count(*) per event would make admitting n events O(n²). Events
   *  another process adds meanwhile are not seen until restart (quotas are soft bounds). */
  int64_t& RepoActivityCount(const Bytes& repo);
  int64_t& AuthorActivityCount(const Bytes& repo, const Bytes& author);

  storage::Store& m_store;
  RoutingLimits m_limits;
  std::string m_last_error;
  std::map<Bytes, int64_t> m_repo_activity;
  std::map<std::pair<Bytes, Bytes>, int64_t> m_author_activity;
};

}  // namespace p2pgit::routing
