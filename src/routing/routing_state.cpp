#include "routing/routing_state.h"

#include <variant>

namespace p2pgit::routing {

namespace {

Bytes ToBytes(ByteSpan span) { return Bytes(span.begin(), span.end()); }


}  // namespace

bool StoreRoutingState::HasMessage(const wire::MessageId& id) {
  auto has = m_store.HasMessage(id);
  return has.ok() && *has;
}

std::optional<uint64_t> StoreRoutingState::NodeTimestamp(const wire::PublicKey& author) {
  auto node = m_store.GetNode(author);
  if (!node.ok() || !node->has_value()) return std::nullopt;
  return (*node)->announced_at_ms;
}

std::optional<wire::RepoBody> StoreRoutingState::LatestRepo(const wire::RepoId& repo_id) {
  auto row = m_store.GetRepo(repo_id.multihash);
  if (!row.ok() || !row->has_value()) return std::nullopt;
  const storage::RepoRecord& r = **row;
  wire::RepoBody body;
  body.timestamp_ms = r.timestamp_ms;
  body.repo_id = repo_id;
  body.root_commit = r.root_commit;
  auto creator = identity::PublicKeyFromBytes(r.creator);
  if (!creator) return std::nullopt;
  body.creator = *creator;
  body.name = r.name;
  body.description = r.description;
  for (const auto& d : r.delegates) {
    if (auto key = identity::PublicKeyFromBytes(d)) body.delegates.push_back(*key);
  }
  body.default_branch = r.default_branch;
  body.sequence = r.sequence;
  return body;
}

std::optional<uint64_t> StoreRoutingState::RefsSequence(const wire::PublicKey& author, const wire::RepoId& repo) {
  auto refs = m_store.GetRefs(repo.multihash, author);
  if (!refs.ok() || !refs->has_value()) return std::nullopt;
  return (*refs)->sequence;
}

std::optional<uint64_t> StoreRoutingState::InventorySequence(const wire::PublicKey& author, uint64_t page) {
  auto row = m_store.GetInventoryPage(author, page);
  if (!row.ok() || !row->has_value()) return std::nullopt;
  return (*row)->sequence;
}

std::optional<std::string> StoreRoutingState::QuotaRefusal(const wire::SignedMessage& m) {
  if (const auto* repo = std::get_if<wire::RepoBody>(&m.body)) {
    auto known = m_store.GetRepo(repo->repo_id.multihash);
    if (known.ok() && known->has_value()) return std::nullopt;  // an update
    auto count = m_store.CountReposByCreator(repo->creator);
    if (count.ok() && *count >= m_limits.max_repos_per_creator)
      return "creator already has " + std::to_string(*count) + " repos (quota)";
    return std::nullopt;
  }
  if (const auto* refs = std::get_if<wire::RefsBody>(&m.body)) {
    auto known = m_store.GetRefs(refs->repo_id.multihash, m.author);
    if (known.ok() && known->has_value()) return std::nullopt;
    auto count = m_store.CountRefNamespacesOf(m.author);
    if (count.ok() && *count >= m_limits.max_ref_namespaces_per_node)
      return "node already announces refs for " + std::to_string(*count) + " repos (quota)";
    return std::nullopt;
  }
  const auto* activity = std::get_if<wire::ActivityBody>(&m.body);
  if (activity == nullptr) return std::nullopt;
  Bytes repo = ToBytes(activity->repo_id.multihash);
  int64_t by_author = AuthorActivityCount(repo, ToBytes(m.author));
  if (by_author >= m_limits.max_activity_per_author)
    return "author has " + std::to_string(by_author) + " activity events in this repo (quota)";
  int64_t by_repo = RepoActivityCount(repo);
  if (by_repo >= m_limits.max_activity_per_repo)
    return "repo has " + std::to_string(by_repo) + " activity events (quota)";
  return std::nullopt;
}

int64_t& StoreRoutingState::RepoActivityCount(const Bytes& repo) {
  auto it = m_repo_activity.find(repo);
  if (it != m_repo_activity.end()) return it->second;
  auto count = m_store.CountRepoActivity(repo);
  return m_repo_activity[repo] = count.ok() ? *count : 0;
}

int64_t& StoreRoutingState::AuthorActivityCount(const Bytes& repo, const Bytes& author) {
  auto key = std::make_pair(repo, author);
  auto it = m_author_activity.find(key);
  if (it != m_author_activity.end()) return it->second;
  auto count = m_store.CountAuthorActivity(repo, author);
  return m_author_activity[key] = count.ok() ? *count : 0;
}

bool StoreRoutingState::Accept(const wire::SignedMessage& m, uint64_t now_ms) {
  Bytes author = ToBytes(m.author);
  Bytes id = ToBytes(m.id);
  // The message this one supersedes, removed in the same transaction.
  std::optional<Bytes> superseded;
  auto prune = [&]() -> storage::StoreStatus {
    if (superseded && *superseded != id) return m_store.DeleteMessage(*superseded);
    return Ok{};
  };
  auto apply = [&]() -> storage::StoreStatus {
    storage::StoredMessage stored;
    stored.id = id;
    stored.type = static_cast<uint8_t>(m.type());
    stored.author = author;
    stored.timestamp_ms = std::visit([](const auto& b) { return b.timestamp_ms; }, m.body);
    stored.received_at_ms = now_ms;
    stored.raw = m.encoded;
    if (auto put = m_store.PutMessage(stored); !put) return put.error();

    if (const auto* node = std::get_if<wire::NodeBody>(&m.body)) {
      auto existing = m_store.GetNode(author);
      storage::NodeRecord record;
      bool is_new = !(existing.ok() && existing->has_value());
      if (!is_new) {
        record = **existing;
        superseded = record.message_id;
      }
      record.node_id = author;
      record.addresses.clear();
      for (const auto& a : node->addresses) record.addresses.push_back({a.host, a.port});
      record.alias = node->alias;
      record.relay = node->relay;
      if (!existing.ok() || !existing->has_value()) record.score = INITIAL_NODE_SCORE;
      record.announced_at_ms = node->timestamp_ms;
      record.last_seen_ms = now_ms;
      record.expires_at_ms = now_ms + NODE_ROUTE_TTL_MS;
      record.message_id = id;
      if (auto s = m_store.UpsertNode(record); !s) return s;
      if (is_new) {
        if (auto evicted = m_store.EvictNodes(m_limits.max_node_routes); !evicted) return evicted.error();
      }
      return prune();
    }
    if (const auto* repo = std::get_if<wire::RepoBody>(&m.body)) {
      storage::RepoRecord record;
      record.repo_id = ToBytes(repo->repo_id.multihash);
      record.root_commit = repo->root_commit;
      record.creator = ToBytes(repo->creator);
      record.name = repo->name;
      record.description = repo->description;
      record.default_branch = repo->default_branch;
      for (const auto& d : repo->delegates) record.delegates.push_back(ToBytes(d));
      record.sequence = repo->sequence;
      record.timestamp_ms = repo->timestamp_ms;
      record.message_id = id;
      if (auto old = m_store.GetRepo(record.repo_id); old.ok() && old->has_value()) superseded = (*old)->message_id;
      auto applied = m_store.UpsertRepo(record);
      if (!applied) return applied.error();
      return *applied == storage::ApplyOutcome::Applied ? prune() : storage::StoreStatus(Ok{});
    }
    if (const auto* refs = std::get_if<wire::RefsBody>(&m.body)) {
      storage::RefsRecord record;
      record.repo_id = ToBytes(refs->repo_id.multihash);
      record.node_id = author;
      record.sequence = refs->sequence;
      record.timestamp_ms = refs->timestamp_ms;
      record.message_id = id;
      for (const auto& r : refs->refs) record.refs.push_back({r.name, r.oid});
      if (auto old = m_store.GetRefs(record.repo_id, author); old.ok() && old->has_value())
        superseded = (*old)->message_id;
      auto applied = m_store.ReplaceRefs(record);
      if (!applied) return applied.error();
      if (*applied == storage::ApplyOutcome::Applied) {
        if (auto s = prune(); !s) return s;
      }
      return m_store.AddSeeder({record.repo_id, author, now_ms, "refs"});
    }
    if (const auto* inventory = std::get_if<wire::InventoryBody>(&m.body)) {
      if (auto old = m_store.GetInventoryPage(author, inventory->page); old.ok() && old->has_value())
        superseded = (*old)->message_id;
      auto applied = m_store.ReplaceInventoryPage(
          {author, inventory->page, inventory->page_count, inventory->sequence, inventory->timestamp_ms, id});
      if (!applied) return applied.error();
      if (*applied == storage::ApplyOutcome::Applied) {
        if (auto s = prune(); !s) return s;
      }
      for (const auto& repo : inventory->repos) {
        if (auto s = m_store.AddSeeder({ToBytes(repo.multihash), author, now_ms, "inventory"}); !s) return s;
      }
      return Ok{};
    }
    const auto& activity = std::get<wire::ActivityBody>(m.body);
    storage::ActivityRecord record;
    record.event_id = id;
    record.repo_id = ToBytes(activity.repo_id.multihash);
    record.author = author;
    record.timestamp_ms = activity.timestamp_ms;
    record.op = activity.op;
    record.parents = activity.parents;
    record.payload_version = activity.payload_version;
    record.payload = activity.payload;
    record.message_id = id;
    auto put = m_store.PutActivity(record);
    if (!put) return put.error();
    if (*put) {
      ++RepoActivityCount(record.repo_id);
      ++AuthorActivityCount(record.repo_id, record.author);
    }
    return Ok{};
  };
  auto status = m_store.InTransaction(apply);
  if (!status) {
    m_last_error = status.message();
    return false;
  }
  return true;
}

}  // namespace p2pgit::routing
