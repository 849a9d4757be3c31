// Working-copy operations with real git in temporary repositories: the merge rule's git part
// (BroughtInByMove), branch names from untrusted payloads refused before git runs, and the git
// 2.39 behaviours the code relies on to keep a name from being read as an option (`git switch`
// and `git branch` honour --end-of-options; `git checkout` does not).
#include <gtest/gtest.h>

#include <cstdlib>

#include "git/working_copy.h"
#include "git_test_fixture.h"

using namespace p2pgit;
using namespace p2pgit::test;
namespace fs = std::filesystem;

namespace {

class WorkingCopy : public GitTest {
 protected:
  void SetUp() override {
    GitTest::SetUp();
    // MergeInto runs git from this process: a fresh machine has no git identity, so every git
    // child of the test gets one (the shell commands get GIT_TEST_ENV).
    for (const auto& [name, value] :
         {std::pair{"GIT_AUTHOR_NAME", "Test Author"}, std::pair{"GIT_AUTHOR_EMAIL", "author@example.org"},
          std::pair{"GIT_COMMITTER_NAME", "Test Committer"}, std::pair{"GIT_COMMITTER_EMAIL", "committer@example.org"}})
      ::setenv(name, value, 1);
    m_work = MakeWorkRepo("work", 1);
    m_git = m_work / ".git";
  }

  /** A commit on branch `branch` (created from `from` when new) of the work repo; returns it. */
  Bytes CommitOn(const std::string& branch, const std::string& from, const std::string& tag) {
    Sh("cd " + ShellQuote(m_work.string()) + " && git checkout -q " + (from.empty() ? "" : "-b ") +
       ShellQuote(branch) + (from.empty() ? "" : " " + ShellQuote(from)) + " && echo " + tag + " > " + tag +
       ".txt && git add -A && git commit -q -m " + tag);
    return Oid(m_git, "HEAD");
  }

