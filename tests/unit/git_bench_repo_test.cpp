// The benchmark's repository generator, at its tiny size: deterministic (same ids twice),
// a valid history, tags every 1000 commits only at full size.
#include <gtest/gtest.h>

#include "git_test_fixture.h"

using p2pgit::test::GitTest;
using p2pgit::test::ShellQuote;

namespace {

class GitBenchRepoTest : public GitTest {};

TEST_F(GitBenchRepoTest, TinyRepositoryIsDeterministicAndValid) {
  std::string script = std::string(P2PGIT_SOURCE_DIR) + "/bench/make_bench_repo.sh";
  std::string env = "XDG_CACHE_HOME=" + ShellQuote(Dir("cache").string()) + " ";
  Sh(env + ShellQuote(script) + " " + ShellQuote(Dir("one").string()) + " --tiny 2>/dev/null");
  Sh(env + ShellQuote(script) + " " + ShellQuote(Dir("two").string()) + " --tiny 2>/dev/null");
  auto one = Dir("one") / ".git";
  EXPECT_EQ(Sh("git --git-dir=" + ShellQuote(one.string()) + " rev-list --count main"), "200\n");
  EXPECT_EQ(Rev(one, "main"), Rev(Dir("two") / ".git", "main"));
  EXPECT_EQ(Sh("git --git-dir=" + ShellQuote(one.string()) + " rev-list --max-parents=0 main | wc -l"), "1\n");
  // Checked out, and files were edited as well as added.
  EXPECT_TRUE(std::filesystem::is_directory(Dir("one") / "src"));
  EXPECT_NE(Sh("git --git-dir=" + ShellQuote(one.string()) + " log --diff-filter=M --format=%h main | wc -l"), "0\n");
  ExpectFsckClean(one);
  // An existing target is refused, not overwritten.
  auto again = p2pgit::test::RunCommand(env + ShellQuote(script) + " " + ShellQuote(Dir("one").string()) + " --tiny");
  EXPECT_NE(again.exit_code, 0);
}

}  // namespace
