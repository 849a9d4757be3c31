// Catching up 10,000 missing Activity events from a relay over loopback (goal < 2 s).
//
// A relay's store is filled with one repo and an issue of N events (a create and comments by 20
// authors, each naming the previous event as parent), the real `p2pgit relay` serves it, and a
// fresh `p2pgit node` that knows only the relay starts; timed from the node's start to the moment
// its store holds every event (reconciliation pages, batched IWANT answers on a stream, one
// store transaction per batch, every signature checked).
//
// Usage: activity_catchup_bench [--events N] [--bin DIR]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gossip/admission.h"
#include "identity/did.h"
#include "routing/routing_state.h"
#include "storage/store.h"
#include "wire/message.h"

using namespace p2pgit;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

identity::NodeKey Key(uint32_t n) {
  identity::Seed seed{};
  seed[0] = 0xac;
  for (int i = 0; i < 4; ++i) seed[28 + i] = uint8_t(n >> (24 - 8 * i));
  return identity::NodeKey::FromSeed(seed);
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& home, const fs::path& out, const fs::path& err) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    setenv("P2PGIT_HOME", home.c_str(), 1);
    freopen(out.c_str(), "w", stdout);
    freopen(err.c_str(), "w", stderr);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

void Stop(pid_t pid) {
  kill(-pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

int main(int argc, char** argv) {
  size_t events = 10000;
  fs::path bin = fs::canonical("/proc/self/exe").parent_path().parent_path() / "bin";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--events") events = std::stoul(argv[i + 1]);
    if (flag == "--bin") bin = argv[i + 1];
  }
  fs::path dir = fs::temp_directory_path() / ("p2pgit-catchup-" + std::to_string(getpid()));
  fs::create_directories(dir / "relay");
  fs::create_directories(dir / "node");
  fs::permissions(dir / "relay", fs::perms::owner_all, fs::perm_options::replace);
  fs::permissions(dir / "node", fs::perms::owner_all, fs::perm_options::replace);

  // The relay's store: one repo, one issue of `events` events.
  uint64_t now = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count()) - 3600'000;
  {
    auto store = storage::Store::Open(dir / "relay" / "store.db");
    if (!store) return std::printf("cannot open store: %s\n", store.message().c_str()), 1;
    routing::StoreRoutingState state(*store);
    gossip::Admission admission(state);
    auto creator = Key(0);
    wire::RepoBody repo;
    repo.timestamp_ms = now;
    repo.root_commit = Bytes(20, 0x11);
    repo.creator = creator.public_key();
    repo.repo_id = identity::ComputeRepoId(repo.root_commit, repo.creator);
    repo.name = "bench";
    repo.delegates = {repo.creator};
    repo.default_branch = "main";
    repo.sequence = 1;
    std::vector<identity::NodeKey> authors;
    for (uint32_t a = 0; a < 20; ++a) authors.push_back(Key(a));
    auto t0 = std::chrono::steady_clock::now();
    auto status = store->InTransaction([&]() -> storage::StoreStatus {
      admission.Admit(wire::SignMessage(creator, repo).encoded, now);
      Bytes parent(repo.repo_id.multihash.begin(), repo.repo_id.multihash.end());
      for (size_t i = 0; i < events; ++i) {
        wire::ActivityBody body;
        body.timestamp_ms = now + i;
        body.repo_id = repo.repo_id;
        body.parents = {parent};
        body.op = i == 0 ? "issue.create" : "issue.comment";
        body.payload = Bytes(64, uint8_t(i));
        auto m = wire::SignMessage(authors[i % authors.size()], body);
        if (admission.Admit(m.encoded, now + events).verdict != gossip::Verdict::Accepted) {
          std::printf("event %zu not accepted\n", i);
          break;
        }
        parent = Bytes(m.id.begin(), m.id.end());
      }
      return Ok{};
    });
    if (!status) return std::printf("cannot fill the store: %s\n", status.message().c_str()), 1;
    std::printf("activity_catchup_bench: relay store holds %lld events (filled in %.2f s)\n",
                static_cast<long long>(*store->CountActivity()),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  std::string p2pgit = (bin / "p2pgit").string();
  pid_t relay = Spawn({p2pgit, "relay", "--listen", "127.0.0.1:0"}, (dir / "relay").string(), dir / "relay.out",
                      dir / "relay.err");
  std::string contact;
  for (int i = 0; i < 200 && contact.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
    std::string out = ReadAll(dir / "relay.out");
    auto id = out.find("relay ");
    auto addr = out.find("listening ");
    if (id != std::string::npos && addr != std::string::npos)
      contact = out.substr(id + 6, out.find('\n', id) - id - 6) + "@" + out.substr(addr + 10, out.find('\n', addr) - addr - 10);
  }
  if (contact.empty()) {
    Stop(relay);
    return std::printf("relay did not start: %s\n", ReadAll(dir / "relay.err").c_str()), 1;
  }
  auto start = std::chrono::steady_clock::now();
  pid_t node = Spawn({p2pgit, "node", "--bootstrap", contact}, (dir / "node").string(), dir / "node.out", dir / "node.err");
  int64_t have = 0;
  double seconds = 0;
  while (std::chrono::steady_clock::now() - start < 120s) {
    std::this_thread::sleep_for(20ms);
    auto store = storage::Store::Open(dir / "node" / "store.db");
    if (!store) continue;
    auto count = store->CountActivity();
    if (count.ok()) have = *count;
    if (std::getenv("P2PGIT_BENCH_TRACE"))
      std::printf("  %6.3f s: %lld\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                  static_cast<long long>(have));
    if (have >= int64_t(events)) {
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      break;
    }
  }
  if (have < int64_t(events) && std::getenv("P2PGIT_BENCH_KEEP")) {
    std::printf("kept %s (relay and node still running: pids %d %d)\n", dir.c_str(), relay, node);
    return 1;
  }
  Stop(node);
  Stop(relay);
  if (have < int64_t(events)) {
    std::printf("catch-up incomplete: %lld of %zu events after 120 s\n%s", static_cast<long long>(have), events,
                ReadAll(dir / "node.err").c_str());
    fs::remove_all(dir);
    return 1;
  }
  if (std::getenv("P2PGIT_BENCH_TRACE")) std::printf("%s", ReadAll(dir / "node.err").c_str());
  std::printf("catch-up of %zu events from a relay (node process start to all stored and verified): %.2f s "
              "(goal < 2 s: %s), %.0f events/s\n",
              events, seconds, seconds < 2.0 ? "met" : "NOT met", double(events) / seconds);
  fs::remove_all(dir);
  return 0;
}
