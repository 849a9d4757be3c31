// The node's store: one SQLite file in the home holding messages, nodes, repos, refs, seeders,
// activity and repo paths. Storage knows nothing of the wire format: callers hand it raw message
// bytes and the plain fields they already decoded.
//
// Threads: a Store is one SQLite connection opened in multi-thread mode. Use one Store per thread
// (open another Store on the same file for another thread or process); a Store may be moved to
// another thread but never used by two threads at once. SQLite's WAL locking and the busy timeout
// arbitrate between connections.
//
// Durability: journal_mode=WAL with synchronous=NORMAL. A committed transaction survives a killed
// process (SIGKILL, crash); after a power loss the last few commits may roll back, but the file is
// never corrupt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace p2pgit::storage {

/** Schema version this code writes (PRAGMA user_version); older files are migrated on Open. */
inline constexpr int CURRENT_SCHEMA_VERSION = 5;
/** How long a write waits for another connection's lock before failing with StoreError::Busy. */
inline constexpr int BUSY_TIMEOUT_MS = 5000;
/** Id lengths checked on every write, so a caller bug cannot store a truncated key. */
inline constexpr size_t MESSAGE_ID_BYTES = 32;  // SHA-256 of the envelope
inline constexpr size_t NODE_ID_BYTES = 32;     // Ed25519 public key
inline constexpr size_t REPO_ID_BYTES = 34;     // multihash (0x12 0x20 + SHA-256)
/** MessagesSince returns at most this many rows: one page cannot pull the whole table into memory. */
inline constexpr size_t MAX_MESSAGES_PER_PAGE = 4096;

enum class StoreError {
  Io,               // cannot create the directory or open/read/write the file
  Corrupt,          // not a database, or a damaged one
  Busy,             // another connection held the lock longer than BUSY_TIMEOUT_MS
  NewerSchema,      // the file's user_version is newer than CURRENT_SCHEMA_VERSION
  Constraint,       // a foreign key or uniqueness rule refused the write
  InvalidArgument,  // wrong id length, or an unsigned value above INT64_MAX
  Sqlite,           // any other SQLite failure; the message carries SQLite's text
};

const char* StoreErrorName(StoreError error);

template <typename T>
using StoreResult = Result<T, StoreError>;
using StoreStatus = Status<StoreError>;

/** A signed message exactly as received; `raw` is the whole envelope. */
struct StoredMessage {
  Bytes id;                   // MESSAGE_ID_BYTES
  uint8_t type = 0;           // the wire's message type number
  Bytes author;               // NODE_ID_BYTES
  uint64_t timestamp_ms = 0;  // the signer's timestamp
  uint64_t received_at_ms = 0;
  Bytes raw;
  /** Local arrival order, assigned by PutMessage; strictly increasing, never reused. */
  int64_t arrival = 0;
  bool operator==(const StoredMessage&) const = default;
};

struct PutMessageOutcome {
  bool inserted = false;  // false: a message with this id was already stored (nothing changed)
  int64_t arrival = 0;    // the stored row's arrival number
};

struct NodeAddress {
  std::string host;
  uint16_t port = 0;
  bool operator==(const NodeAddress&) const = default;
};

/** A routing-table row: what a node announced plus what we observed of it. */
struct NodeRecord {
  Bytes node_id;                       // NODE_ID_BYTES
  std::vector<NodeAddress> addresses;  // in announced order
  std::string alias;
  bool relay = false;
  bool online = false;
  double score = 0.0;
  uint64_t announced_at_ms = 0;  // timestamp of the latest node message
  uint64_t last_seen_ms = 0;
  uint64_t expires_at_ms = 0;       // ExpireNodes(now) drops the row once now >= this
  std::optional<Bytes> message_id;  // latest node message, if stored
  bool operator==(const NodeRecord&) const = default;
};

struct RepoRecord {
  Bytes repo_id;  // REPO_ID_BYTES
  Bytes root_commit;
  Bytes creator;  // NODE_ID_BYTES
  std::string name;
  std::string description;
  std::string default_branch;
  std::vector<Bytes> delegates;  // in announced order (creator first)
  uint64_t sequence = 0;
  uint64_t timestamp_ms = 0;
  std::optional<Bytes> message_id;  // latest repo message, if stored
  bool operator==(const RepoRecord&) const = default;
};

struct RefEntry {
  std::string name;  // relative to the signer's namespace: "heads/main"
  Bytes oid;
  bool operator==(const RefEntry&) const = default;
};

/** One node's signed refs for one repo (a namespace). */
struct RefsRecord {
  Bytes repo_id;
  Bytes node_id;
  uint64_t sequence = 0;
  uint64_t timestamp_ms = 0;
  std::optional<Bytes> message_id;
  std::vector<RefEntry> refs;  // GetRefs returns them sorted by name (bytewise)
  bool operator==(const RefsRecord&) const = default;
};

/** A namespace's header without its refs, for listings. */
struct RefsNamespace {
  Bytes node_id;
  uint64_t sequence = 0;
  uint64_t timestamp_ms = 0;
  bool operator==(const RefsNamespace&) const = default;
};

