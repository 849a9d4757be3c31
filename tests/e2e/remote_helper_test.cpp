// The git remote helper as users meet it: stock `git clone`, `fetch`, `pull` and `push` on
// git+p2p:// URLs, with `git-remote-git+p2p` found on PATH beside `p2pgit`, against a real
// `p2pgit relay` on loopback. Nodes other than the relay run no daemon: the helper dials the
// bootstrap peer from `$P2PGIT_HOME/config.toml`. A repository whose sharer went offline clones
// with the same HEAD, branches, tags and objects; later commits arrive by fetch and pull; a push
// lands in the pusher's own signed namespace and reaches another node through the relay; a push
// into someone else's namespace, malformed and unknown URLs fail with one `fatal: git+p2p:` line;
// a relay whose stored refs were rewritten cannot change what a clone checks out.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "support/child_process.h"
#include "support/run_command.h"

using namespace p2pgit::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/** Every git command of the test: no user or system config (CI is a fresh machine), a fixed
 *  identity, nothing inherited that points git elsewhere, and this build's helper first on PATH. */
std::string GitEnv() {
  return "export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 "
         "GIT_AUTHOR_NAME='Test Author' GIT_AUTHOR_EMAIL=author@example.org "
         "GIT_COMMITTER_NAME='Test Committer' GIT_COMMITTER_EMAIL=committer@example.org "
         "PATH=" +
         ShellQuote(P2PGIT_BIN_DIR) +
         ":\"$PATH\"; "
         "unset GIT_DIR GIT_WORK_TREE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_INDEX_FILE "
         "P2PGIT_HOME; ";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

/** The helper's own error lines (git may add lines of its own around them). */
std::vector<std::string> HelperFatalLines(const std::string& err) {
  std::vector<std::string> out;
  for (const auto& l : SplitLines(err))
    if (l.rfind("fatal: git+p2p: ", 0) == 0) out.push_back(l);
  return out;
}

std::string WithoutPrefix(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : s;
}

struct Daemon {
  std::unique_ptr<Child> child;
  std::string home;
  std::string node_id;
  std::string address;
  std::string Contact() const { return node_id + "@" + address; }
};

class RemoteHelper : public testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    m_dir = fs::path(testing::TempDir()) / ("p2pgit-rh-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    m_started = std::chrono::steady_clock::now();
    ASSERT_TRUE(fs::exists(std::string(P2PGIT_BIN_DIR) + "/git-remote-git+p2p"))
        << "build the git-remote-git+p2p target";
  }
  void TearDown() override {
    RecordProperty("seconds", std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count()));
    if (m_relay) m_relay->child.reset();  // kills the relay's process group, pass or fail
    if (HasFailure() && m_relay) std::cerr << "---- relay.log\n" << Slurp(Path("relay.log")) << "\n";
    if (!HasFailure() && !getenv("P2PGIT_KEEP_TEST_DIRS")) fs::remove_all(m_dir);
  }

  std::string Path(const std::string& name) const { return (m_dir / name).string(); }

  static std::string Slurp(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  Daemon& StartRelay() {
    m_relay = std::make_unique<Daemon>();
    m_relay->home = Path("relay");
    m_relay->child = std::make_unique<Child>(
        std::vector<std::string>{P2pgitBinary(), "relay", "--listen", "127.0.0.1:0", "--reconcile-interval", "2"},
        std::vector<std::string>{"P2PGIT_HOME=" + m_relay->home}, Path("relay.log"));
    for (int i = 0; i < 4 && (m_relay->node_id.empty() || m_relay->address.empty()); ++i) {
      std::string line = m_relay->child->ReadLine(20s);
      if (line.rfind("relay ", 0) == 0) m_relay->node_id = line.substr(6);
      if (line.rfind("listening ", 0) == 0) m_relay->address = line.substr(10);
    }
    EXPECT_FALSE(m_relay->address.empty()) << "relay did not start: " << Slurp(Path("relay.log"));
    return *m_relay;
  }

  /** A node home without a daemon (0700) whose config.toml names the relay as bootstrap peer;
   *  returns its did:key. */
  std::string MakeHome(const std::string& name) {
    std::string home = Path(name);
    fs::create_directories(home);
    fs::permissions(home, fs::perms::owner_all, fs::perm_options::replace);
    std::ofstream(home + "/config.toml") << "bootstrap = [\"" << m_relay->Contact() << "\"]\n";
    std::string id = Trim(P2pgit(home, "id").out);
    EXPECT_EQ(id.rfind("did:key:z6Mk", 0), 0u) << id;
    return id;
  }

  CommandOutput P2pgit(const std::string& home, const std::string& args, int timeout_s = 60) {
    return RunCommand("P2PGIT_HOME=" + ShellQuote(home) + " timeout " + std::to_string(timeout_s) + " " +
                      P2pgitBinary() + " " + args);
  }

  /** A shell command as node `home` (its P2PGIT_HOME; "" for none), bounded by a timeout. */
  CommandOutput Run(const std::string& home, const std::string& command, int timeout_s = 60) {
    std::string env = GitEnv();
    if (!home.empty()) env += "export P2PGIT_HOME=" + ShellQuote(home) + "; ";
    return RunCommand(env + "timeout " + std::to_string(timeout_s) + " " + command);
  }
  /** Same, failing the test on a non-zero exit; returns stdout. */
  std::string Sh(const std::string& home, const std::string& command) {
    auto r = Run(home, command);
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.err;
    return r.out;
  }
  std::string Git(const std::string& dir, const std::string& args) {
    return Sh("", "git -C " + ShellQuote(dir) + " " + args);
  }
  std::string Rev(const std::string& dir, const std::string& rev) {
    return Trim(Git(dir, "rev-parse " + ShellQuote(rev)));
  }
  bool HasObject(const std::string& git_dir, const std::string& oid) {
    return Run("", "git --git-dir=" + ShellQuote(git_dir) + " cat-file -e " + oid).exit_code == 0;
  }
  /** A ref in a bare storage repository, "" when absent. */
  std::string StoredRef(const std::string& git_dir, const std::string& ref) {
    auto r = Run("", "git --git-dir=" + ShellQuote(git_dir) + " rev-parse -q --verify " + ShellQuote(ref));
    return r.exit_code == 0 ? Trim(r.out) : "";
  }
  std::string StoragePath(const std::string& home, const std::string& repo) {
    return home + "/repos/" + WithoutPrefix(repo, "did:repo:") + ".git";
  }
  std::string NamespaceRef(const std::string& node_id, const std::string& name) {
    return "refs/nodes/" + WithoutPrefix(node_id, "did:key:") + "/" + name;
  }

  std::string InitWork(const std::string& name) {
    std::string dir = Path(name);
    Sh("", "git init -q -b main " + ShellQuote(dir));
    return dir;
  }
  void Write(const std::string& file, const std::string& text) {
    fs::create_directories(fs::path(file).parent_path());
    std::ofstream(file, std::ios::app) << text;
  }
  /** Appends to `file` in `dir`, commits everything; returns the new HEAD. */
  std::string CommitFile(const std::string& dir, const std::string& file, const std::string& text) {
    Write(dir + "/" + file, text);
    Git(dir, "add -A");
    Git(dir, "commit -q -m " + ShellQuote("edit " + file));
    return Rev(dir, "HEAD");
  }

  /** `p2pgit share` from `home` with a session to the relay (no daemon: the sharer is offline
   *  as soon as it returns, which happens once the relay fetched). Returns the did:repo. */
  std::string Share(const std::string& home, const std::string& work) {
    auto r = P2pgit(home, "share " + ShellQuote(work) + " --bootstrap " + m_relay->Contact() + " --timeout 30", 60);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(id.rfind("did:repo:z", 0), 0u) << r.out << r.err;
    return id;
  }

  template <typename Pred>
  bool Eventually(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return pred();
  }

  /** The relay stores `ref` of `repo` at `oid` and `p2pgit verify` passes there. */
  bool RelayHolds(const std::string& repo, const std::string& ref, const std::string& oid) {
    return Eventually([&] { return StoredRef(StoragePath(m_relay->home, repo), ref) == oid; }, 20s) &&
           Eventually([&] { return P2pgit(m_relay->home, "verify " + repo).exit_code == 0; }, 10s);
  }

  /** Branches and tags as sorted "oid name" lines; a clone's refs/remotes/origin/x reads as
   *  refs/heads/x, so it compares equal to the repository that was shared. */
  std::string BranchesAndTags(const std::string& dir, bool clone) {
    std::vector<std::string> out;
    for (const auto& line : SplitLines(Git(dir, "for-each-ref --format='%(objectname) %(refname)'"))) {
      auto sp = line.find(' ');
      std::string oid = line.substr(0, sp), name = line.substr(sp + 1);
      const std::string remote = "refs/remotes/origin/";
      if (name.rfind("refs/tags/", 0) == 0) out.push_back(line);
      else if (clone && name.rfind(remote, 0) == 0 && name != remote + "HEAD")
        out.push_back(oid + " refs/heads/" + name.substr(remote.size()));
      else if (!clone && name.rfind("refs/heads/", 0) == 0)
        out.push_back(line);
    }
    std::sort(out.begin(), out.end());
    std::string joined;
    for (const auto& l : out) joined += l + "\n";
    return joined;
  }

  /** Every object id reachable from any ref, sorted. */
  std::set<std::string> ObjectSet(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& line : SplitLines(Git(dir, "rev-list --objects --all")))
      if (line.size() >= 40) out.insert(line.substr(0, 40));
    return out;
  }

  void ExpectFsckClean(const std::string& dir) {
    auto r = Run("", "git -C " + ShellQuote(dir) + " fsck --strict --no-dangling 2>&1");
    EXPECT_EQ(r.exit_code, 0) << dir << ": " << r.out;
  }

  /** `git clone <url> <dir>` as node `home`. */
  CommandOutput Clone(const std::string& home, const std::string& url, const std::string& dir) {
    return Run(home, "git clone " + ShellQuote(url) + " " + ShellQuote(dir));
  }

  /** A repository with two branches, an annotated and a lightweight tag, a few files. */
  std::string MakeSampleRepo(const std::string& name) {
    std::string work = InitWork(name);
    Write(work + "/README", "shared through git+p2p\n");
    Write(work + "/src/lib.c", "int answer(void) { return 42; }\n");
    Git(work, "add -A");
    Git(work, "commit -q -m initial");
    Git(work, "checkout -q -b feature");
    CommitFile(work, "feature.txt", "feature\n");
    Git(work, "checkout -q main");
    CommitFile(work, "README", "second line\n");
    Git(work, "tag -a v1 -m 'release 1' HEAD~1");
    Git(work, "tag light feature");
    return work;
  }

  fs::path m_dir;
  std::unique_ptr<Daemon> m_relay;
  std::chrono::steady_clock::time_point m_started;
};

