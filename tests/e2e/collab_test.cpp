// Collaboration between nodes that are rarely online together, on loopback with real daemons:
// B opens an issue while the owner A is offline and A sees it when back; B sends a patch with
// the seed's stock-git flow (`git push p2p HEAD:refs/patches`), A checks it out, merges with
// plain git and pushes: A's node signs the Merge itself and B sees the merge and the new head.
// A stranger's close changes nothing; a forged event is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "activity/events.h"
#include "identity/did.h"
#include "support/node_fixture.h"

using namespace p2pgit::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

class Collab : public NodeFixture {
 protected:
  const char* Prefix() const override { return "collab"; }
  std::string Env(const std::string& home) {
    // Exported, not a prefix: a prefix applies only to the first command of a `&&` chain, and a
    // fresh machine has no git identity for the commands after it.
    return "export P2PGIT_HOME=" + ShellQuote(home) + " PATH=" + ShellQuote(std::string(P2PGIT_BIN_DIR)) +
           ":$PATH GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@e "
           "GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@e; ";
  }
  CommandOutput P2pgit(const std::string& home, const std::string& args, const std::string& cwd = "") {
    return RunCommand((cwd.empty() ? "" : "cd " + ShellQuote(cwd) + " && ") + Env(home) + "timeout 60 " + P2pgitBinary() +
                      " " + args);
  }
  CommandOutput Git(const std::string& home, const std::string& cwd, const std::string& args) {
    return RunCommand("cd " + ShellQuote(cwd) + " && " + Env(home) + "timeout 60 git " + args);
  }
  json Json(const std::string& home, const std::string& args) {
    auto out = P2pgit(home, args);
    return out.exit_code == 0 ? json::parse(out.out, nullptr, false) : json();
  }
  void Configure(const std::string& name, const std::string& contact) {
    fs::create_directories(Home(name));
    fs::permissions(Home(name), fs::perms::owner_all, fs::perm_options::replace);
    std::ofstream(Home(name) + "/config.toml") << "bootstrap = [\"" << contact << "\"]\nreconcile_interval_s = 1\n";
  }
  std::string StatusOf(const std::string& home, const std::string& kind, const std::string& repo, const std::string& id) {
    json list = Json(home, kind + " list --json --repo " + repo);
    if (!list.is_array()) return "";
    for (const auto& t : list)
      if (t.value("id", "") == id) return t.value("status", "");
    return "";
  }
};

}  // namespace

