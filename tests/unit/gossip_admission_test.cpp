#include <gtest/gtest.h>

#include "gossip/admission.h"
#include "wire/detail/cbor.h"

using namespace p2pgit;
using namespace p2pgit::gossip;
using namespace p2pgit::wire;

namespace {

constexpr uint64_t NOW = 1'800'000'000'000;

identity::NodeKey Key(uint8_t n) {
  identity::Seed seed{};
  seed.fill(n);
  return identity::NodeKey::FromSeed(seed);
}

RepoBody Repo(const identity::NodeKey& creator, uint64_t sequence, std::vector<PublicKey> extra_delegates = {}) {
  RepoBody b;
  b.timestamp_ms = NOW;
  b.root_commit = Bytes(20, 0x42);
  b.creator = creator.public_key();
  b.repo_id = identity::ComputeRepoId(b.root_commit, b.creator);
  b.name = "r";
  b.delegates = {b.creator};
  b.delegates.insert(b.delegates.end(), extra_delegates.begin(), extra_delegates.end());
  b.default_branch = "main";
  b.sequence = sequence;
  return b;
}

class AdmissionTest : public testing::Test {
 protected:
  Verdict Admit(const SignedMessage& m, uint64_t now = NOW) { return m_admission.Admit(m.encoded, now).verdict; }
  MemoryGossipState m_state;
  Admission m_admission{m_state};
};

}  // namespace

TEST_F(AdmissionTest, AcceptsOnceThenDuplicate) {
  auto m = SignMessage(Key(1), NodeBody{NOW, {{"127.0.0.1", 1}}, false, "a", 1});
  EXPECT_EQ(Admit(m), Verdict::Accepted);
  EXPECT_EQ(Admit(m), Verdict::Duplicate);
  EXPECT_EQ(m_state.message_count(), 1u);
  EXPECT_EQ(m_admission.counters().signature_checks, 1u);  // the duplicate cost no signature check
}

TEST_F(AdmissionTest, NodeKeepsNewestPerAuthor) {
  EXPECT_EQ(Admit(SignMessage(Key(1), NodeBody{NOW, {}, false, "new", 1})), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(Key(1), NodeBody{NOW - 1000, {}, false, "old", 1})), Verdict::Superseded);
  EXPECT_EQ(Admit(SignMessage(Key(2), NodeBody{NOW - 1000, {}, false, "other", 1})), Verdict::Accepted);
}

TEST_F(AdmissionTest, RefsNeedStrictlyIncreasingSequencePerAuthorAndRepo) {
  auto repo = Repo(Key(1), 1);
  EXPECT_EQ(Admit(SignMessage(Key(1), RefsBody{NOW, repo.repo_id, {}, 5})), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(Key(1), RefsBody{NOW + 1, repo.repo_id, {}, 5})), Verdict::Superseded);
  EXPECT_EQ(Admit(SignMessage(Key(1), RefsBody{NOW + 2, repo.repo_id, {}, 4})), Verdict::Superseded);
  EXPECT_EQ(Admit(SignMessage(Key(1), RefsBody{NOW + 3, repo.repo_id, {}, 6})), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(Key(2), RefsBody{NOW, repo.repo_id, {}, 1})), Verdict::Accepted);  // own namespace
}

TEST_F(AdmissionTest, InventoryKeepsNewestPerAuthorAndPage) {
  EXPECT_EQ(Admit(SignMessage(Key(1), InventoryBody{NOW, {}, 2, 0, 2})), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(Key(1), InventoryBody{NOW, {}, 2, 1, 2})), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(Key(1), InventoryBody{NOW + 5, {}, 1, 0, 1})), Verdict::Superseded);
}

TEST_F(AdmissionTest, ActivityIsNeverSuperseded) {
  auto repo = Repo(Key(1), 1);
  Bytes root(repo.repo_id.multihash.begin(), repo.repo_id.multihash.end());
  EXPECT_EQ(Admit(SignMessage(Key(2), ActivityBody{NOW, repo.repo_id, {root}, "issue.create", 1, {1}})), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(Key(2), ActivityBody{NOW - 5, repo.repo_id, {root}, "issue.create", 1, {2}})), Verdict::Accepted);
}

