// Admitted gossip lands in the SQLite routing tables and survives a restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "gossip/admission.h"
#include "routing/routing_state.h"
#include "routing/store_heal.h"

using namespace p2pgit;
using namespace p2pgit::wire;

namespace {

constexpr uint64_t NOW = 1'800'000'000'000;

Bytes ToBytesForTest(const identity::PublicKey& key) { return Bytes(key.begin(), key.end()); }

identity::NodeKey Key(uint8_t n) {
  identity::Seed seed{};
  seed.fill(n);
  return identity::NodeKey::FromSeed(seed);
}

class RoutingStateTest : public testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::path(testing::TempDir()) / ("p2pgit-routing-" + std::to_string(::getpid()));
    std::filesystem::remove_all(m_dir);
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }
  storage::Store Open() {
    auto store = storage::Store::Open(m_dir / "store.db");
    EXPECT_TRUE(store.ok()) << store.message();
    return std::move(*store);
  }
  std::filesystem::path m_dir;
};

}  // namespace

TEST_F(RoutingStateTest, EveryMessageTypeFillsItsTableAndSurvivesRestart) {
  auto creator = Key(1);
  RepoBody repo;
  repo.timestamp_ms = NOW;
  repo.root_commit = Bytes(20, 9);
  repo.creator = creator.public_key();
  repo.repo_id = identity::ComputeRepoId(repo.root_commit, repo.creator);
  repo.name = "tables";
  repo.delegates = {repo.creator};
  repo.default_branch = "main";
  repo.sequence = 1;
  Bytes root_parent(repo.repo_id.multihash.begin(), repo.repo_id.multihash.end());
  std::vector<SignedMessage> messages = {
      SignMessage(creator, NodeBody{NOW, {{"198.51.100.7", 8776}}, true, "relay-one", 1}),
      SignMessage(creator, repo),
      SignMessage(creator, RefsBody{NOW, repo.repo_id, {{"heads/main", Bytes(20, 3)}}, 1}),
      SignMessage(Key(2), InventoryBody{NOW, {repo.repo_id}, 1, 0, 1}),
      SignMessage(Key(2), ActivityBody{NOW, repo.repo_id, {root_parent}, "issue.create", 1, {0xa0}}),
  };
  {
    storage::Store store = Open();
    routing::StoreRoutingState state(store);
    gossip::Admission admission(state);
    for (const auto& m : messages)
      EXPECT_EQ(admission.Admit(m.encoded, NOW).verdict, gossip::Verdict::Accepted) << MessageTypeName(m.type()) << state.last_error();

    auto node = store.GetNode(creator.public_key());
    ASSERT_TRUE(node.ok() && node->has_value());
    EXPECT_EQ((*node)->alias, "relay-one");
    EXPECT_TRUE((*node)->relay);
    EXPECT_EQ((*node)->addresses.size(), 1u);
    EXPECT_EQ((*node)->expires_at_ms, NOW + routing::NODE_ROUTE_TTL_MS);
    EXPECT_EQ(store.GetRepo(repo.repo_id.multihash)->value().name, "tables");
    EXPECT_EQ(store.GetRefs(repo.repo_id.multihash, creator.public_key())->value().refs.size(), 1u);
    EXPECT_EQ(store.ListSeeders(repo.repo_id.multihash)->size(), 2u);  // refs author + inventory author
    EXPECT_EQ(*store.CountActivity(), 1);
    EXPECT_EQ(*store.CountMessages(), 5);
  }
  // A restart: the same messages are duplicates, older ones superseded, from the store alone.
  storage::Store store = Open();
  routing::StoreRoutingState state(store);
  gossip::Admission admission(state);
  for (const auto& m : messages) EXPECT_EQ(admission.Admit(m.encoded, NOW).verdict, gossip::Verdict::Duplicate);
  EXPECT_EQ(admission.Admit(SignMessage(creator, RefsBody{NOW + 1, repo.repo_id, {}, 1}).encoded, NOW).verdict,
            gossip::Verdict::Superseded);
  EXPECT_EQ(admission.Admit(SignMessage(creator, NodeBody{NOW - 1, {}, false, "old", 1}).encoded, NOW).verdict,
            gossip::Verdict::Superseded);
  EXPECT_EQ(admission.Admit(SignMessage(Key(2), InventoryBody{NOW, {}, 1, 0, 1}).encoded, NOW).verdict,
            gossip::Verdict::Superseded);
  RepoBody hijack = repo;
  hijack.sequence = 2;
  EXPECT_EQ(admission.Admit(SignMessage(Key(3), hijack).encoded, NOW).verdict, gossip::Verdict::Unauthorized);
  // Routes expire after the TTL.
  EXPECT_EQ(*store.ExpireNodes(NOW + routing::NODE_ROUTE_TTL_MS), 1);
}

