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

TEST_F(AdmissionTest, FutureDatedIsRefusedNotHeldAndNotMisbehaviour) {
  auto future = SignMessage(Key(1), NodeBody{NOW + MAX_CLOCK_SKEW_MS + 1, {}, false, "f", 1});
  auto result = m_admission.Admit(future.encoded, NOW);
  EXPECT_EQ(result.verdict, Verdict::FromFuture) << result.reason;
  EXPECT_FALSE(result.message.has_value());
  EXPECT_FALSE(IsMisbehaviour(Verdict::FromFuture));
  EXPECT_EQ(m_state.message_count(), 0u);
  EXPECT_EQ(m_admission.counters().signature_checks, 0u);  // refused before the costly check
  // Not remembered as seen: offered again once our clock has caught up, it is accepted.
  EXPECT_EQ(Admit(future, NOW + 1), Verdict::Accepted);
  // At the edge exactly: accepted.
  EXPECT_EQ(Admit(SignMessage(Key(2), NodeBody{NOW + MAX_CLOCK_SKEW_MS, {}, false, "e", 1})), Verdict::Accepted);
  // A timestamp far in the future on any type, activity included.
  EXPECT_EQ(Admit(SignMessage(Key(1), ActivityBody{MAX_COUNTER_VALUE, Repo(Key(1), 1).repo_id, {Bytes(32, 7)},
                                                   "issue.comment", 1, {}})),
            Verdict::FromFuture);
  EXPECT_EQ(m_admission.counters().by_verdict.at(Verdict::FromFuture), 2u);
}

TEST_F(AdmissionTest, SequenceMayNotRunAheadOfTheClock) {
  auto creator = Key(1);
  auto delegate = Key(2);
  auto repo = Repo(creator, NOW, {delegate.public_key()});
  ASSERT_EQ(Admit(SignMessage(creator, repo)), Verdict::Accepted);
  // Refs and Inventory: at most now + MAX_CLOCK_SKEW_MS, read as Unix ms.
  EXPECT_EQ(Admit(SignMessage(delegate, RefsBody{NOW, repo.repo_id, {}, NOW + MAX_CLOCK_SKEW_MS + 1})),
            Verdict::FromFuture);
  EXPECT_EQ(Admit(SignMessage(delegate, RefsBody{NOW, repo.repo_id, {}, MAX_COUNTER_VALUE})), Verdict::FromFuture);
  EXPECT_EQ(Admit(SignMessage(delegate, RefsBody{NOW, repo.repo_id, {}, NOW + MAX_CLOCK_SKEW_MS})), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(delegate, InventoryBody{NOW, {}, NOW + MAX_CLOCK_SKEW_MS + 1, 0, 1})),
            Verdict::FromFuture);
  EXPECT_EQ(Admit(SignMessage(delegate, InventoryBody{NOW, {}, NOW, 0, 1})), Verdict::Accepted);
  // The attack: a delegate's Repo message with sequence 2^63-1 would freeze the record forever.
  auto frozen = Repo(creator, MAX_COUNTER_VALUE, {delegate.public_key()});
  EXPECT_EQ(Admit(SignMessage(delegate, frozen)), Verdict::FromFuture);
  auto too_far = Repo(creator, NOW + MAX_CLOCK_SKEW_MS + 1, {delegate.public_key()});
  EXPECT_EQ(Admit(SignMessage(delegate, too_far)), Verdict::FromFuture);
  // A delegate at the very edge of its allowance...
  auto edge = Repo(creator, NOW + MAX_CLOCK_SKEW_MS, {delegate.public_key()});
  EXPECT_EQ(Admit(SignMessage(delegate, edge)), Verdict::Accepted);
  // ...is outrun at once by the creator's next message, max(previous + 1, now), which removes it.
  auto removal = Repo(creator, std::max(edge.sequence + 1, NOW));
  EXPECT_EQ(Admit(SignMessage(creator, removal)), Verdict::Accepted);
  EXPECT_EQ(m_state.LatestRepo(repo.repo_id)->delegates.size(), 1u);
  // The creator's own allowance ends at now + 2 x MAX_CLOCK_SKEW_MS.
  EXPECT_EQ(Admit(SignMessage(creator, Repo(creator, NOW + MAX_CREATOR_REPO_SEQUENCE_LEAD_MS))), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(creator, Repo(creator, NOW + MAX_CREATOR_REPO_SEQUENCE_LEAD_MS + 1)), NOW),
            Verdict::FromFuture);
  EXPECT_FALSE(IsMisbehaviour(Verdict::FromFuture));
}

