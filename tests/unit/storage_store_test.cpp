// The SQLite store: schema and pragmas on open, migrations and version refusal, and a round trip
// through every table.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "storage/store.h"

using namespace p2pgit;
using namespace p2pgit::storage;

namespace {

Bytes Filled(size_t size, uint8_t value) {
  return Bytes(size, value);
}
Bytes MessageId(uint8_t n) {
  return Filled(MESSAGE_ID_BYTES, n);
}
Bytes NodeId(uint8_t n) {
  return Filled(NODE_ID_BYTES, n);
}
Bytes RepoId(uint8_t n) {
  Bytes id = Filled(REPO_ID_BYTES, n);
  id[0] = 0x12;
  id[1] = 0x20;
  return id;
}

StoredMessage Message(uint8_t n, uint8_t type = 1) {
  StoredMessage m;
  m.id = MessageId(n);
  m.type = type;
  m.author = NodeId(static_cast<uint8_t>(n + 100));
  m.timestamp_ms = 1'700'000'000'000ull + n;
  m.received_at_ms = 1'700'000'000'500ull + n;
  m.raw = Bytes{0xa4, n, 0x01, 0x02};
  return m;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    m_dir = std::filesystem::temp_directory_path() /
            ("p2pgit-storage-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(m_dir);
    m_db = m_dir / "nested" / "store.db";
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  Store OpenOrDie() {
    auto store = Store::Open(m_db);
    if (!store) ADD_FAILURE() << store.message();
    return std::move(store).value();
  }

  // Runs sql on the file with a raw connection (bypassing Store), returning the first column.
  std::string RawQuery(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(m_db.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      }
    } else {
      ADD_FAILURE() << sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }

  std::filesystem::path m_dir;
  std::filesystem::path m_db;
};

TEST_F(StoreTest, OpenCreatesDirectoryAppliesPragmasAndMigratesFromEmpty) {
  Store store = OpenOrDie();
  EXPECT_TRUE(std::filesystem::exists(m_db));
  EXPECT_EQ(*store.PragmaValue("journal_mode"), "wal");
  EXPECT_EQ(*store.PragmaValue("foreign_keys"), "1");
  EXPECT_EQ(*store.PragmaValue("synchronous"), "1");  // NORMAL
  EXPECT_EQ(*store.PragmaValue("busy_timeout"), std::to_string(BUSY_TIMEOUT_MS));
  EXPECT_EQ(*store.PragmaValue("user_version"), std::to_string(CURRENT_SCHEMA_VERSION));
  EXPECT_EQ(*store.IntegrityCheck(), "ok");
  EXPECT_EQ(*store.CountMessages(), 0);
  EXPECT_EQ(store.path(), m_db);
  EXPECT_EQ(store.PragmaValue("user_version; DROP TABLE messages").code(), StoreError::InvalidArgument);
}

TEST_F(StoreTest, EveryTableOfTheSchemaExists) {
  { Store store = OpenOrDie(); }
  for (const char* table :
       {"messages", "nodes", "node_addresses", "repos", "repo_delegates", "followed_repos", "refs_state",
        "refs", "repo_seeders", "activity", "activity_parents", "repo_paths"}) {
    EXPECT_EQ(RawQuery(std::string("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = '") +
                       table + "'"),
              table);
  }
}

TEST_F(StoreTest, ReopenKeepsDataAndDoesNotMigrateTwice) {
  {
    Store store = OpenOrDie();
    ASSERT_TRUE(store.PutMessage(Message(1)));
    ASSERT_TRUE(store.SetRepoPath(RepoId(1), "/srv/git/one.git"));
  }
  Store store = OpenOrDie();
  EXPECT_EQ(*store.CountMessages(), 1);
  EXPECT_EQ(**store.GetRepoPath(RepoId(1)), std::filesystem::path("/srv/git/one.git"));
  EXPECT_EQ(*store.PragmaValue("user_version"), std::to_string(CURRENT_SCHEMA_VERSION));
}

TEST_F(StoreTest, RefusesNewerSchemaWithoutTouchingTheFile) {
  std::filesystem::create_directories(m_db.parent_path());
  RawQuery("PRAGMA user_version = " + std::to_string(CURRENT_SCHEMA_VERSION + 1));
  auto store = Store::Open(m_db);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.code(), StoreError::NewerSchema);
  EXPECT_NE(store.message().find("schema version " + std::to_string(CURRENT_SCHEMA_VERSION + 1)),
            std::string::npos)
      << store.message();
  EXPECT_EQ(RawQuery("PRAGMA journal_mode"), "delete");  // not switched to WAL
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(CURRENT_SCHEMA_VERSION + 1));
}

