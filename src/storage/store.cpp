#include "storage/store.h"

#include <cmath>
#include <limits>
#include <system_error>

#include "storage/detail/schema.h"
#include "storage/detail/sqlite.h"

// Propagates a failed Result/Status from the current function.
#define STORE_TRY(expr)                                       \
  do {                                                        \
    auto store_try_result_ = (expr);                          \
    if (!store_try_result_) return store_try_result_.error(); \
  } while (0)

// Declares `var` holding the value of a Result, or propagates its failure.
#define STORE_TRY_ASSIGN(var, expr)                 \
  auto var##_result_ = (expr);                      \
  if (!var##_result_) return var##_result_.error(); \
  auto var = std::move(*var##_result_)

namespace p2pgit::storage {

using detail::Statement;

const char* StoreErrorName(StoreError error) {
  switch (error) {
    case StoreError::Io:
      return "io";
    case StoreError::Corrupt:
      return "corrupt";
    case StoreError::Busy:
      return "busy";
    case StoreError::NewerSchema:
      return "newer-schema";
    case StoreError::Constraint:
      return "constraint";
    case StoreError::InvalidArgument:
      return "invalid-argument";
    case StoreError::Sqlite:
      return "sqlite";
  }
  return "unknown";
}

namespace {

StoreStatus CheckLength(ByteSpan id, size_t expected, const char* what) {
  if (id.size() == expected) return Ok{};
  return Fail(StoreError::InvalidArgument, std::string(what) + " must be " + std::to_string(expected) +
                                               " bytes, got " + std::to_string(id.size()));
}

// SQLite integers are signed; values above INT64_MAX would sort wrongly, so they are refused.
StoreResult<int64_t> ToInt(uint64_t value, const char* what) {
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Fail(StoreError::InvalidArgument, std::string(what) + " exceeds INT64_MAX");
  }
  return static_cast<int64_t>(value);
}

uint64_t ToUnsigned(int64_t value) {
  return value < 0 ? 0 : static_cast<uint64_t>(value);
}

}  // namespace

class Store::Impl {
 public:
  detail::Connection m_conn;
  std::filesystem::path m_path;
  int m_depth = 0;  // open transactions/savepoints of this connection

  StoreResult<Statement> Prepare(const char* sql) { return m_conn.Prepare(sql); }

  /** First column of the first row as text ("" if no row). */
  StoreResult<std::string> QueryText(const char* sql) {
    STORE_TRY_ASSIGN(stmt, Prepare(sql));
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) return std::string();
    return stmt.Text(0);
  }

  StoreResult<int64_t> QueryInt(const char* sql) {
    STORE_TRY_ASSIGN(stmt, Prepare(sql));
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) return int64_t{0};
    return stmt.Int(0);
  }

  int64_t Changes() { return sqlite3_changes(m_conn.db()); }

  /** BEGIN IMMEDIATE at the outermost level (no lock upgrade, so the busy timeout applies), else a savepoint.
   */
  StoreStatus Atomic(const std::function<StoreStatus()>& body) {
    const bool outer = m_depth == 0;
    STORE_TRY(m_conn.Exec(outer ? "BEGIN IMMEDIATE" : "SAVEPOINT nested"));
    ++m_depth;
    // Rolls back if body unwinds; no exception is caught or swallowed here.
    struct Unwind {
      Impl* impl;
      bool outer;
      bool armed = true;
      ~Unwind() {
        if (!armed) return;
        --impl->m_depth;
        impl->Rollback(outer);
      }
    } unwind{this, outer};
    StoreStatus result = body();
    unwind.armed = false;
    --m_depth;
    if (result) {
      auto done = m_conn.Exec(outer ? "COMMIT" : "RELEASE nested");
      if (done) return Ok{};
      result = done;
    }
    Rollback(outer);
    return result;
  }

  void Rollback(bool outer) {
    // Some errors (IOERR, FULL, NOMEM) make SQLite roll back by itself; the statements below may
    // then fail, which changes nothing.
    if (outer) {
      if (sqlite3_get_autocommit(m_conn.db()) == 0) (void)m_conn.Exec("ROLLBACK");
    } else {
      (void)m_conn.Exec("ROLLBACK TO nested");
      (void)m_conn.Exec("RELEASE nested");
    }
  }

  StoreStatus Migrate() {
    auto migrations = detail::Migrations();
    while (true) {
      STORE_TRY(m_conn.Exec("BEGIN IMMEDIATE"));  // re-read the version under the write lock
      auto step = MigrateOneStep(migrations);
      if (!step) {
        Rollback(true);
        return step.error();
      }
      STORE_TRY(m_conn.Exec("COMMIT"));
      if (!*step) return Ok{};
    }
  }

  /** @return true if a migration ran, false if the schema is current. */
  StoreResult<bool> MigrateOneStep(std::span<const char* const> migrations) {
    STORE_TRY_ASSIGN(version, QueryInt("PRAGMA user_version"));
    if (version > CURRENT_SCHEMA_VERSION || version < 0) return NewerSchemaFailure(version);
    if (version == CURRENT_SCHEMA_VERSION) return false;
    auto ran = m_conn.Exec(migrations[static_cast<size_t>(version)]);
    if (!ran) {
      return Fail(ran.code(),
                  "migration to schema version " + std::to_string(version + 1) + " failed: " + ran.message());
    }
    std::string set_version = "PRAGMA user_version = " + std::to_string(version + 1);
    STORE_TRY(m_conn.Exec(set_version.c_str()));
    return true;
  }

  Failure<StoreError> NewerSchemaFailure(int64_t version) {
    return Fail(StoreError::NewerSchema, m_path.string() + " has schema version " + std::to_string(version) +
                                             "; this p2pgit knows up to " +
                                             std::to_string(CURRENT_SCHEMA_VERSION) + " (upgrade p2pgit)");
  }

  StoreResult<std::vector<NodeAddress>> Addresses(ByteSpan node_id) {
    STORE_TRY_ASSIGN(stmt,
                     Prepare("SELECT host, port FROM node_addresses WHERE node_id = ? ORDER BY position"));
    stmt.Bind(1, node_id);
    std::vector<NodeAddress> out;
    while (true) {
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (!row) break;
      out.push_back({stmt.Text(0), static_cast<uint16_t>(stmt.Int(1))});
    }
    return out;
  }

  StoreResult<std::vector<Bytes>> Delegates(ByteSpan repo_id) {
    STORE_TRY_ASSIGN(stmt, Prepare("SELECT node_id FROM repo_delegates WHERE repo_id = ? ORDER BY position"));
    stmt.Bind(1, repo_id);
    std::vector<Bytes> out;
    while (true) {
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (!row) break;
      out.push_back(stmt.Blob(0));
    }
    return out;
  }

  StoreResult<std::vector<Bytes>> Parents(ByteSpan event_id) {
    STORE_TRY_ASSIGN(stmt,
                     Prepare("SELECT parent FROM activity_parents WHERE event_id = ? ORDER BY position"));
    stmt.Bind(1, event_id);
    std::vector<Bytes> out;
    while (true) {
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (!row) break;
      out.push_back(stmt.Blob(0));
    }
    return out;
  }

  StoreResult<int64_t> Count(const char* sql) { return QueryInt(sql); }

  /** Runs body in one read snapshot (a deferred transaction), or inside the open one. */
  StoreStatus Read(const std::function<StoreStatus()>& body) {
    if (m_depth > 0) return body();
    STORE_TRY(m_conn.Exec("BEGIN"));
    ++m_depth;
    StoreStatus result = body();
    --m_depth;
    auto done = m_conn.Exec(result ? "COMMIT" : "ROLLBACK");
    if (result && !done) return done;
    return result;
  }
};

