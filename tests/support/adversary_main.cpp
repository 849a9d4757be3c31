// p2pgit-adversary: a test-only hostile peer (never installed). It signs whatever it is told —
// bodies the wire layer would refuse to build — with a fresh key or a home's key, and speaks the
// project's own transport: sends signed messages to a peer, serves replication streams from a
// home (so a relay can fetch what it signed), and asks a peer for arbitrary object ids.
//
//   sign-refs  --seed N | --home H  --repo ID  --ref NAME=HEXOID ...  [--sequence S] [--timestamp T]
//   sign-repo  --seed N | --home H  --from NODEID@HOST:PORT --repo ID  [--sequence S] [--description D]
//              [--delegate did:key ...] [--no-delegates]   (re-signs the Repo message the peer holds)
//   id         --seed N | --home H
//   send       --seed N | --home H  --to NODEID@HOST:PORT  [--serve-seconds S]  HEX ...
//   want       --seed N  --to NODEID@HOST:PORT  --repo ID  HEXOID ...
//
// sign-* print the envelope as hex on stdout. `send` exits after the messages left (a ping round
// trip) unless --serve-seconds asks it to stay and serve replication streams from --home. `want`
// prints "served <bytes>" or "missing <oid>" lines. Errors: one line on stderr, exit 1.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "gossip/admission.h"
#include "identity/did.h"
#include "identity/node_key.h"
#include "node/replication.h"
#include "routing/routing_state.h"
#include "storage/store.h"
#include "transport/endpoint.h"
#include "wire/gossip_frame.h"
#include "wire/message.h"
#include "wire/replication.h"

using namespace p2pgit;

namespace {

[[noreturn]] void Die(const std::string& line) {
  std::fprintf(stderr, "adversary: %s\n", line.c_str());
  std::exit(1);
}

struct Args {
  std::string command;
  std::optional<int> seed;
  std::string home, repo, to, from, description;
  std::vector<std::string> refs, delegates, rest;
  std::optional<uint64_t> sequence, timestamp;
  bool no_delegates = false;
  int serve_seconds = 0;
};

Args Parse(int argc, char** argv) {
  if (argc < 2) Die("usage: p2pgit-adversary sign-refs|sign-repo|send|want ...");
  Args a;
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--seed") a.seed = std::stoi(next());
    else if (arg == "--home") a.home = next();
    else if (arg == "--repo") a.repo = next();
    else if (arg == "--to") a.to = next();
    else if (arg == "--ref") a.refs.push_back(next());
    else if (arg == "--delegate") a.delegates.push_back(next());
    else if (arg == "--no-delegates") a.no_delegates = true;
    else if (arg == "--from") a.from = next();
    else if (arg == "--description") a.description = next();
    else if (arg == "--sequence") a.sequence = std::stoull(next());
    else if (arg == "--timestamp") a.timestamp = std::stoull(next());
    else if (arg == "--serve-seconds") a.serve_seconds = std::stoi(next());
    else a.rest.push_back(arg);
  }
  return a;
}

identity::NodeKey KeyOf(const Args& a) {
  if (!a.home.empty()) {
    auto key = identity::LoadOrCreateNodeKey(a.home);
    if (!key) Die("key: " + key.message());
    return std::move(*key);
  }
  identity::Seed seed{};
  seed.fill(static_cast<uint8_t>(a.seed.value_or(7)));
  seed[0] = 0xad;  // never the seed of a test's honest key
  return identity::NodeKey::FromSeed(seed);
}

identity::RepoId RepoOf(const Args& a) {
  auto repo = identity::DecodeDidRepo(a.repo);
  if (!repo) Die("--repo: " + repo.message());
  return *repo;
}

/** Signs without validating: the point is to send what an honest signer never would. */
void PrintSigned(const identity::NodeKey& key, const wire::Body& body) {
  std::cout << ToHex(wire::SignMessage(key, body).encoded) << std::endl;
}