// Issue 7 scenarios 1-3: clone with the sharer offline; fetch and pull after new commits; a push
// into the pusher's own namespace, signed, relayed and seen by a third node.
TEST_F(RemoteHelper, CloneWithSharerOfflineThenFetchPullAndPushSeenByAnotherNode) {
  StartRelay();
  ASSERT_FALSE(m_relay->address.empty());
  std::string a_home = Path("a");
  std::string a_id = MakeHome("a");
  std::string work = MakeSampleRepo("work");
  std::string repo = Share(a_home, work);
  ASSERT_FALSE(repo.empty());
  std::string a_main = NamespaceRef(a_id, "heads/main");
  ASSERT_TRUE(RelayHolds(repo, a_main, Rev(work, "HEAD")));
  // A ran no daemon: `share` returned once the relay fetched, so A is offline from here on.

  // (1) B clones with stock git. HEAD, branches, tags, objects as A shared them; origin/HEAD set.
  std::string b_home = Path("b");
  std::string b_id = MakeHome("b");
  std::string clone = Path("clone");
  auto cloned = Clone(b_home, "git+p2p://" + repo, clone);
  ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
  EXPECT_EQ(Rev(clone, "HEAD"), Rev(work, "HEAD"));
  EXPECT_EQ(Trim(Git(clone, "symbolic-ref HEAD")), "refs/heads/main");
  EXPECT_EQ(Trim(Git(clone, "symbolic-ref refs/remotes/origin/HEAD")), "refs/remotes/origin/main");
  EXPECT_EQ(BranchesAndTags(clone, true), BranchesAndTags(work, false));
  EXPECT_EQ(ObjectSet(clone), ObjectSet(work));
  EXPECT_EQ(Trim(Git(clone, "cat-file -t v1")), "tag");  // the annotated tag object travelled
  EXPECT_EQ(Trim(Git(clone, "config remote.origin.url")), "git+p2p://" + repo);
  EXPECT_EQ(Git(clone, "status --porcelain"), "");
  ExpectFsckClean(clone);
  // The helper fetched into B's home store: A's signed namespace is there, and verifies.
  EXPECT_EQ(StoredRef(StoragePath(b_home, repo), a_main), Rev(work, "HEAD"));
  EXPECT_EQ(P2pgit(b_home, "verify " + repo).exit_code, 0);

  // (2) A commits and shares again (still no daemon). `git fetch` brings it to origin/main only...
  std::string third = CommitFile(work, "README", "third line\n");
  EXPECT_EQ(Share(a_home, work), repo);
  ASSERT_TRUE(RelayHolds(repo, a_main, third));
  // (Fetched from a linked worktree of the clone: its GIT_DIR is .git/worktrees/<name>, and the
  // objects must land in the shared .git/objects, else git finds none of them.)
  std::string before = Rev(clone, "HEAD");
  std::string worktree = Path("clone-worktree");
  Git(clone, "worktree add -q --detach " + ShellQuote(worktree));
  auto fetched = Run(b_home, "git -C " + ShellQuote(worktree) + " fetch");
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(Rev(clone, "refs/remotes/origin/main"), third);
  EXPECT_EQ(Rev(worktree, "refs/remotes/origin/main"), third);
  EXPECT_EQ(Rev(clone, "HEAD"), before);
  // ...and `git pull` after one more commit fetches it and fast-forwards.
  std::string fourth = CommitFile(work, "src/new.c", "int more(void) { return 1; }\n");
  EXPECT_EQ(Share(a_home, work), repo);
  ASSERT_TRUE(RelayHolds(repo, a_main, fourth));
  auto pulled = Run(b_home, "git -C " + ShellQuote(clone) + " pull");
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_NE(pulled.out.find("Fast-forward"), std::string::npos) << pulled.out;
  EXPECT_EQ(Rev(clone, "HEAD"), fourth);
  EXPECT_EQ(Rev(clone, "refs/remotes/origin/main"), fourth);
  EXPECT_EQ(Git(clone, "status --porcelain"), "");
  EXPECT_EQ(ObjectSet(clone), ObjectSet(work));
  ExpectFsckClean(clone);

  // (3) B commits and pushes to origin: the helper writes B's own namespace, signs, announces.
  std::string b_commit = CommitFile(clone, "from-b.txt", "B was here\n");
  auto pushed = Run(b_home, "git -C " + ShellQuote(clone) + " push origin main");
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_NE(pushed.err.find("git+p2p: signed refs/nodes/" + WithoutPrefix(b_id, "did:key:") + ";"), std::string::npos) << pushed.err;
  std::string b_main = NamespaceRef(b_id, "heads/main");
  EXPECT_EQ(StoredRef(StoragePath(b_home, repo), b_main), b_commit);
  EXPECT_EQ(P2pgit(b_home, "verify " + repo).exit_code, 0);
  // The delegate's namespace is untouched by B's push.
  EXPECT_EQ(StoredRef(StoragePath(b_home, repo), a_main), fourth);
  // B's signed namespace reached the relay...
  ASSERT_TRUE(RelayHolds(repo, b_main, b_commit)) << pushed.err;
  EXPECT_EQ(StoredRef(StoragePath(m_relay->home, repo), a_main), fourth);

  // More of B's namespace: a new branch and a tag in one push keep main; deleting the branch
  // keeps the rest. Each push is a new signed Refs message the relay follows.
  Git(clone, "checkout -q -b topic");
  std::string b_topic = CommitFile(clone, "topic.txt", "topic\n");
  Git(clone, "checkout -q main");
  Git(clone, "tag b-tag " + b_commit);
  auto t_push = std::chrono::steady_clock::now();
  auto pushed_more = Run(b_home, "git -C " + ShellQuote(clone) + " push origin topic b-tag");
  ASSERT_EQ(pushed_more.exit_code, 0) << pushed_more.err;
  auto pushed_more_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_push).count();
  std::string b_store = StoragePath(b_home, repo);
  EXPECT_EQ(StoredRef(b_store, b_main), b_commit);
  EXPECT_EQ(StoredRef(b_store, NamespaceRef(b_id, "heads/topic")), b_topic);
  EXPECT_EQ(StoredRef(b_store, NamespaceRef(b_id, "tags/b-tag")), b_commit);
  ASSERT_TRUE(RelayHolds(repo, NamespaceRef(b_id, "heads/topic"), b_topic)) << pushed_more.err;
  t_push = std::chrono::steady_clock::now();
  auto deleted = Run(b_home, "git -C " + ShellQuote(clone) + " push origin :topic");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  auto deleted_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_push).count();
  EXPECT_EQ(StoredRef(b_store, NamespaceRef(b_id, "heads/topic")), "");
  EXPECT_EQ(StoredRef(b_store, b_main), b_commit);
  EXPECT_EQ(StoredRef(b_store, NamespaceRef(b_id, "tags/b-tag")), b_commit);
  EXPECT_TRUE(Eventually([&] { return StoredRef(StoragePath(m_relay->home, repo), NamespaceRef(b_id, "heads/topic")).empty(); }, 20s));
  EXPECT_EQ(StoredRef(StoragePath(m_relay->home, repo), b_main), b_commit);
  RecordProperty("push_branch_and_tag_s", std::to_string(pushed_more_s));
  RecordProperty("push_delete_s", std::to_string(deleted_s));
  // A push announces over a session that waits for the relay to fetch: it must not sit out the
  // 30 s wait when there is nothing new to fetch (a deletion).
  EXPECT_LT(pushed_more_s, 10.0) << pushed_more.err;
  EXPECT_LT(deleted_s, 10.0) << deleted.err;

  // ...and a third node C (fresh home, no daemon) clones B's namespace with stock git.
  std::string c_home = Path("c");
  MakeHome("c");
  std::string c_clone = Path("c-clone");
  auto c_cloned = Clone(c_home, "git+p2p://" + repo + "/peer/" + b_id, c_clone);
  ASSERT_EQ(c_cloned.exit_code, 0) << c_cloned.err;
  EXPECT_EQ(Rev(c_clone, "HEAD"), b_commit);
  EXPECT_EQ(Trim(Git(c_clone, "show -s --format=%s HEAD")), "edit from-b.txt");
  EXPECT_EQ(Trim(Git(c_clone, "cat-file -p HEAD:from-b.txt")), "B was here");
  EXPECT_EQ(StoredRef(StoragePath(c_home, repo), b_main), b_commit);
  ExpectFsckClean(c_clone);
  // The repo's own URL still means the delegate's (A's) branches: B is not a delegate.
  std::string c_canonical = Path("c-canonical");
  auto canonical = Clone(c_home, "git+p2p://" + repo, c_canonical);
  ASSERT_EQ(canonical.exit_code, 0) << canonical.err;
  EXPECT_EQ(Rev(c_canonical, "HEAD"), fourth);
}

