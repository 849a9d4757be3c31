// `p2pgit ping NODEID@HOST:PORT`,
// and the hidden `p2pgit debug-transport send|recv` (internal: two-process bulk transfers for the
// transport tests and benchmark; not a user interface, may change at any time).
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/home.h"
#include "identity/did.h"
#include "transport/bulk_pattern.h"
#include "transport/endpoint.h"

namespace p2pgit::cli {

namespace {

using namespace std::chrono_literals;
using transport::Duration;

double Ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

long PeakRssKb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int RunPing(const std::string& target, int count, double timeout_s, bool json) {
  auto parsed = transport::ParseNodeAddress(target);
  if (!parsed) return ReportError(parsed.message(), EXIT_USAGE);
  if (count < 1 || count > 1000) return ReportError("--count must be 1..1000", EXIT_USAGE);
  auto key = LoadHomeKey();
  if (!key) return ReportError(key.message());
  transport::EndpointConfig config;  // no listen: dial-only, ephemeral sockets
  auto timeout = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(timeout_s));
  config.handshake_timeout = timeout;
  auto endpoint = transport::Endpoint::Create(*key, config);
  if (!endpoint) return ReportError("cannot open an endpoint: " + endpoint.message());
  const auto& [expected, address] = *parsed;
  auto info = (*endpoint)->Connect(expected, address);
  if (!info) return ReportError(info.message());
  std::string peer_id = identity::EncodeDidKey(info->peer);
  if (!json)
    std::cout << "connected to " << peer_id << " at " << info->remote_address << " (verified), handshake "
              << Ms(info->handshake_time) << " ms" << std::endl;
  std::vector<double> rtts;
  int lost = 0;
  for (int i = 0; i < count; ++i) {
    auto rtt = (*endpoint)->Ping(info->peer, timeout);
    if (!rtt) {
      ++lost;
      if (!json) std::cout << "ping " << i + 1 << ": " << rtt.message() << std::endl;
      continue;
    }
    rtts.push_back(Ms(*rtt));
    if (!json) std::cout << "ping " << i + 1 << ": rtt " << rtts.back() << " ms" << std::endl;
  }
  (*endpoint)->Stop();
  if (rtts.empty()) return ReportError("no answer to " + std::to_string(count) + " pings from " + peer_id);
  double sum = 0;
  for (double r : rtts) sum += r;
  auto [mn, mx] = std::minmax_element(rtts.begin(), rtts.end());
  if (json) {
    nlohmann::json out = {{"node_id", peer_id},
                          {"address", info->remote_address},
                          {"verified", true},
                          {"handshake_ms", Ms(info->handshake_time)},
                          {"rtt_ms", rtts},
                          {"lost", lost}};
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << rtts.size() << " round trips, " << lost << " lost: min/avg/max " << *mn << "/" << sum / rtts.size()
              << "/" << *mx << " ms" << std::endl;
  }
  return EXIT_OK;
}

// ---- debug-transport: internal two-process bulk transfer ----

constexpr size_t BULK_IO_BYTES = 256 * 1024;

int RunDebugRecv(const std::string& listen, int streams) {
  auto key = identity::NodeKey::Generate();  // throw-away identity: tests must not touch a home
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<transport::Stream>> incoming;
  transport::EndpointHandlers handlers;
  handlers.on_stream = [&](std::shared_ptr<transport::Stream> s) {
    std::lock_guard lock(mu);
    incoming.push_back(std::move(s));
    cv.notify_all();
  };
  transport::EndpointConfig config;
  config.listen = {listen};
  auto endpoint = transport::Endpoint::Create(key, config, handlers);
  if (!endpoint) return ReportError("cannot listen: " + endpoint.message());
  std::cout << "node " << identity::EncodeDidKey(key.public_key()) << "\n";
  for (const auto& addr : (*endpoint)->LocalAddresses()) std::cout << "listening " << addr << "\n";
  std::cout << std::flush;
  std::vector<uint8_t> buf(BULK_IO_BYTES);
  for (int n = 0; n < streams; ++n) {
    std::shared_ptr<transport::Stream> s;
    {
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, 120s, [&] { return !incoming.empty(); })) return ReportError("no stream within 120 s");
      s = incoming.front();
      incoming.pop_front();
    }
    transport::BulkChecksum sum;
    uint64_t first_ns = 0;
    for (;;) {
      auto r = s->Read(buf, std::chrono::seconds(60));
      if (!r) return ReportError("receive failed: " + r.message());
      if (*r == 0) break;
      if (first_ns == 0) first_ns = MonotonicNs();
      sum.Update(std::span<const uint8_t>(buf.data(), *r));
    }
    uint64_t checksum = sum.Finish();
    uint64_t end_ns = MonotonicNs();
    uint8_t reply[8];
    for (int i = 0; i < 8; ++i) reply[i] = uint8_t(checksum >> (56 - 8 * i));
    auto w = s->WriteFrame(ByteSpan(reply, 8));
    if (w) w = s->Finish();
    if (w) w = s->Flush(std::chrono::seconds(30));
    nlohmann::json out = {{"bytes", sum.total()},
                          {"checksum", ToHex(ByteSpan(reply, 8))},
                          {"first_byte_ns", first_ns},
                          {"end_ns", end_ns},
                          {"peak_rss_kb", PeakRssKb()}};
    std::cout << out.dump() << std::endl;
  }
  (*endpoint)->Stop();
  return EXIT_OK;
}

