#include "storage/detail/schema.h"

#include <array>

#include "storage/store.h"

namespace p2pgit::storage::detail {
namespace {

// Version 1. Integers hold unsigned values <= INT64_MAX (checked on write); times are Unix ms.
// Child tables cascade from their parent; references to messages become NULL when a message is
// pruned, so the state derived from it stays. Tables keyed by a short id are WITHOUT ROWID;
// those holding large blobs (messages, activity) keep a rowid.
constexpr const char* SCHEMA_V1 = R"sql(
CREATE TABLE messages (
  arrival     INTEGER PRIMARY KEY AUTOINCREMENT,  -- local arrival order, never reused
  id          BLOB NOT NULL UNIQUE,
  type        INTEGER NOT NULL,
  author      BLOB NOT NULL,
  timestamp   INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  raw         BLOB NOT NULL
);
CREATE INDEX messages_author_type ON messages(author, type, timestamp);

CREATE TABLE nodes (
  node_id      BLOB PRIMARY KEY,
  alias        TEXT NOT NULL,
  relay        INTEGER NOT NULL,
  online       INTEGER NOT NULL,
  score        REAL NOT NULL,
  announced_at INTEGER NOT NULL,
  last_seen    INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  message_id   BLOB REFERENCES messages(id) ON DELETE SET NULL
) WITHOUT ROWID;
CREATE INDEX nodes_expires_at ON nodes(expires_at);
CREATE INDEX nodes_score ON nodes(score);
CREATE INDEX nodes_message_id ON nodes(message_id);

CREATE TABLE node_addresses (
  node_id  BLOB NOT NULL REFERENCES nodes(node_id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  host     TEXT NOT NULL,
  port     INTEGER NOT NULL,
  PRIMARY KEY (node_id, position)
) WITHOUT ROWID;

CREATE TABLE repos (
  repo_id        BLOB PRIMARY KEY,
  root_commit    BLOB NOT NULL,
  creator        BLOB NOT NULL,
  name           TEXT NOT NULL,
  description    TEXT NOT NULL,
  default_branch TEXT NOT NULL,
  sequence       INTEGER NOT NULL,
  timestamp      INTEGER NOT NULL,
  message_id     BLOB REFERENCES messages(id) ON DELETE SET NULL
) WITHOUT ROWID;
CREATE INDEX repos_name ON repos(name, repo_id);
CREATE INDEX repos_creator ON repos(creator);
CREATE INDEX repos_message_id ON repos(message_id);

CREATE TABLE repo_delegates (
  repo_id  BLOB NOT NULL REFERENCES repos(repo_id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  node_id  BLOB NOT NULL,
  PRIMARY KEY (repo_id, position)
) WITHOUT ROWID;
CREATE INDEX repo_delegates_node ON repo_delegates(node_id);

-- Apart from repos: a repo can be followed before its metadata arrives.
CREATE TABLE followed_repos (
  repo_id     BLOB PRIMARY KEY,
  followed_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE refs_state (
  repo_id    BLOB NOT NULL,
  node_id    BLOB NOT NULL,
  sequence   INTEGER NOT NULL,
  timestamp  INTEGER NOT NULL,
  message_id BLOB REFERENCES messages(id) ON DELETE SET NULL,
  PRIMARY KEY (repo_id, node_id)
) WITHOUT ROWID;
CREATE INDEX refs_state_node ON refs_state(node_id);
CREATE INDEX refs_state_message_id ON refs_state(message_id);

CREATE TABLE refs (
  repo_id BLOB NOT NULL,
  node_id BLOB NOT NULL,
  name    TEXT NOT NULL,  -- BINARY collation: bytewise order, as the wire sorts
  oid     BLOB NOT NULL,
  PRIMARY KEY (repo_id, node_id, name),
  FOREIGN KEY (repo_id, node_id) REFERENCES refs_state(repo_id, node_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE repo_seeders (
  repo_id   BLOB NOT NULL,
  node_id   BLOB NOT NULL,
  last_seen INTEGER NOT NULL,
  source    TEXT NOT NULL,
  PRIMARY KEY (repo_id, node_id)
) WITHOUT ROWID;
CREATE INDEX repo_seeders_node ON repo_seeders(node_id);

CREATE TABLE activity (
  event_id        BLOB PRIMARY KEY,
  repo_id         BLOB NOT NULL,
  author          BLOB NOT NULL,
  timestamp       INTEGER NOT NULL,
  op              TEXT NOT NULL,
  payload_version INTEGER NOT NULL,
  payload         BLOB NOT NULL,
  message_id      BLOB REFERENCES messages(id) ON DELETE SET NULL
);
CREATE INDEX activity_repo_time ON activity(repo_id, timestamp, event_id);
CREATE INDEX activity_message_id ON activity(message_id);

CREATE TABLE activity_parents (
  event_id BLOB NOT NULL REFERENCES activity(event_id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  parent   BLOB NOT NULL,
  PRIMARY KEY (event_id, position)
) WITHOUT ROWID;
CREATE INDEX activity_parents_parent ON activity_parents(parent);  -- an event's children

CREATE TABLE repo_paths (
  repo_id BLOB PRIMARY KEY,
  path    TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// Version 2: the newest Inventory page per (node, page), which gossip supersession needs.
constexpr const char* SCHEMA_V2 = R"sql(
CREATE TABLE inventory_pages (
  node_id    BLOB NOT NULL,
  page       INTEGER NOT NULL,
  page_count INTEGER NOT NULL,
  sequence   INTEGER NOT NULL,
  timestamp  INTEGER NOT NULL,
  message_id BLOB REFERENCES messages(id) ON DELETE SET NULL,
  PRIMARY KEY (node_id, page)
) WITHOUT ROWID;
CREATE INDEX inventory_pages_message_id ON inventory_pages(message_id);
)sql";

// Version 3: per-author activity quotas count by (repo, author).
constexpr const char* SCHEMA_V3 = R"sql(
CREATE INDEX activity_repo_author ON activity(repo_id, author);
)sql";

// Version 4: namespaces a fetch could not commit (missing objects, hostile content, refs git
// refused), with the reason, so `repos REPO` can show them; a row goes once the namespace is set.
constexpr const char* SCHEMA_V4 = R"sql(
CREATE TABLE namespace_skips (
  repo_id    BLOB NOT NULL,
  node_id    BLOB NOT NULL,
  reason     TEXT NOT NULL,
  skipped_at INTEGER NOT NULL,
  PRIMARY KEY (repo_id, node_id)
) WITHOUT ROWID;
)sql";

// Version 5: store-level settings, e.g. which version of the message rules the stored messages
// were last checked against (the heal on open runs once per rules version, not on every open).
constexpr const char* SCHEMA_V5 = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

constexpr std::array<const char*, 5> MIGRATIONS = {SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5};
static_assert(MIGRATIONS.size() == CURRENT_SCHEMA_VERSION, "one migration per schema version");

}  // namespace

std::span<const char* const> Migrations() {
  return MIGRATIONS;
}

}  // namespace p2pgit::storage::detail
