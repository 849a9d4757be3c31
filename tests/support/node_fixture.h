// What end-to-end tests of nodes share: a temporary folder per test (kept when the test fails),
// homes inside it, daemons started as children (killed with their process group whatever
// happens), p2pgit commands run against a home, and polling with a deadline.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/run_command.h"

namespace p2pgit::test {

/** Prefix for a shell command line of an e2e test: exported (a prefix assignment would reach only
 *  the first command of a `&&` chain), no user or system git config, a fixed identity — a fresh
 *  machine has no git identity, and every git commit a test makes needs one. */
inline const char* GIT_TEST_SHELL_ENV =
    "export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null "
    "GIT_AUTHOR_NAME='Test Author' GIT_AUTHOR_EMAIL=author@example.org "
    "GIT_COMMITTER_NAME='Test Committer' GIT_COMMITTER_EMAIL=committer@example.org; "
    "unset GIT_DIR GIT_WORK_TREE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_INDEX_FILE; ";
/** The same identity as environment entries, for daemons started as children. */
inline const std::vector<std::string> GIT_TEST_ENV_VARS = {"GIT_CONFIG_NOSYSTEM=1",
                                                           "GIT_CONFIG_GLOBAL=/dev/null",
                                                           "GIT_AUTHOR_NAME=Test Author",
                                                           "GIT_AUTHOR_EMAIL=author@example.org",
                                                           "GIT_COMMITTER_NAME=Test Committer",
                                                           "GIT_COMMITTER_EMAIL=committer@example.org"};

class NodeFixture : public testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::path(testing::TempDir()) / ("p2pgit-" + std::string(Prefix()) + "-" + std::to_string(getpid()));
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir);
  }
  void TearDown() override {
    m_children.clear();
    if (!HasFailure()) std::filesystem::remove_all(m_dir);
  }
  /** Names the temporary folder (one per fixture kind). */
  virtual const char* Prefix() const { return "node"; }

  std::string Home(const std::string& name) { return (m_dir / name).string(); }

  /** Runs `p2pgit <args>` with P2PGIT_HOME=home (from `cwd` when given). */
  CommandOutput P2pgit(const std::string& home, const std::string& args, const std::string& cwd = "") {
    return RunCommand((cwd.empty() ? "" : "cd " + ShellQuote(cwd) + " && ") + "P2PGIT_HOME=" + ShellQuote(home) +
                      " timeout 120 " + P2pgitBinary() + " " + args);
  }

  /** Starts a daemon (`node …` / `relay …`) with home `name`, logging to <name>.log; fills the
   *  id and the first listening address when asked. */
  Child& StartDaemon(const std::string& name, const std::vector<std::string>& args, std::string* id = nullptr,
                     std::string* address = nullptr) {
    std::vector<std::string> argv = {P2pgitBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    m_children.push_back(std::make_unique<Child>(argv, std::vector<std::string>{"P2PGIT_HOME=" + Home(name)},
                                                 (m_dir / (name + ".log")).string()));
    Child& c = *m_children.back();
    for (int i = 0; i < 3; ++i) {
      std::string line = c.ReadLine(std::chrono::seconds(20));
      if (id && (line.rfind("node ", 0) == 0 || line.rfind("relay ", 0) == 0)) *id = line.substr(line.find(' ') + 1);
      if (address && line.rfind("listening ", 0) == 0) *address = line.substr(10);
      if ((!id || !id->empty()) && (!address || !address->empty())) break;
    }
    return c;
  }

  /** Polls `pred` every 200 ms until it holds or `timeout` passes. */
  template <typename Pred>
  bool Eventually(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return pred();
  }

  std::filesystem::path m_dir;
  std::vector<std::unique_ptr<Child>> m_children;
};

}  // namespace p2pgit::test