TEST_F(Collab, IssuesAndPatchesBetweenNodesRarelyOnlineTogether) {
  std::string relay_id, relay_addr;
  StartDaemon("relay", {"relay", "--listen", "127.0.0.1:0", "--reconcile-interval", "1"}, &relay_id, &relay_addr);
  ASSERT_FALSE(relay_addr.empty());
  std::string contact = relay_id + "@" + relay_addr;
  for (const char* n : {"a", "b", "c"}) Configure(n, contact);

  // A shares (daemon running), the relay replicates, A goes offline.
  std::string a_id, b_id;
  Child* a = &StartDaemon("a", {"node"}, &a_id);
  StartDaemon("b", {"node"}, &b_id);
  std::string work = (m_dir / "work").string();
  ASSERT_EQ(RunCommand(Env(Home("a")) + "git init -q -b main " + ShellQuote(work) + " && cd " + ShellQuote(work) +
                       " && echo one > f && git add f && git commit -qm one")
                .exit_code,
            0);
  auto shared = P2pgit(Home("a"), "share " + ShellQuote(work) + " --name collab");
  ASSERT_EQ(shared.exit_code, 0) << shared.err;
  std::string repo = shared.out.substr(0, shared.out.find('\n'));
  ASSERT_TRUE(Eventually([&] { return P2pgit(Home("relay"), "verify " + repo).exit_code == 0; }, 20s));
  a->Kill(SIGTERM);
  ASSERT_EQ(a->Wait(), 0);

  // B clones with stock git and opens an issue while A is offline.
  std::string b_clone = (m_dir / "b-clone").string();
  auto cloned = Git(Home("b"), m_dir.string(), "clone -q git+p2p://" + repo + " " + ShellQuote(b_clone));
  ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
  auto opened = P2pgit(Home("b"), "issue new --title 'Crash on start' --body 'steps: run it' --label bug", b_clone);
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  std::string issue = opened.out.substr(0, opened.out.find('\n'));
  ASSERT_EQ(issue.size(), 64u);

  // A comes back and sees it within seconds (reconciliation with the relay).
  a = &StartDaemon("a", {"node"});
  auto back = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually([&] { return StatusOf(Home("a"), "issue", repo, issue) == "open"; }, 15s)) << "A never saw B's issue";
  std::printf("A saw B's issue %.1f s after coming back\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - back).count());
  // A answers; prefixes of 7+ characters select the issue.
  EXPECT_EQ(P2pgit(Home("a"), "issue comment " + issue.substr(0, 9) + " --body 'looking' --repo " + repo).exit_code, 0);

  // A stranger (C, neither author nor delegate) closes it: kept, but changes nothing.
  StartDaemon("c", {"node"});
  ASSERT_EQ(P2pgit(Home("c"), "sync " + repo).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return StatusOf(Home("c"), "issue", repo, issue) == "open"; }, 15s));
  ASSERT_EQ(P2pgit(Home("c"), "issue close " + issue.substr(0, 7) + " --repo " + repo).exit_code, 0);
  EXPECT_TRUE(Eventually([&] {
    json shown = Json(Home("a"), "issue show " + issue + " --json --repo " + repo);
    if (!shown.is_object()) return false;
    for (const auto& i : shown["ignored"])
      if (i.value("op", "") == "issue.close" && i.value("reason", "") == "unauthorized") return true;
    return false;
  }, 15s)) << Json(Home("a"), "issue show " + issue + " --json --repo " + repo).dump();
  EXPECT_EQ(StatusOf(Home("a"), "issue", repo, issue), "open");
  // The author closes it: that counts, everywhere.
  ASSERT_EQ(P2pgit(Home("b"), "issue close " + issue.substr(0, 7), b_clone).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return StatusOf(Home("a"), "issue", repo, issue) == "closed"; }, 15s));

  // B sends a patch the seed's way: a branch, a commit, git push p2p HEAD:refs/patches.
  ASSERT_EQ(Git(Home("b"), b_clone, "checkout -q -b fix-bug").exit_code, 0);
  ASSERT_EQ(RunCommand("cd " + ShellQuote(b_clone) + " && echo fixed >> f && " + Env(Home("b")) + "git commit -qam 'Fix the crash'").exit_code, 0);
  auto pushed = Git(Home("b"), b_clone, "push origin HEAD:refs/patches");
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  std::string head = Git(Home("b"), b_clone, "rev-parse HEAD").out.substr(0, 40);

  // A: sync, list, checkout, merge with plain git, push. A's node signs the Merge.
  std::string patch;
  ASSERT_TRUE(Eventually([&] {
    (void)P2pgit(Home("a"), "sync " + repo);
    json list = Json(Home("a"), "patch list --json --repo " + repo);
    if (!list.is_array() || list.empty()) return false;
    patch = list[0].value("id", "");
    return list[0].value("title", "") == "Fix the crash";
  }, 20s));
  auto review = P2pgit(Home("a"), "patch review " + patch.substr(0, 7) + " --accept --body 'good' --repo " + repo);
  EXPECT_EQ(review.exit_code, 0) << review.err;
  auto checkout = P2pgit(Home("a"), "patch checkout " + patch.substr(0, 8), work);
  ASSERT_EQ(checkout.exit_code, 0) << checkout.err;
  std::string branch = "patch/" + patch.substr(0, 7);
  EXPECT_NE(checkout.out.find(branch), std::string::npos) << checkout.out;
  ASSERT_EQ(Git(Home("a"), work, "merge -q --no-edit " + branch).exit_code, 0);
  auto a_push = Git(Home("a"), work, "push p2p main");
  ASSERT_EQ(a_push.exit_code, 0) << a_push.err;
  EXPECT_EQ(StatusOf(Home("a"), "patch", repo, patch), "merged");

  // B sees the merge and the new canonical head.
  EXPECT_TRUE(Eventually([&] { return StatusOf(Home("b"), "patch", repo, patch) == "merged"; }, 20s));
  EXPECT_TRUE(Eventually([&] {
    (void)P2pgit(Home("b"), "sync " + repo);
    (void)Git(Home("b"), b_clone, "checkout -q main");
    auto pulled = Git(Home("b"), b_clone, "pull -q origin main");
    return pulled.exit_code == 0 && Git(Home("b"), b_clone, "rev-parse HEAD").out.substr(0, 40) == head;
  }, 20s));
  json shown = Json(Home("b"), "patch show " + patch + " --json --repo " + repo);
  ASSERT_TRUE(shown.is_object());
  EXPECT_EQ(shown["reviews"].size(), 1u);
  EXPECT_EQ(shown["merge"].value("commit", ""), head);
  // The per-repo view: every namespace (the creator marked) and the canonical branch.
  json view = Json(Home("b"), "repos " + repo + " --json");
  ASSERT_TRUE(view.is_object()) << P2pgit(Home("b"), "repos " + repo).err;
  EXPECT_EQ(view["canonical"].value("heads/main", ""), head);
  bool creator_marked = false;
  for (const auto& ns : view["namespaces"])
    if (ns.value("creator", false)) creator_marked = ns.value("delegate", false);
  EXPECT_TRUE(creator_marked) << view.dump();
  EXPECT_GE(view["namespaces"].size(), 2u);  // A's and B's (the patch ref)
}