int RunDebugSend(const std::string& target, uint64_t bytes, bool tcp_unused) {
  (void)tcp_unused;
  auto parsed = transport::ParseNodeAddress(target);
  if (!parsed) return ReportError(parsed.message(), EXIT_USAGE);
  auto key = identity::NodeKey::Generate();
  auto endpoint = transport::Endpoint::Create(key, transport::EndpointConfig{});
  if (!endpoint) return ReportError("cannot open an endpoint: " + endpoint.message());
  auto info = (*endpoint)->Connect(parsed->first, parsed->second);
  if (!info) return ReportError(info.message());
  auto stream = (*endpoint)->OpenStream(info->peer);
  if (!stream) return ReportError(stream.message());
  std::vector<uint8_t> buf(BULK_IO_BYTES);
  transport::BulkChecksum sum;
  uint64_t start_ns = MonotonicNs();
  for (uint64_t off = 0; off < bytes;) {
    size_t n = size_t(std::min<uint64_t>(buf.size(), bytes - off));
    transport::FillBulkPattern(off, std::span<uint8_t>(buf.data(), n));
    sum.Update(std::span<const uint8_t>(buf.data(), n));
    auto w = (*stream)->Write(ByteSpan(buf.data(), n));
    if (!w) return ReportError("send failed at byte " + std::to_string(off) + ": " + w.message());
    off += n;
  }
  auto fin = (*stream)->Finish();
  if (!fin) return ReportError("finish failed: " + fin.message());
  auto reply = (*stream)->ReadFrame(std::chrono::seconds(120));
  if (!reply || reply->size() != 8) return ReportError("no checksum from the receiver: " + (reply ? std::string("bad size") : reply.message()));
  uint64_t end_ns = MonotonicNs();
  uint64_t checksum = sum.Finish();
  uint8_t mine[8];
  for (int i = 0; i < 8; ++i) mine[i] = uint8_t(checksum >> (56 - 8 * i));
  bool match = std::equal(mine, mine + 8, reply->begin());
  nlohmann::json out = {{"bytes", bytes},
                        {"checksum", ToHex(ByteSpan(mine, 8))},
                        {"peer_checksum", ToHex(*reply)},
                        {"match", match},
                        {"start_ns", start_ns},
                        {"end_ns", end_ns},
                        {"handshake_ms", Ms(info->handshake_time)},
                        {"peak_rss_kb", PeakRssKb()}};
  std::cout << out.dump() << std::endl;
  (*endpoint)->Stop();
  return match ? EXIT_OK : ReportError("checksum mismatch");
}

}  // namespace

void RegisterNodeCommands(CLI::App& app, CommandRun& run) {
  {
    auto* cmd = app.add_subcommand("ping", "Handshake time and round trips to one peer, whose NodeId is verified");
    auto target = std::make_shared<std::string>();
    auto count = std::make_shared<int>(3);
    auto timeout = std::make_shared<double>(10.0);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("target", *target, "NODEID@HOST:PORT (did:key:z6Mk…@127.0.0.1:7000, …@[::1]:7000)")->required();
    cmd->add_option("-c,--count", *count, "round trips (default 3)");
    cmd->add_option("--timeout", *timeout, "seconds for the handshake and for each round trip (default 10)");
    cmd->add_flag("--json", *json, "JSON: node_id, address, verified, handshake_ms, rtt_ms[], lost");
    cmd->callback([&run, target, count, timeout, json] {
      run = [=] { return RunPing(*target, *count, *timeout, *json); };
    });
  }
  {
    // Internal (group "" hides it from --help): bulk transfers between two processes for tests.
    auto* cmd = app.add_subcommand("debug-transport", "internal: transport test helpers");
    cmd->group("");
    cmd->require_subcommand(1);
    auto listen = std::make_shared<std::string>("127.0.0.1:0");
    auto streams = std::make_shared<int>(1);
    auto* recv = cmd->add_subcommand("recv", "accept streams, checksum them, answer the checksum");
    recv->add_option("--listen", *listen);
    recv->add_option("--streams", *streams);
    recv->callback([&run, listen, streams] { run = [=] { return RunDebugRecv(*listen, *streams); }; });
    auto target = std::make_shared<std::string>();
    auto bytes = std::make_shared<uint64_t>(1u << 20);
    auto* send = cmd->add_subcommand("send", "send N pattern bytes on one stream, check the answer");
    send->add_option("target", *target)->required();
    send->add_option("--bytes", *bytes);
    send->callback([&run, target, bytes] { run = [=] { return RunDebugSend(*target, *bytes, false); }; });
  }
}

}  // namespace p2pgit::cli
