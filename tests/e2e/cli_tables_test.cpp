// A signed announcement from one home, admitted into another through the real pipeline, shows
// in `p2pgit nodes`; forged and malformed ones are refused and change nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/run_command.h"

using namespace p2pgit::test;
namespace fs = std::filesystem;

namespace {
class CliTables : public testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::path(testing::TempDir()) / ("p2pgit-cli-tables-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  CommandOutput In(const std::string& home, const std::string& args) {
    return RunCommand("P2PGIT_HOME=" + ShellQuote((m_dir / home).string()) + " " + P2pgitBinary() + " " + args);
  }
  fs::path m_dir;
};
}  // namespace

TEST_F(CliTables, AdmittedNodeAnnouncementIsListedForgedOneIsNot) {
  auto signed_msg = In("a", "message sign-node --alias alice --address 127.0.0.1:9000 --address [::1]:9001 --relay");
  ASSERT_EQ(signed_msg.exit_code, 0) << signed_msg.err;
  std::string hex = signed_msg.out.substr(0, signed_msg.out.size() - 1);
  std::string a_id = In("a", "id").out;
  a_id.pop_back();

  auto empty = In("b", "nodes --json");
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(nlohmann::json::parse(empty.out).size(), 0u);

  std::string forged = hex;
  forged[100] = forged[100] == '0' ? '1' : '0';  // inside the signature
  auto refused = In("b", "message receive " + forged);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("bad-signature"), std::string::npos) << refused.err;
  EXPECT_EQ(nlohmann::json::parse(In("b", "nodes --json").out).size(), 0u);

  auto accepted = In("b", "message receive " + hex);
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_EQ(nlohmann::json::parse(accepted.out)["verdict"], "accepted");
  EXPECT_EQ(nlohmann::json::parse(In("b", "message receive " + hex).out)["verdict"], "duplicate");

  auto nodes = nlohmann::json::parse(In("b", "nodes --json").out);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0]["node_id"], a_id);
  EXPECT_EQ(nodes[0]["alias"], "alice");
  EXPECT_EQ(nodes[0]["relay"], true);
  EXPECT_EQ(nodes[0]["addresses"], nlohmann::json({"127.0.0.1:9000", "[::1]:9001"}));

  auto garbage = In("b", "message receive 00ff");
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_NE(garbage.err.find("malformed"), std::string::npos) << garbage.err;
  EXPECT_EQ(nlohmann::json::parse(In("b", "repos --json").out).size(), 0u);
}
