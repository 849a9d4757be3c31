// QUIC transport figures on loopback, each against its goal and (bulk) against a plain TCP socket
// pair measured in the same run. Two processes: this one (sender, dialer) and a forked child
// (receiver, listener); a second child holds the 1,000 idle connections for the memory figure.
//
//   bulk       one stream, default EndpointConfig (1452-byte UDP payloads), timed from the
//              sender's first write to the receiver's checksum of the last byte (CLOCK_MONOTONIC
//              is shared by both processes); median of RUNS; TCP the same way
//   handshake  Connect() wall time (dial → peer verified both ways), p50/p99
//   datagram   Ping() round trip on an idle connection, p50/p99
//   memory     1,000 connections from 1,000 distinct NodeIds to one endpoint, all verified and
//              answering ping, RSS of the listening process (and of the dialing process)
//
// Usage: transport_bench [--bytes N] [--runs N] [--connections N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transport/bulk_pattern.h"
#include "transport/endpoint.h"

using namespace p2pgit;
using namespace p2pgit::transport;
using namespace std::chrono_literals;

namespace {

constexpr size_t IO_BYTES = 256 * 1024;

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

identity::NodeKey SeededKey(uint32_t index) {
  identity::Seed seed{};
  seed[0] = 0xbe;
  for (int i = 0; i < 4; ++i) seed[28 + i] = uint8_t(index >> (24 - 8 * i));
  return identity::NodeKey::FromSeed(seed);
}

double RssMb(pid_t pid) {
  std::string path = "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/statm";
  FILE* f = std::fopen(path.c_str(), "r");
  long size = 0, resident = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / 1e6;
}

bool WriteAll(int fd, const void* data, size_t len) {
  auto* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= size_t(n);
  }
  return true;
}

bool ReadAll(int fd, void* data, size_t len) {
  auto* p = static_cast<uint8_t*>(data);
  while (len > 0) {
    ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= size_t(n);
  }
  return true;
}

struct Percentiles {
  double p50, p99;
};
Percentiles Pct(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return {0, 0};
  return {v[v.size() / 2], v[std::min(v.size() - 1, size_t(double(v.size()) * 0.99))]};
}

// ---- child 1: bulk receiver (QUIC and TCP) ----

[[noreturn]] void ReceiverChild(int report_fd) {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Stream>> streams;
  EndpointHandlers h;
  h.on_stream = [&](std::shared_ptr<Stream> s) {
    std::lock_guard lock(mu);
    streams.push_back(std::move(s));
    cv.notify_all();
  };
  EndpointConfig cfg;  // the daemon's defaults
  cfg.listen = {"127.0.0.1:0"};
  auto ep = Endpoint::Create(SeededKey(1), cfg, h);
  if (!ep) _exit(2);
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(tcp, 16) != 0) _exit(3);
  getsockname(tcp, reinterpret_cast<sockaddr*>(&a), &alen);
  std::string report = (*ep)->LocalAddresses()[0] + " " + std::to_string(ntohs(a.sin_port)) + "\n";
  WriteAll(report_fd, report.data(), report.size());
  std::thread tcp_thread([tcp] {
    std::vector<uint8_t> buf(IO_BYTES);
    for (;;) {
      int c = accept(tcp, nullptr, nullptr);
      if (c < 0) return;
      BulkChecksum sum;
      for (;;) {
        ssize_t n = read(c, buf.data(), buf.size());
        if (n <= 0) break;
        sum.Update(std::span<const uint8_t>(buf.data(), size_t(n)));
      }
      uint64_t reply[2] = {NowNs(), sum.Finish()};
      WriteAll(c, reply, sizeof reply);
      close(c);
    }
  });
  std::vector<uint8_t> buf(IO_BYTES);
  for (;;) {
    std::shared_ptr<Stream> s;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !streams.empty(); });
      s = streams.front();
      streams.pop_front();
    }
    BulkChecksum sum;
    bool ok = true;
    for (;;) {
      auto r = s->Read(buf, 60s);
      if (!r) {
        ok = false;
        break;
      }
      if (*r == 0) break;
      sum.Update(std::span<const uint8_t>(buf.data(), *r));
    }
    if (!ok) continue;
    uint64_t reply[2] = {NowNs(), sum.Finish()};
    (void)s->WriteFrame(ByteSpan(reinterpret_cast<uint8_t*>(reply), sizeof reply));
    (void)s->Finish();
  }
}

// ---- child 2: one endpoint holding many idle connections ----

[[noreturn]] void HolderChild(int report_fd, int command_fd, size_t connections) {
  EndpointConfig cfg;
  cfg.listen = {"127.0.0.1:0"};
  cfg.max_connections = std::max(cfg.max_connections, connections + 16);
  auto ep = Endpoint::Create(SeededKey(2), cfg);
  if (!ep) _exit(2);
  std::string report = (*ep)->LocalAddresses()[0] + "\n";
  WriteAll(report_fd, report.data(), report.size());
  char cmd;
  while (ReadAll(command_fd, &cmd, 1)) {
    uint64_t peers = (*ep)->Peers().size();
    WriteAll(report_fd, &peers, sizeof peers);
  }
  _exit(0);
}

