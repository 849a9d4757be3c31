// `cmake --install` puts both binaries in one bin folder, and the installed pair works: p2pgit
// answers, and git finds the remote helper for git+p2p:// URLs on PATH.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "support/run_command.h"

using namespace p2pgit::test;
namespace fs = std::filesystem;

TEST(Install, CmakeInstallPutsBothBinariesInOneFolder) {
  fs::path build = fs::path(P2PGIT_BIN_DIR).parent_path();
  fs::path prefix = fs::path(testing::TempDir()) / ("p2pgit-install-" + std::to_string(getpid()));
  fs::remove_all(prefix);
  auto install = RunCommand("cmake --install " + ShellQuote(build.string()) + " --prefix " + ShellQuote(prefix.string()));
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_TRUE(fs::exists(prefix / "bin" / "p2pgit"));
  EXPECT_TRUE(fs::exists(prefix / "bin" / "git-remote-git+p2p"));
  auto help = RunCommand(ShellQuote((prefix / "bin" / "p2pgit").string()) + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("clone"), std::string::npos);
  // git resolves the helper from PATH: a malformed URL reaches it and gets its one-line error.
  auto clone = RunCommand("cd " + ShellQuote(prefix.string()) + " && PATH=" + ShellQuote((prefix / "bin").string()) +
                          ":$PATH GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 git clone git+p2p://not-an-id x");
  EXPECT_NE(clone.exit_code, 0);
  EXPECT_NE(clone.err.find("fatal: git+p2p: invalid repo id"), std::string::npos) << clone.err;
  fs::remove_all(prefix);
}
