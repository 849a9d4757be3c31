// Verification helpers: RepoId against the history, connectivity, canonical branches of
// delegates; and that no git child outlives an operation.
#include <gtest/gtest.h>

#include <fstream>

#include "git/import.h"
#include "git/pack_transfer.h"
#include "git/verify.h"
#include "git_test_fixture.h"
#include "identity/did.h"

using namespace p2pgit;
using namespace p2pgit::git;
using p2pgit::test::GitTest;
using p2pgit::test::ShellQuote;

namespace {

class GitVerifyTest : public GitTest {};

Bytes B(uint8_t n) { return Bytes(20, n); }

TEST_F(GitVerifyTest, CanonicalRefAgreementAndDisagreement) {
  auto creator = Key(1), d2 = Key(2), d3 = Key(3);
  // All holders agree (d3 does not hold the branch): that tip.
  std::vector<NamespaceRefs> delegates = {{creator, {{"heads/main", B(1)}}}, {d2, {{"heads/main", B(1)}}}, {d3, {}}};
  auto agreed = ComputeCanonicalRef("heads/main", delegates);
  ASSERT_TRUE(agreed.oid);
  EXPECT_EQ(*agreed.oid, B(1));
  EXPECT_FALSE(agreed.disagreement);
  EXPECT_TRUE(agreed.dissenters.empty());

  // Disagreement: the creator's tip, the others named.
  delegates[2].refs = {{"heads/main", B(3)}};
  auto split = ComputeCanonicalRef("heads/main", delegates);
  ASSERT_TRUE(split.oid);
  EXPECT_EQ(*split.oid, B(1));
  EXPECT_TRUE(split.disagreement);
  EXPECT_EQ(split.dissenters, (std::vector<identity::PublicKey>{d3}));

  // Only non-creators hold it and they agree: that tip.
  std::vector<NamespaceRefs> no_creator = {{creator, {}}, {d2, {{"heads/dev", B(5)}}}, {d3, {{"heads/dev", B(5)}}}};
  EXPECT_EQ(*ComputeCanonicalRef("heads/dev", no_creator).oid, B(5));
  // … and they disagree: none, both named.
  no_creator[2].refs[0].oid = B(6);
  auto none = ComputeCanonicalRef("heads/dev", no_creator);
  EXPECT_FALSE(none.oid);
  EXPECT_TRUE(none.disagreement);
  EXPECT_EQ(none.dissenters.size(), 2u);
  // Nobody holds it.
  auto absent = ComputeCanonicalRef("heads/none", delegates);
  EXPECT_FALSE(absent.oid);
  EXPECT_FALSE(absent.disagreement);

  std::vector<NamespaceRefs> many = {{creator, {{"heads/main", B(1)}, {"tags/v1", B(7)}, {"patches/p", B(8)}}},
                                     {d2, {{"heads/main", B(2)}, {"heads/x", B(9)}}}};
  auto all = ComputeCanonicalRefs(many);
  ASSERT_EQ(all.size(), 3u);  // patches are not canonical refs
  EXPECT_EQ(all[0].name, "heads/main");
  EXPECT_TRUE(all[0].disagreement);
  EXPECT_EQ(all[1].name, "heads/x");
  EXPECT_EQ(*all[1].oid, B(9));
  EXPECT_EQ(all[2].name, "tags/v1");
}

TEST_F(GitVerifyTest, RepoIdFromAnyTipOfTheDefaultBranch) {
  auto work = MakeWorkRepo("work", 4);
  auto gitdir = work / ".git";
  Sh("cd " + ShellQuote(work.string()) + " && git tag -a v1 -m v1");
  Bytes root = Oid(gitdir, "main~3");
  auto id = identity::ComputeRepoId(root, Key(1));
  EXPECT_TRUE(VerifyRepoId(gitdir, Oid(gitdir, "main"), id, Key(1)));
  EXPECT_TRUE(VerifyRepoId(gitdir, Oid(gitdir, "v1"), id, Key(1)));  // a tag peels to its commit
  auto wrong_creator = VerifyRepoId(gitdir, Oid(gitdir, "main"), id, Key(2));
  EXPECT_EQ(wrong_creator.code(), GitError::RepoIdMismatch);
  EXPECT_NE(wrong_creator.message().find(ToHex(root)), std::string::npos);
  EXPECT_EQ(VerifyRepoId(gitdir, B(0xee), id, Key(1)).code(), GitError::Corrupt);
  EXPECT_EQ(VerifyRepoId(gitdir, Oid(gitdir, "main^{tree}"), id, Key(1)).code(), GitError::Corrupt);
}

TEST_F(GitVerifyTest, ConnectivityOfTips) {
  auto work = MakeWorkRepo("work", 3);
  // A bare copy with loose objects only (a push of < 100 objects is unpacked), so one can go.
  auto bare = Dir("bare.git");
  Sh("git init -q --bare " + ShellQuote(bare.string()) + " && cd " + ShellQuote(work.string()) +
     " && git push -q " + ShellQuote(bare.string()) + " main");
  Bytes tip = Oid(bare, "main");
  EXPECT_TRUE(CheckConnected(bare, {tip}));
  std::string blob = Rev(bare, "main~1:c-2.txt");
  ASSERT_TRUE(std::filesystem::remove(bare / "objects" / blob.substr(0, 2) / blob.substr(2)));
  auto st = CheckConnected(bare, {tip});
  EXPECT_EQ(st.code(), GitError::MissingObjects) << st.message();
  EXPECT_EQ(CheckConnected(bare, {Bytes(3, 1)}).code(), GitError::InvalidArgument);
}

/** Children of this process that are still around (zombies included). */
size_t ChildProcesses() {
  size_t n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "children");
    std::string pid;
    while (in >> pid) ++n;
  }
  return n;
}

TEST_F(GitVerifyTest, EveryGitChildIsReaped) {
  auto work = MakeWorkRepo("work", 5);
  size_t before = ChildProcesses();
  auto a = StorageRepo::OpenOrCreate(Dir("a.git"));
  auto imported = ImportWorkingRepo(*a, work);
  ASSERT_TRUE(imported);
  ASSERT_TRUE(a->SetNamespace(Key(1), imported->refs));
  auto b = StorageRepo::OpenOrCreate(Dir("b.git"));
  {
    auto receiver = PackReceiver::Start(*b);
    auto served = ServePack(*a, {imported->refs[0].oid}, {}, [&](ByteSpan bytes) {
      (void)receiver->Feed(bytes.first(bytes.size() / 2));
      return false;  // stop early: pack-objects is killed
    });
    EXPECT_EQ(served.code(), GitError::Cancelled);
  }  // receiver destroyed mid-pack: index-pack killed
  auto bad = PackReceiver::Start(*b);
  (void)bad->Feed(Bytes(100000, 'x'));
  (void)bad->Commit({});
  EXPECT_EQ(ChildProcesses(), before);
}

}  // namespace
