// Serving and receiving packs between two stores: full and incremental transfers, and every
// bad pack (corrupted, missing an object, truncated, aborted) leaving the store unchanged.
#include <gtest/gtest.h>
#include <signal.h>

#include "git/import.h"
#include "git/pack_transfer.h"
#include "git/repo_inspect.h"
#include "git/storage.h"
#include "git_test_fixture.h"
#include "identity/did.h"

using namespace p2pgit;
using namespace p2pgit::git;
using p2pgit::test::GitTest;
using p2pgit::test::ShellQuote;

namespace {

class GitPackTransferTest : public GitTest {
 protected:
  /** A store holding `work`'s objects with namespace `node` set to its branches and tags. */
  StorageRepo ShareInto(const std::filesystem::path& work, const std::string& store_name, const identity::PublicKey& node) {
    auto store = StorageRepo::OpenOrCreate(Dir(store_name));
    EXPECT_TRUE(store) << store.message();
    auto imported = ImportWorkingRepo(*store, work);
    EXPECT_TRUE(imported) << imported.message();
    EXPECT_TRUE(store->SetNamespace(node, imported->refs));
    return *store;
  }

  static std::vector<Bytes> Tips(const std::vector<NamedRef>& refs) {
    std::vector<Bytes> tips;
    for (const auto& r : refs) tips.push_back(r.oid);
    return tips;
  }

  /** Serves `wants` minus `haves` from `from` into a receiver on `to`, in odd-sized pieces as a
   *  network would deliver them, and commits `refs`. Returns the bytes moved. */
  uint64_t Transfer(const StorageRepo& from, const StorageRepo& to, const std::vector<NamespaceRefs>& refs,
                    const std::vector<Bytes>& haves) {
    std::vector<Bytes> wants;
    for (const auto& ns : refs)
      for (const auto& r : ns.refs) wants.push_back(r.oid);
    auto receiver = PackReceiver::Start(to);
    EXPECT_TRUE(receiver) << receiver.message();
    GitStatus fed = Ok{};
    auto served = ServePack(from, wants, haves, [&](ByteSpan chunk) {
      for (size_t off = 0; off < chunk.size() && fed.ok(); off += 7001)
        fed = receiver->Feed(chunk.subspan(off, std::min<size_t>(7001, chunk.size() - off)));
      return fed.ok();
    });
    EXPECT_TRUE(fed) << fed.message();
    EXPECT_TRUE(served) << served.message();
    auto committed = receiver->Commit(refs);
    EXPECT_TRUE(committed) << committed.message();
    EXPECT_EQ(receiver->bytes_received(), served ? served->bytes : 0);
    return served ? served->bytes : 0;
  }

  /** Feeds `pack` whole, then commits; returns the first error. */
  GitStatus Receive(const StorageRepo& to, const Bytes& pack, const std::vector<NamespaceRefs>& refs) {
    auto receiver = PackReceiver::Start(to);
    if (!receiver) return receiver.error();
    if (auto st = receiver->Feed(pack); !st) return st;
    return receiver->Commit(refs);
  }

