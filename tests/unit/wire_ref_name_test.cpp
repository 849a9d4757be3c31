// The one ref-name policy (wire/ref_name.h): one refusal per rule, the per-message directory
// rule in DecodeRefs, and git itself as the oracle: every name the policy accepts must be
// accepted by `git check-ref-format` as refs/nodes/<id>/<name>, so nothing admission lets in can
// be refused later by the git layer.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "git/storage.h"
#include "wire/message.h"
#include "wire/ref_name.h"

using namespace p2pgit;
using namespace p2pgit::wire;
namespace fs = std::filesystem;

extern char** environ;

namespace {

/** A NodeId's ref component, as git::NamespacePrefix writes it. */
constexpr const char* NAMESPACE = "refs/nodes/z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd/";

/** Exit status of `git check-ref-format <full>`; no shell, so any byte reaches git unchanged. */
int GitCheckRefFormat(const std::string& full) {
  std::string git = "git", verb = "check-ref-format";
  std::vector<char*> argv = {git.data(), verb.data(), const_cast<char*>(full.c_str()), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "git", nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/** The shared corpus of names: tests/fuzz/corpus/ref_name_fuzz/{accept,refuse}-*. */
std::vector<std::pair<std::string, std::string>> CorpusNames() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : fs::directory_iterator(fs::path(P2PGIT_SOURCE_DIR) / "tests/fuzz/corpus/ref_name_fuzz")) {
    std::ifstream in(entry.path(), std::ios::binary);
    out.emplace_back(entry.path().filename().string(),
                     std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  }
  return out;
}

const std::vector<std::string> ACCEPTED = {
    "heads/main", "heads/feature/x-y_z", "heads/a.b", "heads/a.b/c", "heads/a@b", "heads/a-", "heads/HEAD",
    "tags/v1.0", "tags/v1.0-rc.1", "patches/abc", "patches/0123abcd", "heads/caf\xc3\xa9", "heads/a_b+c=d,e",
    "heads/" + std::string(MAX_REF_NAME_BYTES - 6, 'x'),
};

/** One refused example per rule, with the rule it breaks. */
const std::vector<std::pair<std::string, const char*>> REFUSED = {
    {"", "empty"},
    {"main", "no root"},
    {"heads", "root without slash"},
    {"heads/", "nothing after the root"},
    {"refs/heads/main", "full name, not namespace-relative"},
    {"remotes/origin/main", "root not allowed"},
    {"notes/commits", "notes/ dropped"},
    {"heads/" + std::string(MAX_REF_NAME_BYTES - 5, 'x'), "longer than MAX_REF_NAME_BYTES"},
    {"heads/a..b", "\"..\""},
    {"heads/../../x", "escape"},
    {"heads/a@{1}", "\"@{\""},
    {"heads/@", "component \"@\""},
    {"heads/a//b", "empty component"},
    {"heads/a/", "trailing slash"},
    {"heads/a.", "trailing dot"},
    {"heads/.hidden", "component starting with '.'"},
    {"heads/x.lock", "component ending with .lock"},
    {"heads/x.lock/y", "inner component ending with .lock"},
    {"heads/-upload-pack", "component starting with '-'"},
    {"heads/a/-b", "inner component starting with '-'"},
    {"heads/a b", "space"},
    {"heads/tab\tx", "control character"},
    {std::string("heads/nul\0x", 11), "NUL"},
    {"heads/del\x7f", "DEL"},
    {"heads/a~1", "~"},
    {"heads/a^", "^"},
    {"heads/a:b", ":"},
    {"heads/a?", "?"},
    {"heads/a*", "*"},
    {"heads/a[", "["},
    {"heads/a\\b", "backslash"},
    {"heads/a\xc2\x9b" "b", "C1 control (CSI)"},
    {"heads/\xc3", "truncated UTF-8"},
    {"heads/\xc0\xaf", "overlong UTF-8"},
    {"heads/\xed\xa0\x80", "UTF-16 surrogate"},
};

}  // namespace

TEST(WireRefName, AcceptsOrdinaryNames) {
  for (const auto& name : ACCEPTED) EXPECT_TRUE(IsValidRefName(name)) << name << ": " << *RefNameRefusal(name);
}

TEST(WireRefName, RefusesOnePerRule) {
  for (const auto& [name, rule] : REFUSED) {
    auto refusal = RefNameRefusal(name);
    ASSERT_TRUE(refusal.has_value()) << rule;
    EXPECT_FALSE(refusal->empty()) << rule;
  }
}

TEST(WireRefName, GitLayerAppliesTheSamePolicy) {
  for (const auto& name : ACCEPTED) EXPECT_TRUE(git::CheckNamespaceRefName(name)) << name;
  for (const auto& [name, rule] : REFUSED)
    EXPECT_EQ(git::CheckNamespaceRefName(name).code(), git::GitError::InvalidArgument) << rule;
}

TEST(WireRefName, EveryAcceptedNameIsAcceptedByGitCheckRefFormat) {
  ASSERT_EQ(GitCheckRefFormat(std::string(NAMESPACE) + "heads/main"), 0) << "git not runnable";
  size_t corpus_accepted = 0;
  for (const auto& [file, name] : CorpusNames()) {
    bool accept = file.rfind("accept-", 0) == 0;
    ASSERT_TRUE(accept || file.rfind("refuse-", 0) == 0) << "unexpected corpus file " << file;
    EXPECT_EQ(IsValidRefName(name), accept) << file;
    if (!accept) continue;
    ++corpus_accepted;
    EXPECT_EQ(GitCheckRefFormat(NAMESPACE + name), 0) << file;
  }
  EXPECT_GT(corpus_accepted, 0u);
  for (const auto& name : ACCEPTED) EXPECT_EQ(GitCheckRefFormat(NAMESPACE + name), 0) << name;
  // Git's own rules among the refusals are refused by git too (the others are ours, stricter).
  for (const char* name : {"heads/a..b", "heads/a@{1}", "heads/a//b", "heads/a.", "heads/.hidden", "heads/x.lock",
                           "heads/a b", "heads/a~1", "heads/a^", "heads/a:b", "heads/a?", "heads/a*", "heads/a[",
                           "heads/a\\b", "heads/a/"})
    EXPECT_NE(GitCheckRefFormat(std::string(NAMESPACE) + name), 0) << name;
}

TEST(WireRefName, DirectoryPrefixConflicts) {
  auto conflict = [](std::vector<std::string_view> names) {
    std::sort(names.begin(), names.end());
    return RefDirectoryConflict(names).has_value();
  };
  EXPECT_TRUE(conflict({"heads/a", "heads/a/b"}));
  // Not adjacent in byte order: "heads/a" < "heads/a-b" < "heads/a/b".
  EXPECT_TRUE(conflict({"heads/a", "heads/a-b", "heads/a/b"}));
  EXPECT_TRUE(conflict({"heads/a", "heads/a/b/c"}));
  EXPECT_FALSE(conflict({"heads/a", "heads/ab", "heads/a-b", "heads/b/a"}));
  EXPECT_FALSE(conflict({"heads/a/b", "heads/a/c"}));
  EXPECT_FALSE(conflict({"heads/main", "tags/main"}));
  EXPECT_FALSE(conflict({}));
}

TEST(WireRefName, DecodeRefsRefusesPolicyBreachesAsInvalidField) {
  auto repo = identity::ComputeRepoId(Bytes(20, 1), identity::PublicKey{});
  auto decode = [&](std::vector<RefEntry> refs) {
    return DecodeBody(MessageType::Refs, EncodeBody(RefsBody{1, repo, std::move(refs), 1}));
  };
  EXPECT_TRUE(decode({{"heads/a/b", Bytes(20, 1)}, {"heads/a/c", Bytes(20, 2)}}));
  for (const auto& [name, rule] : REFUSED) {
    if (name.size() > MAX_REF_NAME_BYTES) continue;  // too-large, refused before the policy
    auto d = decode({{name, Bytes(20, 1)}});
    ASSERT_FALSE(d) << rule;
    // Invalid UTF-8 is already malformed text to the CBOR reader; every other breach is the policy's.
    EXPECT_TRUE(d.code() == WireError::InvalidField || d.code() == WireError::Malformed) << rule;
  }
  EXPECT_EQ(decode({{std::string(MAX_REF_NAME_BYTES + 1, 'x'), Bytes(20, 1)}}).code(), WireError::TooLarge);
  auto prefix = decode({{"heads/a", Bytes(20, 1)}, {"heads/a-b", Bytes(20, 1)}, {"heads/a/b", Bytes(20, 2)}});
  EXPECT_EQ(prefix.code(), WireError::InvalidField);
  EXPECT_NE(prefix.message().find("heads/a/b"), std::string::npos) << prefix.message();
  // One message, one object format.
  EXPECT_EQ(decode({{"heads/a", Bytes(20, 1)}, {"heads/b", Bytes(32, 1)}}).code(), WireError::InvalidField);
  EXPECT_TRUE(decode({{"heads/a", Bytes(32, 1)}, {"heads/b", Bytes(32, 1)}}));
}

TEST(WireRefName, RepoDefaultBranchFollowsThePolicy) {
  identity::PublicKey creator{};
  RepoBody repo;
  repo.root_commit = Bytes(20, 1);
  repo.creator = creator;
  repo.repo_id = identity::ComputeRepoId(repo.root_commit, creator);
  repo.delegates = {creator};
  repo.default_branch = "main";
  EXPECT_TRUE(DecodeBody(MessageType::Repo, EncodeBody(repo)));
  for (const char* bad : {"-main", "a..b", "@", "x.lock"}) {
    repo.default_branch = bad;
    EXPECT_EQ(DecodeBody(MessageType::Repo, EncodeBody(repo)).code(), WireError::InvalidField) << bad;
  }
}
