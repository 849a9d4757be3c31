// Hostile signed names against real processes: a relay, an owner sharing through it, and a fresh
// home cloning from it. A repo named `../../escaped` cloned without DIR lands in exactly one new
// directory inside the cwd (and nothing appears anywhere else); a repo whose name holds a bidi
// override (U+202E) is listed by `p2pgit repos` with the override escaped, while `--json` keeps
// the exact signed name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/node_fixture.h"

using namespace p2pgit::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* const GIT_ENV = GIT_TEST_SHELL_ENV;
const std::vector<std::string>& GIT_ENV_VARS = GIT_TEST_ENV_VARS;

const std::string RLO = "\u202e";  // RIGHT-TO-LEFT OVERRIDE: "invoice<RLO>txt.exe" shows as "invoiceexe.txt"
const std::string BIDI_NAME = "invoice" + RLO + "txt.exe";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class HostileNames : public NodeFixture {
 protected:
  const char* Prefix() const override { return "hostile-names"; }

  /** `p2pgit args` with P2PGIT_HOME=home, the git identity, from `cwd` when given. */
  CommandOutput Run(const std::string& home, const std::string& args, const std::string& cwd = "") {
    return RunCommand(std::string(GIT_ENV) + (cwd.empty() ? "" : "cd " + ShellQuote(cwd) + " && ") +
                      "P2PGIT_HOME=" + ShellQuote(home) + " timeout 120 " + P2pgitBinary() + " " + args);
  }

  std::string Sh(const std::string& command) {
    auto r = RunCommand(std::string(GIT_ENV) + command);
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.err;
    return r.out;
  }

  /** A working repository with one commit whose content is `text` (distinct roots, distinct ids). */
  std::string MakeWork(const std::string& name, const std::string& text) {
    std::string dir = (m_dir / name).string();
    Sh("git init -q -b main " + ShellQuote(dir));
    std::ofstream(fs::path(dir) / "README") << text << "\n";
    Sh("git -C " + ShellQuote(dir) + " add -A && git -C " + ShellQuote(dir) + " commit -q -m " +
       ShellQuote(text));
    return dir;
  }

  /** Starts the relay with the git identity in its environment; fills m_relay_contact. */
  void StartRelay() {
    std::vector<std::string> env = GIT_ENV_VARS;
    env.push_back("P2PGIT_HOME=" + Home("relay"));
    m_children.push_back(
        std::make_unique<Child>(std::vector<std::string>{P2pgitBinary(), "relay", "--listen", "127.0.0.1:0"},
                                env, (m_dir / "relay.log").string()));
    std::string id, address;
    for (int i = 0; i < 4 && (id.empty() || address.empty()); ++i) {
      std::string line = m_children.back()->ReadLine(20s);
      if (line.rfind("relay ", 0) == 0) id = line.substr(6);
      if (line.rfind("listening ", 0) == 0) address = line.substr(10);
    }
    ASSERT_FALSE(id.empty() || address.empty()) << "the relay did not start";
    m_relay_id = id;
    m_relay_contact = id + "@" + address;
  }

  /** Shares `work` from the owner's home (no daemon: the session waits for the relay to fetch),
   *  then polls until the relay verifies it. Returns the did:repo. */
  std::string ShareToRelay(const std::string& work, const std::string& name) {
    auto r = Run(Home("owner"), "share " + ShellQuote(work) + " --name " + ShellQuote(name) +
                                    " --bootstrap " + m_relay_contact + " --timeout 60");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(id.rfind("did:repo:z", 0), 0u) << r.out;
    EXPECT_TRUE(Eventually([&] { return Run(Home("relay"), "verify " + id).exit_code == 0; }, 30s)) << id;
    return id;
  }

  /** Every path under `root`, relative to it. */
  static std::set<std::string> Tree(const fs::path& root) {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root))
      out.insert(fs::relative(e.path(), root).string());
    return out;
  }

  /** Clones `repo` without DIR from `cwd` (inside `sandbox`) and checks it created exactly one
   *  directory, directly in `cwd`, and nothing else anywhere in `sandbox`. Returns its name. */
  std::string CloneWithoutDir(const std::string& repo, const fs::path& sandbox, const fs::path& cwd) {
    auto before = Tree(sandbox);
    auto r = Run(Home("cloner"), "clone " + repo + " --bootstrap " + m_relay_contact, cwd.string());
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto after = Tree(sandbox);
    for (const auto& gone : before) EXPECT_TRUE(after.count(gone)) << "removed: " << gone;
    std::string cwd_rel = fs::relative(cwd, sandbox).string() + "/";
    std::set<std::string> new_children;
    for (const auto& p : after) {
      if (before.count(p)) continue;
      // Everything new is inside cwd; its first component there is the clone's directory.
      EXPECT_EQ(p.rfind(cwd_rel, 0), 0u) << "created outside the cwd: " << (sandbox / p).string();
      if (p.rfind(cwd_rel, 0) != 0) continue;
      std::string inside = p.substr(cwd_rel.size());
      new_children.insert(inside.substr(0, inside.find('/')));
    }
    EXPECT_EQ(new_children.size(), 1u) << r.out;
    if (new_children.size() != 1) return "";
    std::string dir = *new_children.begin();
    EXPECT_TRUE(fs::is_directory(cwd / dir));
    EXPECT_NE(r.out.find("into " + dir + " ("), std::string::npos) << r.out;
    return dir;
  }

  std::string m_relay_id;
  std::string m_relay_contact;
};

