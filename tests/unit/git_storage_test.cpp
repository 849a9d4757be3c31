// The store of one repository: creation, namespace refs set atomically to exact sets, import of
// a working repository (hard-linked objects, fallback through a pack), refusals.
#include <gtest/gtest.h>

#include "git/import.h"
#include "git/storage.h"
#include "git_test_fixture.h"
#include "identity/did.h"

using namespace p2pgit;
using namespace p2pgit::git;
using p2pgit::test::GitTest;
using p2pgit::test::ShellQuote;

namespace {

class GitStorageTest : public GitTest {};

TEST_F(GitStorageTest, StoragePathIsDerivedFromTheRepoId) {
  auto id = identity::ComputeRepoId(Bytes(20, 7), Key(1));
  auto path = StoragePath("/home/x", id);
  EXPECT_EQ(path.parent_path(), std::filesystem::path("/home/x/repos"));
  std::string name = path.filename().string();
  EXPECT_EQ(name, id.ToString().substr(std::string("did:repo:").size()) + ".git");
}

TEST_F(GitStorageTest, OpenOrCreateMakesABareRepositoryOnce) {
  auto path = Dir("home") / "repos" / "zTest.git";
  auto store = StorageRepo::OpenOrCreate(path);
  ASSERT_TRUE(store) << store.message();
  EXPECT_EQ(Sh("git --git-dir=" + ShellQuote(path.string()) + " rev-parse --is-bare-repository"), "true\n");
  EXPECT_EQ(Sh("git --git-dir=" + ShellQuote(path.string()) + " config gc.auto"), "0\n");
  auto again = StorageRepo::OpenOrCreate(path);
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ(again->path(), store->path());
  // No temporary directory left next to it.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(path.parent_path())) (void)e, ++entries;
  EXPECT_EQ(entries, 1);

  EXPECT_EQ(StorageRepo::Open(Dir("nothing")).code(), GitError::NotARepository);
  std::filesystem::create_directories(Dir("plain"));
  EXPECT_EQ(StorageRepo::OpenOrCreate(Dir("plain")).code(), GitError::NotARepository);
}

TEST_F(GitStorageTest, RefNameRules) {
  for (const char* good : {"heads/main", "tags/v1.0", "patches/abc", "heads/feature/x-y_z", "heads/a.b"})
    EXPECT_TRUE(CheckNamespaceRefName(good)) << good;
  for (const char* bad : {"main", "heads/", "heads", "refs/heads/main", "heads/a..b", "heads/.hidden",
                          "heads/x.lock", "heads/a//b", "heads/a/", "heads/a b", "heads/a:b", "heads/a~1",
                          "heads/a^", "heads/a?", "heads/a*", "heads/a[", "heads/a\\b", "heads/a@{1}", "heads/@",
                          "heads/a.", "heads/tab\tx", "remotes/origin/main", "heads/../../x"})
    EXPECT_EQ(CheckNamespaceRefName(bad).code(), GitError::InvalidArgument) << bad;
  EXPECT_FALSE(CheckNamespaceRefName("heads/" + std::string(2000, 'a')));
}

TEST_F(GitStorageTest, ImportCopiesObjectsAndListsBranchesAndTags) {
  auto work = MakeWorkRepo("work", 5);
  Sh("cd " + ShellQuote(work.string()) +
     " && git tag v1 && git tag -a v2 -m 'release 2' && git checkout -q -b feature && echo f > f.txt && git add f.txt "
     "&& git commit -q -m feature && git checkout -q main && git repack -q -d && echo loose > loose.txt && git add "
     "loose.txt && git commit -q -m loose");
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store) << store.message();
  auto imported = ImportWorkingRepo(*store, work);
  ASSERT_TRUE(imported) << imported.message();
  EXPECT_FALSE(imported->streamed);
  EXPECT_EQ(imported->packs_linked, 1u);
  EXPECT_GT(imported->loose_linked, 0u);
  auto gitdir = work / ".git";
  std::vector<NamedRef> expected = {{"heads/feature", Oid(gitdir, "feature")},
                                    {"heads/main", Oid(gitdir, "main")},
                                    {"tags/v1", Oid(gitdir, "v1")},
                                    {"tags/v2", Oid(gitdir, "v2")}};
  EXPECT_EQ(imported->refs, expected);
  EXPECT_NE(Rev(gitdir, "v2"), Rev(gitdir, "v2^{commit}"));  // annotated: the tag object itself

  // Importing moves no ref; the caller sets the namespace it signed.
  EXPECT_EQ(Refs(store->path()), "");
  auto me = Key(1);
  ASSERT_TRUE(store->SetNamespace(me, imported->refs));
  auto listed = store->ListNamespace(me);
  ASSERT_TRUE(listed) << listed.message();
  EXPECT_EQ(*listed, expected);
  EXPECT_NE(Refs(store->path()).find("refs/nodes/" + identity::DidKeyRefComponent(me) + "/heads/main"),
            std::string::npos);
  ExpectFsckClean(store->path());
  EXPECT_EQ(Objects(store->path()), Objects(gitdir));
  EXPECT_EQ(Quarantines(*store), 0);

  auto tips = store->ListTips();
  ASSERT_TRUE(tips);
  EXPECT_EQ(tips->size(), 4u);

  // Sharing again after more work links only what is new.
  AddCommits(work, 3, "more");
  auto again = ImportWorkingRepo(*store, work);
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ(again->packs_linked, 0u);
  ASSERT_TRUE(store->SetNamespace(me, again->refs));
  EXPECT_EQ(store->ListNamespace(me)->at(1), (NamedRef{"heads/main", Oid(gitdir, "main")}));
  ExpectFsckClean(store->path());
}

