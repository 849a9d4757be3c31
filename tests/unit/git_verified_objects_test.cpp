// Only verified objects enter or leave a store: a received pack's extras are dropped, a tip
// already present is still walked, namespaces commit independently, serving answers only what
// a signed tip reaches, and share imports only what its refs reach.
#include <gtest/gtest.h>

#include "git/import.h"
#include "git/pack_transfer.h"
#include "git/storage.h"
#include "git_test_fixture.h"
#include "identity/did.h"

using namespace p2pgit;
using namespace p2pgit::git;
using p2pgit::test::GitTest;
using p2pgit::test::ShellQuote;

namespace {

class GitVerifiedObjectsTest : public GitTest {
 protected:
  StorageRepo Share(const std::filesystem::path& work, const std::string& store_name, const identity::PublicKey& node) {
    auto store = StorageRepo::OpenOrCreate(Dir(store_name));
    EXPECT_TRUE(store) << store.message();
    auto imported = ImportWorkingRepo(*store, work);
    EXPECT_TRUE(imported) << imported.message();
    EXPECT_TRUE(store->SetNamespace(node, imported->refs));
    return *store;
  }

  bool Has(const StorageRepo& store, const std::string& hex) {
    auto has = store.HasObjects({*FromHex(hex)});
    return has && (*has)[0];
  }

  GitResult<CommitReport> ReceiveNamespaces(const StorageRepo& to, const Bytes& pack,
                                            const std::vector<NamespaceRefs>& namespaces) {
    auto receiver = PackReceiver::Start(to);
    if (!receiver) return receiver.error();
    if (!pack.empty())
      if (auto st = receiver->Feed(pack); !st) return st.error();
    return receiver->CommitNamespaces(namespaces);
  }
};

TEST_F(GitVerifiedObjectsTest, UnreachableObjectsInAReceivedPackAreDropped) {
  auto work = MakeWorkRepo("work", 4);
  // A commit on a side branch that the signed refs do not name: the "extra" a peer slips in.
  Sh("cd " + ShellQuote(work.string()) + " && git checkout -q -b secret && echo s > secret.txt && git add -A && "
     "git commit -q -m secret && git checkout -q main");
  std::string secret = Rev(work / ".git", "secret");
  std::string main_tip = Rev(work / ".git", "main");
  Bytes pack = MakePack(work / ".git", main_tip + "\n" + secret + "\n");
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store);
  auto report = ReceiveNamespaces(*store, pack, {{Key(1), {{"heads/main", *FromHex(main_tip)}}}});
  ASSERT_TRUE(report) << report.message();
  EXPECT_EQ(report->committed.size(), 1u);
  EXPECT_GT(report->objects_dropped, 0u);
  EXPECT_TRUE(Has(*store, main_tip));
  EXPECT_FALSE(Has(*store, secret));
  EXPECT_EQ(Objects(store->path()).size(), report->objects_kept);
  ExpectFsckClean(store->path());
  EXPECT_EQ(Quarantines(*store), 0);
}

TEST_F(GitVerifiedObjectsTest, NamespacesCommitIndependently) {
  auto work = MakeWorkRepo("work", 3);
  std::string good = Rev(work / ".git", "main");
  // A second namespace whose tip's history is not in the pack (its parents are missing).
  Sh("cd " + ShellQuote(work.string()) + " && git checkout -q -b other && echo o > o.txt && git add -A && "
     "git commit -q -m other");
  std::string other = Rev(work / ".git", "other");
  // A pack with `other` but not main's history: neither namespace connects.
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store);
  Bytes only_other = MakePack(work / ".git", other + "\n^" + good + "\n");
  auto report = ReceiveNamespaces(*store, only_other,
                                  {{Key(1), {{"heads/main", *FromHex(good)}}}, {Key(2), {{"heads/x", *FromHex(other)}}}});
  ASSERT_TRUE(report) << report.message();
  EXPECT_TRUE(report->committed.empty());
  ASSERT_EQ(report->skipped.size(), 2u);
  EXPECT_EQ(report->skipped[0].code, GitError::MissingObjects);
  EXPECT_TRUE(Objects(store->path()).empty()) << "nothing unverified entered";

  // A full pack for the first namespace: it commits although the stranger's is broken.
  Bytes main_only = MakePack(work / ".git", good + "\n");
  auto second = ReceiveNamespaces(*store, main_only,
                                  {{Key(1), {{"heads/main", *FromHex(good)}}},
                                   {Key(2), {{"heads/x", *FromHex(std::string(40, 'a'))}}}});
  ASSERT_TRUE(second) << second.message();
  ASSERT_EQ(second->committed.size(), 1u);
  EXPECT_EQ(second->committed[0], Key(1));
  ASSERT_EQ(second->skipped.size(), 1u);
  EXPECT_EQ(second->skipped[0].node, Key(2));
  EXPECT_EQ(*store->ListNamespace(Key(1)), (std::vector<NamedRef>{{"heads/main", *FromHex(good)}}));
  EXPECT_TRUE(store->ListNamespace(Key(2))->empty());
}