namespace {

StoredMessage ReadMessage(const Statement& stmt) {
  StoredMessage m;
  m.arrival = stmt.Int(0);
  m.id = stmt.Blob(1);
  m.type = static_cast<uint8_t>(stmt.Int(2));
  m.author = stmt.Blob(3);
  m.timestamp_ms = ToUnsigned(stmt.Int(4));
  m.received_at_ms = ToUnsigned(stmt.Int(5));
  m.raw = stmt.Blob(6);
  return m;
}

// Column order of NODE_SELECT, read by ReadNode.
#define NODE_SELECT \
  "SELECT node_id, alias, relay, online, score, announced_at, last_seen, expires_at, message_id FROM nodes "

NodeRecord ReadNode(const Statement& stmt) {
  NodeRecord n;
  n.node_id = stmt.Blob(0);
  n.alias = stmt.Text(1);
  n.relay = stmt.Int(2) != 0;
  n.online = stmt.Int(3) != 0;
  n.score = stmt.Real(4);
  n.announced_at_ms = ToUnsigned(stmt.Int(5));
  n.last_seen_ms = ToUnsigned(stmt.Int(6));
  n.expires_at_ms = ToUnsigned(stmt.Int(7));
  n.message_id = stmt.OptionalBlob(8);
  return n;
}

#define REPO_SELECT                                                                                \
  "SELECT repo_id, root_commit, creator, name, description, default_branch, sequence, timestamp, " \
  "message_id FROM repos "

RepoRecord ReadRepo(const Statement& stmt) {
  RepoRecord r;
  r.repo_id = stmt.Blob(0);
  r.root_commit = stmt.Blob(1);
  r.creator = stmt.Blob(2);
  r.name = stmt.Text(3);
  r.description = stmt.Text(4);
  r.default_branch = stmt.Text(5);
  r.sequence = ToUnsigned(stmt.Int(6));
  r.timestamp_ms = ToUnsigned(stmt.Int(7));
  r.message_id = stmt.OptionalBlob(8);
  return r;
}

#define ACTIVITY_SELECT                                                                         \
  "SELECT event_id, repo_id, author, timestamp, op, payload_version, payload, message_id FROM " \
  "activity "

ActivityRecord ReadActivity(const Statement& stmt) {
  ActivityRecord a;
  a.event_id = stmt.Blob(0);
  a.repo_id = stmt.Blob(1);
  a.author = stmt.Blob(2);
  a.timestamp_ms = ToUnsigned(stmt.Int(3));
  a.op = stmt.Text(4);
  a.payload_version = ToUnsigned(stmt.Int(5));
  a.payload = stmt.Blob(6);
  a.message_id = stmt.OptionalBlob(7);
  return a;
}

StoreStatus CheckOptionalMessageId(const std::optional<Bytes>& id) {
  if (!id) return Ok{};
  return CheckLength(*id, MESSAGE_ID_BYTES, "message id");
}

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

const std::filesystem::path& Store::path() const {
  return m_impl->m_path;
}

StoreResult<Store> Store::Open(const std::filesystem::path& db_path) {
  if (db_path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(db_path.parent_path(), ec);
    if (ec) {
      return Fail(StoreError::Io,
                  "cannot create directory " + db_path.parent_path().string() + ": " + ec.message());
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->m_path = db_path;
  STORE_TRY(impl->m_conn.Open(db_path.string()));
  sqlite3_busy_timeout(impl->m_conn.db(), BUSY_TIMEOUT_MS);

  // Refuse a newer schema before changing anything in the file (journal_mode is persistent).
  STORE_TRY_ASSIGN(version, impl->QueryInt("PRAGMA user_version"));
  if (version > CURRENT_SCHEMA_VERSION || version < 0) return impl->NewerSchemaFailure(version);

  STORE_TRY_ASSIGN(mode, impl->QueryText("PRAGMA journal_mode = WAL"));
  if (mode != "wal") {
    return Fail(StoreError::Io,
                "cannot enable WAL on " + db_path.string() + " (journal_mode is " + mode + ")");
  }
  STORE_TRY(impl->m_conn.Exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"));
  // Only an old file needs the write lock: opening a current one (every command, every fetch
  // thread) must not stall the daemon's writers.
  if (version < CURRENT_SCHEMA_VERSION) STORE_TRY(impl->Migrate());
  return Store(std::move(impl));
}

StoreStatus Store::InTransaction(const std::function<StoreStatus()>& body) {
  return m_impl->Atomic(body);
}

// ---- messages ----

StoreResult<PutMessageOutcome> Store::PutMessage(const StoredMessage& message) {
  STORE_TRY(CheckLength(message.id, MESSAGE_ID_BYTES, "message id"));
  STORE_TRY(CheckLength(message.author, NODE_ID_BYTES, "message author"));
  STORE_TRY_ASSIGN(timestamp, ToInt(message.timestamp_ms, "message timestamp"));
  STORE_TRY_ASSIGN(received_at, ToInt(message.received_at_ms, "message received_at"));
  {
    STORE_TRY_ASSIGN(
        stmt, m_impl->Prepare("INSERT INTO messages (id, type, author, timestamp, received_at, raw) "
                              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING arrival"));
    stmt.Bind(1, ByteSpan(message.id));
    stmt.Bind(2, int64_t{message.type});
    stmt.Bind(3, ByteSpan(message.author));
    stmt.Bind(4, timestamp);
    stmt.Bind(5, received_at);
    stmt.Bind(6, ByteSpan(message.raw));
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (row) {
      PutMessageOutcome outcome{true, stmt.Int(0)};
      STORE_TRY(stmt.Run());  // finish the statement so the insert is complete
      return outcome;
    }
  }
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT arrival FROM messages WHERE id = ?"));
  stmt.Bind(1, ByteSpan(message.id));
  STORE_TRY_ASSIGN(row, stmt.Step());
  return PutMessageOutcome{false, row ? stmt.Int(0) : 0};
}

StoreResult<bool> Store::HasMessage(ByteSpan id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT 1 FROM messages WHERE id = ?"));
  stmt.Bind(1, id);
  return stmt.Step();
}

StoreResult<std::optional<StoredMessage>> Store::GetMessage(ByteSpan id) {
  STORE_TRY_ASSIGN(
      stmt, m_impl->Prepare("SELECT arrival, id, type, author, timestamp, received_at, raw FROM messages "
                            "WHERE id = ?"));
  stmt.Bind(1, id);
  STORE_TRY_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<StoredMessage>();
  return std::optional<StoredMessage>(ReadMessage(stmt));
}

StoreResult<std::vector<StoredMessage>> Store::MessagesSince(int64_t cursor, size_t limit) {
  limit = std::min(limit, MAX_MESSAGES_PER_PAGE);
  STORE_TRY_ASSIGN(
      stmt, m_impl->Prepare("SELECT arrival, id, type, author, timestamp, received_at, raw FROM messages "
                            "WHERE arrival > ? ORDER BY arrival LIMIT ?"));
  stmt.Bind(1, cursor);
  stmt.Bind(2, static_cast<int64_t>(limit));
  std::vector<StoredMessage> out;
  while (true) {
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) break;
    out.push_back(ReadMessage(stmt));
  }
  return out;
}

StoreResult<int64_t> Store::LatestArrival() {
  return m_impl->QueryInt("SELECT coalesce(max(arrival), 0) FROM messages");
}

// ---- nodes ----

StoreStatus Store::UpsertNode(const NodeRecord& node) {
  STORE_TRY(CheckLength(node.node_id, NODE_ID_BYTES, "node id"));
  STORE_TRY(CheckOptionalMessageId(node.message_id));
  STORE_TRY_ASSIGN(announced_at, ToInt(node.announced_at_ms, "node announced_at"));
  STORE_TRY_ASSIGN(last_seen, ToInt(node.last_seen_ms, "node last_seen"));
  STORE_TRY_ASSIGN(expires_at, ToInt(node.expires_at_ms, "node expires_at"));
  if (!std::isfinite(node.score)) return Fail(StoreError::InvalidArgument, "node score must be finite");
  return m_impl->Atomic([&]() -> StoreStatus {
    {
      STORE_TRY_ASSIGN(
          stmt, m_impl->Prepare("INSERT INTO nodes (node_id, alias, relay, online, score, announced_at, "
                                "last_seen, expires_at, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                "ON CONFLICT (node_id) DO UPDATE SET alias = excluded.alias, "
                                "relay = excluded.relay, online = excluded.online, score = excluded.score, "
                                "announced_at = excluded.announced_at, last_seen = excluded.last_seen, "
                                "expires_at = excluded.expires_at, message_id = excluded.message_id"));
      stmt.Bind(1, ByteSpan(node.node_id));
      stmt.Bind(2, std::string_view(node.alias));
      stmt.Bind(3, int64_t{node.relay});
      stmt.Bind(4, int64_t{node.online});
      stmt.Bind(5, node.score);
      stmt.Bind(6, announced_at);
      stmt.Bind(7, last_seen);
      stmt.Bind(8, expires_at);
      stmt.Bind(9, node.message_id);
      STORE_TRY(stmt.Run());
    }
    {
      STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM node_addresses WHERE node_id = ?"));
      stmt.Bind(1, ByteSpan(node.node_id));
      STORE_TRY(stmt.Run());
    }
    for (size_t i = 0; i < node.addresses.size(); ++i) {
      STORE_TRY_ASSIGN(
          stmt,
          m_impl->Prepare("INSERT INTO node_addresses (node_id, position, host, port) VALUES (?, ?, ?, ?)"));
      stmt.Bind(1, ByteSpan(node.node_id));
      stmt.Bind(2, static_cast<int64_t>(i));
      stmt.Bind(3, std::string_view(node.addresses[i].host));
      stmt.Bind(4, int64_t{node.addresses[i].port});
      STORE_TRY(stmt.Run());
    }
    return Ok{};
  });
}

StoreResult<std::optional<NodeRecord>> Store::GetNode(ByteSpan node_id) {
  NodeRecord node;
  {
    STORE_TRY_ASSIGN(stmt, m_impl->Prepare(NODE_SELECT "WHERE node_id = ?"));
    stmt.Bind(1, node_id);
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) return std::optional<NodeRecord>();
    node = ReadNode(stmt);
  }
  STORE_TRY_ASSIGN(addresses, m_impl->Addresses(node_id));
  node.addresses = std::move(addresses);
  return std::optional<NodeRecord>(std::move(node));
}

StoreResult<std::vector<NodeRecord>> Store::ListNodes() {
  std::vector<NodeRecord> out;
  {
    STORE_TRY_ASSIGN(stmt, m_impl->Prepare(NODE_SELECT "ORDER BY score DESC, node_id"));
    while (true) {
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (!row) break;
      out.push_back(ReadNode(stmt));
    }
  }
  for (auto& node : out) {
    STORE_TRY_ASSIGN(addresses, m_impl->Addresses(node.node_id));
    node.addresses = std::move(addresses);
  }
  return out;
}

StoreResult<int64_t> Store::ExpireNodes(uint64_t now_ms) {
  STORE_TRY_ASSIGN(now, ToInt(now_ms, "now"));
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM nodes WHERE expires_at <= ?"));
  stmt.Bind(1, now);
  STORE_TRY(stmt.Run());
  return m_impl->Changes();
}

// ---- repos ----

StoreResult<ApplyOutcome> Store::UpsertRepo(const RepoRecord& repo) {
  STORE_TRY(CheckLength(repo.repo_id, REPO_ID_BYTES, "repo id"));
  STORE_TRY(CheckLength(repo.creator, NODE_ID_BYTES, "repo creator"));
  for (const auto& delegate : repo.delegates)
    STORE_TRY(CheckLength(delegate, NODE_ID_BYTES, "repo delegate"));
  STORE_TRY(CheckOptionalMessageId(repo.message_id));
  STORE_TRY_ASSIGN(sequence, ToInt(repo.sequence, "repo sequence"));
  STORE_TRY_ASSIGN(timestamp, ToInt(repo.timestamp_ms, "repo timestamp"));
  ApplyOutcome outcome = ApplyOutcome::Stale;
  auto status = m_impl->Atomic([&]() -> StoreStatus {
    {
      STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT sequence FROM repos WHERE repo_id = ?"));
      stmt.Bind(1, ByteSpan(repo.repo_id));
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (row && stmt.Int(0) >= sequence) return Ok{};
    }
    {
      STORE_TRY_ASSIGN(
          stmt, m_impl->Prepare("INSERT INTO repos (repo_id, root_commit, creator, name, description, "
                                "default_branch, sequence, timestamp, message_id) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repo_id) DO UPDATE SET "
                                "root_commit = excluded.root_commit, creator = excluded.creator, "
                                "name = excluded.name, description = excluded.description, "
                                "default_branch = excluded.default_branch, sequence = excluded.sequence, "
                                "timestamp = excluded.timestamp, message_id = excluded.message_id"));
      stmt.Bind(1, ByteSpan(repo.repo_id));
      stmt.Bind(2, ByteSpan(repo.root_commit));
      stmt.Bind(3, ByteSpan(repo.creator));
      stmt.Bind(4, std::string_view(repo.name));
      stmt.Bind(5, std::string_view(repo.description));
      stmt.Bind(6, std::string_view(repo.default_branch));
      stmt.Bind(7, sequence);
      stmt.Bind(8, timestamp);
      stmt.Bind(9, repo.message_id);
      STORE_TRY(stmt.Run());
    }
    {
      STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM repo_delegates WHERE repo_id = ?"));
      stmt.Bind(1, ByteSpan(repo.repo_id));
      STORE_TRY(stmt.Run());
    }
    for (size_t i = 0; i < repo.delegates.size(); ++i) {
      STORE_TRY_ASSIGN(
          stmt, m_impl->Prepare("INSERT INTO repo_delegates (repo_id, position, node_id) VALUES (?, ?, ?)"));
      stmt.Bind(1, ByteSpan(repo.repo_id));
      stmt.Bind(2, static_cast<int64_t>(i));
      stmt.Bind(3, ByteSpan(repo.delegates[i]));
      STORE_TRY(stmt.Run());
    }
    outcome = ApplyOutcome::Applied;
    return Ok{};
  });
  if (!status) return status.error();
  return outcome;
}

StoreResult<std::optional<RepoRecord>> Store::GetRepo(ByteSpan repo_id) {
  RepoRecord repo;
  {
    STORE_TRY_ASSIGN(stmt, m_impl->Prepare(REPO_SELECT "WHERE repo_id = ?"));
    stmt.Bind(1, repo_id);
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) return std::optional<RepoRecord>();
    repo = ReadRepo(stmt);
  }
  STORE_TRY_ASSIGN(delegates, m_impl->Delegates(repo_id));
  repo.delegates = std::move(delegates);
  return std::optional<RepoRecord>(std::move(repo));
}

StoreResult<std::vector<RepoRecord>> Store::ListRepos() {
  std::vector<RepoRecord> out;
  {
    STORE_TRY_ASSIGN(stmt, m_impl->Prepare(REPO_SELECT "ORDER BY name, repo_id"));
    while (true) {
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (!row) break;
      out.push_back(ReadRepo(stmt));
    }
  }
  for (auto& repo : out) {
    STORE_TRY_ASSIGN(delegates, m_impl->Delegates(repo.repo_id));
    repo.delegates = std::move(delegates);
  }
  return out;
}

StoreStatus Store::SetFollowed(ByteSpan repo_id, bool followed, uint64_t now_ms) {
  STORE_TRY(CheckLength(repo_id, REPO_ID_BYTES, "repo id"));
  STORE_TRY_ASSIGN(now, ToInt(now_ms, "now"));
  if (!followed) {
    STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM followed_repos WHERE repo_id = ?"));
    stmt.Bind(1, repo_id);
    return stmt.Run();
  }
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("INSERT INTO followed_repos (repo_id, followed_at) VALUES (?, ?) "
                                         "ON CONFLICT (repo_id) DO NOTHING"));
  stmt.Bind(1, repo_id);
  stmt.Bind(2, now);
  return stmt.Run();
}

StoreResult<bool> Store::IsFollowed(ByteSpan repo_id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT 1 FROM followed_repos WHERE repo_id = ?"));
  stmt.Bind(1, repo_id);
  return stmt.Step();
}

StoreResult<std::vector<Bytes>> Store::ListFollowed() {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT repo_id FROM followed_repos ORDER BY repo_id"));
  std::vector<Bytes> out;
  while (true) {
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) break;
    out.push_back(stmt.Blob(0));
  }
  return out;
}

// ---- refs ----

StoreResult<ApplyOutcome> Store::ReplaceRefs(const RefsRecord& record) {
  STORE_TRY(CheckLength(record.repo_id, REPO_ID_BYTES, "repo id"));
  STORE_TRY(CheckLength(record.node_id, NODE_ID_BYTES, "node id"));
  STORE_TRY(CheckOptionalMessageId(record.message_id));
  STORE_TRY_ASSIGN(sequence, ToInt(record.sequence, "refs sequence"));
  STORE_TRY_ASSIGN(timestamp, ToInt(record.timestamp_ms, "refs timestamp"));
  ApplyOutcome outcome = ApplyOutcome::Stale;
  auto status = m_impl->Atomic([&]() -> StoreStatus {
    {
      STORE_TRY_ASSIGN(stmt,
                       m_impl->Prepare("SELECT sequence FROM refs_state WHERE repo_id = ? AND node_id = ?"));
      stmt.Bind(1, ByteSpan(record.repo_id));
      stmt.Bind(2, ByteSpan(record.node_id));
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (row && stmt.Int(0) >= sequence) return Ok{};
    }
    {
      STORE_TRY_ASSIGN(
          stmt, m_impl->Prepare("INSERT INTO refs_state (repo_id, node_id, sequence, timestamp, message_id) "
                                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (repo_id, node_id) DO UPDATE SET "
                                "sequence = excluded.sequence, timestamp = excluded.timestamp, "
                                "message_id = excluded.message_id"));
      stmt.Bind(1, ByteSpan(record.repo_id));
      stmt.Bind(2, ByteSpan(record.node_id));
      stmt.Bind(3, sequence);
      stmt.Bind(4, timestamp);
      stmt.Bind(5, record.message_id);
      STORE_TRY(stmt.Run());
    }
    {
      STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM refs WHERE repo_id = ? AND node_id = ?"));
      stmt.Bind(1, ByteSpan(record.repo_id));
      stmt.Bind(2, ByteSpan(record.node_id));
      STORE_TRY(stmt.Run());
    }
    for (const auto& ref : record.refs) {
      STORE_TRY_ASSIGN(stmt,
                       m_impl->Prepare("INSERT INTO refs (repo_id, node_id, name, oid) VALUES (?, ?, ?, ?)"));
      stmt.Bind(1, ByteSpan(record.repo_id));
      stmt.Bind(2, ByteSpan(record.node_id));
      stmt.Bind(3, std::string_view(ref.name));
      stmt.Bind(4, ByteSpan(ref.oid));
      STORE_TRY(stmt.Run());
    }
    outcome = ApplyOutcome::Applied;
    return Ok{};
  });
  if (!status) return status.error();
  return outcome;
}

StoreResult<std::optional<RefsRecord>> Store::GetRefs(ByteSpan repo_id, ByteSpan node_id) {
  RefsRecord record;
  // One read transaction, so the header and the refs come from the same snapshot.
  auto status = m_impl->Read([&]() -> StoreStatus {
    {
      STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT sequence, timestamp, message_id FROM refs_state "
                                             "WHERE repo_id = ? AND node_id = ?"));
      stmt.Bind(1, repo_id);
      stmt.Bind(2, node_id);
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (!row) return Ok{};
      record.repo_id.assign(repo_id.begin(), repo_id.end());
      record.node_id.assign(node_id.begin(), node_id.end());
      record.sequence = ToUnsigned(stmt.Int(0));
      record.timestamp_ms = ToUnsigned(stmt.Int(1));
      record.message_id = stmt.OptionalBlob(2);
    }
    STORE_TRY_ASSIGN(
        stmt, m_impl->Prepare("SELECT name, oid FROM refs WHERE repo_id = ? AND node_id = ? ORDER BY name"));
    stmt.Bind(1, repo_id);
    stmt.Bind(2, node_id);
    while (true) {
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (!row) break;
      record.refs.push_back({stmt.Text(0), stmt.Blob(1)});
    }
    return Ok{};
  });
  if (!status) return status.error();
  if (record.repo_id.empty()) return std::optional<RefsRecord>();
  return std::optional<RefsRecord>(std::move(record));
}