/** Result of a write guarded by a sequence number. */
enum class ApplyOutcome {
  Applied,  // stored (there was no row, or the given sequence is higher)
  Stale,    // the stored sequence is >= the given one; nothing changed
};

/** The newest Inventory page a node announced (the repo ids themselves go to repo_seeders). */
struct InventoryPageRecord {
  Bytes node_id;
  uint64_t page = 0;
  uint64_t page_count = 1;
  uint64_t sequence = 0;
  uint64_t timestamp_ms = 0;
  std::optional<Bytes> message_id;
  bool operator==(const InventoryPageRecord&) const = default;
};

struct SeederRecord {
  Bytes repo_id;
  Bytes node_id;
  uint64_t last_seen_ms = 0;
  std::string source;  // how we learned it, e.g. "inventory", "fetch"
  bool operator==(const SeederRecord&) const = default;
};

struct ActivityRecord {
  Bytes event_id;  // MESSAGE_ID_BYTES
  Bytes repo_id;
  Bytes author;
  uint64_t timestamp_ms = 0;
  std::string op;
  std::vector<Bytes> parents;  // in announced order
  uint64_t payload_version = 1;
  Bytes payload;
  std::optional<Bytes> message_id;
  bool operator==(const ActivityRecord&) const = default;
};

/** A namespace the last fetch of a repo could not commit, and why (one line). */
struct NamespaceSkipRecord {
  Bytes repo_id;
  Bytes node_id;
  std::string reason;
  uint64_t skipped_at_ms = 0;
  bool operator==(const NamespaceSkipRecord&) const = default;
};

/** Longest skip reason kept. Threat: a hostile ref or path name echoed into the store. */
inline constexpr size_t MAX_SKIP_REASON_BYTES = 512;

class Store {
 public:
  /**
   * Opens (creating the file and its parent directories if needed) the store at db_path, applies
   * WAL, synchronous=NORMAL, foreign_keys=ON and the busy timeout, then migrates the schema up to
   * CURRENT_SCHEMA_VERSION, one transaction per step.
   * @return Io if the directory or file cannot be created/opened, Corrupt if it is not a
   *   database, NewerSchema if written by newer code (the file is left untouched), Busy/Sqlite.
   */
  static StoreResult<Store> Open(const std::filesystem::path& db_path);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  /**
   * Runs body inside one transaction: committed if body returns ok, rolled back otherwise (its
   * failure is returned). Nests: an inner call is a savepoint. Every method below that writes
   * several rows is itself atomic, inside or outside this.
   */
  StoreStatus InTransaction(const std::function<StoreStatus()>& body);

  // Messages. PutMessage ignores message.arrival; a duplicate id changes nothing.
  StoreResult<PutMessageOutcome> PutMessage(const StoredMessage& message);
  StoreResult<bool> HasMessage(ByteSpan id);
  StoreResult<std::optional<StoredMessage>> GetMessage(ByteSpan id);
  /** Messages with arrival > cursor in arrival order, at most min(limit, MAX_MESSAGES_PER_PAGE). */
  StoreResult<std::vector<StoredMessage>> MessagesSince(int64_t cursor, size_t limit);
  /** The highest arrival number stored, 0 if none. */
  StoreResult<int64_t> LatestArrival();

  // Nodes (routing table). UpsertNode replaces the row and its addresses.
  StoreStatus UpsertNode(const NodeRecord& node);
  StoreResult<std::optional<NodeRecord>> GetNode(ByteSpan node_id);
  /** All nodes, highest score first. */
  StoreResult<std::vector<NodeRecord>> ListNodes();
  /** Deletes nodes with expires_at_ms <= now_ms; returns how many. */
  StoreResult<int64_t> ExpireNodes(uint64_t now_ms);

  // Repos. UpsertRepo is sequence-guarded like ReplaceRefs and replaces the delegates.
  StoreResult<ApplyOutcome> UpsertRepo(const RepoRecord& repo);
  StoreResult<std::optional<RepoRecord>> GetRepo(ByteSpan repo_id);
  /** All repos by name, then id. */
  StoreResult<std::vector<RepoRecord>> ListRepos();
  // Following is kept apart from repos: one may follow a repo before its metadata arrives.
  StoreStatus SetFollowed(ByteSpan repo_id, bool followed, uint64_t now_ms);
  StoreResult<bool> IsFollowed(ByteSpan repo_id);
  StoreResult<std::vector<Bytes>> ListFollowed();

  // Signed refs.
  /**
   * Replaces the namespace (record.repo_id, record.node_id) with record in one transaction.
   * @return Stale (and changes nothing) if the stored sequence is >= record.sequence.
   */
  StoreResult<ApplyOutcome> ReplaceRefs(const RefsRecord& record);
  StoreResult<std::optional<RefsRecord>> GetRefs(ByteSpan repo_id, ByteSpan node_id);
  /** The namespaces stored for a repo, by node id. */
  StoreResult<std::vector<RefsNamespace>> ListRefNamespaces(ByteSpan repo_id);