  struct Snapshot {
    std::vector<std::string> objects;
    std::string refs;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot Snap(const StorageRepo& store) { return {Objects(store.path()), Refs(store.path())}; }
};

TEST_F(GitPackTransferTest, FullThenIncrementalTransferGivesIdenticalStores) {
  auto work = MakeWorkRepo("work", 30);
  Sh("cd " + ShellQuote(work.string()) + " && git tag -a v1 -m one && git checkout -q -b topic && echo t > t && "
     "git add t && git commit -q -m topic && git checkout -q main");
  auto owner = Key(1);
  auto a = ShareInto(work, "a.git", owner);
  auto b = StorageRepo::OpenOrCreate(Dir("b.git"));
  ASSERT_TRUE(b);

  auto refs = a.ListNamespace(owner);
  ASSERT_TRUE(refs);
  ASSERT_EQ(refs->size(), 3u);
  uint64_t full = Transfer(a, *b, {{owner, *refs}}, {});
  EXPECT_GT(full, 0u);
  EXPECT_EQ(Objects(b->path()), Objects(a.path()));
  EXPECT_EQ(*b->ListNamespace(owner), *refs);
  ExpectFsckClean(b->path());
  EXPECT_EQ(Quarantines(*b), 0);

  // 5 new commits: the sync sends the store's tips as haves and moves only new objects.
  AddCommits(work, 5, "new");
  auto objects_before = Objects(a.path());
  auto reimported = ImportWorkingRepo(a, work);
  ASSERT_TRUE(reimported);
  ASSERT_TRUE(a.SetNamespace(owner, reimported->refs));
  size_t new_objects = Objects(a.path()).size() - objects_before.size();
  EXPECT_EQ(new_objects, 25u);  // per commit: a commit, two trees, two blobs

  auto haves = b->ListTips();
  ASSERT_TRUE(haves);
  size_t b_before = Objects(b->path()).size();
  uint64_t incremental = Transfer(a, *b, {{owner, reimported->refs}}, *haves);
  EXPECT_LT(incremental * 5, full) << incremental << " vs " << full;
  EXPECT_EQ(Objects(b->path()).size(), b_before + new_objects);
  EXPECT_EQ(Objects(b->path()), Objects(a.path()));
  EXPECT_EQ(*b->ListNamespace(owner), reimported->refs);
  ExpectFsckClean(b->path());

  // Nothing new: an empty transfer (no bytes at all) commits the same refs.
  auto receiver = PackReceiver::Start(*b);
  ASSERT_TRUE(receiver);
  ASSERT_TRUE(receiver->Commit({{owner, reimported->refs}}));
  EXPECT_EQ(Quarantines(*b), 0);
}

TEST_F(GitPackTransferTest, SeveralNamespacesInOnePack) {
  auto work = MakeWorkRepo("work", 4);
  auto a = ShareInto(work, "a.git", Key(1));
  Sh("cd " + ShellQuote(work.string()) + " && git checkout -q -b fork");
  AddCommits(work, 2, "fork");
  auto imported = ImportWorkingRepo(a, work);
  ASSERT_TRUE(imported);
  ASSERT_TRUE(a.SetNamespace(Key(2), {{"heads/main", imported->refs[0].oid}}));  // heads/fork
  auto b = StorageRepo::OpenOrCreate(Dir("b.git"));
  ASSERT_TRUE(b);
  auto namespaces = a.ListNamespaces();
  ASSERT_TRUE(namespaces);
  ASSERT_EQ(namespaces->size(), 2u);
  Transfer(a, *b, *namespaces, {});
  EXPECT_EQ(Refs(b->path()), Refs(a.path()));
  ExpectFsckClean(b->path());
}

TEST_F(GitPackTransferTest, CorruptedPackIsRejectedAndStoreUnchanged) {
  auto work = MakeWorkRepo("work", 20);
  auto a = ShareInto(work, "a.git", Key(1));
  auto b = ShareInto(MakeWorkRepo("other", 2), "b.git", Key(9));
  auto before = Snap(b);
  Bytes pack = MakePack(a.path(), Rev(a.path(), "refs/nodes/" + identity::DidKeyRefComponent(Key(1)) + "/heads/main") + "\n");
  ASSERT_GT(pack.size(), 1000u);
  for (size_t where : {pack.size() / 2, size_t{20}, pack.size() - 5}) {
    Bytes bad = pack;
    bad[where] ^= 0x5a;
    auto st = Receive(b, bad, {{Key(1), *a.ListNamespace(Key(1))}});
    EXPECT_EQ(st.code(), GitError::BadPack) << where << ": " << st.message();
    EXPECT_EQ(st.message().find('\n'), std::string::npos);
    EXPECT_EQ(Snap(b), before);
    EXPECT_EQ(Quarantines(b), 0);
  }
  // Not a pack at all.
  auto st = Receive(b, Bytes(5000, 'x'), {{Key(1), *a.ListNamespace(Key(1))}});
  EXPECT_EQ(st.code(), GitError::BadPack) << st.message();
  EXPECT_EQ(Snap(b), before);
}

TEST_F(GitPackTransferTest, PackMissingAnObjectIsRejectedAndStoreUnchanged) {
  auto work = MakeWorkRepo("work", 6);
  auto a = ShareInto(work, "a.git", Key(1));
  auto b = StorageRepo::OpenOrCreate(Dir("b.git"));
  ASSERT_TRUE(b);
  auto before = Snap(*b);
  auto refs = *a.ListNamespace(Key(1));
  std::string tip = ToHex(refs[0].oid);
  // The tip's commits without the first ones (an extra --not): parents are absent.
  Bytes pack = MakePack(a.path(), tip + "\n^" + tip + "~3\n");
  auto st = Receive(*b, pack, {{Key(1), refs}});
  EXPECT_EQ(st.code(), GitError::MissingObjects) << st.message();
  // index-pack's own check of thin-pack bases, or the connectivity walk, notices it.
  EXPECT_TRUE(st.message().find("not fully connected") != std::string::npos ||
              st.message().find("an object is missing") != std::string::npos)
      << st.message();
  EXPECT_EQ(Snap(*b), before);
  EXPECT_EQ(Quarantines(*b), 0);

  // With --strict index-pack itself notices the missing link (without it, the walk does).
  auto receiver = PackReceiver::Start(*b, ReceiveOptions{.strict = true});
  ASSERT_TRUE(receiver);
  ASSERT_TRUE(receiver->Feed(pack));
  auto strict = receiver->Commit({{Key(1), refs}});
  EXPECT_EQ(strict.code(), GitError::MissingObjects) << strict.message();
  EXPECT_EQ(Snap(*b), before);

  // A complete pack whose refs name a commit it does not contain.
  Bytes old_only = MakePack(a.path(), tip + "~3\n");
  st = Receive(*b, old_only, {{Key(1), refs}});
  EXPECT_EQ(st.code(), GitError::MissingObjects) << st.message();
  EXPECT_EQ(Snap(*b), before);
}

TEST_F(GitPackTransferTest, TruncatedOrAbortedTransferLeavesStoreUnchanged) {
  auto work = MakeWorkRepo("work", 20);
  auto a = ShareInto(work, "a.git", Key(1));
  auto b = ShareInto(MakeWorkRepo("other", 2), "b.git", Key(9));
  auto before = Snap(b);
  auto refs = *a.ListNamespace(Key(1));
  Bytes pack = MakePack(a.path(), ToHex(refs[0].oid) + "\n");

  for (size_t cut : {size_t{6}, size_t{12}, pack.size() / 3, pack.size() - 1}) {
    auto st = Receive(b, Bytes(pack.begin(), pack.begin() + static_cast<long>(cut)), {{Key(1), refs}});
    EXPECT_EQ(st.code(), GitError::BadPack) << cut << ": " << st.message();
    EXPECT_EQ(Snap(b), before);
    EXPECT_EQ(Quarantines(b), 0);
  }
  {
    // Interrupted: the receiver is destroyed mid-pack (connection lost).
    auto receiver = PackReceiver::Start(b);
    ASSERT_TRUE(receiver);
    ASSERT_TRUE(receiver->Feed(ByteSpan(pack).first(pack.size() / 2)));
    EXPECT_EQ(Quarantines(b), 1);
  }
  EXPECT_EQ(Quarantines(b), 0);
  EXPECT_EQ(Snap(b), before);
  {
    // Abort after index-pack finished: nothing migrates.
    auto receiver = PackReceiver::Start(b);
    ASSERT_TRUE(receiver);
    ASSERT_TRUE(receiver->Feed(pack));
    ASSERT_TRUE(receiver->Finish());
    receiver->Abort();
    EXPECT_EQ(receiver->Commit({{Key(1), refs}}).code(), GitError::Cancelled);
  }
  EXPECT_EQ(Snap(b), before);
  EXPECT_EQ(Quarantines(b), 0);

  // A cap below the pack's size.
  auto capped = PackReceiver::Start(b, ReceiveOptions{.max_pack_bytes = pack.size() / 2});
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->Feed(pack).code(), GitError::TooLarge);
  EXPECT_EQ(Snap(b), before);
}

TEST_F(GitPackTransferTest, SubmoduleGitlinkAndSeveralRootsTransfer) {
  auto work = MakeWorkRepo("work", 3);
  // A gitlink to a commit that exists nowhere here, as in any superproject.
  Sh("cd " + ShellQuote(work.string()) +
     " && printf '[submodule \"lib\"]\\n\\tpath = lib\\n\\turl = https://example.org/lib.git\\n' > .gitmodules && "
     "git add .gitmodules && git update-index --add --cacheinfo 160000,1234567890123456789012345678901234567890,lib && "
     "git commit -q -m submodule");
  // A second root: an unrelated history merged in.
  Sh("cd " + ShellQuote(work.string()) + " && git checkout -q --orphan other && git rm -rq --cached . && "
     "echo other > other.txt && git add other.txt && git commit -q -m 'other root' && git checkout -q -f main && "
     "git merge -q --allow-unrelated-histories -m merge other");
  EXPECT_EQ(Sh("cd " + ShellQuote(work.string()) + " && git rev-list --max-parents=0 main | wc -l"), "2\n");
  auto a = ShareInto(work, "a.git", Key(1));
  auto b = StorageRepo::OpenOrCreate(Dir("b.git"));
  ASSERT_TRUE(b);
  auto refs = *a.ListNamespace(Key(1));
  Transfer(a, *b, {{Key(1), refs}}, {});
  EXPECT_EQ(Objects(b->path()), Objects(a.path()));
  ExpectFsckClean(b->path());
  // The RepoId root is the first-parent root, not the merged-in one.
  auto root = FindRootCommitFrom(b->path(), Oid(work / ".git", "main"));
  ASSERT_TRUE(root) << root.message();
  EXPECT_EQ(ToHex(*root), Rev(work / ".git", "main~4"));
  EXPECT_EQ(*root, *FindRootCommit(work));
}

TEST_F(GitPackTransferTest, RepoIdCheckRunsInsideTheQuarantine) {
  auto work = MakeWorkRepo("work", 3);
  auto creator = Key(1);
  auto a = ShareInto(work, "a.git", creator);
  auto refs = *a.ListNamespace(creator);
  Bytes root = Oid(work / ".git", "main~2");
  auto id = identity::ComputeRepoId(root, creator);
  Bytes pack = MakePack(a.path(), ToHex(refs[0].oid) + "\n");

  auto b = StorageRepo::OpenOrCreate(Dir("b.git"));
  ASSERT_TRUE(b);
  auto wrong = PackReceiver::Start(*b);
  ASSERT_TRUE(wrong->Feed(pack));
  auto st = wrong->Commit({{creator, refs}}, RepoIdCheck{identity::ComputeRepoId(root, Key(2)), creator, refs[0].oid});
  EXPECT_EQ(st.code(), GitError::RepoIdMismatch) << st.message();
  EXPECT_TRUE(Objects(b->path()).empty());
  EXPECT_EQ(Refs(b->path()), "");

  auto right = PackReceiver::Start(*b);
  ASSERT_TRUE(right->Feed(pack));
  ASSERT_TRUE(right->Commit({{creator, refs}}, RepoIdCheck{id, creator, refs[0].oid}));
  EXPECT_EQ(*b->ListNamespace(creator), refs);
}

TEST_F(GitPackTransferTest, ServeRefusesUnknownWantsIgnoresUnknownHavesAndStopsOnRequest) {
  auto work = MakeWorkRepo("work", 10);
  auto a = ShareInto(work, "a.git", Key(1));
  auto tip = a.ListNamespace(Key(1))->at(0).oid;
  auto sink = [](ByteSpan) { return true; };
  EXPECT_EQ(ServePack(a, {Bytes(20, 0xcd)}, {}, sink).code(), GitError::NotFound);
  EXPECT_EQ(ServePack(a, {Bytes(19, 0xcd)}, {}, sink).code(), GitError::InvalidArgument);
  EXPECT_EQ(ServePack(a, {}, {}, sink).code(), GitError::InvalidArgument);
  auto with_unknown_have = ServePack(a, {tip}, {Bytes(20, 0xcd)}, sink);
  ASSERT_TRUE(with_unknown_have) << with_unknown_have.message();
  EXPECT_GT(with_unknown_have->bytes, 0u);

  int calls = 0;
  auto stopped = ServePack(a, {tip}, {}, [&](ByteSpan) { return ++calls < 1; });
  EXPECT_EQ(stopped.code(), GitError::Cancelled);
  EXPECT_EQ(calls, 1);
}

TEST_F(GitPackTransferTest, BadArgumentsToCommitLeaveTheReceiverUsable) {
  auto work = MakeWorkRepo("work", 3);
  auto a = ShareInto(work, "a.git", Key(1));
  auto refs = *a.ListNamespace(Key(1));
  auto b = StorageRepo::OpenOrCreate(Dir("b.git"));
  auto receiver = PackReceiver::Start(*b);
  ASSERT_TRUE(receiver->Feed(MakePack(a.path(), ToHex(refs[0].oid) + "\n")));
  EXPECT_EQ(receiver->Commit({{Key(1), {{"main", refs[0].oid}}}}).code(), GitError::InvalidArgument);
  ASSERT_TRUE(receiver->Commit({{Key(1), refs}}));
  EXPECT_EQ(*b->ListNamespace(Key(1)), refs);
}

}  // namespace

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