// Issue 7 scenario 4: a clone of A's namespace cannot push into it.
TEST_F(RemoteHelper, PushIntoForeignNamespaceIsRefused) {
  StartRelay();
  ASSERT_FALSE(m_relay->address.empty());
  std::string a_home = Path("a");
  std::string a_id = MakeHome("a");
  std::string work = MakeSampleRepo("work");
  std::string repo = Share(a_home, work);
  ASSERT_FALSE(repo.empty());
  std::string a_main = NamespaceRef(a_id, "heads/main");
  std::string a_tip = Rev(work, "HEAD");
  ASSERT_TRUE(RelayHolds(repo, a_main, a_tip));

  std::string b_home = Path("b");
  std::string b_id = MakeHome("b");
  std::string clone = Path("clone");
  std::string url = "git+p2p://" + repo + "/peer/" + a_id;
  auto cloned = Clone(b_home, url, clone);
  ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
  EXPECT_EQ(Rev(clone, "HEAD"), a_tip);
  EXPECT_EQ(Trim(Git(clone, "symbolic-ref HEAD")), "refs/heads/main");

  std::string b_commit = CommitFile(clone, "intruder.txt", "not yours\n");
  auto pushed = Run(b_home, "git -C " + ShellQuote(clone) + " push origin main");
  RecordProperty("foreign_push_stderr", pushed.err);
  EXPECT_NE(pushed.exit_code, 0) << pushed.out << pushed.err;
  auto ours = HelperFatalLines(pushed.err);
  ASSERT_EQ(ours.size(), 1u) << pushed.err;
  EXPECT_NE(ours[0].find(a_id), std::string::npos) << ours[0];  // names the namespace's owner
  EXPECT_NE(ours[0].find("namespace"), std::string::npos) << ours[0];

  // Nothing written: not in B's store (no namespace for B, A's untouched), not on the relay, and
  // the clone's tracking ref still shows A's signed tip.
  EXPECT_EQ(Git(StoragePath(b_home, repo), "for-each-ref " + ShellQuote(NamespaceRef(b_id, ""))), "");
  EXPECT_EQ(StoredRef(StoragePath(b_home, repo), a_main), a_tip);
  EXPECT_FALSE(HasObject(StoragePath(b_home, repo), b_commit));
  EXPECT_EQ(StoredRef(StoragePath(m_relay->home, repo), a_main), a_tip);
  EXPECT_FALSE(HasObject(StoragePath(m_relay->home, repo), b_commit));
  EXPECT_EQ(Rev(clone, "refs/remotes/origin/main"), a_tip);
  EXPECT_EQ(P2pgit(b_home, "verify " + repo).exit_code, 0);
}