TEST_F(GitStorageTest, ImportFallsBackToAPackWhenObjectsAreBorrowed) {
  auto origin = MakeWorkRepo("origin", 4);
  // --shared: the clone's objects live in origin, reached through objects/info/alternates.
  Sh("git clone -q --shared " + ShellQuote(origin.string()) + " " + ShellQuote(Dir("clone").string()));
  AddCommits(Dir("clone"), 2, "own");
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store);
  auto imported = ImportWorkingRepo(*store, Dir("clone"));
  ASSERT_TRUE(imported) << imported.message();
  EXPECT_TRUE(imported->streamed);
  EXPECT_GT(imported->streamed_bytes, 0u);
  ASSERT_TRUE(store->SetNamespace(Key(1), imported->refs));
  ExpectFsckClean(store->path());
  EXPECT_EQ(Quarantines(*store), 0);
}

TEST_F(GitStorageTest, ImportRefusesSha256ShallowAndEmptyRepositories) {
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store);
  Sh("git init -q -b main --object-format=sha256 " + ShellQuote(Dir("sha256").string()) + " && cd " +
     ShellQuote(Dir("sha256").string()) + " && echo x > x && git add x && git commit -q -m x");
  auto sha256 = ImportWorkingRepo(*store, Dir("sha256"));
  EXPECT_EQ(sha256.code(), GitError::UnsupportedObjectFormat);
  EXPECT_NE(sha256.message().find("SHA-1"), std::string::npos) << sha256.message();

  auto origin = MakeWorkRepo("origin", 3);
  Sh("git clone -q --depth 1 file://" + origin.string() + " " + ShellQuote(Dir("shallow").string()));
  EXPECT_EQ(ImportWorkingRepo(*store, Dir("shallow")).code(), GitError::InvalidArgument);

  Sh("git init -q -b main " + ShellQuote(Dir("empty").string()));
  EXPECT_EQ(ImportWorkingRepo(*store, Dir("empty")).code(), GitError::NoCommits);
  std::filesystem::create_directories(Dir("notrepo"));
  auto not_repo = ImportWorkingRepo(*store, Dir("notrepo"));
  EXPECT_EQ(not_repo.code(), GitError::NotARepository) << not_repo.message();
  EXPECT_EQ(Objects(store->path()).size(), 0u);
  EXPECT_EQ(Quarantines(*store), 0);
}

TEST_F(GitStorageTest, SetNamespacesIsExactAtomicAndChecked) {
  auto work = MakeWorkRepo("work", 3);
  auto gitdir = work / ".git";
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(ImportWorkingRepo(*store, work));
  Bytes c1 = Oid(gitdir, "main~2"), c2 = Oid(gitdir, "main~1"), c3 = Oid(gitdir, "main");
  auto a = Key(1), b = Key(2);

  ASSERT_TRUE(store->SetNamespaces({{a, {{"heads/main", c3}, {"heads/old", c1}, {"tags/t", c2}}},
                                    {b, {{"heads/main", c2}}}}));
  EXPECT_EQ(store->ListNamespace(a)->size(), 3u);
  // Exactly the given set: heads/old and tags/t go, heads/new appears, b is untouched.
  ASSERT_TRUE(store->SetNamespace(a, {{"heads/main", c2}, {"heads/new", c3}}));
  EXPECT_EQ(*store->ListNamespace(a), (std::vector<NamedRef>{{"heads/main", c2}, {"heads/new", c3}}));
  EXPECT_EQ(*store->ListNamespace(b), (std::vector<NamedRef>{{"heads/main", c2}}));
  auto all = store->ListNamespaces();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].node, a);
  EXPECT_EQ((*all)[1].node, b);

  std::string before = Refs(store->path());
  // An object the store does not have: nothing changes, in either namespace.
  auto missing = store->SetNamespaces({{b, {{"heads/main", c3}}}, {a, {{"heads/main", Bytes(20, 0xab)}}}});
  EXPECT_EQ(missing.code(), GitError::MissingObjects) << missing.message();
  EXPECT_EQ(Refs(store->path()), before);
  EXPECT_EQ(store->SetNamespace(a, {{"heads/x..y", c1}}).code(), GitError::InvalidArgument);
  EXPECT_EQ(store->SetNamespace(a, {{"heads/x", Bytes(32, 1)}}).code(), GitError::InvalidArgument);
  EXPECT_EQ(store->SetNamespace(a, {{"heads/x", c1}, {"heads/x", c2}}).code(), GitError::InvalidArgument);
  EXPECT_EQ(Refs(store->path()), before);
  // An empty set clears the namespace.
  ASSERT_TRUE(store->SetNamespace(a, {}));
  EXPECT_TRUE(store->ListNamespace(a)->empty());

  auto has = store->HasObjects({c1, Bytes(20, 0xab)});
  ASSERT_TRUE(has);
  EXPECT_EQ(*has, (std::vector<bool>{true, false}));
}

TEST_F(GitStorageTest, StaleQuarantinesAreRemovedYoungOnesKept) {
  auto store = StorageRepo::OpenOrCreate(Dir("store.git"));
  ASSERT_TRUE(store);
  std::filesystem::create_directories(store->path() / "objects" / "incoming-old" / "pack");
  std::filesystem::create_directories(store->path() / "objects" / "incoming-new");
  std::filesystem::last_write_time(store->path() / "objects" / "incoming-old",
                                   std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));
  EXPECT_EQ(store->RemoveStaleQuarantines(std::chrono::hours(1)), 1u);
  EXPECT_FALSE(std::filesystem::exists(store->path() / "objects" / "incoming-old"));
  EXPECT_TRUE(std::filesystem::exists(store->path() / "objects" / "incoming-new"));
}

}  // namespace
