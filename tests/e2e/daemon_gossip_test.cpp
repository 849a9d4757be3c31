// The daemon as users run it: real `p2pgit relay` / `p2pgit node` processes on loopback that know
// only the relay discover each other and each other's repos, survive restarts, and contain a
// misbehaving peer (forged, replayed, unknown, oversized messages and a 10,000 msg/s flood).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "identity/did.h"
#include "support/child_process.h"
#include "support/run_command.h"
#include "transport/endpoint.h"
#include "wire/gossip_frame.h"
#include "wire/message.h"

using namespace p2pgit;
using namespace p2pgit::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

uint64_t NowMs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

/** A running daemon: its process, id and bound address. */
struct Daemon {
  std::unique_ptr<Child> child;
  std::string home;
  std::string node_id;
  std::string address;
  std::string Contact() const { return node_id + "@" + address; }
};

class DaemonGossip : public testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::path(testing::TempDir()) / ("p2pgit-daemon-" + std::to_string(getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override {
    m_daemons.clear();  // kills every process group still running
    if (!HasFailure() && !getenv("P2PGIT_KEEP_TEST_DIRS")) fs::remove_all(m_dir);
  }

  std::string Home(const std::string& name) { return (m_dir / name).string(); }

  Daemon& Start(const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {P2pgitBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto d = std::make_unique<Daemon>();
    d->home = Home(name);
    d->child = std::make_unique<Child>(argv, std::vector<std::string>{"P2PGIT_HOME=" + d->home},
                                       (m_dir / (name + ".log")).string());
    for (int i = 0; i < 4; ++i) {
      std::string line = d->child->ReadLine(20s);
      if (line.rfind("node ", 0) == 0 || line.rfind("relay ", 0) == 0) d->node_id = line.substr(line.find(' ') + 1);
      if (line.rfind("listening ", 0) == 0) d->address = line.substr(10);
      if (!d->node_id.empty() && (!d->address.empty() || std::find(args.begin(), args.end(), "--listen") == args.end()))
        break;
    }
    EXPECT_FALSE(d->node_id.empty()) << name << " did not start; log: " << Log(name);
    m_daemons.push_back(std::move(d));
    return *m_daemons.back();
  }

  /** SIGTERM and wait: the daemon must exit 0. */
  void StopGracefully(Daemon& d) {
    d.child->Kill(SIGTERM);
    EXPECT_EQ(d.child->Wait(), 0);
  }

  std::string Log(const std::string& name) {
    std::ifstream in(m_dir / (name + ".log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  CommandOutput P2pgit(const std::string& home, const std::string& args) {
    return RunCommand("P2PGIT_HOME=" + ShellQuote(home) + " timeout 60 " + P2pgitBinary() + " " + args);
  }

  json JsonOf(const std::string& home, const std::string& args) {
    auto out = P2pgit(home, args);
    if (out.exit_code != 0) return json();
    return json::parse(out.out, nullptr, false);
  }

  bool Lists(const std::string& home, const std::string& table, const std::string& field, const std::string& id) {
    json t = JsonOf(home, table + " --json");
    if (!t.is_array()) return false;
    for (const auto& row : t)
      if (row.value(field, "") == id) return true;
    return false;
  }

  template <typename Pred>
  bool Eventually(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(200ms);
    }
    return pred();
  }

  /** A work repo with one commit, for Repo announcements. */
  std::string MakeRepo(const std::string& name) {
    std::string dir = (m_dir / name).string();
    auto r = RunCommand("git init -q -b main " + ShellQuote(dir) + " && git -C " + ShellQuote(dir) +
                        " -c user.name=Test -c user.email=test@example.com commit -q --allow-empty -m " + name);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir;
  }

  /** Signs a Repo announcement as `home`'s node and hands it to that home's daemon. */
  std::string PublishRepo(const std::string& home, const std::string& repo_dir, const std::string& name) {
    auto signed_hex = P2pgit(home, "message sign-repo --path " + ShellQuote(repo_dir) + " --name " + name);
    EXPECT_EQ(signed_hex.exit_code, 0) << signed_hex.err;
    std::string hex = signed_hex.out.substr(0, signed_hex.out.find('\n'));
    auto published = P2pgit(home, "message publish " + hex);
    EXPECT_EQ(published.exit_code, 0) << published.err;
    json verified = json::parse(P2pgit(home, "message verify " + hex).out, nullptr, false);
    return verified.is_object() ? verified["body"].value("repo_id", "") : "";
  }

  bool Connected(const std::string& home, const std::string& peer) {
    json s = JsonOf(home, "status --json");
    if (!s.is_object()) return false;
    for (const auto& p : s["peers"])
      if (p.value("node_id", "") == peer) return true;
    return false;
  }

  fs::path m_dir;
  std::vector<std::unique_ptr<Daemon>> m_daemons;
};

std::vector<std::string> Fast(std::vector<std::string> args) {
  // Catch-up every 2 s instead of 60 s keeps the test short; the paths are the same.
  args.insert(args.end(), {"--reconcile-interval", "2"});
  return args;
}

TEST_F(DaemonGossip, NodesThatKnowOnlyTheRelayDiscoverEachOtherAndSurviveRestarts) {
  Daemon& relay = Start("relay", Fast({"relay", "--listen", "127.0.0.1:0", "--alias", "relay"}));
  ASSERT_FALSE(relay.address.empty());
  Daemon& a = Start("a", Fast({"node", "--listen", "127.0.0.1:0", "--alias", "a", "--bootstrap", relay.Contact()}));
  // b only dials out (behind NAT) and keeps no links but its relay: everything reaches it through
  // the connection it opened.
  Daemon& b = Start("b", Fast({"node", "--alias", "b", "--outbound-peers", "0", "--bootstrap", relay.Contact()}));
  ASSERT_FALSE(a.address.empty());

  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually([&] { return Lists(a.home, "nodes", "node_id", b.node_id) && Lists(b.home, "nodes", "node_id", a.node_id); }, 10s))
      << "a: " << P2pgit(a.home, "nodes").out << "\nb: " << P2pgit(b.home, "nodes").out;
  auto discovered = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(discovered, 10s);
  // a's route carries its address and b's none; the relay is marked as such.
  json b_view = JsonOf(b.home, "nodes --json");
  bool saw_relay = false;
  for (const auto& row : b_view) {
    if (row["node_id"] == a.node_id) {
      EXPECT_EQ(row["addresses"][0], a.address);
    }
    if (row["node_id"] == relay.node_id) saw_relay = row["relay"].get<bool>() && row["online"].get<bool>();
  }
  EXPECT_TRUE(saw_relay) << b_view.dump();
  json status = JsonOf(b.home, "status --json");
  EXPECT_EQ(status["node_id"], b.node_id);
  EXPECT_TRUE(status["running"].get<bool>());
  EXPECT_TRUE(status["listen"].empty());

  // A Repo announcement from a reaches b (through the relay).
  std::string repo_id = PublishRepo(a.home, MakeRepo("work-a"), "alpha");
  ASSERT_FALSE(repo_id.empty());
  EXPECT_TRUE(Eventually([&] { return Lists(b.home, "repos", "repo_id", repo_id); }, 10s));
  EXPECT_TRUE(Lists(relay.home, "repos", "repo_id", repo_id));

  // The relay restarts on the same port: its tables come back from its store, both nodes
  // reconnect on their own, and gossip flows again.
  std::string relay_port = relay.address.substr(relay.address.rfind(':') + 1);
  StopGracefully(relay);
  EXPECT_TRUE(Lists(relay.home, "nodes", "node_id", a.node_id));  // read from the store, no daemon
  Daemon& relay2 = Start("relay", Fast({"relay", "--listen", "127.0.0.1:" + relay_port, "--alias", "relay"}));
  EXPECT_EQ(relay2.node_id, relay.node_id);
  EXPECT_TRUE(Lists(relay2.home, "nodes", "node_id", b.node_id));
  EXPECT_TRUE(Lists(relay2.home, "repos", "repo_id", repo_id));
  EXPECT_TRUE(Eventually([&] { return Connected(a.home, relay.node_id) && Connected(b.home, relay.node_id); }, 20s))
      << Log("a") << Log("b");
  std::string repo2 = PublishRepo(a.home, MakeRepo("work-a2"), "beta");
  EXPECT_TRUE(Eventually([&] { return Lists(b.home, "repos", "repo_id", repo2); }, 10s));

  // b restarts: its tables are intact before it connects anywhere.
  StopGracefully(b);
  Daemon& b2 = Start("b", Fast({"node", "--alias", "b", "--outbound-peers", "0", "--bootstrap", relay.Contact()}));
  EXPECT_TRUE(Lists(b2.home, "repos", "repo_id", repo2));
  EXPECT_TRUE(Lists(b2.home, "nodes", "node_id", a.node_id));
  EXPECT_TRUE(Eventually([&] { return Connected(b2.home, relay.node_id); }, 10s));
}

TEST_F(DaemonGossip, UsageAndConfigErrorsAreOneLine) {
  auto relay = P2pgit(Home("x"), "relay");
  EXPECT_EQ(relay.exit_code, 2);
  EXPECT_NE(relay.err.find("error: a relay needs --listen"), std::string::npos) << relay.err;
  auto bad = P2pgit(Home("x"), "node --bootstrap nobody@127.0.0.1:1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  fs::create_directories(Home("y"));
  std::ofstream(Home("y") + "/config.toml") << "bootstrap = [1, 2\n";
  auto config = P2pgit(Home("y"), "node");
  EXPECT_EQ(config.exit_code, 2);
  EXPECT_NE(config.err.find("error: config: "), std::string::npos) << config.err;
  auto publish = P2pgit(Home("x"), "message publish 00");
  EXPECT_EQ(publish.exit_code, 1);
  EXPECT_NE(publish.err.find("no daemon is running"), std::string::npos) << publish.err;
  auto status = JsonOf(Home("x"), "status --json");
  EXPECT_FALSE(status.value("running", true));
}

TEST_F(DaemonGossip, BootstrapFromConfigFile) {
  Daemon& relay = Start("relay", Fast({"relay", "--listen", "127.0.0.1:0"}));
  fs::create_directories(Home("c"));
  fs::permissions(Home("c"), fs::perms::owner_all, fs::perm_options::replace);
  std::ofstream(Home("c") + "/config.toml") << "# node settings\nbootstrap = [\"" << relay.Contact()
                                            << "\"]\nalias = \"from-config\"\nreconcile_interval_s = 2.0\n";
  Daemon& c = Start("c", {"node"});
  EXPECT_TRUE(Eventually([&] { return Connected(c.home, relay.node_id); }, 10s)) << Log("c");
  EXPECT_TRUE(Eventually([&] {
    json nodes = JsonOf(relay.home, "nodes --json");
    for (const auto& n : nodes)
      if (n["node_id"] == c.node_id) return n["alias"] == "from-config";
    return false;
  }, 10s));
}

// ---- abuse ----

identity::NodeKey FreshKey() { return identity::NodeKey::Generate(); }

Bytes NodeMessage(const identity::NodeKey& key, uint64_t timestamp, const std::string& alias) {
  wire::NodeBody body;
  body.timestamp_ms = timestamp;
  body.alias = alias;
  return wire::SignMessage(key, body).encoded;
}

Bytes Frame(const Bytes& envelope) { return wire::EncodeGossipFrame(wire::MessageFrame{envelope}); }

TEST_F(DaemonGossip, MisbehavingPeerIsContainedAndHonestPeersAreUnaffected) {
  Daemon& relay = Start("relay", Fast({"relay", "--listen", "127.0.0.1:0"}));
  Daemon& a = Start("a", Fast({"node", "--listen", "127.0.0.1:0", "--bootstrap", relay.Contact()}));
  Daemon& b = Start("b", Fast({"node", "--outbound-peers", "0", "--bootstrap", relay.Contact()}));
  ASSERT_TRUE(Eventually([&] { return Connected(a.home, relay.node_id) && Connected(b.home, relay.node_id); }, 10s));
  auto relay_key = identity::DecodeDidKey(relay.node_id);
  ASSERT_TRUE(relay_key.ok());

  auto attacker_key = FreshKey();
  std::atomic<bool> attacker_dropped{false};
  transport::EndpointHandlers handlers;
  handlers.on_disconnected = [&](const transport::PeerId&, const std::string&) { attacker_dropped = true; };
  auto attacker = transport::Endpoint::Create(attacker_key, transport::EndpointConfig{}, handlers);
  ASSERT_TRUE(attacker.ok());
  ASSERT_TRUE((*attacker)->Connect(*relay_key, relay.address).ok());
  auto send = [&](const Bytes& frame) { (void)(*attacker)->SendMessage(*relay_key, frame); };
  auto verdicts = [&] {
    json s = JsonOf(relay.home, "status --json");
    return s.is_object() ? s["gossip"]["verdicts"] : json::object();
  };

  // Forged signature: refused, not stored, counted.
  auto forger = FreshKey();
  Bytes forged = NodeMessage(forger, NowMs(), "forged");
  forged[40] ^= 0x01;  // inside the signature
  send(Frame(forged));
  EXPECT_TRUE(Eventually([&] { return verdicts().value("bad-signature", 0) >= 1; }, 10s)) << verdicts().dump();
  EXPECT_FALSE(Lists(relay.home, "nodes", "node_id", identity::EncodeDidKey(forger.public_key())));

  // Replayed and outdated announcements: the newest stays.
  uint64_t now = NowMs();
  send(Frame(NodeMessage(attacker_key, now, "new")));
  ASSERT_TRUE(Eventually([&] { return Lists(relay.home, "nodes", "alias", "new"); }, 10s));
  send(Frame(NodeMessage(attacker_key, now, "new")));        // exact replay
  send(Frame(NodeMessage(attacker_key, now - 60'000, "old")));  // older
  EXPECT_TRUE(Eventually([&] { return verdicts().value("superseded", 0) >= 1 && verdicts().value("duplicate", 0) >= 1; }, 10s))
      << verdicts().dump();
  EXPECT_FALSE(Lists(relay.home, "nodes", "alias", "old"));

  // Unknown frame kind (a newer protocol): ignored, not misbehaviour. Oversized: refused.
  send(Bytes{0x82, 0x18, 0x63, 0x00});  // [99, 0]
  Bytes huge(wire::MAX_MESSAGE_BYTES + 1, 0xab);
  send(Frame(huge));
  EXPECT_TRUE(Eventually([&] { return JsonOf(relay.home, "status --json")["gossip"].value("frames_malformed", 0) >= 1 ||
                                      verdicts().value("malformed", 0) >= 1; }, 15s))
      << JsonOf(relay.home, "status --json").dump();
  EXPECT_FALSE(attacker_dropped.load()) << "one bad frame of each kind is forgiven";

  // A flood of 10,000 messages per second for 3 s, all validly signed by fresh identities.
  long rss_before = RssKb(relay.child->pid());
  std::vector<Bytes> flood;
  for (int i = 0; i < 3000; ++i) flood.push_back(Frame(NodeMessage(FreshKey(), NowMs(), "flood")));
  std::atomic<bool> flooding{true};
  std::thread flooder([&] {
    auto start = std::chrono::steady_clock::now();
    size_t sent = 0;
    while (std::chrono::steady_clock::now() - start < 3s && !attacker_dropped) {
      for (int i = 0; i < 100; ++i) send(flood[sent++ % flood.size()]);
      std::this_thread::sleep_until(start + std::chrono::microseconds(sent * 100));  // 10,000/s
    }
    flooding = false;
  });
  // Honest traffic during the flood: a's announcement reaches b, the relay answers its owner.
  std::string repo_id = PublishRepo(a.home, MakeRepo("work-a"), "during-flood");
  EXPECT_TRUE(Eventually([&] { return Lists(b.home, "repos", "repo_id", repo_id); }, 15s)) << Log("relay");
  EXPECT_EQ(P2pgit(relay.home, "status").exit_code, 0);
  flooder.join();
  json s = JsonOf(relay.home, "status --json");
  EXPECT_GT(s["gossip"].value("throttled_frames", 0), 0) << s.dump();
  long rss_after = RssKb(relay.child->pid());
  std::printf("flood: relay throttled %lld frames, %lld nodes in its table, RSS %ld kB -> %ld kB, verdicts %s\n",
              s["gossip"].value("throttled_frames", 0LL), s["tables"].value("nodes", 0LL), rss_before, rss_after,
              s["gossip"]["verdicts"].dump().c_str());
  EXPECT_LT(rss_after - rss_before, 64 * 1024) << "relay RSS grew from " << rss_before << " kB to " << rss_after << " kB";
  // Most of the flood never reached the tables.
  EXPECT_LT(s["tables"].value("nodes", 0), 2000) << s.dump();
  EXPECT_TRUE(attacker_dropped.load()) << "the flooding peer was not dropped";
  // The honest links are intact.
  EXPECT_TRUE(Connected(a.home, relay.node_id));
  EXPECT_TRUE(Connected(b.home, relay.node_id));

  // Repeated forgeries get a peer banned: disconnected, and refused when it comes back.
  auto forger2_key = FreshKey();
  std::atomic<int> forger2_drops{0};
  transport::EndpointHandlers h2;
  h2.on_disconnected = [&](const transport::PeerId&, const std::string&) { ++forger2_drops; };
  auto forger2 = transport::Endpoint::Create(forger2_key, transport::EndpointConfig{}, h2);
  ASSERT_TRUE(forger2.ok());
  ASSERT_TRUE((*forger2)->Connect(*relay_key, relay.address).ok());
  for (int i = 0; i < 6; ++i) {
    Bytes m = NodeMessage(FreshKey(), NowMs() + uint64_t(i), "forged");
    m[40] ^= 0x01;
    (void)(*forger2)->SendMessage(*relay_key, Frame(m));
  }
  EXPECT_TRUE(Eventually([&] { return forger2_drops.load() >= 1; }, 10s));
  auto again = (*forger2)->Connect(*relay_key, relay.address);
  EXPECT_TRUE(Eventually([&] { return forger2_drops.load() >= 2 || !again.ok(); }, 10s)) << "banned peer was let back in";
  EXPECT_GE(JsonOf(relay.home, "status --json")["gossip"].value("bans", 0), 1);
  (*forger2)->Stop();
  (*attacker)->Stop();
}

}  // namespace