TEST_F(AdmissionTest, RepoNeedsCreatorOrCurrentDelegate) {
  auto creator = Key(1);
  auto delegate = Key(2);
  auto stranger = Key(3);
  // A delegate's message before any creator message is refused: nobody made it a delegate yet.
  auto early = Repo(creator, 1, {delegate.public_key()});
  EXPECT_EQ(Admit(SignMessage(delegate, early)), Verdict::Unauthorized);
  EXPECT_EQ(Admit(SignMessage(creator, Repo(creator, 2, {delegate.public_key()}))), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(delegate, Repo(creator, 3, {delegate.public_key()}))), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(stranger, Repo(creator, 4, {delegate.public_key()}))), Verdict::Unauthorized);
  EXPECT_EQ(Admit(SignMessage(creator, Repo(creator, 3))), Verdict::Superseded);
  EXPECT_FALSE(IsMisbehaviour(Verdict::Unauthorized));
}

TEST_F(AdmissionTest, ForgedSignatureIsMisbehaviourAndNotStored) {
  auto m = SignMessage(Key(1), NodeBody{NOW, {}, false, "a", 1});
  m.encoded[40] ^= 1;  // inside the signature
  auto result = m_admission.Admit(m.encoded, NOW);
  EXPECT_EQ(result.verdict, Verdict::BadSignature);
  EXPECT_TRUE(IsMisbehaviour(result.verdict));
  EXPECT_EQ(m_state.message_count(), 0u);
  // The genuine message still gets in (a forgery never blocks it: different bytes, different id).
  EXPECT_EQ(Admit(SignMessage(Key(1), NodeBody{NOW, {}, false, "a", 1})), Verdict::Accepted);
}

TEST_F(AdmissionTest, MalformedAndUnknownTypeAreTold) {
  EXPECT_EQ(m_admission.Admit(Bytes{0x85, 0x01}, NOW).verdict, Verdict::Malformed);
  EXPECT_TRUE(IsMisbehaviour(Verdict::Malformed));
  auto m = SignMessage(Key(1), NodeBody{NOW, {}, false, "a", 1});
  Bytes unknown = m.encoded;
  unknown[2] = 0x09;  // type 9
  EXPECT_EQ(m_admission.Admit(unknown, NOW).verdict, Verdict::UnknownType);
  EXPECT_FALSE(IsMisbehaviour(Verdict::UnknownType));
  EXPECT_EQ(m_admission.counters().by_verdict.at(Verdict::UnknownType), 1u);
}

TEST_F(AdmissionTest, FutureDatedIsHeldThenAccepted) {
  auto future = SignMessage(Key(1), NodeBody{NOW + MAX_CLOCK_SKEW_MS + 60'000, {}, false, "f", 1});
  EXPECT_EQ(Admit(future), Verdict::Pending);
  EXPECT_EQ(Admit(future), Verdict::Duplicate);
  EXPECT_EQ(m_state.message_count(), 0u);
  EXPECT_TRUE(m_admission.ReleasePending(NOW + 30'000).empty());
  auto released = m_admission.ReleasePending(NOW + 60'000);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].verdict, Verdict::Accepted);
  EXPECT_EQ(m_state.message_count(), 1u);
  EXPECT_EQ(m_admission.pending_count(), 0u);
}

TEST_F(AdmissionTest, PendingIsBounded) {
  for (size_t i = 0; i < MAX_PENDING_MESSAGES + 50; ++i)
    EXPECT_EQ(Admit(SignMessage(Key(1), ActivityBody{NOW + MAX_CLOCK_SKEW_MS + 1000 + i, Repo(Key(1), 1).repo_id,
                                                     {Bytes(32, 7)}, "issue.comment", 1, {}})),
              Verdict::Pending);
  EXPECT_EQ(m_admission.pending_count(), MAX_PENDING_MESSAGES);
}