TEST_F(StoreTest, RefusesAFileThatIsNotADatabase) {
  std::filesystem::create_directories(m_db.parent_path());
  std::ofstream(m_db) << std::string(4096, 'x');
  auto store = Store::Open(m_db);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.code(), StoreError::Corrupt) << store.message();
  EXPECT_NE(store.message().find("sqlite:"), std::string::npos);
}

TEST_F(StoreTest, OpenFailsWhenTheDirectoryCannotBeCreated) {
  std::filesystem::create_directories(m_dir);
  std::ofstream(m_dir / "file") << "x";
  auto store = Store::Open(m_dir / "file" / "store.db");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.code(), StoreError::Io) << store.message();
}

TEST_F(StoreTest, MessagesRoundTripDedupAndPageByArrival) {
  Store store = OpenOrDie();
  auto first = store.PutMessage(Message(7));
  ASSERT_TRUE(first) << first.message();
  EXPECT_TRUE(first->inserted);
  EXPECT_GT(first->arrival, 0);

  auto again = store.PutMessage(Message(7));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->inserted);
  EXPECT_EQ(again->arrival, first->arrival);
  EXPECT_EQ(*store.CountMessages(), 1);

  StoredMessage empty_raw = Message(8, 3);
  empty_raw.raw.clear();  // an empty blob stays an empty blob (not NULL)
  ASSERT_TRUE(store.PutMessage(empty_raw));
  for (uint8_t n = 9; n < 20; ++n) ASSERT_TRUE(store.PutMessage(Message(n)));

  EXPECT_TRUE(*store.HasMessage(MessageId(7)));
  EXPECT_FALSE(*store.HasMessage(MessageId(99)));
  auto got = store.GetMessage(MessageId(7));
  ASSERT_TRUE(got && got->has_value());
  StoredMessage expected = Message(7);
  expected.arrival = first->arrival;
  EXPECT_EQ(**got, expected);
  EXPECT_FALSE(store.GetMessage(MessageId(99))->has_value());
  EXPECT_EQ((*store.GetMessage(MessageId(8)))->raw, Bytes{});

  // Page through with a cursor: arrival order equals insertion order.
  std::vector<Bytes> seen;
  int64_t cursor = 0;
  while (true) {
    auto page = store.MessagesSince(cursor, 5);
    ASSERT_TRUE(page) << page.message();
    if (page->empty()) break;
    EXPECT_LE(page->size(), 5u);
    for (const auto& m : *page) {
      EXPECT_GT(m.arrival, cursor);
      cursor = m.arrival;
      seen.push_back(m.id);
    }
  }
  ASSERT_EQ(seen.size(), 13u);
  EXPECT_EQ(seen[0], MessageId(7));
  EXPECT_EQ(seen[1], MessageId(8));
  EXPECT_EQ(seen[12], MessageId(19));
  EXPECT_EQ(*store.LatestArrival(), cursor);
  EXPECT_TRUE(store.MessagesSince(cursor, 10)->empty());
  EXPECT_TRUE(store.MessagesSince(0, 0)->empty());
}