StoreResult<std::vector<RefsNamespace>> Store::ListRefNamespaces(ByteSpan repo_id) {
  STORE_TRY_ASSIGN(
      stmt, m_impl->Prepare(
                "SELECT node_id, sequence, timestamp FROM refs_state WHERE repo_id = ? ORDER BY node_id"));
  stmt.Bind(1, repo_id);
  std::vector<RefsNamespace> out;
  while (true) {
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) break;
    out.push_back({stmt.Blob(0), ToUnsigned(stmt.Int(1)), ToUnsigned(stmt.Int(2))});
  }
  return out;
}

// ---- seeders ----

StoreStatus Store::AddSeeder(const SeederRecord& seeder) {
  STORE_TRY(CheckLength(seeder.repo_id, REPO_ID_BYTES, "repo id"));
  STORE_TRY(CheckLength(seeder.node_id, NODE_ID_BYTES, "node id"));
  STORE_TRY_ASSIGN(last_seen, ToInt(seeder.last_seen_ms, "seeder last_seen"));
  STORE_TRY_ASSIGN(
      stmt,
      m_impl->Prepare("INSERT INTO repo_seeders (repo_id, node_id, last_seen, source) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT (repo_id, node_id) DO UPDATE SET "
                      "last_seen = max(last_seen, excluded.last_seen), source = excluded.source"));
  stmt.Bind(1, ByteSpan(seeder.repo_id));
  stmt.Bind(2, ByteSpan(seeder.node_id));
  stmt.Bind(3, last_seen);
  stmt.Bind(4, std::string_view(seeder.source));
  return stmt.Run();
}