/** Figures on the benchmark repository (not part of the suite):
 *  P2PGIT_BENCH_REPO=/path/from/make_bench_repo.sh git_pack_transfer_test \
 *    --gtest_also_run_disabled_tests --gtest_filter='*Figures*' */
TEST_F(GitPackTransferTest, DISABLED_FiguresOnBenchRepo) {
  const char* repo = std::getenv("P2PGIT_BENCH_REPO");
  if (repo == nullptr) GTEST_SKIP() << "set P2PGIT_BENCH_REPO";
  std::filesystem::path work(repo);
  auto clock = std::chrono::steady_clock::now;

  auto t = clock();
  auto a = StorageRepo::OpenOrCreate(Dir("a.git"));
  auto imported = ImportWorkingRepo(*a, work);
  ASSERT_TRUE(imported) << imported.message();
  ASSERT_TRUE(a->SetNamespace(Key(1), imported->refs));
  std::printf("import (link + connectivity): %.2f s, %zu packs linked, streamed=%d\n", Seconds(t),
              imported->packs_linked, imported->streamed);

  for (bool strict : {false, true}) {
    auto b = StorageRepo::OpenOrCreate(Dir(strict ? "b-strict.git" : "b.git"));
    t = clock();
    auto receiver = PackReceiver::Start(*b, ReceiveOptions{.strict = strict});
    GitStatus fed = Ok{};
    auto served = ServePack(*a, Tips(imported->refs), {}, [&](ByteSpan chunk) {
      fed = receiver->Feed(chunk);
      return fed.ok();
    });
    ASSERT_TRUE(served) << served.message();
    ASSERT_TRUE(receiver->Commit({{Key(1), imported->refs}}));
    std::printf("full transfer (strict=%d): %.2f s, %.1f MB\n", strict, Seconds(t), served->bytes / 1e6);
  }

  auto pack_file = Dir("all.pack");
  Sh("git --git-dir=" + ShellQuote(a->path().string()) + " pack-objects --all --stdout -q > " +
     ShellQuote(pack_file.string()));
  Sh("git init -q --bare " + ShellQuote(Dir("floor.git").string()));
  t = clock();
  Sh("git --git-dir=" + ShellQuote(Dir("floor.git").string()) + " index-pack --stdin < " +
     ShellQuote(pack_file.string()) + " > /dev/null");
  std::printf("floor (git index-pack --stdin of the same pack): %.2f s\n", Seconds(t));

  // 50 new commits, synced with haves.
  Sh("git clone -q " + ShellQuote(work.string()) + " " + ShellQuote(Dir("work2").string()));
  AddCommits(Dir("work2"), 50, "sync");
  auto again = ImportWorkingRepo(*a, Dir("work2"));
  ASSERT_TRUE(again) << again.message();
  ASSERT_TRUE(a->SetNamespace(Key(1), again->refs));
  auto b = StorageRepo::Open(Dir("b.git"));
  t = clock();
  uint64_t bytes = Transfer(*a, *b, {{Key(1), again->refs}}, *b->ListTips());
  std::printf("incremental (50 commits): %.2f s, %llu bytes\n", Seconds(t), static_cast<unsigned long long>(bytes));
}

}  // namespace