TEST_F(RoutingStateTest, SupersededAnnouncementsArePrunedFromTheMessageTable) {
  storage::Store store = Open();
  routing::StoreRoutingState state(store);
  gossip::Admission admission(state);
  auto key = Key(7);
  for (uint64_t i = 0; i < 5; ++i) {
    auto m = SignMessage(key, NodeBody{NOW + i, {}, false, "n" + std::to_string(i), 1});
    ASSERT_EQ(admission.Admit(m.encoded, NOW + 10).verdict, gossip::Verdict::Accepted);
  }
  EXPECT_EQ(*store.CountMessages(), 1);  // only the newest announcement is kept
  EXPECT_EQ(store.GetNode(key.public_key())->value().alias, "n4");
  RepoBody repo;
  repo.timestamp_ms = NOW;
  repo.root_commit = Bytes(20, 5);
  repo.creator = key.public_key();
  repo.repo_id = identity::ComputeRepoId(repo.root_commit, repo.creator);
  repo.name = "r";
  repo.delegates = {repo.creator};
  repo.default_branch = "main";
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    repo.sequence = seq;
    ASSERT_EQ(admission.Admit(SignMessage(key, repo).encoded, NOW + 10).verdict, gossip::Verdict::Accepted);
    auto refs = SignMessage(key, RefsBody{NOW + seq, repo.repo_id, {{"heads/main", Bytes(20, uint8_t(seq))}}, seq});
    ASSERT_EQ(admission.Admit(refs.encoded, NOW + 10).verdict, gossip::Verdict::Accepted);
  }
  EXPECT_EQ(*store.CountMessages(), 3);  // node + repo + refs, the latest of each
  EXPECT_EQ(store.GetRepo(repo.repo_id.multihash)->value().sequence, 3u);
}

TEST_F(RoutingStateTest, TablesHaveCapsAndQuotas) {
  storage::Store store = Open();
  routing::RoutingLimits limits;
  limits.max_node_routes = 10;
  limits.max_activity_per_author = 3;
  limits.max_activity_per_repo = 5;
  limits.max_repos_per_creator = 2;
  limits.max_ref_namespaces_per_node = 2;
  routing::StoreRoutingState state(store, limits);
  gossip::Admission admission(state);
  // Node routes: the table never holds more than the cap; the lowest scored go first.
  for (uint8_t i = 1; i <= 25; ++i) {
    auto m = SignMessage(Key(i), NodeBody{NOW, {}, false, "", 1});
    ASSERT_EQ(admission.Admit(m.encoded, NOW).verdict, gossip::Verdict::Accepted);
    if (i == 1) {
      ASSERT_TRUE(store.RecordContact(ToBytesForTest(Key(1).public_key()), true, 50.0, NOW).ok());
    }
  }
  EXPECT_EQ(*store.CountNodes(), 10);
  EXPECT_TRUE(store.GetNode(Key(1).public_key())->has_value()) << "the well-scored node was evicted";
  // Repos per creator: new ones beyond the quota are refused, updates of known ones are not.
  auto creator = Key(40);
  auto repo_of = [&](uint8_t root, uint64_t seq) {
    RepoBody repo;
    repo.timestamp_ms = NOW;
    repo.root_commit = Bytes(20, root);
    repo.creator = creator.public_key();
    repo.repo_id = identity::ComputeRepoId(repo.root_commit, repo.creator);
    repo.name = "r";
    repo.delegates = {repo.creator};
    repo.default_branch = "main";
    repo.sequence = seq;
    return repo;
  };
  EXPECT_EQ(admission.Admit(SignMessage(creator, repo_of(1, 1)).encoded, NOW).verdict, gossip::Verdict::Accepted);
  EXPECT_EQ(admission.Admit(SignMessage(creator, repo_of(2, 1)).encoded, NOW).verdict, gossip::Verdict::Accepted);
  auto third = admission.Admit(SignMessage(creator, repo_of(3, 1)).encoded, NOW);
  EXPECT_EQ(third.verdict, gossip::Verdict::OverQuota);
  EXPECT_FALSE(gossip::IsMisbehaviour(third.verdict));
  EXPECT_EQ(admission.Admit(SignMessage(creator, repo_of(2, 2)).encoded, NOW).verdict, gossip::Verdict::Accepted);
  // Ref namespaces per node.
  RepoId r1 = repo_of(1, 1).repo_id, r2 = repo_of(2, 1).repo_id, r3 = repo_of(3, 1).repo_id;
  EXPECT_EQ(admission.Admit(SignMessage(creator, RefsBody{NOW, r1, {}, 1}).encoded, NOW).verdict, gossip::Verdict::Accepted);
  EXPECT_EQ(admission.Admit(SignMessage(creator, RefsBody{NOW, r2, {}, 1}).encoded, NOW).verdict, gossip::Verdict::Accepted);
  EXPECT_EQ(admission.Admit(SignMessage(creator, RefsBody{NOW, r3, {}, 1}).encoded, NOW).verdict, gossip::Verdict::OverQuota);
  // Activity: per author and per repo; accepted events are never evicted.
  Bytes root(r1.multihash.begin(), r1.multihash.end());
  auto event = [&](uint8_t author, uint64_t t) {
    return SignMessage(Key(author), ActivityBody{NOW + t, r1, {root}, "issue.create", 1, {uint8_t(t)}}).encoded;
  };
  for (uint64_t t = 0; t < 3; ++t) EXPECT_EQ(admission.Admit(event(50, t), NOW + 10).verdict, gossip::Verdict::Accepted);
  EXPECT_EQ(admission.Admit(event(50, 3), NOW + 10).verdict, gossip::Verdict::OverQuota);
  EXPECT_EQ(admission.Admit(event(51, 4), NOW + 10).verdict, gossip::Verdict::Accepted);
  EXPECT_EQ(admission.Admit(event(51, 5), NOW + 10).verdict, gossip::Verdict::Accepted);
  EXPECT_EQ(admission.Admit(event(52, 6), NOW + 10).verdict, gossip::Verdict::OverQuota);  // repo full
  EXPECT_EQ(*store.CountActivity(), 5);
}