StoreResult<std::vector<SeederRecord>> Store::ListSeeders(ByteSpan repo_id) {
  STORE_TRY_ASSIGN(stmt,
                   m_impl->Prepare("SELECT node_id, last_seen, source FROM repo_seeders WHERE repo_id = ? "
                                   "ORDER BY last_seen DESC, node_id"));
  stmt.Bind(1, repo_id);
  std::vector<SeederRecord> out;
  while (true) {
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) break;
    out.push_back(
        {Bytes(repo_id.begin(), repo_id.end()), stmt.Blob(0), ToUnsigned(stmt.Int(1)), stmt.Text(2)});
  }
  return out;
}

StoreStatus Store::RemoveSeeder(ByteSpan repo_id, ByteSpan node_id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM repo_seeders WHERE repo_id = ? AND node_id = ?"));
  stmt.Bind(1, repo_id);
  stmt.Bind(2, node_id);
  return stmt.Run();
}

// ---- namespaces a fetch skipped ----

StoreStatus Store::RecordNamespaceSkip(const NamespaceSkipRecord& skip) {
  STORE_TRY(CheckLength(skip.repo_id, REPO_ID_BYTES, "repo id"));
  STORE_TRY(CheckLength(skip.node_id, NODE_ID_BYTES, "node id"));
  STORE_TRY_ASSIGN(at, ToInt(skip.skipped_at_ms, "skip time"));
  std::string reason = skip.reason.substr(0, MAX_SKIP_REASON_BYTES);
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare(
                             "INSERT INTO namespace_skips (repo_id, node_id, reason, skipped_at) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (repo_id, node_id) DO UPDATE SET reason = excluded.reason, "
                             "skipped_at = excluded.skipped_at"));
  stmt.Bind(1, ByteSpan(skip.repo_id));
  stmt.Bind(2, ByteSpan(skip.node_id));
  stmt.Bind(3, reason);
  stmt.Bind(4, at);
  return stmt.Run();
}

