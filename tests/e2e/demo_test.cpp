// The README's main command, run as written (with this build's binaries): a relay and two nodes
// on loopback, share, offline clone through stock git, push, catch-up. A must end up holding B's
// commit under refs/nodes/<B>/.
#include <gtest/gtest.h>

#include <regex>

#include "support/run_command.h"

using namespace p2pgit::test;

TEST(Demo, ReadmeDemoEndsWithBsCommitInAsStore) {
  auto out = RunCommand("P2PGIT_DEMO_BIN=" + ShellQuote(P2PGIT_BIN_DIR) + " timeout 300 " +
                        ShellQuote(std::string(P2PGIT_SOURCE_DIR) + "/scripts/demo.sh"));
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  std::smatch b;
  ASSERT_TRUE(std::regex_search(out.out, b, std::regex("B: did:key:(z6Mk[1-9A-HJ-NP-Za-km-z]+)"))) << out.out;
  std::smatch held;
  ASSERT_TRUE(std::regex_search(out.out, held, std::regex("A holds B's commit ([0-9a-f]{40}) under refs/nodes/(z6Mk[1-9A-HJ-NP-Za-km-z]+)/heads/main")))
      << out.out;
  EXPECT_EQ(held[2].str(), b[1].str());
  // The commit A holds is the one B pushed ("B: greet too"), shown through mega://.
  EXPECT_NE(out.out.find("B: greet too"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find(held[1].str() + " "), std::string::npos);
}
