// Hostile peers against integrity, with real processes on loopback: a relay, an owner who shares
// through it and goes offline, the test-only adversary (tests/support/adversary_main.cpp) signing
// with fresh keys, and a fresh node cloning with stock `git clone git+p2p://…`. After each attack
// the clone gets the owner's signed head and `git fsck --strict` is clean; what the attacker
// signed is refused or its namespace is skipped with its reason; stores that must not change
// did not.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/node_fixture.h"

using namespace p2pgit::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* const GIT_ENV = GIT_TEST_SHELL_ENV;
const std::vector<std::string>& GIT_ENV_VARS = GIT_TEST_ENV_VARS;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string BinDir() { return fs::path(P2pgitBinary()).parent_path().string(); }

class HostileIntegrity : public NodeFixture {
 protected:
  const char* Prefix() const override { return "hostile-integrity"; }

  void SetUp() override {
    NodeFixture::SetUp();
    StartRelay();
    m_work = (m_dir / "work").string();
    Sh("git init -q -b main " + ShellQuote(m_work));
    Sh("cd " + ShellQuote(m_work) +
       " && for i in 1 2 3 4; do echo line-$i >> file.txt; git add -A; git commit -q -m \"commit $i\"; done");
    m_owner_head = Trim(Sh("git -C " + ShellQuote(m_work) + " rev-parse main"));
    m_repo = Share();
  }

  CommandOutput Run(const std::string& home, const std::string& args, const std::string& cwd = "") {
    return RunCommand(std::string(GIT_ENV) + (cwd.empty() ? "" : "cd " + ShellQuote(cwd) + " && ") +
                      "P2PGIT_HOME=" + ShellQuote(home) + " timeout 120 " + P2pgitBinary() + " " + args);
  }

  std::string Sh(const std::string& command) {
    auto r = RunCommand(std::string(GIT_ENV) + command);
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.out << r.err;
    return r.out;
  }