StoreStatus Store::ClearNamespaceSkip(ByteSpan repo_id, ByteSpan node_id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM namespace_skips WHERE repo_id = ? AND node_id = ?"));
  stmt.Bind(1, repo_id);
  stmt.Bind(2, node_id);
  return stmt.Run();
}

StoreResult<std::vector<NamespaceSkipRecord>> Store::ListNamespaceSkips(ByteSpan repo_id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT node_id, reason, skipped_at FROM namespace_skips WHERE repo_id = ? "
                                         "ORDER BY node_id"));
  stmt.Bind(1, repo_id);
  std::vector<NamespaceSkipRecord> out;
  while (true) {
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) break;
    out.push_back({Bytes(repo_id.begin(), repo_id.end()), stmt.Blob(0), stmt.Text(1), ToUnsigned(stmt.Int(2))});
  }
  return out;
}

// ---- activity ----

StoreResult<bool> Store::PutActivity(const ActivityRecord& event) {
  STORE_TRY(CheckLength(event.event_id, MESSAGE_ID_BYTES, "event id"));
  STORE_TRY(CheckLength(event.repo_id, REPO_ID_BYTES, "repo id"));
  STORE_TRY(CheckLength(event.author, NODE_ID_BYTES, "event author"));
  STORE_TRY(CheckOptionalMessageId(event.message_id));
  STORE_TRY_ASSIGN(timestamp, ToInt(event.timestamp_ms, "event timestamp"));
  STORE_TRY_ASSIGN(payload_version, ToInt(event.payload_version, "event payload_version"));
  bool inserted = false;
  auto status = m_impl->Atomic([&]() -> StoreStatus {
    {
      STORE_TRY_ASSIGN(
          stmt, m_impl->Prepare("INSERT INTO activity (event_id, repo_id, author, timestamp, op, "
                                "payload_version, payload, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                                "ON CONFLICT (event_id) DO NOTHING"));
      stmt.Bind(1, ByteSpan(event.event_id));
      stmt.Bind(2, ByteSpan(event.repo_id));
      stmt.Bind(3, ByteSpan(event.author));
      stmt.Bind(4, timestamp);
      stmt.Bind(5, std::string_view(event.op));
      stmt.Bind(6, payload_version);
      stmt.Bind(7, ByteSpan(event.payload));
      stmt.Bind(8, event.message_id);
      STORE_TRY(stmt.Run());
      if (m_impl->Changes() == 0) return Ok{};
    }
    for (size_t i = 0; i < event.parents.size(); ++i) {
      STORE_TRY_ASSIGN(
          stmt,
          m_impl->Prepare("INSERT INTO activity_parents (event_id, position, parent) VALUES (?, ?, ?)"));
      stmt.Bind(1, ByteSpan(event.event_id));
      stmt.Bind(2, static_cast<int64_t>(i));
      stmt.Bind(3, ByteSpan(event.parents[i]));
      STORE_TRY(stmt.Run());
    }
    inserted = true;
    return Ok{};
  });
  if (!status) return status.error();
  return inserted;
}

StoreResult<std::optional<ActivityRecord>> Store::GetActivity(ByteSpan event_id) {
  ActivityRecord event;
  {
    STORE_TRY_ASSIGN(stmt, m_impl->Prepare(ACTIVITY_SELECT "WHERE event_id = ?"));
    stmt.Bind(1, event_id);
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) return std::optional<ActivityRecord>();
    event = ReadActivity(stmt);
  }
  STORE_TRY_ASSIGN(parents, m_impl->Parents(event_id));
  event.parents = std::move(parents);
  return std::optional<ActivityRecord>(std::move(event));
}

StoreResult<std::vector<ActivityRecord>> Store::ListActivity(ByteSpan repo_id) {
  std::vector<ActivityRecord> out;
  {
    STORE_TRY_ASSIGN(stmt, m_impl->Prepare(ACTIVITY_SELECT "WHERE repo_id = ? ORDER BY timestamp, event_id"));
    stmt.Bind(1, repo_id);
    while (true) {
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (!row) break;
      out.push_back(ReadActivity(stmt));
    }
  }
  for (auto& event : out) {
    STORE_TRY_ASSIGN(parents, m_impl->Parents(event.event_id));
    event.parents = std::move(parents);
  }
  return out;
}

// ---- repo paths ----

StoreStatus Store::SetRepoPath(ByteSpan repo_id, const std::filesystem::path& path) {
  STORE_TRY(CheckLength(repo_id, REPO_ID_BYTES, "repo id"));
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("INSERT INTO repo_paths (repo_id, path) VALUES (?, ?) "
                                         "ON CONFLICT (repo_id) DO UPDATE SET path = excluded.path"));
  stmt.Bind(1, repo_id);
  stmt.Bind(2, std::string_view(path.native()));
  return stmt.Run();
}