TEST_F(StoreTest, WritesRefuseWrongIdLengthsAndHugeIntegers) {
  Store store = OpenOrDie();
  StoredMessage bad = Message(1);
  bad.id.pop_back();
  EXPECT_EQ(store.PutMessage(bad).code(), StoreError::InvalidArgument);
  StoredMessage huge = Message(2);
  huge.timestamp_ms = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(store.PutMessage(huge).code(), StoreError::InvalidArgument);
  RefsRecord refs{RepoId(1), NodeId(1), uint64_t{1} << 63, 0, std::nullopt, {}};
  EXPECT_EQ(store.ReplaceRefs(refs).code(), StoreError::InvalidArgument);
  EXPECT_EQ(store.SetRepoPath(NodeId(1), "/x").code(), StoreError::InvalidArgument);  // 32 bytes, not 34
  EXPECT_EQ(*store.CountMessages(), 0);
}

NodeRecord Node(uint8_t n) {
  NodeRecord node;
  node.node_id = NodeId(n);
  node.addresses = {{"192.0.2.1", 8776}, {"seed.example.org", 443}, {"::1", 9}};
  node.alias = "node-" + std::to_string(n);
  node.relay = n % 2 == 0;
  node.online = true;
  node.score = n * 1.5;
  node.announced_at_ms = 1000 + n;
  node.last_seen_ms = 2000 + n;
  node.expires_at_ms = 10'000 + n;
  return node;
}