// Stores written under the old, looser rules heal on their next open: the poisoned messages go
// with their rows, the honest ones stay, and the pass runs once per rules version.
TEST_F(RoutingStateTest, OpenHealsMessagesThatBreakTheNewRules) {
  auto creator = Key(1), attacker = Key(5), delegate = Key(4), creator2 = Key(3);
  auto make_repo = [](const identity::NodeKey& owner, std::vector<PublicKey> extra, uint64_t sequence) {
    RepoBody r;
    r.timestamp_ms = NOW;
    r.root_commit = Bytes(20, owner.public_key()[0]);
    r.creator = owner.public_key();
    r.repo_id = identity::ComputeRepoId(r.root_commit, r.creator);
    r.name = "r";
    r.delegates = {r.creator};
    r.delegates.insert(r.delegates.end(), extra.begin(), extra.end());
    r.default_branch = "main";
    r.sequence = sequence;
    return r;
  };
  RepoBody repo = make_repo(creator, {}, 1);
  RepoBody repo2 = make_repo(creator2, {delegate.public_key()}, 1);
  std::vector<SignedMessage> honest = {
      SignMessage(creator, NodeBody{NOW, {{"198.51.100.7", 8776}}, false, "n", 1}),
      SignMessage(creator, repo),
      SignMessage(creator, RefsBody{NOW, repo.repo_id, {{"heads/main", Bytes(20, 3)}, {"tags/v1", Bytes(20, 4)}}, 1}),
      SignMessage(creator2, repo2),
  };
  // What the old rules let in. SignMessage does not validate, and Accept is the state's write
  // path without admission's checks: exactly how such messages reached stores before.
  std::vector<SignedMessage> poisoned = {
      SignMessage(attacker, RefsBody{NOW, repo.repo_id, {{"notes/x", Bytes(20, 1)}}, 1}),
      SignMessage(Key(6), RefsBody{NOW, repo.repo_id, {{"heads/a", Bytes(20, 1)}, {"heads/a/b", Bytes(20, 2)}}, 1}),
      SignMessage(Key(7), RefsBody{NOW, repo.repo_id, {{"heads/main", Bytes(32, 1)}}, 1}),
      SignMessage(delegate, make_repo(creator2, {delegate.public_key()}, MAX_COUNTER_VALUE)),  // the freeze
  };
  {
    storage::Store store = Open();
    routing::StoreRoutingState state(store);
    gossip::Admission admission(state);
    for (const auto& m : honest) ASSERT_EQ(admission.Admit(m.encoded, NOW).verdict, gossip::Verdict::Accepted);
    for (const auto& m : poisoned) ASSERT_TRUE(state.Accept(m, NOW)) << state.last_error();
    ASSERT_EQ((*store.GetRepo(repo2.repo_id.multihash))->sequence, MAX_COUNTER_VALUE);
    // The store has not been healed yet: Store::Open alone does not know the rules.
    EXPECT_FALSE(store.GetMeta(routing::STORED_MESSAGE_RULES_KEY)->has_value());
  }
  {
    auto opened = routing::OpenHealedStore(m_dir / "store.db", NOW);
    ASSERT_TRUE(opened.ok()) << opened.message();
    EXPECT_EQ(opened->healed, 4);
    storage::Store& store = opened->store;
    for (const auto& m : poisoned) EXPECT_FALSE(*store.HasMessage(m.id));
    EXPECT_FALSE(store.GetRefs(repo.repo_id.multihash, attacker.public_key())->has_value());
    EXPECT_FALSE(store.GetRefs(repo.repo_id.multihash, Key(6).public_key())->has_value());
    EXPECT_FALSE(store.GetRefs(repo.repo_id.multihash, Key(7).public_key())->has_value());
    // The frozen repo row is gone (its creator's earlier message had been superseded by it)...
    EXPECT_FALSE(store.GetRepo(repo2.repo_id.multihash)->has_value());
    // ...and the honest messages and rows stayed (repo2's first message was superseded earlier).
    for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(*store.HasMessage(honest[i].id)) << i;
    auto refs = store.GetRefs(repo.repo_id.multihash, creator.public_key());
    ASSERT_TRUE(refs.ok() && refs->has_value());
    EXPECT_EQ((*refs)->refs.size(), 2u);
    EXPECT_TRUE(store.GetRepo(repo.repo_id.multihash)->has_value());
    EXPECT_TRUE(store.GetNode(creator.public_key())->has_value());
    EXPECT_EQ(**store.GetMeta(routing::STORED_MESSAGE_RULES_KEY), routing::STORED_MESSAGE_RULES_VERSION);
    // The creator can announce the repo again, as the new signers do: max(previous + 1, now).
    routing::StoreRoutingState state(store);
    gossip::Admission admission(state);
    EXPECT_EQ(admission.Admit(SignMessage(creator2, make_repo(creator2, {}, NOW)).encoded, NOW).verdict,
              gossip::Verdict::Accepted);
    // Poison written after the heal stays until the rules version moves: the pass runs once.
    ASSERT_TRUE(state.Accept(poisoned[0], NOW));
  }
  auto again = routing::OpenHealedStore(m_dir / "store.db", NOW);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->healed, 0);
  EXPECT_TRUE(*again->store.HasMessage(poisoned[0].id));
}