// Issue 7 scenario 5: malformed and unknown URLs, each one `fatal: git+p2p: …` line naming the
// problem, a non-zero exit and no directory left behind.
TEST_F(RemoteHelper, MalformedAndUnknownUrlsFailWithOneLine) {
  StartRelay();
  ASSERT_FALSE(m_relay->address.empty());
  std::string b_home = Path("b");
  MakeHome("b");
  std::string unknown = Trim(P2pgit(b_home, "repo-id 00000000000000000000000000000000000000aa " + m_relay->node_id).out);
  ASSERT_EQ(unknown.rfind("did:repo:z", 0), 0u) << unknown;

  struct Case {
    std::string url;
    std::vector<std::string> named;  // what the helper's line must contain
  };
  const std::vector<Case> cases = {
      {"git+p2p://not-a-repo-id", {"not-a-repo-id"}},
      {"git+p2p://did:repo:zBAD0", {"did:repo:zBAD0"}},
      {"git+p2p://" + unknown, {unknown}},
      {"git+p2p://" + unknown + "/bogus/x", {"/bogus/x"}},
      {"git+p2p://" + unknown + "/peer/did:key:zNOTAKEY0", {"did:key:zNOTAKEY0"}},
  };
  int i = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    std::string dir = Path("clone" + std::to_string(i++));
    auto r = Clone(b_home, c.url, dir);
    RecordProperty("stderr_" + std::to_string(i), r.err);
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_NE(r.exit_code, 124) << "timed out: " << r.err;
    auto ours = HelperFatalLines(r.err);
    ASSERT_EQ(ours.size(), 1u) << r.err;
    for (const auto& n : c.named) EXPECT_NE(ours[0].find(n), std::string::npos) << "'" << n << "' not in: " << ours[0];
    EXPECT_FALSE(fs::exists(dir)) << "git left " << dir;
  }
  // Nothing was stored for the unknown repo beyond what a failed fetch may leave: no refs.
  std::string store = StoragePath(b_home, unknown);
  if (fs::exists(store)) {
    EXPECT_EQ(Git(store, "for-each-ref"), "");
  }
}