  CommandOutput Adversary(const std::string& args) {
    return RunCommand(std::string(GIT_ENV) + "timeout 120 " + P2PGIT_ADVERSARY + " " + args);
  }
  std::string AdversaryOk(const std::string& args) {
    auto r = Adversary(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.out << r.err;
    return Trim(r.out);
  }

  void StartRelay() {
    std::vector<std::string> env = GIT_ENV_VARS;
    env.push_back("P2PGIT_HOME=" + Home("relay"));
    m_children.push_back(
        std::make_unique<Child>(std::vector<std::string>{P2pgitBinary(), "relay", "--listen", "127.0.0.1:0"}, env,
                                (m_dir / "relay.log").string()));
    std::string id, address;
    for (int i = 0; i < 4 && (id.empty() || address.empty()); ++i) {
      std::string line = m_children.back()->ReadLine(20s);
      if (line.rfind("relay ", 0) == 0) id = line.substr(6);
      if (line.rfind("listening ", 0) == 0) address = line.substr(10);
    }
    ASSERT_FALSE(id.empty() || address.empty()) << "the relay did not start";
    m_relay_id = id;
    m_relay = id + "@" + address;
  }

  /** Shares the owner's work repository (no daemon) and waits until the relay verified it. */
  std::string Share(const std::string& extra = "") {
    auto r = Run(Home("owner"), "share " + ShellQuote(m_work) + " --bootstrap " + m_relay + " --timeout 60 " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(id.rfind("did:repo:z", 0), 0u) << r.out;
    EXPECT_TRUE(Eventually([&] { return Run(Home("relay"), "verify " + id).exit_code == 0; }, 30s)) << id;
    return id;
  }

  /** The relay's view of the repo (`repos REPO --json`). */
  nlohmann::json RelayRepo() {
    auto r = Run(Home("relay"), "repos " + m_repo + " --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  static const nlohmann::json* Namespace(const nlohmann::json& repo, const std::string& did) {
    if (!repo.is_object() || !repo.contains("namespaces")) return nullptr;
    for (const auto& ns : repo["namespaces"])
      if (ns.value("node_id", "") == did) return &ns;
    return nullptr;
  }

  std::string RelayStorage() {
    return (fs::path(Home("relay")) / "repos" / (m_repo.substr(std::string("did:repo:").size()) + ".git")).string();
  }

  /** A fresh home whose config names the relay; stock `git clone git+p2p://…` into `dir`; the
   *  clone must hold the owner's signed head and pass `git fsck --strict`. Returns the home. */
  std::string ExpectHonestClone(const std::string& name) {
    std::string home = Home(name);
    fs::create_directories(home);
    fs::permissions(home, fs::perms::owner_all, fs::perm_options::replace);
    std::ofstream(home + "/config.toml") << "bootstrap = [\"" << m_relay << "\"]\n";
    std::string dir = (m_dir / (name + "-clone")).string();
    auto r = RunCommand(std::string(GIT_ENV) + "PATH=" + ShellQuote(BinDir()) + ":$PATH P2PGIT_HOME=" +
                        ShellQuote(home) + " timeout 120 git clone -q " + ShellQuote("git+p2p://" + m_repo) + " " +
                        ShellQuote(dir));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(Trim(Sh("git -C " + ShellQuote(dir) + " rev-parse HEAD")), m_owner_head);
    auto fsck = RunCommand(std::string(GIT_ENV) + "git -C " + ShellQuote(dir) + " fsck --strict --no-dangling 2>&1");
    EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
    m_last_clone_err = r.err;
    return home;
  }

  std::string m_relay, m_relay_id, m_work, m_owner_head, m_repo, m_last_clone_err;
};

// Refs that git would refuse (a root git never stores here, a directory/file clash, a component
// that reads as an option, an object id of the wrong format) are refused at admission and count
// as misbehaviour; the relay's store and refs do not change; clones go on working.
TEST_F(HostileIntegrity, RefsGitWouldRefuseAreRefusedAtAdmission) {
  std::string refs_before = Sh("git --git-dir=" + ShellQuote(RelayStorage()) + " for-each-ref");
  std::string oid(40, 'a'), long_oid(64, 'b');
  const std::vector<std::string> attacks = {
      "--ref notes/x=" + oid,
      "--ref heads/a=" + oid + " --ref heads/a/b=" + oid,
      "--ref heads/-x=" + oid,
      "--ref heads/main=" + long_oid,
  };
  std::vector<std::string> attackers;
  for (size_t i = 0; i < attacks.size(); ++i) {
    std::string seed = std::to_string(10 + i);
    attackers.push_back(AdversaryOk("id --seed " + seed));
    std::string hex = AdversaryOk("sign-refs --seed " + seed + " --repo " + m_repo + " " + attacks[i]);
    AdversaryOk("send --seed " + seed + " --to " + m_relay + " " + hex);
  }
  // Refused, counted: the relay's verdict counters show the malformed messages.
  ASSERT_TRUE(Eventually(
      [&] {
        auto st = Run(Home("relay"), "status --json");
        auto j = nlohmann::json::parse(st.out, nullptr, false);
        return j.is_object() && j.contains("gossip") && j["gossip"]["verdicts"].value("malformed", 0) >= 4;
      },
      20s))
      << Run(Home("relay"), "status --json").out;
  auto repo = RelayRepo();
  for (const auto& a : attackers) EXPECT_EQ(Namespace(repo, a), nullptr) << a;
  EXPECT_EQ(Sh("git --git-dir=" + ShellQuote(RelayStorage()) + " for-each-ref"), refs_before);
  ExpectHonestClone("fresh");
}

// A namespace whose tips nobody holds is skipped with its reason; it blocks neither the relay
// nor a fresh clone, which shows the skip in `repos REPO`.
TEST_F(HostileIntegrity, NamespaceNobodyCanServeIsSkippedNotBlocking) {
  std::string attacker = AdversaryOk("id --seed 21");
  std::string hex = AdversaryOk("sign-refs --seed 21 --repo " + m_repo + " --ref heads/evil=" + std::string(40, 'c'));
  AdversaryOk("send --seed 21 --to " + m_relay + " " + hex);
  ASSERT_TRUE(Eventually(
      [&] {
        auto repo = RelayRepo();
        return Namespace(repo, attacker) != nullptr;
      },
      20s));
  std::string home = ExpectHonestClone("fresh");
  auto r = Run(home, "repos " + m_repo + " --json");
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  const auto* ns = Namespace(j, attacker);
  ASSERT_NE(ns, nullptr) << r.out;
  ASSERT_TRUE(ns->contains("skipped")) << ns->dump();
  EXPECT_NE((*ns)["skipped"].get<std::string>().find("not served"), std::string::npos) << ns->dump();
  EXPECT_NE(m_last_clone_err.find("skipped namespace " + attacker), std::string::npos) << m_last_clone_err;
  // The human view says it too.
  EXPECT_NE(Run(home, "repos " + m_repo).out.find("skipped: "), std::string::npos);
}

// A tree that git refuses on checkout (an entry ".GIT", which is .git on a case-insensitive
// disk) and a .gitmodules whose url reads as an option, served by the attacker itself: the relay
// fetches them, refuses them before any ref moves, keeps none of their objects, and records why.
TEST_F(HostileIntegrity, HostileTreesAreRefusedBeforeRefsMove) {
  std::string adv = Home("adversary");
  auto synced = Run(adv, "sync " + m_repo + " --bootstrap " + m_relay);
  ASSERT_EQ(synced.exit_code, 0) << synced.out << synced.err;
  std::string attacker = AdversaryOk("id --home " + ShellQuote(adv));
  std::string git_dir = (fs::path(adv) / "repos" / (m_repo.substr(9) + ".git")).string();
  std::string g = "git --git-dir=" + ShellQuote(git_dir) + " ";
  std::string hook = Trim(Sh("echo 'touch pwned' | " + g + "hash-object -w --stdin"));
  std::string hooks = Trim(Sh("printf '100755 blob " + hook + "\\tpost-checkout\\n' | " + g + "mktree"));
  std::string dotgit = Trim(Sh("printf '040000 tree " + hooks + "\\thooks\\n' | " + g + "mktree"));
  std::string top = Trim(Sh("printf '040000 tree " + dotgit + "\\t.GIT\\n' | " + g + "mktree"));
  std::string evil = Trim(Sh(g + "commit-tree " + top + " -p " + m_owner_head + " -m evil"));
  std::string modules = Trim(Sh("printf '[submodule \"x\"]\\n\\tpath = x\\n\\turl = -oProxyCommand=touch%%20pwned\\n' | " +
                                g + "hash-object -w --stdin"));
  std::string top2 = Trim(Sh("printf '100644 blob " + modules + "\\t.gitmodules\\n' | " + g + "mktree"));
  std::string evil2 = Trim(Sh(g + "commit-tree " + top2 + " -p " + m_owner_head + " -m evil2"));
  std::string component = attacker.substr(std::string("did:key:").size());
  Sh(g + "update-ref refs/nodes/" + component + "/heads/evil " + evil);
  Sh(g + "update-ref refs/nodes/" + component + "/heads/evil2 " + evil2);
  std::string hex = AdversaryOk("sign-refs --home " + ShellQuote(adv) + " --repo " + m_repo +
                                " --ref heads/evil=" + evil + " --ref heads/evil2=" + evil2);
  // The attacker stays online and serves its objects while the relay fetches them.
  std::vector<std::string> env = GIT_ENV_VARS;
  m_children.push_back(std::make_unique<Child>(
      std::vector<std::string>{P2PGIT_ADVERSARY, "send", "--home", adv, "--to", m_relay, "--serve-seconds", "60", hex},
      env, (m_dir / "adversary.log").string()));
  ASSERT_TRUE(Eventually(
      [&] {
        auto repo = RelayRepo();
        const auto* ns = Namespace(repo, attacker);
        return ns != nullptr && ns->contains("skipped");
      },
      40s))
      << RelayRepo().dump();
  auto relay_repo = RelayRepo();
  ASSERT_NE(Namespace(relay_repo, attacker), nullptr);
  std::string reason = (*Namespace(relay_repo, attacker))["skipped"].get<std::string>();
  EXPECT_NE(reason.find("hostile"), std::string::npos) << reason;
  // Nothing of it entered the relay's store, and no ref of the attacker's was set there.
  for (const auto& oid : {evil, top, hook, evil2, modules}) {
    auto has = RunCommand("git --git-dir=" + ShellQuote(RelayStorage()) + " cat-file -e " + oid);
    EXPECT_NE(has.exit_code, 0) << oid << " entered the relay's store";
  }
  EXPECT_EQ(Sh("git --git-dir=" + ShellQuote(RelayStorage()) + " for-each-ref refs/nodes/" + component), "");
  std::string home = ExpectHonestClone("fresh");
  EXPECT_FALSE(fs::exists(m_dir / "fresh-clone" / "pwned"));
}

// An object the store holds that no signed ref reaches (a stash the owner never shared, a blob
// written behind the relay's back) is not served to whoever asks for it by id; share never even
// copies the stash.
TEST_F(HostileIntegrity, UnannouncedObjectsAreNotServed) {
  Sh("cd " + ShellQuote(m_work) + " && echo secret-token > file.txt && git stash -q");
  std::string stash = Trim(Sh("git -C " + ShellQuote(m_work) + " rev-parse refs/stash"));
  Share();
  std::string owner_storage = (fs::path(Home("owner")) / "repos" / (m_repo.substr(9) + ".git")).string();
  EXPECT_NE(RunCommand("git --git-dir=" + ShellQuote(owner_storage) + " cat-file -e " + stash).exit_code, 0)
      << "share copied the stash into the store";
  std::string hidden = Trim(Sh("echo hidden | git --git-dir=" + ShellQuote(RelayStorage()) + " hash-object -w --stdin"));
  std::string out = AdversaryOk("want --seed 31 --to " + m_relay + " --repo " + m_repo + " " + stash + " " + hidden);
  EXPECT_NE(out.find("missing " + stash), std::string::npos) << out;
  EXPECT_NE(out.find("missing " + hidden), std::string::npos) << out;
  std::string served = AdversaryOk("want --seed 31 --to " + m_relay + " --repo " + m_repo + " " + m_owner_head);
  EXPECT_EQ(served.find("missing"), std::string::npos) << served;
  EXPECT_EQ(served.find("served 0"), std::string::npos) << served;
}

// A delegate cannot freeze the repo record with a sequence nobody can exceed, and the creator
// removes a delegate at once even after the delegate signed the highest sequence allowed.
TEST_F(HostileIntegrity, ADelegateCannotFreezeTheRepoRecord) {
  std::string delegate = AdversaryOk("id --seed 41");
  Share("--delegate " + delegate);
  ASSERT_TRUE(Eventually([&] { return RelayRepo().value("delegates", nlohmann::json::array()).size() == 2; }, 20s))
      << RelayRepo().dump();
  std::string frozen =
      AdversaryOk("sign-repo --seed 41 --from " + m_relay + " --repo " + m_repo + " --sequence 9223372036854775807");
  AdversaryOk("send --seed 41 --to " + m_relay + " " + frozen);
  // At the edge of the allowed skew (now + 9 minutes): accepted, as a delegate may.
  uint64_t edge = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
      9 * 60 * 1000);
  std::string at_edge = AdversaryOk("sign-repo --seed 41 --from " + m_relay + " --repo " + m_repo + " --sequence " +
                                    std::to_string(edge) + " --description taken-over");
  AdversaryOk("send --seed 41 --to " + m_relay + " " + at_edge);
  ASSERT_TRUE(Eventually([&] { return RelayRepo().value("description", "") == "taken-over"; }, 20s))
      << RelayRepo().dump();
  auto seq = RelayRepo().value("sequence", uint64_t(0));
  EXPECT_EQ(seq, edge) << "the frozen sequence must have been refused";
  // The creator removes the delegate right away: after a sync (its node learns the delegate's
  // sequence), its next Repo message outruns it although that sequence is at the skew's edge.
  auto synced = Run(Home("owner"), "sync " + m_repo + " --bootstrap " + m_relay);
  ASSERT_EQ(synced.exit_code, 0) << synced.out << synced.err;
  Share("--remove-delegate " + delegate + " --description mine-again");
  ASSERT_TRUE(Eventually([&] { return RelayRepo().value("description", "") == "mine-again"; }, 20s))
      << RelayRepo().dump();
  EXPECT_EQ(RelayRepo().value("delegates", nlohmann::json::array()).size(), 1u) << RelayRepo().dump();
  ExpectHonestClone("fresh");
}

// A clone into a full disk: the error names this machine's disk, not the relay, and the relay
// loses no score. Needs root for a private mount namespace with a small tmpfs.
TEST_F(HostileIntegrity, FullDiskIsBlamedOnTheLocalDisk) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for unshare -m and a tmpfs";
  if (RunCommand("command -v unshare").exit_code != 0) GTEST_SKIP() << "unshare is not installed";
  // Enough history that the pack cannot fit: 2 MB of incompressible data.
  Sh("head -c 2000000 /dev/urandom > " + ShellQuote(m_work + "/blob.bin") + " && cd " + ShellQuote(m_work) +
     " && git add -A && git commit -q -m big");
  m_owner_head = Trim(Sh("git -C " + ShellQuote(m_work) + " rev-parse main"));
  Share();
  std::string mnt = (m_dir / "small").string();
  fs::create_directories(mnt);
  std::string script = std::string(GIT_ENV) + "mount -t tmpfs -o size=768k tmpfs " + ShellQuote(mnt) +
                       " || exit 90; mkdir -m 700 " + ShellQuote(mnt + "/home") + "; P2PGIT_HOME=" +
                       ShellQuote(mnt + "/home") + " timeout 120 " + P2pgitBinary() + " clone " + m_repo + " " +
                       ShellQuote(mnt + "/clone") + " --bootstrap " + m_relay + " 2>" + ShellQuote(mnt + "/../err") +
                       "; echo exit=$?; P2PGIT_HOME=" + ShellQuote(mnt + "/home") + " " + P2pgitBinary() +
                       " nodes --json";
  auto r = RunCommand("unshare -m sh -c " + ShellQuote(script));
  if (r.out.find("exit=") == std::string::npos && r.exit_code == 90) GTEST_SKIP() << "cannot mount a tmpfs here";
  std::ifstream in(m_dir / "err");
  std::string err((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(r.out.find("exit=1"), std::string::npos) << r.out << err;
  EXPECT_TRUE(err.find("No space left") != std::string::npos || err.find("disk") != std::string::npos) << err;
  EXPECT_EQ(err.find(m_relay_id), std::string::npos) << "a local failure blamed the relay: " << err;
  EXPECT_EQ(err.find("bad pack"), std::string::npos) << err;
  auto nodes = nlohmann::json::parse(r.out.substr(r.out.find('\n', r.out.find("exit=")) + 1), nullptr, false);
  if (nodes.is_array())
    for (const auto& n : nodes)
      if (n.value("node_id", "") == m_relay_id) EXPECT_GE(n.value("score", 0.0), 0.0) << n.dump();
  // With room again, the same clone works.
  ExpectHonestClone("after");
}

}  // namespace
