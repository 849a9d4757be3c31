// `p2pgit id`, `did`, `repo-id` as a user runs them: real binary, temporary homes, real git.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/run_command.h"

using namespace p2pgit::test;
namespace fs = std::filesystem;

namespace {

class CliIdentity : public testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::path(testing::TempDir()) / ("p2pgit-cli-id-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    m_home = m_dir / "home";
  }
  void TearDown() override { fs::remove_all(m_dir); }

  CommandOutput P2pgit(const std::string& args) {
    return RunCommand("P2PGIT_HOME=" + ShellQuote(m_home.string()) + " " + P2pgitBinary() + " " + args);
  }
  static void ExpectOneLineError(const CommandOutput& r, int exit_code, const std::string& fragment) {
    EXPECT_EQ(r.exit_code, exit_code) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }

  fs::path m_dir;
  fs::path m_home;
};

TEST_F(CliIdentity, IdIsStableAndKeyIsPrivate) {
  auto first = P2pgit("id --json");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto json = nlohmann::json::parse(first.out);
  std::string node_id = json.at("node_id");
  std::string public_key = json.at("public_key");
  EXPECT_EQ(node_id.rfind("did:key:z6Mk", 0), 0u);
  EXPECT_EQ(public_key.size(), 64u);
  auto second = P2pgit("id --json");
  EXPECT_EQ(second.out, first.out);
  auto plain = P2pgit("id");
  EXPECT_EQ(plain.out, node_id + "\n");

  struct stat st {};
  ASSERT_EQ(::stat((m_home / "node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(m_home.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // did encode/decode agree with id.
  EXPECT_EQ(P2pgit("did encode " + public_key).out, node_id + "\n");
  EXPECT_EQ(P2pgit("did decode " + node_id).out, public_key + "\n");

  ::chmod((m_home / "node.key").c_str(), 0644);
  ExpectOneLineError(P2pgit("id"), 1, "chmod 600");
}

TEST_F(CliIdentity, MalformedIdsGetOneLineErrors) {
  ExpectOneLineError(P2pgit("did decode did:key:zQmW8QYFL8YRxq0QNqSLCVJvEoDuCgZQpL9FxT3p2ZbwU9o"), 1, "base58btc");
  ExpectOneLineError(P2pgit("did decode did:web:example.com"), 1, "did:key:");
  ExpectOneLineError(P2pgit("did decode did:key:zTjsVPtY"), 1, "32");
  ExpectOneLineError(P2pgit("did encode abcd"), 2, "64 hex");
  ExpectOneLineError(P2pgit("did encode " + std::string(64, 'g')), 2, "64 hex");
  ExpectOneLineError(P2pgit("repo-id 0123 did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"), 2, "root commit");
  ExpectOneLineError(P2pgit("repo-id 0123456789012345678901234567890123456789 did:key:nope"), 1, "creator");
  ExpectOneLineError(P2pgit("repo-id --path " + m_dir.string()), 1, "not a git repository");
  ExpectOneLineError(P2pgit("no-such-command"), 2, "no-such-command");
  ExpectOneLineError(P2pgit(""), 2, "command");
}

TEST_F(CliIdentity, HelpOnEveryCommand) {
  for (const char* cmd : {"", "id", "did", "did encode", "did decode", "repo-id", "message", "message sign-node", "message verify"}) {
    auto r = P2pgit(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
}

TEST_F(CliIdentity, RepoIdMatchesFormulaForRepoWithMergesAndSeveralRoots) {
  fs::path repo = m_dir / "work";
  std::string git = "git -C " + ShellQuote(repo.string()) +
                    " -c user.name=Test -c user.email=test@example.com -c commit.gpgsign=false ";
  ASSERT_EQ(RunCommand("git init -q -b main " + ShellQuote(repo.string())).exit_code, 0);
  ASSERT_EQ(RunCommand(git + "commit -q --allow-empty -m root").exit_code, 0);
  auto root = RunCommand(git + "rev-parse HEAD");
  ASSERT_EQ(root.exit_code, 0);
  ASSERT_EQ(RunCommand(git + "commit -q --allow-empty -m second").exit_code, 0);
  // An unrelated history merged in: its root must not be the one chosen (first parents only).
  ASSERT_EQ(RunCommand(git + "checkout -q --orphan other").exit_code, 0);
  ASSERT_EQ(RunCommand(git + "commit -q --allow-empty -m other-root").exit_code, 0);
  ASSERT_EQ(RunCommand(git + "checkout -q main").exit_code, 0);
  ASSERT_EQ(RunCommand(git + "merge -q --allow-unrelated-histories -m merge other").exit_code, 0);

  auto id = P2pgit("id --json");
  std::string public_key = nlohmann::json::parse(id.out).at("public_key");
  std::string root_hex = root.out.substr(0, 40);

  auto by_path = P2pgit("repo-id --path " + ShellQuote(repo.string()));
  ASSERT_EQ(by_path.exit_code, 0) << by_path.err;
  auto by_parts = P2pgit("repo-id " + root_hex + " " + nlohmann::json::parse(id.out).at("node_id").get<std::string>());
  EXPECT_EQ(by_path.out, by_parts.out);

  // Independent computation (Python hashlib + its own base58).
  auto independent = RunCommand("echo 'repoid " + root_hex + " " + public_key + "' | " + P2PGIT_PYTHON + " " +
                                P2PGIT_SOURCE_DIR + "/tests/vectors/ids.py");
  EXPECT_EQ(by_path.out, independent.out);
  EXPECT_EQ(by_path.out.rfind("did:repo:z", 0), 0u);
}

TEST_F(CliIdentity, RepoIdOfEmptyRepoIsAClearError) {
  fs::path repo = m_dir / "empty";
  ASSERT_EQ(RunCommand("git init -q -b main " + ShellQuote(repo.string())).exit_code, 0);
  ExpectOneLineError(P2pgit("repo-id --path " + ShellQuote(repo.string())), 1, "no commits");
}

TEST_F(CliIdentity, SignedMessageVerifiesAndTamperedOneIsRefused) {
  auto signed_msg = P2pgit("message sign-node --alias e2e --address 127.0.0.1:7000 --address [::1]:7001 --relay");
  ASSERT_EQ(signed_msg.exit_code, 0) << signed_msg.err;
  std::string hex = signed_msg.out.substr(0, signed_msg.out.size() - 1);
  auto verified = P2pgit("message verify " + hex);
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  auto json = nlohmann::json::parse(verified.out);
  EXPECT_EQ(json.at("type"), "node");
  EXPECT_EQ(json.at("author"), P2pgit("id").out.substr(0, P2pgit("id").out.size() - 1));
  EXPECT_EQ(json.at("body").at("alias"), "e2e");
  EXPECT_EQ(json.at("body").at("addresses").size(), 2u);
  EXPECT_EQ(json.at("body").at("relay"), true);

  std::string tampered = hex;
  tampered[100] = tampered[100] == '0' ? '1' : '0';  // inside the signature
  ExpectOneLineError(P2pgit("message verify " + tampered), 1, "bad-signature");
  ExpectOneLineError(P2pgit("message verify " + hex.substr(0, 40)), 1, "truncated");
  ExpectOneLineError(P2pgit("message verify zz"), 2, "hex");
  ExpectOneLineError(P2pgit("message verify 8501"), 1, "refused");
  ExpectOneLineError(P2pgit("message sign-node --address 0.0.0.0:1"), 2, "0.0.0.0");
  ExpectOneLineError(P2pgit("message sign-node --address nope"), 2, "HOST:PORT");
}

}  // namespace
