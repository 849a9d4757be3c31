// Shared by the git_*_test.cpp files: temporary directories and real git repositories built
// with a fixed identity, dates and branch name, so object ids are the same on every run.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "git/storage.h"
#include "identity/node_key.h"
#include "support/run_command.h"

namespace p2pgit::test {

/** Environment prefix for every shell command of a test: no user config, fixed identity and
 *  dates (so commits are deterministic). */
inline const char* GIT_TEST_ENV =
    "export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null "
    "GIT_AUTHOR_NAME='Test Author' GIT_AUTHOR_EMAIL=author@example.org "
    "GIT_COMMITTER_NAME='Test Committer' GIT_COMMITTER_EMAIL=committer@example.org "
    "GIT_AUTHOR_DATE='1700000000 +0000' GIT_COMMITTER_DATE='1700000000 +0000'; "
    "unset GIT_DIR GIT_WORK_TREE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES; ";

class GitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    m_dir = std::filesystem::temp_directory_path() /
            ("p2pgit-git-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir);
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  std::filesystem::path Dir(const std::string& name) const { return m_dir / name; }

  /** Runs a shell command with GIT_TEST_ENV; fails the test on a non-zero exit. */
  std::string Sh(const std::string& command) {
    auto r = RunCommand(std::string(GIT_TEST_ENV) + command);
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.err;
    return r.out;
  }

  /** A working repository with branch main and `commits` commits, each changing a file. */
  std::filesystem::path MakeWorkRepo(const std::string& name, int commits) {
    auto dir = Dir(name);
    Sh("git init -q -b main " + ShellQuote(dir.string()));
    AddCommits(dir, commits, "c");
    return dir;
  }

  /** `count` commits on the checked-out branch of `dir`; file contents delta against each other. */
  void AddCommits(const std::filesystem::path& dir, int count, const std::string& tag) {
    std::string script = "cd " + ShellQuote(dir.string()) + " && for i in $(seq 1 " + std::to_string(count) +
                         "); do mkdir -p src; seq 1 200 > src/big.txt; echo " + tag +
                         "-$i >> src/big.txt; echo " + tag + "-$i > " + tag +
                         "-$i.txt; git add -A && git commit -q -m \"" + tag + " $i\"; done";
    Sh(script);
  }

  std::string Rev(const std::filesystem::path& git_dir, const std::string& rev) {
    std::string out = Sh("git --git-dir=" + ShellQuote(git_dir.string()) + " rev-parse " + ShellQuote(rev));
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  Bytes Oid(const std::filesystem::path& git_dir, const std::string& rev) { return *FromHex(Rev(git_dir, rev)); }

  /** Every object id in a repository, sorted. */
  std::vector<std::string> Objects(const std::filesystem::path& git_dir) {
    std::string out = Sh("git --git-dir=" + ShellQuote(git_dir.string()) +
                         " cat-file --batch-all-objects --batch-check='%(objectname)'");
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < out.size()) {
      size_t nl = out.find('\n', pos);
      if (nl == std::string::npos) nl = out.size();
      if (nl > pos) lines.push_back(out.substr(pos, nl - pos));
      pos = nl + 1;
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  /** refs with their values, one "oid ref" per line. */
  std::string Refs(const std::filesystem::path& git_dir) {
    return Sh("git --git-dir=" + ShellQuote(git_dir.string()) + " for-each-ref");
  }

  void ExpectFsckClean(const std::filesystem::path& git_dir) {
    auto r = RunCommand(std::string(GIT_TEST_ENV) + "git --git-dir=" + ShellQuote(git_dir.string()) +
                        " fsck --strict --no-dangling 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  /** Leftover quarantine directories in a store. */
  int Quarantines(const git::StorageRepo& store) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(store.path() / "objects"))
      if (e.path().filename().string().starts_with("incoming-")) ++n;
    return n;
  }

  /** A pack made by pack-objects from `revs` (one revision per line, ^ for exclusions). */
  Bytes MakePack(const std::filesystem::path& git_dir, const std::string& revs, const std::string& flags = "") {
    auto file = m_dir / "made.pack";
    Sh("printf '%s' " + ShellQuote(revs) + " | git --git-dir=" + ShellQuote(git_dir.string()) +
       " pack-objects --revs --stdout -q " + flags + " > " + ShellQuote(file.string()));
    std::ifstream in(file, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }

  static identity::PublicKey Key(uint8_t n) {
    identity::PublicKey k{};
    k.fill(n);
    return k;
  }

  std::filesystem::path m_dir;
};

}  // namespace p2pgit::test