StoreResult<std::optional<std::filesystem::path>> Store::GetRepoPath(ByteSpan repo_id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT path FROM repo_paths WHERE repo_id = ?"));
  stmt.Bind(1, repo_id);
  STORE_TRY_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<std::filesystem::path>();
  return std::optional<std::filesystem::path>(stmt.Text(0));
}

// ---- inventory pages ----

StoreResult<ApplyOutcome> Store::ReplaceInventoryPage(const InventoryPageRecord& record) {
  STORE_TRY(CheckLength(record.node_id, NODE_ID_BYTES, "node id"));
  STORE_TRY(CheckOptionalMessageId(record.message_id));
  STORE_TRY_ASSIGN(page, ToInt(record.page, "inventory page"));
  STORE_TRY_ASSIGN(page_count, ToInt(record.page_count, "inventory page count"));
  STORE_TRY_ASSIGN(sequence, ToInt(record.sequence, "inventory sequence"));
  STORE_TRY_ASSIGN(timestamp, ToInt(record.timestamp_ms, "inventory timestamp"));
  ApplyOutcome outcome = ApplyOutcome::Stale;
  auto status = m_impl->Atomic([&]() -> StoreStatus {
    {
      STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT sequence FROM inventory_pages WHERE node_id = ? AND page = ?"));
      stmt.Bind(1, ByteSpan(record.node_id));
      stmt.Bind(2, page);
      STORE_TRY_ASSIGN(row, stmt.Step());
      if (row && stmt.Int(0) >= sequence) return Ok{};
    }
    STORE_TRY_ASSIGN(stmt, m_impl->Prepare(
                               "INSERT INTO inventory_pages (node_id, page, page_count, sequence, timestamp, message_id) "
                               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (node_id, page) DO UPDATE SET "
                               "page_count = excluded.page_count, sequence = excluded.sequence, "
                               "timestamp = excluded.timestamp, message_id = excluded.message_id"));
    stmt.Bind(1, ByteSpan(record.node_id));
    stmt.Bind(2, page);
    stmt.Bind(3, page_count);
    stmt.Bind(4, sequence);
    stmt.Bind(5, timestamp);
    stmt.Bind(6, record.message_id);
    STORE_TRY(stmt.Run());
    outcome = ApplyOutcome::Applied;
    return Ok{};
  });
  if (!status) return status.error();
  return outcome;
}