// Issue 7 scenario 6 (the git layer's tampered-relay test through stock git): the relay's stored
// ref for A's main is moved to a commit A never signed; a fresh node's `git clone git+p2p://`
// still checks out A's signed tip, and the forged commit never reaches it.
TEST_F(RemoteHelper, TamperedRelayCannotChangeWhatGitCloneChecksOut) {
  StartRelay();
  ASSERT_FALSE(m_relay->address.empty());
  std::string a_home = Path("a");
  std::string a_id = MakeHome("a");
  std::string work = MakeSampleRepo("work");
  std::string signed_tip = Rev(work, "HEAD");
  std::string repo = Share(a_home, work);
  ASSERT_FALSE(repo.empty());
  std::string ref = NamespaceRef(a_id, "heads/main");
  ASSERT_TRUE(RelayHolds(repo, ref, signed_tip));

  // The forgery, made inside the running relay's store: a child of the signed tip.
  std::string relay_store = StoragePath(m_relay->home, repo);
  std::string gd = "git --git-dir=" + ShellQuote(relay_store) + " ";
  std::string blob = Trim(Sh("", "sh -c " + ShellQuote("echo forged | " + gd + "hash-object -w --stdin")));
  std::string tree = Trim(Sh("", "sh -c " + ShellQuote("printf '100644 blob %s\\tforged.txt\\n' " + blob + " | " + gd + "mktree")));
  std::string forged = Trim(Sh("", gd + "commit-tree " + tree + " -p " + signed_tip + " -m " + ShellQuote("not signed by A")));
  Sh("", gd + "update-ref " + ref + " " + forged);
  ASSERT_EQ(StoredRef(relay_store, ref), forged);
  EXPECT_NE(P2pgit(m_relay->home, "verify " + repo).exit_code, 0);  // the relay's own check sees it

  std::string d_home = Path("d");
  MakeHome("d");
  std::string clone = Path("clone");
  auto cloned = Clone(d_home, "git+p2p://" + repo, clone);
  RecordProperty("tampered_clone_rc", std::to_string(cloned.exit_code));
  if (cloned.exit_code != 0) {
    // Refusing is safe too, provided it says why and leaves nothing checked out.
    EXPECT_EQ(HelperFatalLines(cloned.err).size(), 1u) << cloned.err;
    EXPECT_FALSE(fs::exists(clone));
  } else {
    EXPECT_EQ(Rev(clone, "HEAD"), signed_tip);
    EXPECT_EQ(Rev(clone, "refs/remotes/origin/main"), signed_tip);
    EXPECT_FALSE(HasObject(clone + "/.git", forged));
    EXPECT_FALSE(fs::exists(clone + "/forged.txt"));
    ExpectFsckClean(clone);
  }
  // Never the forged head, neither in the working copy nor in D's store.
  if (cloned.exit_code == 0) {
    EXPECT_EQ(StoredRef(StoragePath(d_home, repo), ref), signed_tip);
  }
  EXPECT_NE(StoredRef(StoragePath(d_home, repo), ref), forged);
  EXPECT_FALSE(HasObject(StoragePath(d_home, repo), forged));
  // Nor through A's namespace URL.
  std::string peer_clone = Path("peer-clone");
  auto peer_cloned = Clone(d_home, "git+p2p://" + repo + "/peer/" + a_id, peer_clone);
  if (peer_cloned.exit_code == 0) {
    EXPECT_EQ(Rev(peer_clone, "HEAD"), signed_tip);
    EXPECT_FALSE(HasObject(peer_clone + "/.git", forged));
  } else {
    EXPECT_EQ(HelperFatalLines(peer_cloned.err).size(), 1u) << peer_cloned.err;
  }
}

}  // namespace