  std::string SymbolicHead() {
    std::string out = Sh("git -C " + ShellQuote(m_work.string()) + " symbolic-ref -q HEAD");
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  fs::path m_work, m_git;
};

// ---- the merge rule ----------------------------------------------------------------------------

TEST_F(WorkingCopy, HeadAlreadyOnTheOldTipIsNotBroughtIn) {
  // The false-merge attack: a stranger's patch names a commit main already held; the delegate
  // then pushes an unrelated commit. The move did not bring the patch's head in.
  Bytes old_tip = Oid(m_git, "main");
  Bytes new_tip = CommitOn("main", "", "unrelated");
  auto r = git::BroughtInByMove(m_git, old_tip, old_tip, new_tip);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_FALSE(*r);
  Bytes older = Oid(m_git, "main~1");
  auto ancestor = git::BroughtInByMove(m_git, older, old_tip, new_tip);
  ASSERT_TRUE(ancestor.ok());
  EXPECT_FALSE(*ancestor);
}

TEST_F(WorkingCopy, HeadReachableOnlyFromTheNewTipIsBroughtIn) {
  Bytes old_tip = Oid(m_git, "main");
  Bytes patch_head = CommitOn("fix", "main", "fix");
  Sh("cd " + ShellQuote(m_work.string()) + " && git checkout -q main && echo other > other.txt && git add -A && "
     "git commit -q -m other && git merge -q --no-edit fix");
  Bytes merge = Oid(m_git, "main");
  auto merged = git::BroughtInByMove(m_git, patch_head, old_tip, merge);
  ASSERT_TRUE(merged.ok()) << merged.message();
  EXPECT_TRUE(*merged);
  // Equal to the new tip (a fast-forward) counts: ancestor-or-equal.
  auto ff = git::BroughtInByMove(m_git, patch_head, old_tip, patch_head);
  ASSERT_TRUE(ff.ok());
  EXPECT_TRUE(*ff);
}

TEST_F(WorkingCopy, UnrelatedHeadIsNotBroughtIn) {
  Bytes old_tip = Oid(m_git, "main");
  Bytes side = CommitOn("side", "main", "side");
  Bytes new_tip = CommitOn("main", "", "next");
  auto r = git::BroughtInByMove(m_git, side, old_tip, new_tip);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST_F(WorkingCopy, NewBranchBringsInWhatItContains) {
  Bytes head = Oid(m_git, "main");
  Bytes tip = CommitOn("dev", "main", "dev");
  auto in = git::BroughtInByMove(m_git, head, std::nullopt, tip);
  ASSERT_TRUE(in.ok());
  EXPECT_TRUE(*in);
  Bytes side = CommitOn("side", "main", "side");
  auto out = git::BroughtInByMove(m_git, side, std::nullopt, tip);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(*out);
}

TEST_F(WorkingCopy, MissingObjectIsAnErrorNotAMerge) {
  Bytes tip = Oid(m_git, "main");
  auto r = git::BroughtInByMove(m_git, Bytes(20, 0x42), std::nullopt, tip);
  EXPECT_FALSE(r.ok() && *r);
}

// ---- branch names from payloads ----------------------------------------------------------------

TEST_F(WorkingCopy, MergeIntoRefusesOptionLikeBranchesBeforeGitRuns) {
  Bytes head = Oid(m_git, "main");
  for (const std::string branch : {"-f", "--upload-pack=x", "a..b", "x\x01y", "", "main/", "with space"}) {
    auto r = git::MergeInto(m_work, branch, head, "m");
    ASSERT_FALSE(r.ok()) << branch;
    EXPECT_EQ(r.code(), git::GitError::InvalidArgument) << branch << ": " << r.message();
  }
  auto b = git::CreateBranch(m_work, "-f", head, true);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.code(), git::GitError::InvalidArgument);
  EXPECT_EQ(SymbolicHead(), "refs/heads/main");
}

TEST_F(WorkingCopy, MergeIntoMergesAnHonestBranch) {
  Bytes base = Oid(m_git, "main");
  Bytes patch_head = CommitOn("fix", "main", "fix");
  // Fast-forward, from another branch checked out.
  auto ff = git::MergeInto(m_work, "main", patch_head, "Merge patch");
  ASSERT_TRUE(ff.ok()) << ff.message();
  EXPECT_EQ(*ff, patch_head);
  EXPECT_EQ(SymbolicHead(), "refs/heads/main");
  EXPECT_EQ(Oid(m_git, "main"), patch_head);
  // A merge commit when main moved on.
  Sh("cd " + ShellQuote(m_work.string()) + " && git checkout -q -b side " + ToHex(base) +
     " && echo s > s.txt && git add -A && git commit -q -m s");
  Bytes side = Oid(m_git, "side");
  auto merge = git::MergeInto(m_work, "main", side, "Merge side");
  ASSERT_TRUE(merge.ok()) << merge.message();
  EXPECT_EQ(Oid(m_git, "main"), *merge);
  EXPECT_EQ(Rev(m_git, "main^1"), ToHex(patch_head));
  EXPECT_EQ(Rev(m_git, "main^2"), ToHex(side));
}

TEST_F(WorkingCopy, CreateBranchMovesAPatchBranch) {
  Bytes first = Oid(m_git, "main");
  ASSERT_TRUE(git::CreateBranch(m_work, "patch/abcdef0", first).ok());
  Bytes second = CommitOn("main", "", "second");
  EXPECT_FALSE(git::CreateBranch(m_work, "patch/abcdef0", second).ok());  // exists, no force
  ASSERT_TRUE(git::CreateBranch(m_work, "patch/abcdef0", second, true).ok());
  EXPECT_EQ(Oid(m_git, "refs/heads/patch/abcdef0"), second);
}

// ---- what git 2.39 does with --end-of-options (the code relies on it) -------------------------

TEST_F(WorkingCopy, GitSwitchHonoursEndOfOptions) {
  // A branch literally named "-f" (git's porcelain refuses to create one; update-ref does not).
  Sh("git -C " + ShellQuote(m_work.string()) + " update-ref refs/heads/-f HEAD");
  Sh("git -C " + ShellQuote(m_work.string()) + " switch -q --end-of-options -f");
  EXPECT_EQ(SymbolicHead(), "refs/heads/-f");  // a branch, not --force
}

TEST_F(WorkingCopy, GitBranchHonoursEndOfOptions) {
  Sh("git -C " + ShellQuote(m_work.string()) + " branch victim");
  // Read as options, "-D victim" would delete the branch; after --end-of-options it is a name
  // git refuses.
  auto r = RunCommand(std::string(GIT_TEST_ENV) + "git -C " + ShellQuote(m_work.string()) +
                      " branch --end-of-options -D victim");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(Refs(m_git).find("refs/heads/victim"), std::string::npos);
}

TEST_F(WorkingCopy, GitCheckoutDoesNotHonourEndOfOptions) {
  // Why MergeInto uses `git switch`: checkout takes what follows --end-of-options as pathspecs.
  Sh("git -C " + ShellQuote(m_work.string()) + " branch other");
  auto r = RunCommand(std::string(GIT_TEST_ENV) + "git -C " + ShellQuote(m_work.string()) +
                      " checkout -q --end-of-options other");
  if (r.exit_code == 0 && SymbolicHead() == "refs/heads/other")
    GTEST_SKIP() << "this git's checkout honours --end-of-options (newer than 2.39)";
  EXPECT_EQ(SymbolicHead(), "refs/heads/main");
}

}  // namespace
