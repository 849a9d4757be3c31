// Collaboration inputs are data, never options (issue 11): real p2pgit processes and stock git.
// (a) A stranger opens patches whose heads are commits already on main; the delegate pushes and
//     shares unrelated commits: no Merge is signed, the patches stay open. A real patch merged
//     with plain git still gets its Merge (the rule is not simply off).
// (b) A patch.create signed by hand with base_branch "-f" is refused by decoding: `patch list`
//     does not show it and `patch merge`/`checkout` of it fail before git runs (a dirty working
//     tree survives, as `git checkout -f` would not let it); an honest patch still merges.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "activity/events.h"
#include "identity/did.h"
#include "support/node_fixture.h"

using namespace p2pgit::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

uint64_t NowMs() {
  return uint64_t(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

class CollabInputs : public NodeFixture {
 protected:
  const char* Prefix() const override { return "collab-inputs"; }
  /** Every command line gets the home, the build's bin (git finds the remote helper there) and a
   *  git identity, exported so that each command of a `&&` chain has it. */
  std::string Env(const std::string& home) {
    return "export P2PGIT_HOME=" + ShellQuote(home) + " PATH=" + ShellQuote(std::string(P2PGIT_BIN_DIR)) +
           ":$PATH GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@e "
           "GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@e; ";
  }
  CommandOutput P2pgit(const std::string& home, const std::string& args, const std::string& cwd = "") {
    return RunCommand(Env(home) + (cwd.empty() ? "" : "cd " + ShellQuote(cwd) + " && ") + "timeout 60 " + P2pgitBinary() +
                      " " + args);
  }
  /** `script` runs in `cwd` with the environment above (each git command of it included). */
  CommandOutput Sh(const std::string& home, const std::string& cwd, const std::string& script) {
    return RunCommand(Env(home) + "cd " + ShellQuote(cwd) + " && " + script);
  }
  std::string Rev(const std::string& home, const std::string& cwd, const std::string& rev) {
    return Sh(home, cwd, "git rev-parse " + ShellQuote(rev)).out.substr(0, 40);
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
  /** The patches `home` lists for `repo`: id → folded JSON. */
  std::map<std::string, json> Patches(const std::string& home, const std::string& repo) {
    std::map<std::string, json> out;
    json list = Json(home, "patch list --json --repo " + repo);
    if (list.is_array())
      for (const auto& p : list) out[p.value("id", "")] = p;
    return out;
  }
};

}  // namespace

TEST_F(CollabInputs, PushOfUnrelatedCommitsDoesNotMergeAStrangersPatchOfOldCommits) {
  std::string relay_id, relay_addr;
  StartDaemon("relay", {"relay", "--listen", "127.0.0.1:0", "--reconcile-interval", "1"}, &relay_id, &relay_addr);
  ASSERT_FALSE(relay_addr.empty());
  std::string contact = relay_id + "@" + relay_addr;
  for (const char* n : {"a", "c"}) Configure(n, contact);
  StartDaemon("a", {"node"});

  // A (the only delegate) shares main with two commits; the relay replicates.
  std::string work = (m_dir / "work").string();
  fs::create_directories(work);
  ASSERT_EQ(Sh(Home("a"), work, "git init -q -b main && echo one > f && git add f && git commit -qm one && "
                                "echo two >> f && git commit -qam two").exit_code, 0);
  auto shared = P2pgit(Home("a"), "share " + ShellQuote(work) + " --name inputs");
  ASSERT_EQ(shared.exit_code, 0) << shared.err;
  std::string repo = shared.out.substr(0, shared.out.find('\n'));
  ASSERT_TRUE(Eventually([&] { return P2pgit(Home("relay"), "verify " + repo).exit_code == 0; }, 20s));

  // C, a stranger, clones with stock git and opens two patches of commits main already holds:
  // its tip and its first commit.
  std::string c_clone = (m_dir / "c-clone").string();
  auto cloned = Sh(Home("c"), m_dir.string(), "timeout 60 git clone -q git+p2p://" + repo + " " + ShellQuote(c_clone));
  ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
  std::string tip = Rev(Home("c"), c_clone, "HEAD"), first = Rev(Home("c"), c_clone, "HEAD~1");
  ASSERT_EQ(tip, Rev(Home("a"), work, "main"));
  auto p1 = Sh(Home("c"), c_clone, "timeout 60 git push -q origin main:refs/patches");
  ASSERT_EQ(p1.exit_code, 0) << p1.err;
  auto p2 = Sh(Home("c"), c_clone, "git branch old HEAD~1 && timeout 60 git push -q origin old:refs/patches");
  ASSERT_EQ(p2.exit_code, 0) << p2.err;

  // A sees both, open.
  std::map<std::string, json> patches;
  ASSERT_TRUE(Eventually([&] {
    (void)P2pgit(Home("a"), "sync " + repo);
    patches = Patches(Home("a"), repo);
    return patches.size() == 2;
  }, 30s)) << "A never saw C's patches";
  std::set<std::string> heads;
  for (const auto& [id, p] : patches) {
    EXPECT_EQ(p.value("status", ""), "open") << id;
    heads.insert(p["revisions"].back().value("head", ""));
  }
  EXPECT_EQ(heads, (std::set<std::string>{tip, first}));

  // A pushes an unrelated commit to main (the remote helper's path), then shares another one
  // (share's path): main contains both patch heads, but neither move brought them in.
  auto pushed = Sh(Home("a"), work, "echo three >> f && git commit -qam three && timeout 90 git push -q p2p main");
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  auto reshared = Sh(Home("a"), work, "echo four >> f && git commit -qam four && timeout 90 " + P2pgitBinary() + " share .");
  ASSERT_EQ(reshared.exit_code, 0) << reshared.err;
  for (const auto& [id, p] : Patches(Home("a"), repo)) {
    EXPECT_EQ(p.value("status", ""), "open") << id << " was falsely merged";
    EXPECT_FALSE(p.contains("merge")) << p.dump();
  }

  // A real patch merged with plain git still gets its Merge, signed by A's push.
  auto real = Sh(Home("c"), c_clone,
                 "timeout 60 git pull -q origin main && git checkout -q -b fix && echo fixed > g && git add g && "
                 "git commit -qm 'Real fix' && timeout 60 git push -q origin HEAD:refs/patches");
  ASSERT_EQ(real.exit_code, 0) << real.err;
  std::string real_head = Rev(Home("c"), c_clone, "HEAD");
  std::string real_id;
  ASSERT_TRUE(Eventually([&] {
    (void)P2pgit(Home("a"), "sync " + repo);
    for (const auto& [id, p] : Patches(Home("a"), repo))
      if (p.value("title", "") == "Real fix") real_id = id;
    return !real_id.empty();
  }, 30s));
  auto checkout = P2pgit(Home("a"), "patch checkout " + real_id.substr(0, 7), work);
  ASSERT_EQ(checkout.exit_code, 0) << checkout.err;
  auto merged = Sh(Home("a"), work, "git merge -q --no-edit patch/" + real_id.substr(0, 7) +
                                        " && timeout 90 git push -q p2p main");
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  auto after = Patches(Home("a"), repo);
  EXPECT_EQ(after[real_id].value("status", ""), "merged");
  EXPECT_EQ(after[real_id]["merge"].value("commit", ""), real_head);
  for (const auto& [id, p] : after)
    if (id != real_id) EXPECT_EQ(p.value("status", ""), "open") << id;
}

TEST_F(CollabInputs, OptionLikeBaseBranchIsRefusedAndHonestMergeUsesGitSafely) {
  // One home, no network: A shares, opens an honest patch from branch fix.
  std::string work = (m_dir / "work").string();
  fs::create_directories(work);
  ASSERT_EQ(Sh(Home("a"), work, "git init -q -b main && echo one > f && git add f && git commit -qm one && "
                                "git checkout -q -b fix && echo fix > g && git add g && git commit -qm Fix && "
                                "git checkout -q main").exit_code, 0);
  auto shared = P2pgit(Home("a"), "share " + ShellQuote(work));
  ASSERT_EQ(shared.exit_code, 0) << shared.err;
  std::string repo = shared.out.substr(0, shared.out.find('\n'));
  auto opened = P2pgit(Home("a"), "patch new --base main --head fix", work);
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  std::string honest = opened.out.substr(0, 64);
  std::string main_oid = Rev(Home("a"), work, "main"), fix_oid = Rev(Home("a"), work, "fix");

  // A stranger signs, by hand, patch.create payloads naming option-like base branches (the CLI
  // and MakeActivityBody would refuse to build them).
  auto repo_id = p2pgit::identity::DecodeDidRepo(repo);
  ASSERT_TRUE(repo_id.ok());
  auto stranger = p2pgit::identity::NodeKey::Generate();
  std::vector<std::string> evil_ids;
  for (const std::string branch : {"-f", "--upload-pack=touch pwned", "--orphan=x"}) {
    p2pgit::wire::ActivityBody body;
    body.timestamp_ms = NowMs();
    body.repo_id = *repo_id;
    body.parents = {p2pgit::Bytes(repo_id->multihash.begin(), repo_id->multihash.end())};
    body.op = "patch.create";
    body.payload_version = p2pgit::activity::PAYLOAD_VERSION;
    body.payload = p2pgit::activity::EncodePayload(
        p2pgit::activity::PatchCreate{branch, *p2pgit::FromHex(main_oid), *p2pgit::FromHex(fix_oid), "evil " + branch, ""});
    auto message = p2pgit::wire::SignMessage(stranger, p2pgit::wire::Body{body});
    evil_ids.push_back(p2pgit::ToHex(message.id));
    // Admission stores what is well-signed; whether it keeps it or not, decoding refuses it.
    (void)P2pgit(Home("a"), "message receive " + p2pgit::ToHex(message.encoded));
  }

  // Only the honest patch is listed.
  auto patches = Patches(Home("a"), repo);
  EXPECT_EQ(patches.size(), 1u);
  EXPECT_TRUE(patches.count(honest));

  // merge and checkout of an evil one fail in one line before git runs: the uncommitted change
  // survives (`git checkout -f` would have discarded it) and HEAD stays on main.
  ASSERT_EQ(Sh(Home("a"), work, "echo dirty >> f").exit_code, 0);
  for (const auto& id : evil_ids) {
    for (const char* action : {"merge", "checkout", "show"}) {
      auto out = P2pgit(Home("a"), std::string("patch ") + action + " " + id, work);
      EXPECT_NE(out.exit_code, 0) << action << " " << id;
      EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << out.err;
    }
  }
  EXPECT_NE(Sh(Home("a"), work, "cat f").out.find("dirty"), std::string::npos) << "the working tree was forced";
  EXPECT_EQ(Sh(Home("a"), work, "git symbolic-ref HEAD").out, "refs/heads/main\n");
  EXPECT_FALSE(fs::exists(fs::path(work) / "pwned"));

  // The remote helper refuses such a base branch from a push option too.
  auto pushed = Sh(Home("a"), work, "timeout 60 git push -o base=-f p2p fix:refs/patches");
  EXPECT_NE(pushed.exit_code, 0) << pushed.err;
  EXPECT_EQ(Patches(Home("a"), repo).size(), 1u);

  // The honest patch merges (a fast-forward of main to fix), the dirty file untouched.
  auto merged = P2pgit(Home("a"), "patch merge " + honest.substr(0, 7), work);
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_EQ(Rev(Home("a"), work, "main"), fix_oid);
  EXPECT_EQ(Sh(Home("a"), work, "git symbolic-ref HEAD").out, "refs/heads/main\n");
  EXPECT_NE(Sh(Home("a"), work, "cat f").out.find("dirty"), std::string::npos);
  auto after = Patches(Home("a"), repo);
  EXPECT_EQ(after[honest].value("status", ""), "merged");
  EXPECT_EQ(after[honest]["merge"].value("commit", ""), fix_oid);
}