StoreResult<std::optional<InventoryPageRecord>> Store::GetInventoryPage(ByteSpan node_id, uint64_t page) {
  STORE_TRY_ASSIGN(page_int, ToInt(page, "inventory page"));
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT page_count, sequence, timestamp, message_id FROM inventory_pages "
                                         "WHERE node_id = ? AND page = ?"));
  stmt.Bind(1, node_id);
  stmt.Bind(2, page_int);
  STORE_TRY_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<InventoryPageRecord>();
  InventoryPageRecord record;
  record.node_id.assign(node_id.begin(), node_id.end());
  record.page = page;
  record.page_count = static_cast<uint64_t>(stmt.Int(0));
  record.sequence = static_cast<uint64_t>(stmt.Int(1));
  record.timestamp_ms = static_cast<uint64_t>(stmt.Int(2));
  record.message_id = stmt.OptionalBlob(3);
  return std::optional<InventoryPageRecord>(std::move(record));
}

StoreStatus Store::RemoveRepoPath(ByteSpan repo_id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM repo_paths WHERE repo_id = ?"));
  stmt.Bind(1, repo_id);
  return stmt.Run();
}

// ---- counts and checks ----

StoreResult<int64_t> Store::CountMessages() {
  return m_impl->Count("SELECT count(*) FROM messages");
}
StoreResult<int64_t> Store::CountNodes() {
  return m_impl->Count("SELECT count(*) FROM nodes");
}
StoreResult<int64_t> Store::CountRepos() {
  return m_impl->Count("SELECT count(*) FROM repos");
}
StoreResult<int64_t> Store::CountSeeders() {
  return m_impl->Count("SELECT count(*) FROM repo_seeders");
}
StoreStatus Store::DeleteMessage(ByteSpan id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM messages WHERE id = ?"));
  stmt.Bind(1, id);
  return stmt.Run();
}

