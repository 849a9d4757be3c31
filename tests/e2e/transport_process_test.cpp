// The transport between real p2pgit processes on loopback: `node --listen` answering `ping`
// (verified NodeId, refused impostor), a 256 MiB stream between two processes with checksum and
// bounded memory, and a SIGKILLed peer noticed within the idle timeout.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "identity/did.h"
#include "support/child_process.h"
#include "support/run_command.h"
#include "transport/endpoint.h"

using namespace p2pgit;
using namespace p2pgit::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

class TransportProcess : public testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::path(testing::TempDir()) / ("p2pgit-transport-" + std::to_string(getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  std::string Home(const std::string& name) { return (m_dir / name).string(); }
  CommandOutput P2pgit(const std::string& home, const std::string& args) {
    return RunCommand("P2PGIT_HOME=" + ShellQuote(home) + " timeout 120 " + P2pgitBinary() + " " + args);
  }
  fs::path m_dir;
};

TEST_F(TransportProcess, NodeAnswersPingWithVerifiedNodeId) {
  Child node({P2pgitBinary(), "node", "--listen", "127.0.0.1:0"}, {"P2PGIT_HOME=" + Home("a")});
  Listening l = ReadListening(node);
  ASSERT_FALSE(l.address.empty()) << "node printed no bound address";
  EXPECT_EQ(l.node_id, P2pgit(Home("a"), "id").out.substr(0, l.node_id.size()));
  EXPECT_EQ(l.address.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(l.address, "127.0.0.1:0");

  auto ping = P2pgit(Home("b"), "ping --json -c 3 " + l.node_id + "@" + l.address);
  ASSERT_EQ(ping.exit_code, 0) << ping.err;
  auto json = nlohmann::json::parse(ping.out);
  EXPECT_EQ(json.at("node_id"), l.node_id);
  EXPECT_EQ(json.at("verified"), true);
  EXPECT_EQ(json.at("rtt_ms").size(), 3u);
  EXPECT_GT(json.at("handshake_ms").get<double>(), 0.0);

  auto text = P2pgit(Home("b"), "ping " + l.node_id + "@" + l.address);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("handshake"), std::string::npos);
  EXPECT_NE(text.out.find("3 round trips"), std::string::npos);

  // An impostor: the node at that address does not hold the NodeId we ask for.
  std::string other = P2pgit(Home("c"), "id").out;
  other.pop_back();
  auto impostor = P2pgit(Home("b"), "ping " + other + "@" + l.address);
  EXPECT_EQ(impostor.exit_code, 1);
  EXPECT_EQ(impostor.err.rfind("error: ", 0), 0u) << impostor.err;
  EXPECT_EQ(std::count(impostor.err.begin(), impostor.err.end(), '\n'), 1) << impostor.err;
  EXPECT_NE(impostor.err.find("proved NodeId " + l.node_id), std::string::npos) << impostor.err;

  // The node still serves honest peers after that.
  EXPECT_EQ(P2pgit(Home("b"), "ping -c 1 " + l.node_id + "@" + l.address).exit_code, 0);
  node.Kill(SIGTERM);
  EXPECT_EQ(node.Wait(), 0);
}

TEST_F(TransportProcess, UsageErrors) {
  auto bad = P2pgit(Home("b"), "ping not-a-node-address");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err.rfind("error: ", 0), 0u) << bad.err;
  auto bad_id = P2pgit(Home("b"), "ping did:key:zzz@127.0.0.1:1");
  EXPECT_EQ(bad_id.exit_code, 2);
  auto bad_listen = P2pgit(Home("b"), "node --listen 127.0.0.1:99999");
  EXPECT_EQ(bad_listen.exit_code, 1);
  EXPECT_EQ(bad_listen.err.rfind("error: ", 0), 0u) << bad_listen.err;
  auto nobody = P2pgit(Home("b"), "ping --timeout 1 -c 1 " + P2pgit(Home("c"), "id").out.substr(0, 56) + "@127.0.0.1:9");
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.err.find("timed out"), std::string::npos) << nobody.err;
}

TEST_F(TransportProcess, Stream256MiBBetweenProcessesWithBoundedMemory) {
  constexpr uint64_t BYTES = 256ull << 20;
  Child recv({P2pgitBinary(), "debug-transport", "recv", "--listen", "127.0.0.1:0"}, {});
  Listening l = ReadListening(recv);
  ASSERT_FALSE(l.address.empty());
  auto send = RunCommand("timeout 300 " + P2pgitBinary() + " debug-transport send " + l.node_id + "@" + l.address +
                         " --bytes " + std::to_string(BYTES));
  ASSERT_EQ(send.exit_code, 0) << send.err;
  auto s = nlohmann::json::parse(send.out);
  auto r = nlohmann::json::parse(recv.ReadLine(60s));
  EXPECT_EQ(s.at("bytes"), BYTES);
  EXPECT_EQ(r.at("bytes"), BYTES);
  EXPECT_EQ(s.at("checksum"), r.at("checksum"));
  EXPECT_EQ(s.at("match"), true);
  long sender_kb = s.at("peak_rss_kb"), receiver_kb = r.at("peak_rss_kb");
  EXPECT_LT(sender_kb, 64 * 1024) << "sender peak RSS";
  EXPECT_LT(receiver_kb, 64 * 1024) << "receiver peak RSS";
  double seconds = double(r.at("end_ns").get<uint64_t>() - s.at("start_ns").get<uint64_t>()) / 1e9;
  std::printf("256 MiB in %.3f s = %.0f MB/s; peak RSS sender %ld KiB, receiver %ld KiB\n", seconds,
              double(BYTES) / seconds / 1e6, sender_kb, receiver_kb);
  EXPECT_EQ(recv.Wait(), 0);
}

TEST_F(TransportProcess, SigkilledPeerNoticedWithinIdleTimeout) {
  Child node({P2pgitBinary(), "node", "--listen", "127.0.0.1:0"}, {"P2PGIT_HOME=" + Home("a")});
  Listening l = ReadListening(node);
  ASSERT_FALSE(l.address.empty());
  std::mutex mu;
  std::condition_variable cv;
  bool gone = false;
  transport::EndpointHandlers h;
  h.on_disconnected = [&](const transport::PeerId&, const std::string&) {
    std::lock_guard lock(mu);
    gone = true;
    cv.notify_all();
  };
  transport::EndpointConfig cfg;
  cfg.idle_timeout = 2s;  // QUIC uses the smaller of both sides' idle timeouts
  auto ep = transport::Endpoint::Create(identity::NodeKey::Generate(), cfg, h);
  ASSERT_TRUE(ep.ok());
  auto key = identity::DecodeDidKey(l.node_id);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE((*ep)->Connect(*key, l.address).ok());
  ASSERT_TRUE((*ep)->Ping(*key, 5s).ok());
  auto killed_at = std::chrono::steady_clock::now();
  node.Kill(SIGKILL);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return gone; }));
  auto noticed = std::chrono::steady_clock::now() - killed_at;
  EXPECT_LE(noticed, 2s + 1500ms) << "dead peer noticed late";
}

}  // namespace