// A clock far behind at the heal (a machine booting in 1970) keeps the honest messages: each is
// judged at the later of now and its arrival time. A sequence nobody can exceed is still removed.
TEST_F(RoutingStateTest, HealWithAClockFarBehindKeepsHonestMessages) {
  auto node = Key(1);
  RepoBody repo;
  repo.timestamp_ms = NOW;
  repo.root_commit = Bytes(20, 9);
  repo.creator = node.public_key();
  repo.repo_id = identity::ComputeRepoId(repo.root_commit, repo.creator);
  repo.name = "r";
  repo.delegates = {repo.creator};
  repo.default_branch = "main";
  repo.sequence = NOW;
  auto honest = SignMessage(node, repo);
  auto frozen = SignMessage(Key(2), RefsBody{NOW, repo.repo_id, {{"heads/main", Bytes(20, 1)}}, MAX_COUNTER_VALUE});
  {
    storage::Store store = Open();
    routing::StoreRoutingState state(store);
    ASSERT_TRUE(state.Accept(honest, NOW));
    ASSERT_TRUE(state.Accept(frozen, NOW));
  }
  auto opened = routing::OpenHealedStore(m_dir / "store.db", 0);
  ASSERT_TRUE(opened.ok()) << opened.message();
  EXPECT_EQ(opened->healed, 1);
  EXPECT_TRUE(*opened->store.HasMessage(honest.id));
  EXPECT_FALSE(*opened->store.HasMessage(frozen.id));
}