TEST_F(AdmissionTest, SmallSequencesOfOldStoresStayValid) {
  auto repo = Repo(Key(1), 1);
  EXPECT_EQ(Admit(SignMessage(Key(1), repo)), Verdict::Accepted);
  EXPECT_EQ(Admit(SignMessage(Key(1), RefsBody{NOW, repo.repo_id, {}, 1})), Verdict::Accepted);
  // The next message, signed with max(previous + 1, now), supersedes them.
  EXPECT_EQ(Admit(SignMessage(Key(1), RefsBody{NOW, repo.repo_id, {}, std::max<uint64_t>(2, NOW)})), Verdict::Accepted);
}

TEST_F(AdmissionTest, Sha256IdsAreUnsupportedNotMisbehaviour) {
  RepoBody repo = Repo(Key(1), 1);
  repo.root_commit = Bytes(32, 0x42);
  repo.repo_id = identity::ComputeRepoId(repo.root_commit, repo.creator);
  auto result = m_admission.Admit(SignMessage(Key(1), repo).encoded, NOW);
  EXPECT_EQ(result.verdict, Verdict::Unsupported) << result.reason;
  EXPECT_FALSE(IsMisbehaviour(Verdict::Unsupported));
  auto sha1 = Repo(Key(1), 1);
  EXPECT_EQ(Admit(SignMessage(Key(2), RefsBody{NOW, repo.repo_id, {{"heads/main", Bytes(32, 1)}}, 1})),
            Verdict::Unsupported);
  EXPECT_EQ(Admit(SignMessage(Key(2), RefsBody{NOW, sha1.repo_id, {{"heads/main", Bytes(20, 1)}}, 1})),
            Verdict::Accepted);
  EXPECT_EQ(m_state.message_count(), 1u);
}

TEST_F(AdmissionTest, OidsDisagreeingWithTheRepoAreMisbehaviour) {
  auto repo = Repo(Key(1), 1);
  ASSERT_EQ(Admit(SignMessage(Key(1), repo)), Verdict::Accepted);
  auto result = m_admission.Admit(
      SignMessage(Key(2), RefsBody{NOW, repo.repo_id, {{"heads/main", Bytes(32, 1)}}, 1}).encoded, NOW);
  EXPECT_EQ(result.verdict, Verdict::Malformed) << result.reason;
  EXPECT_TRUE(IsMisbehaviour(result.verdict));
  RefsBody refs{NOW, repo.repo_id, {{"heads/main", Bytes(20, 1)}}, 1};
  EXPECT_FALSE(CheckOidsMatchRepo(refs, repo).has_value());
  refs.refs[0].oid = Bytes(32, 1);
  EXPECT_EQ(CheckOidsMatchRepo(refs, repo)->verdict, Verdict::Malformed);
}

TEST_F(AdmissionTest, RefNamePolicyBreachIsMisbehaviour) {
  auto repo = Repo(Key(1), 1);
  for (const char* bad : {"notes/x", "heads/-x", "heads/@", "remotes/x"}) {
    auto result =
        m_admission.Admit(SignMessage(Key(2), RefsBody{NOW, repo.repo_id, {{bad, Bytes(20, 1)}}, 1}).encoded, NOW);
    EXPECT_EQ(result.verdict, Verdict::Malformed) << bad;
    EXPECT_TRUE(IsMisbehaviour(result.verdict));
  }
  auto conflict = SignMessage(Key(2), RefsBody{NOW, repo.repo_id, {{"heads/a", Bytes(20, 1)}, {"heads/a/b", Bytes(20, 2)}}, 1});
  EXPECT_EQ(Admit(conflict), Verdict::Malformed);
  EXPECT_EQ(m_state.message_count(), 0u);
}