struct Child {
  pid_t pid = -1;
  int from = -1;  // child's reports
  int to = -1;    // commands to the child
};

std::string ReadLineFd(int fd) {
  std::string line;
  char c;
  while (ReadAll(fd, &c, 1) && c != '\n') line.push_back(c);
  return line;
}

// ---- measurements ----

struct BulkResult {
  double mbps = 0;
  bool checksum_ok = false;
};

BulkResult QuicBulk(Endpoint& ep, const PeerId& peer, uint64_t bytes) {
  BulkResult out;
  auto s = ep.OpenStream(peer);
  if (!s) return out;
  std::vector<uint8_t> buf(IO_BYTES);
  BulkChecksum sum;
  uint64_t start = NowNs();
  for (uint64_t off = 0; off < bytes; off += buf.size()) {
    size_t n = size_t(std::min<uint64_t>(buf.size(), bytes - off));
    FillBulkPattern(off, std::span<uint8_t>(buf.data(), n));
    sum.Update(std::span<const uint8_t>(buf.data(), n));
    if (!(*s)->Write(ByteSpan(buf.data(), n))) return out;
  }
  (void)(*s)->Finish();
  auto reply = (*s)->ReadFrame(120s);
  if (!reply || reply->size() != 16) return out;
  uint64_t r[2];
  std::memcpy(r, reply->data(), 16);
  out.mbps = double(bytes) / (double(r[0] - start) / 1e9) / 1e6;
  out.checksum_ok = r[1] == sum.Finish();
  return out;
}

