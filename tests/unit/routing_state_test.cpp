// Admitted gossip lands in the SQLite routing tables and survives a restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "gossip/admission.h"
#include "routing/routing_state.h"

using namespace p2pgit;
using namespace p2pgit::wire;

namespace {

constexpr uint64_t NOW = 1'800'000'000'000;

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