TEST_F(HostileNames, CloneWithoutDirStaysInCwdAndListingsEscapeBidiControls) {
  StartRelay();
  ASSERT_FALSE(m_relay_contact.empty());
  std::string escaping_work = MakeWork("work-escaping", "path traversal by name");
  std::string bidi_work = MakeWork("work-bidi", "bidi override in the name");
  std::string escaping_repo = ShareToRelay(escaping_work, "../../escaped");
  std::string bidi_repo = ShareToRelay(bidi_work, BIDI_NAME);
  ASSERT_FALSE(escaping_repo.empty() || bidi_repo.empty());

  // A fresh home clones from a cwd two levels below the sandbox's top: `../../escaped` taken as a
  // path would land in the sandbox, next to l1/.
  fs::path sandbox = m_dir / "sandbox";
  fs::path cwd = sandbox / "l1" / "l2" / "cwd";
  fs::create_directories(cwd);
  std::string dir = CloneWithoutDir(escaping_repo, sandbox, cwd);
  EXPECT_EQ(dir, "escaped");
  EXPECT_FALSE(fs::exists(sandbox / "escaped"));
  EXPECT_FALSE(fs::exists(sandbox / "l1" / "escaped"));
  EXPECT_FALSE(fs::exists(m_dir / "escaped"));
  EXPECT_FALSE(fs::exists(m_dir.parent_path() / "escaped"));
  if (!dir.empty()) {
    EXPECT_EQ(Trim(Sh("git -C " + ShellQuote((cwd / dir).string()) + " rev-parse HEAD")),
              Trim(Sh("git -C " + ShellQuote(escaping_work) + " rev-parse HEAD")));
    EXPECT_EQ(Trim(Sh("git -C " + ShellQuote((cwd / dir).string()) + " config remote.p2p.url")),
              "git+p2p://" + escaping_repo);
  }

  // The bidi name: one directory with the override replaced, and the override never raw on the
  // terminal — not in the clone summary, not in `repos`, not in `repos REPO`.
  std::string bidi_dir = CloneWithoutDir(bidi_repo, sandbox, cwd);
  EXPECT_EQ(bidi_dir, "invoice-txt.exe");

  auto listing = Run(Home("cloner"), "repos");
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_NE(listing.out.find("invoice\\u202etxt.exe"), std::string::npos) << listing.out;
  EXPECT_EQ(listing.out.find(RLO), std::string::npos) << "raw U+202E in: " << listing.out;
  EXPECT_NE(listing.out.find("../../escaped"), std::string::npos)
      << listing.out;  // printable: shown as signed
  auto one = Run(Home("cloner"), "repos " + bidi_repo);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("invoice\\u202etxt.exe"), std::string::npos) << one.out;
  EXPECT_EQ(one.out.find(RLO), std::string::npos) << one.out;

  // JSON is already escaped by JSON: the value is the exact signed name.
  auto as_json = Run(Home("cloner"), "repos --json");
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  auto table = nlohmann::json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(table.is_array()) << as_json.out;
  std::set<std::string> names;
  for (const auto& row : table) names.insert(row.value("name", ""));
  EXPECT_TRUE(names.count(BIDI_NAME)) << as_json.out;
  EXPECT_TRUE(names.count("../../escaped")) << as_json.out;
}

}  // namespace