TEST_F(StoreTest, NodesRoundTripReplaceAddressesListAndExpire) {
  Store store = OpenOrDie();
  ASSERT_TRUE(store.PutMessage(Message(1)));
  NodeRecord a = Node(1);
  a.message_id = MessageId(1);
  ASSERT_TRUE(store.UpsertNode(a));
  ASSERT_TRUE(store.UpsertNode(Node(2)));
  EXPECT_EQ(**store.GetNode(NodeId(1)), a);
  EXPECT_FALSE(store.GetNode(NodeId(9))->has_value());

  a.addresses = {{"198.51.100.7", 1}};
  a.online = false;
  a.score = 10.0;
  ASSERT_TRUE(store.UpsertNode(a));
  EXPECT_EQ(**store.GetNode(NodeId(1)), a);

  auto nodes = store.ListNodes();
  ASSERT_TRUE(nodes);
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0], a);  // highest score first
  EXPECT_EQ((*nodes)[1], Node(2));

  EXPECT_EQ(*store.ExpireNodes(10'000), 0);
  EXPECT_EQ(*store.ExpireNodes(10'001), 1);  // node 1 expires at 10'001
  EXPECT_FALSE(store.GetNode(NodeId(1))->has_value());
  EXPECT_EQ(*store.CountNodes(), 1);
  EXPECT_EQ(*store.ExpireNodes(20'000), 1);
  EXPECT_EQ(*store.CountNodes(), 0);
}

TEST_F(StoreTest, ForeignKeysAreEnforced) {
  Store store = OpenOrDie();
  NodeRecord node = Node(1);
  node.message_id = MessageId(42);  // no such message
  auto status = store.UpsertNode(node);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.code(), StoreError::Constraint) << status.message();
  EXPECT_NE(status.message().find("FOREIGN KEY"), std::string::npos) << status.message();
  EXPECT_EQ(*store.CountNodes(), 0);  // the upsert's transaction rolled back
}

RepoRecord Repo(uint8_t n, uint64_t sequence) {
  RepoRecord repo;
  repo.repo_id = RepoId(n);
  repo.root_commit = Filled(20, 0xc0);
  repo.creator = NodeId(1);
  repo.name = "repo-" + std::to_string(n);
  repo.description = "a repository";
  repo.default_branch = "main";
  repo.delegates = {NodeId(1), NodeId(2), NodeId(3)};
  repo.sequence = sequence;
  repo.timestamp_ms = 5000 + sequence;
  return repo;
}

TEST_F(StoreTest, ReposRoundTripGuardedBySequenceAndFollowed) {
  Store store = OpenOrDie();
  EXPECT_EQ(*store.UpsertRepo(Repo(2, 1)), ApplyOutcome::Applied);
  RepoRecord one = Repo(1, 3);
  one.description.clear();
  EXPECT_EQ(*store.UpsertRepo(one), ApplyOutcome::Applied);
  EXPECT_EQ(**store.GetRepo(RepoId(1)), one);

  RepoRecord older = Repo(1, 2);
  older.name = "older";
  EXPECT_EQ(*store.UpsertRepo(older), ApplyOutcome::Stale);
  EXPECT_EQ(*store.UpsertRepo(one), ApplyOutcome::Stale);  // same sequence: nothing to do
  EXPECT_EQ(**store.GetRepo(RepoId(1)), one);

  RepoRecord newer = Repo(1, 4);
  newer.delegates = {NodeId(1)};
  EXPECT_EQ(*store.UpsertRepo(newer), ApplyOutcome::Applied);
  EXPECT_EQ(**store.GetRepo(RepoId(1)), newer);

  auto repos = store.ListRepos();
  ASSERT_TRUE(repos);
  ASSERT_EQ(repos->size(), 2u);
  EXPECT_EQ((*repos)[0], newer);  // by name: repo-1, repo-2
  EXPECT_EQ((*repos)[1], Repo(2, 1));
  EXPECT_EQ(*store.CountRepos(), 2);

  // Following does not need the repo's metadata.
  EXPECT_FALSE(*store.IsFollowed(RepoId(9)));
  ASSERT_TRUE(store.SetFollowed(RepoId(9), true, 1));
  ASSERT_TRUE(store.SetFollowed(RepoId(9), true, 2));
  ASSERT_TRUE(store.SetFollowed(RepoId(1), true, 3));
  EXPECT_TRUE(*store.IsFollowed(RepoId(9)));
  EXPECT_EQ(*store.ListFollowed(), (std::vector<Bytes>{RepoId(1), RepoId(9)}));
  ASSERT_TRUE(store.SetFollowed(RepoId(9), false, 4));
  EXPECT_FALSE(*store.IsFollowed(RepoId(9)));
}

RefsRecord Refs(uint8_t node, uint64_t sequence, std::vector<RefEntry> refs) {
  return RefsRecord{RepoId(1), NodeId(node), sequence, 9000 + sequence, std::nullopt, std::move(refs)};
}

TEST_F(StoreTest, RefsReplaceWholeNamespaceAndRefuseStaleSequences) {
  Store store = OpenOrDie();
  EXPECT_FALSE(store.GetRefs(RepoId(1), NodeId(1))->has_value());

  ASSERT_TRUE(store.PutMessage(Message(5)));
  RefsRecord v2 =
      Refs(1, 2, {{"tags/v1", Filled(20, 2)}, {"heads/main", Filled(20, 1)}, {"heads/dev", Filled(32, 3)}});
  v2.message_id = MessageId(5);
  EXPECT_EQ(*store.ReplaceRefs(v2), ApplyOutcome::Applied);
  ASSERT_EQ(*store.ReplaceRefs(Refs(2, 1, {{"heads/main", Filled(20, 9)}})), ApplyOutcome::Applied);

  auto got = store.GetRefs(RepoId(1), NodeId(1));
  ASSERT_TRUE(got && got->has_value()) << got.message();
  RefsRecord sorted = v2;
  sorted.refs = {{"heads/dev", Filled(32, 3)}, {"heads/main", Filled(20, 1)}, {"tags/v1", Filled(20, 2)}};
  EXPECT_EQ(**got, sorted);

  // Lower and equal sequences are stale and change nothing.
  EXPECT_EQ(*store.ReplaceRefs(Refs(1, 1, {{"heads/evil", Filled(20, 6)}})), ApplyOutcome::Stale);
  EXPECT_EQ(*store.ReplaceRefs(Refs(1, 2, {{"heads/evil", Filled(20, 6)}})), ApplyOutcome::Stale);
  EXPECT_EQ(**store.GetRefs(RepoId(1), NodeId(1)), sorted);

  // A newer sequence replaces the namespace: refs it no longer lists are gone.
  RefsRecord v3 = Refs(1, 3, {{"heads/main", Filled(20, 4)}});
  EXPECT_EQ(*store.ReplaceRefs(v3), ApplyOutcome::Applied);
  EXPECT_EQ(**store.GetRefs(RepoId(1), NodeId(1)), v3);

  // A failing replacement (duplicate ref name) rolls back completely.
  auto bad = store.ReplaceRefs(Refs(1, 4, {{"heads/a", Filled(20, 1)}, {"heads/a", Filled(20, 2)}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.code(), StoreError::Constraint);
  EXPECT_EQ(**store.GetRefs(RepoId(1), NodeId(1)), v3);

  EXPECT_EQ(*store.ListRefNamespaces(RepoId(1)),
            (std::vector<RefsNamespace>{{NodeId(1), 3, 9003}, {NodeId(2), 1, 9001}}));
  EXPECT_TRUE(store.ListRefNamespaces(RepoId(2))->empty());
}

TEST_F(StoreTest, SeedersRefreshListAndRemove) {
  Store store = OpenOrDie();
  ASSERT_TRUE(store.AddSeeder({RepoId(1), NodeId(1), 100, "inventory"}));
  ASSERT_TRUE(store.AddSeeder({RepoId(1), NodeId(2), 300, "fetch"}));
  ASSERT_TRUE(store.AddSeeder({RepoId(2), NodeId(1), 50, "inventory"}));
  ASSERT_TRUE(store.AddSeeder({RepoId(1), NodeId(1), 80, "refs"}));  // older sighting: keeps last_seen 100
  EXPECT_EQ(*store.ListSeeders(RepoId(1)), (std::vector<SeederRecord>{{RepoId(1), NodeId(2), 300, "fetch"},
                                                                      {RepoId(1), NodeId(1), 100, "refs"}}));
  ASSERT_TRUE(store.AddSeeder({RepoId(1), NodeId(1), 400, "inventory"}));
  EXPECT_EQ((*store.ListSeeders(RepoId(1)))[0], (SeederRecord{RepoId(1), NodeId(1), 400, "inventory"}));
  EXPECT_EQ(*store.CountSeeders(), 3);
  ASSERT_TRUE(store.RemoveSeeder(RepoId(1), NodeId(1)));
  EXPECT_EQ(store.ListSeeders(RepoId(1))->size(), 1u);
}

TEST_F(StoreTest, ActivityRoundTripIsIdempotentAndOrdered) {
  Store store = OpenOrDie();
  ASSERT_TRUE(store.PutMessage(Message(3)));
  ActivityRecord root{MessageId(3), RepoId(1), NodeId(1),      200,         "issue.create",
                      {RepoId(1)},  1,         Bytes{1, 2, 3}, MessageId(3)};
  ActivityRecord reply{
      MessageId(4), RepoId(1),   NodeId(2), 100, "issue.comment", {MessageId(3), MessageId(2)}, 2,
      Bytes{},      std::nullopt};
  ActivityRecord other{MessageId(5), RepoId(2), NodeId(2), 50, "issue.create", {}, 1, Bytes{9}, std::nullopt};
  EXPECT_TRUE(*store.PutActivity(root));
  EXPECT_TRUE(*store.PutActivity(reply));
  EXPECT_TRUE(*store.PutActivity(other));
  ActivityRecord changed = root;
  changed.op = "issue.delete";
  EXPECT_FALSE(*store.PutActivity(changed));  // same event id: first write wins
  EXPECT_EQ(**store.GetActivity(MessageId(3)), root);
  EXPECT_FALSE(store.GetActivity(MessageId(9))->has_value());
  EXPECT_EQ(*store.ListActivity(RepoId(1)), (std::vector<ActivityRecord>{reply, root}));  // by timestamp
  EXPECT_EQ(*store.CountActivity(), 3);
}

TEST_F(StoreTest, RepoPathsSetReplaceAndRemove) {
  Store store = OpenOrDie();
  EXPECT_FALSE(store.GetRepoPath(RepoId(1))->has_value());
  ASSERT_TRUE(store.SetRepoPath(RepoId(1), "/home/u/.p2pgit/repos/a b.git"));
  EXPECT_EQ(**store.GetRepoPath(RepoId(1)), std::filesystem::path("/home/u/.p2pgit/repos/a b.git"));
  ASSERT_TRUE(store.SetRepoPath(RepoId(1), "/elsewhere.git"));
  EXPECT_EQ(**store.GetRepoPath(RepoId(1)), std::filesystem::path("/elsewhere.git"));
  ASSERT_TRUE(store.RemoveRepoPath(RepoId(1)));
  EXPECT_FALSE(store.GetRepoPath(RepoId(1))->has_value());
}

TEST_F(StoreTest, InTransactionCommitsOrRollsBackAndNests) {
  Store store = OpenOrDie();
  auto failed = store.InTransaction([&]() -> StoreStatus {
    if (!store.PutMessage(Message(1))) return Fail(StoreError::Sqlite, "put");
    if (!store.SetRepoPath(RepoId(1), "/a")) return Fail(StoreError::Sqlite, "path");
    return Fail(StoreError::InvalidArgument, "caller changed its mind");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.message(), "caller changed its mind");
  EXPECT_EQ(*store.CountMessages(), 0);
  EXPECT_FALSE(store.GetRepoPath(RepoId(1))->has_value());

  auto nested = store.InTransaction([&]() -> StoreStatus {
    if (!store.PutMessage(Message(2))) return Fail(StoreError::Sqlite, "put");
    // An inner failure rolls back only the inner part.
    auto inner = store.InTransaction([&]() -> StoreStatus {
      if (!store.PutMessage(Message(3))) return Fail(StoreError::Sqlite, "put");
      return Fail(StoreError::Sqlite, "inner");
    });
    if (inner) return Fail(StoreError::Sqlite, "inner should have failed");
    // A failing atomic method inside the transaction leaves the outer writes.
    if (store.ReplaceRefs(Refs(1, 1, {{"a", Filled(20, 1)}, {"a", Filled(20, 1)}}))) {
      return Fail(StoreError::Sqlite, "duplicate refs should fail");
    }
    return store.InTransaction([&]() -> StoreStatus { return store.SetRepoPath(RepoId(1), "/b"); });
  });
  ASSERT_TRUE(nested) << nested.message();
  EXPECT_TRUE(*store.HasMessage(MessageId(2)));
  EXPECT_FALSE(*store.HasMessage(MessageId(3)));
  EXPECT_FALSE(store.GetRefs(RepoId(1), NodeId(1))->has_value());
  EXPECT_EQ(**store.GetRepoPath(RepoId(1)), std::filesystem::path("/b"));
}

TEST_F(StoreTest, TwoConnectionsOnOneFileShareDataAndWaitForLocks) {
  Store first = OpenOrDie();
  Store second = OpenOrDie();
  ASSERT_TRUE(first.PutMessage(Message(1)));
  EXPECT_TRUE(*second.HasMessage(MessageId(1)));

  // Two threads, one Store each, writing at once: the busy timeout serialises them.
  constexpr int PER_THREAD = 200;
  auto writer = [&](Store* store, uint8_t tag, std::atomic<int>* failures) {
    for (int i = 0; i < PER_THREAD; ++i) {
      StoredMessage m = Message(1);
      m.id[0] = tag;
      m.id[1] = static_cast<uint8_t>(i);
      m.id[2] = static_cast<uint8_t>(i >> 8);
      if (!store->PutMessage(m)) ++*failures;
    }
  };
  std::atomic<int> failures{0};
  std::thread a(writer, &first, 0xa0, &failures);
  std::thread b(writer, &second, 0xb0, &failures);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*first.CountMessages(), 1 + 2 * PER_THREAD);
}

TEST(StoreErrorName, NamesEveryError) {
  EXPECT_STREQ(StoreErrorName(StoreError::NewerSchema), "newer-schema");
  EXPECT_STREQ(StoreErrorName(StoreError::Busy), "busy");
}

}  // namespace

TEST(StoreInventory, PagesAreSequenceGuardedPerNodeAndPage) {
  auto dir = std::filesystem::path(testing::TempDir()) / ("p2pgit-inv-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = p2pgit::storage::Store::Open(dir / "store.db");
  ASSERT_TRUE(store.ok()) << store.message();
  using p2pgit::storage::ApplyOutcome;
  using p2pgit::storage::InventoryPageRecord;
  p2pgit::Bytes node(32, 7);
  EXPECT_EQ(*store->ReplaceInventoryPage(InventoryPageRecord{node, 0, 2, 5, 100, std::nullopt}), ApplyOutcome::Applied);
  EXPECT_EQ(*store->ReplaceInventoryPage(InventoryPageRecord{node, 1, 2, 5, 100, std::nullopt}), ApplyOutcome::Applied);
  EXPECT_EQ(*store->ReplaceInventoryPage(InventoryPageRecord{node, 0, 1, 5, 200, std::nullopt}), ApplyOutcome::Stale);
  EXPECT_EQ(*store->ReplaceInventoryPage(InventoryPageRecord{node, 0, 1, 6, 300, std::nullopt}), ApplyOutcome::Applied);
  auto page0 = store->GetInventoryPage(node, 0);
  ASSERT_TRUE(page0.ok() && page0->has_value());
  EXPECT_EQ((*page0)->sequence, 6u);
  EXPECT_EQ((*page0)->page_count, 1u);
  EXPECT_FALSE(store->GetInventoryPage(node, 9)->has_value());
  EXPECT_EQ(*store->PragmaValue("user_version"), std::to_string(p2pgit::storage::CURRENT_SCHEMA_VERSION));
  std::filesystem::remove_all(dir);
}

// The heal primitive: a refused message goes with the rows it produced; the pass runs once per
// rules version and keeps everything the caller's check keeps.
TEST_F(StoreTest, PruneMessagesOnceDeletesRefusedMessagesWithTheirRowsOncePerVersion) {
  Store store = OpenOrDie();
  EXPECT_EQ(RawQuery("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'meta'"), "meta");
  for (uint8_t n = 1; n <= 3; ++n) ASSERT_TRUE(store.PutMessage(Message(n, 3)));
  for (uint8_t n = 1; n <= 3; ++n) {
    RefsRecord refs{RepoId(1), NodeId(n), 1, 9000, MessageId(n), {{"heads/main", Filled(20, n)}}};
    ASSERT_TRUE(store.ReplaceRefs(refs));
  }
  auto refuse_two = [](const StoredMessage& m) { return m.id != MessageId(2); };
  auto removed = store.PruneMessagesOnce("rules", 1, refuse_two);
  ASSERT_TRUE(removed) << removed.message();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(*store.HasMessage(MessageId(2)));
  EXPECT_FALSE(store.GetRefs(RepoId(1), NodeId(2))->has_value());
  EXPECT_EQ(RawQuery("SELECT count(*) FROM refs WHERE node_id = x'" + std::string(64, '0').replace(62, 2, "02") + "'"),
            "0");
  EXPECT_TRUE(store.GetRefs(RepoId(1), NodeId(1))->has_value());
  EXPECT_TRUE(store.GetRefs(RepoId(1), NodeId(3))->has_value());
  EXPECT_EQ(**store.GetMeta("rules"), 1);
  // Same version: nothing is checked again. A higher one runs again.
  auto refuse_all = [](const StoredMessage&) { return false; };
  EXPECT_EQ(*store.PruneMessagesOnce("rules", 1, refuse_all), 0);
  EXPECT_EQ(*store.CountMessages(), 2);
  EXPECT_EQ(*store.PruneMessagesOnce("rules", 2, refuse_all), 2);
  EXPECT_EQ(*store.CountMessages(), 0);
  EXPECT_FALSE(*store.DeleteMessageAndState(MessageId(1)));  // already gone
}