StoreResult<bool> Store::DeleteMessageAndState(ByteSpan id) {
  STORE_TRY(CheckLength(id, MESSAGE_ID_BYTES, "message id"));
  bool deleted = false;
  STORE_TRY(m_impl->Atomic([&]() -> StoreStatus {
    // The derived rows first: deleting the message would set their message_id to NULL and lose
    // the link. Children (addresses, delegates, refs, parents) go by ON DELETE CASCADE.
    for (const char* sql : {"DELETE FROM nodes WHERE message_id = ?", "DELETE FROM repos WHERE message_id = ?",
                            "DELETE FROM refs_state WHERE message_id = ?",
                            "DELETE FROM inventory_pages WHERE message_id = ?",
                            "DELETE FROM activity WHERE message_id = ?", "DELETE FROM messages WHERE id = ?"}) {
      STORE_TRY_ASSIGN(stmt, m_impl->Prepare(sql));
      stmt.Bind(1, id);
      STORE_TRY(stmt.Run());
    }
    deleted = m_impl->Changes() > 0;  // of the last statement: the message itself
    return Ok{};
  }));
  return deleted;
}

StoreResult<std::optional<int64_t>> Store::GetMeta(std::string_view key) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT value FROM meta WHERE key = ?"));
  stmt.Bind(1, key);
  STORE_TRY_ASSIGN(row, stmt.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt.Int(0));
}

StoreStatus Store::SetMeta(std::string_view key, int64_t value) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("INSERT INTO meta (key, value) VALUES (?, ?) "
                                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  stmt.Bind(1, key);
  stmt.Bind(2, value);
  return stmt.Run();
}

StoreResult<int64_t> Store::PruneMessagesOnce(std::string_view key, int64_t version, const StoredMessageCheck& keep) {
  STORE_TRY_ASSIGN(current, GetMeta(key));
  if (current && *current >= version) return int64_t(0);
  int64_t removed = 0;
  STORE_TRY(m_impl->Atomic([&]() -> StoreStatus {
    removed = 0;
    // Re-read under the write lock: another process may have healed meanwhile.
    STORE_TRY_ASSIGN(again, GetMeta(key));
    if (again && *again >= version) return Ok{};
    int64_t cursor = 0;
    while (true) {
      STORE_TRY_ASSIGN(page, MessagesSince(cursor, MAX_MESSAGES_PER_PAGE));
      if (page.empty()) break;
      cursor = page.back().arrival;
      for (const StoredMessage& m : page) {
        if (keep(m)) continue;
        STORE_TRY_ASSIGN(deleted, DeleteMessageAndState(m.id));
        removed += deleted ? 1 : 0;
      }
    }
    return SetMeta(key, version);
  }));
  return removed;
}

StoreResult<int64_t> Store::EvictNodes(size_t keep) {
  STORE_TRY_ASSIGN(total, CountNodes());
  if (total <= int64_t(keep)) return int64_t(0);
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("DELETE FROM nodes WHERE node_id IN (SELECT node_id FROM nodes "
                                         "ORDER BY score ASC, last_seen ASC LIMIT ?)"));
  stmt.Bind(1, total - int64_t(keep));
  STORE_TRY(stmt.Run());
  return m_impl->Changes();
}

StoreStatus Store::RecordContact(ByteSpan node_id, bool online, double score_delta, uint64_t now_ms) {
  STORE_TRY_ASSIGN(now, ToInt(now_ms, "now"));
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare(
                             "UPDATE nodes SET online = ?, score = max(-100.0, min(100.0, score + ?)), "
                             "last_seen = max(last_seen, ?) WHERE node_id = ?"));
  stmt.Bind(1, int64_t(online ? 1 : 0));
  stmt.Bind(2, score_delta);
  stmt.Bind(3, now);
  stmt.Bind(4, node_id);
  return stmt.Run();
}

StoreStatus Store::MarkAllOffline() {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("UPDATE nodes SET online = 0 WHERE online != 0"));
  return stmt.Run();
}

StoreResult<int64_t> Store::CountRepoActivity(ByteSpan repo_id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT count(*) FROM activity WHERE repo_id = ?"));
  stmt.Bind(1, repo_id);
  STORE_TRY_ASSIGN(row, stmt.Step());
  return row ? stmt.Int(0) : int64_t(0);
}

StoreResult<int64_t> Store::CountAuthorActivity(ByteSpan repo_id, ByteSpan author) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT count(*) FROM activity WHERE repo_id = ? AND author = ?"));
  stmt.Bind(1, repo_id);
  stmt.Bind(2, author);
  STORE_TRY_ASSIGN(row, stmt.Step());
  return row ? stmt.Int(0) : int64_t(0);
}

StoreResult<int64_t> Store::CountReposByCreator(ByteSpan creator) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT count(*) FROM repos WHERE creator = ?"));
  stmt.Bind(1, creator);
  STORE_TRY_ASSIGN(row, stmt.Step());
  return row ? stmt.Int(0) : int64_t(0);
}

StoreResult<int64_t> Store::CountRefNamespacesOf(ByteSpan node_id) {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("SELECT count(*) FROM refs_state WHERE node_id = ?"));
  stmt.Bind(1, node_id);
  STORE_TRY_ASSIGN(row, stmt.Step());
  return row ? stmt.Int(0) : int64_t(0);
}

StoreResult<int64_t> Store::CountActivity() {
  return m_impl->Count("SELECT count(*) FROM activity");
}

StoreResult<std::string> Store::IntegrityCheck() {
  STORE_TRY_ASSIGN(stmt, m_impl->Prepare("PRAGMA integrity_check"));
  std::string out;
  while (true) {
    STORE_TRY_ASSIGN(row, stmt.Step());
    if (!row) break;
    if (!out.empty()) out += "; ";
    out += stmt.Text(0);
  }
  return out;
}

StoreResult<std::string> Store::PragmaValue(std::string_view name) {
  bool valid = !name.empty();
  for (char c : name) valid = valid && ((c >= 'a' && c <= 'z') || c == '_');
  if (!valid) return Fail(StoreError::InvalidArgument, "invalid pragma name: " + std::string(name));
  std::string sql = "PRAGMA " + std::string(name);
  return m_impl->QueryText(sql.c_str());
}

}  // namespace p2pgit::storage

#undef STORE_TRY
#undef STORE_TRY_ASSIGN
#undef NODE_SELECT
#undef REPO_SELECT
#undef ACTIVITY_SELECT