int SignRefs(const Args& a) {
  auto key = KeyOf(a);
  wire::RefsBody body;
  body.timestamp_ms = a.timestamp.value_or(UnixMillis());
  body.repo_id = RepoOf(a);
  for (const auto& r : a.refs) {
    auto eq = r.rfind('=');
    if (eq == std::string::npos) Die("--ref wants NAME=HEXOID: " + r);
    auto oid = FromHex(r.substr(eq + 1));
    if (!oid) Die("--ref: bad hex oid in " + r);
    body.refs.push_back({r.substr(0, eq), *oid});
  }
  std::sort(body.refs.begin(), body.refs.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  body.sequence = a.sequence.value_or(UnixMillis());
  PrintSigned(key, body);
  return 0;
}

std::pair<std::unique_ptr<transport::Endpoint>, transport::PeerId> Dial(const Args& a, const identity::NodeKey& key,
                                                                        bool serve) {
  auto target = transport::ParseNodeAddress(a.to);
  if (!target) Die("--to: " + target.message());
  transport::EndpointHandlers handlers;
  std::string home = a.home;
  if (serve && !home.empty())
    handlers.on_stream = [home](std::shared_ptr<transport::Stream> stream) {
      // Detached on purpose: a test tool that exits after --serve-seconds.
      std::thread([home, stream] { node::ServeReplicationStream(home, stream); }).detach();
    };
  auto endpoint = transport::Endpoint::Create(key, transport::EndpointConfig{}, handlers);
  if (!endpoint) Die("endpoint: " + endpoint.message());
  auto info = (*endpoint)->Connect(target->first, target->second);
  if (!info) Die("connect: " + info.message());
  return {std::move(*endpoint), target->first};
}

/** The Repo message `--from` holds for `--repo` (through a repo-state request). */
wire::RepoBody FetchRepoBody(const Args& a, const identity::NodeKey& key) {
  Args dial = a;
  dial.to = a.from;
  auto [endpoint, peer] = Dial(dial, key, false);
  auto stream = endpoint->OpenStream(peer);
  if (!stream) Die("stream: " + stream.message());
  if (!(*stream)->WriteFrame(wire::EncodeReplicationRequest(wire::RepoStateRequest{RepoOf(a)}))) Die("connection lost");
  (void)(*stream)->Finish();
  for (;;) {
    auto frame = (*stream)->ReadFrame(std::chrono::seconds(30));
    if (!frame) break;
    auto parsed = wire::ParseMessage(*frame);
    if (parsed && parsed->type() == wire::MessageType::Repo) {
      endpoint->Stop();
      return std::get<wire::RepoBody>(parsed->body);
    }
  }
  Die("the peer holds no Repo message for " + a.repo);
}

int SignRepo(const Args& a) {
  auto key = KeyOf(a);
  wire::RepoBody body = FetchRepoBody(a, key);
  body.timestamp_ms = a.timestamp.value_or(UnixMillis());
  body.sequence = a.sequence.value_or(std::max<uint64_t>(body.sequence + 1, UnixMillis()));
  if (!a.description.empty()) body.description = a.description;
  if (a.no_delegates) body.delegates = {body.creator};
  for (const auto& d : a.delegates) {
    auto k = identity::DecodeDidKey(d);
    if (!k) Die("--delegate: " + k.message());
    body.delegates.push_back(*k);
  }
  PrintSigned(key, body);
  return 0;
}

/** What the peer will ask for when it fetches from us: our own messages, in our own store. */
void AdmitIntoHome(const std::string& home, const std::vector<Bytes>& messages) {
  auto store = storage::Store::Open(std::filesystem::path(home) / "store.db");
  if (!store) Die("store: " + store.message());
  routing::StoreRoutingState state(*store);
  gossip::Admission admission(state);
  for (const auto& m : messages) (void)admission.Admit(m, UnixMillis());
}

int Send(const Args& a) {
  auto key = KeyOf(a);
  std::vector<Bytes> messages;
  for (const auto& hex : a.rest) {
    auto raw = FromHex(hex);
    if (!raw) Die("message is not hex");
    messages.push_back(std::move(*raw));
  }
  if (!a.home.empty() && a.serve_seconds > 0) AdmitIntoHome(a.home, messages);
  auto [endpoint, peer] = Dial(a, key, a.serve_seconds > 0);
  for (const auto& m : messages) {
    // As a datagram, or on a stream when too big: the peer admits it either way.
    if (auto sent = endpoint->SendMessage(peer, wire::EncodeGossipFrame(wire::MessageFrame{m})); !sent)
      Die("send: " + sent.message());
  }
  (void)endpoint->Ping(peer, std::chrono::seconds(5));
  std::cout << "sent " << a.rest.size() << std::endl;
  if (a.serve_seconds > 0) std::this_thread::sleep_for(std::chrono::seconds(a.serve_seconds));
  endpoint->Stop();
  return 0;
}

int Want(const Args& a) {
  auto key = KeyOf(a);
  auto [endpoint, peer] = Dial(a, key, false);
  wire::FetchRequest request{RepoOf(a), {}, {}};
  for (const auto& hex : a.rest) {
    auto oid = FromHex(hex);
    if (!oid) Die("oid is not hex");
    request.wants.push_back(*oid);
  }
  auto stream = endpoint->OpenStream(peer);
  if (!stream) Die("stream: " + stream.message());
  if (!(*stream)->WriteFrame(wire::EncodeReplicationRequest(request))) Die("connection lost");
  (void)(*stream)->Finish();
  auto frame = (*stream)->ReadFrame(std::chrono::seconds(30));
  if (!frame) Die("no answer: " + frame.message());
  auto answer = wire::DecodeFetchAnswer(*frame);
  if (!answer) Die("bad answer: " + answer.message());
  if (!answer->ok) {
    std::cout << "refused " << answer->reason << std::endl;
    return 0;
  }
  for (const auto& m : answer->missing) std::cout << "missing " << ToHex(m) << std::endl;
  uint64_t bytes = 0;
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    auto n = (*stream)->Read(buffer, std::chrono::seconds(30));
    if (!n || *n == 0) break;
    bytes += *n;
  }
  std::cout << "served " << bytes << std::endl;
  endpoint->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = Parse(argc, argv);
  if (a.command == "sign-refs") return SignRefs(a);
  if (a.command == "sign-repo") return SignRepo(a);
  if (a.command == "id") {
    std::cout << identity::EncodeDidKey(KeyOf(a).public_key()) << std::endl;
    return 0;
  }
  if (a.command == "send") return Send(a);
  if (a.command == "want") return Want(a);
  Die("unknown command " + a.command);
}