  // Inventory pages. Sequence-guarded per (node, page) like ReplaceRefs.
  StoreResult<ApplyOutcome> ReplaceInventoryPage(const InventoryPageRecord& page);
  StoreResult<std::optional<InventoryPageRecord>> GetInventoryPage(ByteSpan node_id, uint64_t page);

  // Seeders (repo routing). AddSeeder inserts or refreshes (last_seen never goes backwards).
  StoreStatus AddSeeder(const SeederRecord& seeder);
  /** Seeders of a repo, most recently seen first. */
  StoreResult<std::vector<SeederRecord>> ListSeeders(ByteSpan repo_id);
  StoreStatus RemoveSeeder(ByteSpan repo_id, ByteSpan node_id);

  // -- namespaces a fetch skipped --
  /** Records (or replaces) why `node_id`'s namespace of `repo_id` was not committed; the reason
   *  is cut at MAX_SKIP_REASON_BYTES. */
  StoreStatus RecordNamespaceSkip(const NamespaceSkipRecord& skip);
  /** Forgets the skip: the namespace is now as signed. */
  StoreStatus ClearNamespaceSkip(ByteSpan repo_id, ByteSpan node_id);
  StoreResult<std::vector<NamespaceSkipRecord>> ListNamespaceSkips(ByteSpan repo_id);

  // Activity. PutActivity is idempotent on event_id; returns whether it inserted.
  StoreResult<bool> PutActivity(const ActivityRecord& event);
  StoreResult<std::optional<ActivityRecord>> GetActivity(ByteSpan event_id);
  /** A repo's events by timestamp, then event id. */
  StoreResult<std::vector<ActivityRecord>> ListActivity(ByteSpan repo_id);

  // Where a repo's bare git repository lives on this machine.
  StoreStatus SetRepoPath(ByteSpan repo_id, const std::filesystem::path& path);
  StoreResult<std::optional<std::filesystem::path>> GetRepoPath(ByteSpan repo_id);
  StoreStatus RemoveRepoPath(ByteSpan repo_id);

  // ---- bounds and observations (the daemon's upkeep) ----
  /** Removes a message (a superseded announcement); rows derived from it keep their state. */
  StoreStatus DeleteMessage(ByteSpan id);
  /** Removes a message and the rows that name it as their source: its node route, repo row (and
   *  delegates), refs namespace (and refs), inventory page or activity event (and parents).
   *  For a message that must never have been accepted. @return false if no such message. */
  StoreResult<bool> DeleteMessageAndState(ByteSpan id);

  // ---- re-validation of stored messages (the heal on open) ----
  /** The caller's verdict on one stored message: true to keep it. Storage does not know the wire
   *  format, so the rules come from above (routing::HealStore). */
  using StoredMessageCheck = std::function<bool(const StoredMessage&)>;
  /**
   * Runs once per rules version: when the meta value `key` is below `version` (or unset),
   * deletes every message `keep` refuses with DeleteMessageAndState, then sets `key` to
   * `version`, all in one write transaction (a concurrent opener waits, then sees the version
   * and does nothing). When current it costs one read and takes no write lock.
   * @return how many messages were deleted (0 when already current).
   */
  StoreResult<int64_t> PruneMessagesOnce(std::string_view key, int64_t version, const StoredMessageCheck& keep);
  /** An integer setting of the meta table; nullopt when never set. */
  StoreResult<std::optional<int64_t>> GetMeta(std::string_view key);
  StoreStatus SetMeta(std::string_view key, int64_t value);
  /** Keeps at most `keep` nodes, dropping the lowest score, then the least recently seen. */
  StoreResult<int64_t> EvictNodes(size_t keep);
  /** Records a contact outcome: online flag, score moved by `score_delta` (clamped to ±100),
   *  last_seen raised to now. No-op for a node we have no route for. */
  StoreStatus RecordContact(ByteSpan node_id, bool online, double score_delta, uint64_t now_ms);
  /** Marks every node offline (a daemon starting has no connections yet). */
  StoreStatus MarkAllOffline();
  /** Activity events stored for a repo, and for one author in it. */
  StoreResult<int64_t> CountRepoActivity(ByteSpan repo_id);
  StoreResult<int64_t> CountAuthorActivity(ByteSpan repo_id, ByteSpan author);
  /** Repos a key created, and ref namespaces a node announced (per-author quotas). */
  StoreResult<int64_t> CountReposByCreator(ByteSpan creator);
  StoreResult<int64_t> CountRefNamespacesOf(ByteSpan node_id);

  // Counts, for tests and status output.
  StoreResult<int64_t> CountMessages();
  StoreResult<int64_t> CountNodes();
  StoreResult<int64_t> CountRepos();
  StoreResult<int64_t> CountSeeders();
  StoreResult<int64_t> CountActivity();

  /** PRAGMA integrity_check's first line: "ok" for a healthy file. */
  StoreResult<std::string> IntegrityCheck();
  /** The value of a read-only pragma (name is [a-z_]+), e.g. "journal_mode", "user_version". */
  StoreResult<std::string> PragmaValue(std::string_view name);

  const std::filesystem::path& path() const;

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace p2pgit::storage
