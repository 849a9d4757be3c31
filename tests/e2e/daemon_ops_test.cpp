// Running a daemon as an operator would: one daemon per home, and SIGTERM in the middle of a
// clone leaves the store and repositories usable (the next sync completes).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/store.h"
#include "support/node_fixture.h"

using namespace p2pgit;
using namespace p2pgit::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

class DaemonOps : public NodeFixture {
 protected:
  const char* Prefix() const override { return "ops"; }
  Child& Start(const std::string& name, const std::vector<std::string>& args, std::string* id = nullptr,
               std::string* address = nullptr) {
    return StartDaemon(name, args, id, address);
  }
};

}  // namespace

TEST_F(DaemonOps, SecondDaemonOnTheSameHomeIsRefused) {
  std::string id;
  Start("a", {"node"}, &id);
  ASSERT_FALSE(id.empty());
  auto second = P2pgit(Home("a"), "node");
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("error: a daemon is already running for"), std::string::npos) << second.err;
  EXPECT_EQ(std::count(second.err.begin(), second.err.end(), '\n'), 1) << second.err;
  // The first one still answers.
  EXPECT_EQ(P2pgit(Home("a"), "status").exit_code, 0);
  // A different home is a different node.
  std::string other;
  Start("b", {"node"}, &other);
  EXPECT_FALSE(other.empty());
  EXPECT_NE(other, id);
}

TEST_F(DaemonOps, SigtermDuringACloneLeavesTheStoreUsable) {
  std::string relay_id, relay_addr;
  Start("relay", {"relay", "--listen", "127.0.0.1:0"}, &relay_id, &relay_addr);
  ASSERT_FALSE(relay_addr.empty());
  std::string contact = relay_id + "@" + relay_addr;
  // A ~48 MB repository of incompressible content, shared without a daemon.
  std::string work = (m_dir / "work").string();
  // Exported: a prefix would apply only to the first command of the chain (a fresh machine has
  // no git identity for the `git commit` that follows).
  std::string env = "export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@e "
                    "GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@e; ";
  auto made = RunCommand(env + "git init -q -b main " + ShellQuote(work) + " && cd " + ShellQuote(work) +
                         " && for i in 1 2 3 4 5 6; do head -c 8000000 /dev/urandom > big$i; done && git add -A && git commit -qm big");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto shared = P2pgit(Home("a"), "share " + ShellQuote(work) + " --bootstrap " + contact + " --timeout 60");
  ASSERT_EQ(shared.exit_code, 0) << shared.err;
  std::string repo = shared.out.substr(0, shared.out.find('\n'));
  ASSERT_TRUE(Eventually([&] { return P2pgit(Home("relay"), "verify " + repo).exit_code == 0; }, 60s));

  // B's daemon runs the clone's fetch; SIGTERM it mid-transfer.
  fs::create_directories(Home("b"));
  fs::permissions(Home("b"), fs::perms::owner_all, fs::perm_options::replace);
  std::ofstream(Home("b") + "/config.toml") << "bootstrap = [\"" << contact << "\"]\n";
  std::string b_id;
  Child* b = &Start("b", {"node"}, &b_id);
  ASSERT_TRUE(Eventually([&] { return P2pgit(Home("b"), "status --json").out.find(relay_id) != std::string::npos; }, 10s));
  Child clone({"/bin/sh", "-c", "exec " + P2pgitBinary() + " clone " + repo + " " + ShellQuote((m_dir / "clone").string())},
              {"P2PGIT_HOME=" + Home("b")}, (m_dir / "clone.log").string());
  // Wait until the transfer has started (a quarantine exists in B's store), then stop B.
  fs::path storage = fs::path(Home("b")) / "repos" / (repo.substr(std::string("did:repo:").size()) + ".git");
  // Polled every 5 ms: the whole transfer takes well under a second here.
  bool started = false;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; !started && std::chrono::steady_clock::now() < deadline;) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(storage / "objects", ec))
      if (e.path().filename().string().rfind("incoming-", 0) == 0) started = true;
    if (!started) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(started) << "the transfer never started";
  b->Kill(SIGTERM);
  EXPECT_EQ(b->Wait(), 0) << "the daemon did not stop cleanly";
  EXPECT_NE(clone.Wait(), 0) << "the clone cannot have completed";

  {
    auto store = storage::Store::Open(fs::path(Home("b")) / "store.db");
    ASSERT_TRUE(store.ok()) << store.message();
    EXPECT_EQ(*store->IntegrityCheck(), "ok");
  }
  // No half-written refs: B's store has no namespace yet, and the next sync completes.
  auto refs = RunCommand("git --git-dir " + ShellQuote(storage.string()) + " for-each-ref refs/nodes/");
  EXPECT_EQ(refs.out, "");
  Start("b", {"node"});
  ASSERT_TRUE(Eventually([&] { return P2pgit(Home("b"), "status --json").out.find(relay_id) != std::string::npos; }, 10s));
  auto sync = P2pgit(Home("b"), "sync " + repo);
  EXPECT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_EQ(P2pgit(Home("b"), "verify " + repo).exit_code, 0);
}