TEST_F(GitVerifiedObjectsTest, ATipAlreadyPresentIsStillWalked) {
  auto work = MakeWorkRepo("work", 3);
  std::string tip = Rev(work / ".git", "main");
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store);
  // The tip commit alone, written straight into the store: present, unreferenced, disconnected.
  Sh("git --git-dir=" + ShellQuote((work / ".git").string()) + " cat-file commit " + tip +
     " | git --git-dir=" + ShellQuote(store->path().string()) + " hash-object -t commit -w --stdin >/dev/null");
  ASSERT_TRUE(Has(*store, tip));
  auto report = ReceiveNamespaces(*store, {}, {{Key(1), {{"heads/main", *FromHex(tip)}}}});
  ASSERT_TRUE(report) << report.message();
  EXPECT_TRUE(report->committed.empty());
  ASSERT_EQ(report->skipped.size(), 1u);
  EXPECT_EQ(report->skipped[0].code, GitError::MissingObjects) << report->skipped[0].reason;
  EXPECT_TRUE(store->ListNamespace(Key(1))->empty());
}

TEST_F(GitVerifiedObjectsTest, ServesOnlyWhatASignedTipReaches) {
  auto work = MakeWorkRepo("work", 4);
  auto store = Share(work, "store.git", Key(1));
  std::string tip = Rev(work / ".git", "main");
  std::string ancestor = Rev(work / ".git", "main~2");
  std::string tree = Rev(work / ".git", "main^{tree}");
  // An object in the store that no ref reaches.
  std::string loose = Sh("echo private | git --git-dir=" + ShellQuote(store.path().string()) + " hash-object -w --stdin");
  loose.pop_back();
  Sh("cd " + ShellQuote(work.string()) + " && git commit -q --allow-empty -m unannounced");
  std::string unannounced = Rev(work / ".git", "main");
  Sh("git --git-dir=" + ShellQuote((work / ".git").string()) + " cat-file commit " + unannounced +
     " | git --git-dir=" + ShellQuote(store.path().string()) + " hash-object -t commit -w --stdin >/dev/null");
  auto servable = store.ServableObjects({*FromHex(tip), *FromHex(ancestor), *FromHex(tree), *FromHex(loose),
                                         *FromHex(unannounced), *FromHex(std::string(40, 'b'))});
  ASSERT_TRUE(servable) << servable.message();
  EXPECT_EQ(*servable, (std::vector<bool>{true, true, false, false, false, false}));
}

TEST_F(GitVerifiedObjectsTest, ShareImportsOnlyWhatItsRefsReach) {
  auto work = MakeWorkRepo("work", 3);
  // A stash and a dangling commit: objects the working repository holds but does not share.
  Sh("cd " + ShellQuote(work.string()) + " && echo secret-token > c-1.txt && git stash -q && "
     "git commit -q --allow-empty -m dangling");
  std::string stash = Rev(work / ".git", "refs/stash");
  std::string dangling = Rev(work / ".git", "HEAD");
  Sh("cd " + ShellQuote(work.string()) + " && git reset -q --hard HEAD~1 && git gc -q --prune=never");
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store);
  auto imported = ImportWorkingRepo(*store, work);
  ASSERT_TRUE(imported) << imported.message();
  EXPECT_GT(imported->objects_left_out, 0u);
  EXPECT_FALSE(Has(*store, stash));
  EXPECT_FALSE(Has(*store, dangling));
  EXPECT_TRUE(Has(*store, Rev(work / ".git", "main")));
  ASSERT_TRUE(store->SetNamespace(Key(1), imported->refs));
  ExpectFsckClean(store->path());
  // Every object in the store is reachable from the shared refs.
  auto all = Objects(store->path());
  std::string reachable = Sh("git --git-dir=" + ShellQuote(store->path().string()) + " rev-list --objects --all | cut -c1-40 | sort");
  std::string listed;
  for (const auto& o : all) listed += o + "\n";
  EXPECT_EQ(listed, reachable);
}

}  // namespace