BulkResult TcpBulk(uint16_t port, uint64_t bytes) {
  BulkResult out;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return out;
  std::vector<uint8_t> buf(IO_BYTES);
  BulkChecksum sum;
  uint64_t start = NowNs();
  for (uint64_t off = 0; off < bytes; off += buf.size()) {
    size_t n = size_t(std::min<uint64_t>(buf.size(), bytes - off));
    FillBulkPattern(off, std::span<uint8_t>(buf.data(), n));
    sum.Update(std::span<const uint8_t>(buf.data(), n));
    if (!WriteAll(fd, buf.data(), n)) return out;
  }
  shutdown(fd, SHUT_WR);
  uint64_t r[2];
  if (!ReadAll(fd, r, sizeof r)) return out;
  close(fd);
  out.mbps = double(bytes) / (double(r[0] - start) / 1e9) / 1e6;
  out.checksum_ok = r[1] == sum.Finish();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t bytes = 256ull << 20;
  int runs = 5;
  size_t connections = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--bytes") bytes = std::stoull(argv[i + 1]);
    if (flag == "--runs") runs = std::stoi(argv[i + 1]);
    if (flag == "--connections") connections = std::stoul(argv[i + 1]);
  }
  signal(SIGPIPE, SIG_IGN);
  // Fork both children before this process starts any thread.
  Child receiver, holder;
  {
    int rep[2];
    if (pipe(rep) != 0) return 1;
    receiver.pid = fork();
    if (receiver.pid == 0) {
      close(rep[0]);
      ReceiverChild(rep[1]);
    }
    close(rep[1]);
    receiver.from = rep[0];
  }
  {
    int rep[2], cmd[2];
    if (pipe(rep) != 0 || pipe(cmd) != 0) return 1;
    holder.pid = fork();
    if (holder.pid == 0) {
      close(rep[0]);
      close(cmd[1]);
      HolderChild(rep[1], cmd[0], connections);
    }
    close(rep[1]);
    close(cmd[0]);
    holder.from = rep[0];
    holder.to = cmd[1];
  }
  std::string line = ReadLineFd(receiver.from);
  std::string quic_addr = line.substr(0, line.find(' '));
  uint16_t tcp_port = uint16_t(std::stoi(line.substr(line.find(' ') + 1)));
  std::string holder_addr = ReadLineFd(holder.from);
  PeerId receiver_id = SeededKey(1).public_key();
  PeerId holder_id = SeededKey(2).public_key();

  std::printf("transport_bench: loopback, 2 processes, default EndpointConfig (max UDP payload %zu, GSO %s, GRO %s)\n",
              MAX_UDP_PAYLOAD, "on", "on");
  auto sender = Endpoint::Create(SeededKey(3), EndpointConfig{});
  if (!sender) {
    std::printf("cannot create endpoint: %s\n", sender.message().c_str());
    return 1;
  }
  Endpoint& ep = **sender;

  // Bulk.
  auto info = ep.Connect(receiver_id, quic_addr);
  if (!info) {
    std::printf("connect failed: %s\n", info.message().c_str());
    return 1;
  }
  std::vector<double> quic, tcp;
  bool all_ok = true;
  for (int r = 0; r < runs; ++r) {
    auto q = QuicBulk(ep, receiver_id, bytes);
    auto t = TcpBulk(tcp_port, bytes);
    all_ok = all_ok && q.checksum_ok && t.checksum_ok;
    quic.push_back(q.mbps);
    tcp.push_back(t.mbps);
    std::printf("  run %d: QUIC %.0f MB/s, TCP %.0f MB/s\n", r + 1, q.mbps, t.mbps);
  }
  double quic_med = Pct(quic).p50, tcp_med = Pct(tcp).p50;
  auto st = ep.Stats();
  std::printf("bulk, one stream, %llu MiB x %d (median): QUIC %.0f MB/s (goal >= 250: %s), TCP %.0f MB/s, QUIC/TCP = %.2f, checksums %s\n",
              (unsigned long long)(bytes >> 20), runs, quic_med, quic_med >= 250 ? "met" : "NOT met", tcp_med,
              quic_med / tcp_med, all_ok ? "ok" : "MISMATCH");
  std::printf("  sender: %llu sendmsg/sendmmsg calls, %llu recvmmsg calls, %llu packets received\n",
              (unsigned long long)st.udp_send_calls, (unsigned long long)st.udp_recv_calls,
              (unsigned long long)st.packets_received);

  // Datagram round trip on the (now idle) connection.
  std::vector<double> rtts;
  for (int i = 0; i < 100; ++i) (void)ep.Ping(receiver_id, 1s);  // warm-up
  for (int i = 0; i < 2000; ++i) {
    auto r = ep.Ping(receiver_id, 1s);
    if (r) rtts.push_back(std::chrono::duration<double, std::micro>(*r).count());
  }
  auto rp = Pct(rtts);
  std::printf("datagram round trip (n=%zu): p50 %.0f us, p99 %.0f us (goal p50 <= 300 us: %s)\n", rtts.size(), rp.p50,
              rp.p99, rp.p50 <= 300 ? "met" : "NOT met");

  // Handshakes: fresh connection each time (Disconnect, then dial again).
  ep.Disconnect(receiver_id);
  std::this_thread::sleep_for(50ms);
  std::vector<double> hs;
  for (int i = 0; i < 300; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = ep.Connect(receiver_id, quic_addr);
    auto t1 = std::chrono::steady_clock::now();
    if (!r) continue;
    hs.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    ep.Disconnect(receiver_id);
    while (!ep.Peers().empty()) std::this_thread::sleep_for(100us);
  }
  auto hp = Pct(hs);
  std::printf("handshake, dial to verified both ways (n=%zu): p50 %.2f ms, p99 %.2f ms (goal p50 <= 5 ms: %s)\n",
              hs.size(), hp.p50, hp.p99, hp.p50 <= 5 ? "met" : "NOT met");
  ep.Stop();

  // Memory: many idle connections to one endpoint.
  double holder_before = RssMb(holder.pid);
  double self_before = RssMb(0);
  std::vector<std::unique_ptr<Endpoint>> clients(connections);
  std::atomic<size_t> next{0}, connected{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 16; ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < connections; i = next++) {
        EndpointConfig cfg;
        cfg.listen = {"127.0.0.1:0"};  // IPv4 only: one socket per dialing endpoint
        cfg.use_gro = false;           // small receive slots: these endpoints only idle
        auto c = Endpoint::Create(SeededKey(1000 + uint32_t(i)), cfg);
        if (!c) continue;
        if ((*c)->Connect(holder_id, holder_addr)) ++connected;
        clients[i] = std::move(*c);
      }
    });
  }
  for (auto& t : workers) t.join();
  std::atomic<size_t> answered{0};
  workers.clear();
  for (int w = 0; w < 16; ++w) {
    workers.emplace_back([&, w] {
      for (size_t i = size_t(w); i < connections; i += 16)
        if (clients[i] && clients[i]->Ping(holder_id, 5s)) ++answered;
    });
  }
  for (auto& t : workers) t.join();
  char cmd = 'p';
  uint64_t holder_peers = 0;
  WriteAll(holder.to, &cmd, 1);
  ReadAll(holder.from, &holder_peers, sizeof holder_peers);
  double holder_after = RssMb(holder.pid);
  double self_after = RssMb(0);
  std::printf("memory, %zu idle connections from %zu distinct NodeIds (%zu verified, %zu answered ping, listener sees %llu):\n",
              connections, connections, size_t(connected), size_t(answered), (unsigned long long)holder_peers);
  std::printf("  listening endpoint process RSS %.1f MB (%.1f MB before; %.1f KB per connection) (goal < 150 MB: %s)\n",
              holder_after, holder_before, (holder_after - holder_before) * 1000 / double(connections),
              holder_after < 150 ? "met" : "NOT met");
  std::printf("  dialing process (%zu endpoints, one thread each) RSS %.1f MB (%.1f MB before)\n", connections,
              self_after, self_before);
  clients.clear();

  kill(receiver.pid, SIGKILL);
  kill(holder.pid, SIGKILL);
  waitpid(receiver.pid, nullptr, 0);
  waitpid(holder.pid, nullptr, 0);
  return all_ok ? 0 : 1;
}