TEST_F(Collab, ForgedEventsAreRefusedAndErrorsAreOneLine) {
  // A home with a repo and an issue, no network.
  std::string work = (m_dir / "work").string();
  ASSERT_EQ(RunCommand(Env(Home("a")) + "git init -q -b main " + ShellQuote(work) + " && cd " + ShellQuote(work) +
                       " && echo one > f && git add f && git commit -qm one")
                .exit_code,
            0);
  auto shared = P2pgit(Home("a"), "share " + ShellQuote(work));
  ASSERT_EQ(shared.exit_code, 0) << shared.err;
  std::string repo = shared.out.substr(0, shared.out.find('\n'));
  auto issue = P2pgit(Home("a"), "issue new --title T --repo " + repo);
  ASSERT_EQ(issue.exit_code, 0) << issue.err;
  // Unknown ids, bad prefixes, missing flags: one line each.
  for (const std::string& args : {"issue show 0000000 --repo " + repo, "issue show 12 --repo " + repo,
                                  "issue close zzzzzzz --repo " + repo, "patch show 1234567 --repo " + repo,
                                  std::string("issue new --title T --repo did:repo:zQmNotARepo0")}) {
    auto out = P2pgit(Home("a"), args);
    EXPECT_NE(out.exit_code, 0) << args;
    EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << args << ": " << out.err;
    EXPECT_EQ(out.err.rfind("error: ", 0), 0u) << out.err;
  }
  // An event signed by one key but claiming another author (a forged signature) is refused by
  // the same admission gossip uses; the genuine one is accepted and listed.
  auto repo_id = p2pgit::identity::DecodeDidRepo(repo);
  ASSERT_TRUE(repo_id.ok());
  auto stranger = p2pgit::identity::NodeKey::Generate();
  auto body = p2pgit::activity::MakeActivityBody(*repo_id, uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count()), {},
                                                 p2pgit::activity::IssueCreate{"from a stranger", "", {}});
  ASSERT_TRUE(body.ok());
  auto genuine = p2pgit::wire::SignMessage(stranger, *body);
  auto forged = genuine.encoded;
  forged[40] ^= 0x01;  // inside the signature
  auto refused = P2pgit(Home("a"), "message receive " + p2pgit::ToHex(forged));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("bad-signature"), std::string::npos) << refused.err;
  EXPECT_EQ(Json(Home("a"), "issue list --json --repo " + repo).size(), 1u);
  EXPECT_EQ(P2pgit(Home("a"), "message receive " + p2pgit::ToHex(genuine.encoded)).exit_code, 0);
  EXPECT_EQ(Json(Home("a"), "issue list --json --repo " + repo).size(), 2u);

  auto outside = P2pgit(Home("a"), "issue list", m_dir.string());
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_NE(outside.err.find("no --repo given"), std::string::npos) << outside.err;
}
