// FetchRepo against a malicious seeder: real QUIC endpoints on 127.0.0.1 and real git. The
// server answers repo-state requests normally (node::ServeReplicationStream, so the signed
// messages are genuine) but answers fetches with a corrupted, incomplete or truncated pack. Each
// fetch must fail with one line naming the server, and leave the client's storage repository
// without refs, objects or quarantines; an honest server then succeeds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "git/import.h"
#include "git/pack_transfer.h"
#include "git/repo_inspect.h"
#include "git/storage.h"
#include "git/verify.h"
#include "git_test_fixture.h"
#include "gossip/admission.h"
#include "identity/did.h"
#include "node/replication.h"
#include "routing/routing_state.h"
#include "storage/store.h"
#include "transport/endpoint.h"
#include "wire/message.h"
#include "wire/replication.h"

using namespace p2pgit;
using namespace std::chrono_literals;
using p2pgit::test::GitTest;
using p2pgit::test::ShellQuote;
namespace fs = std::filesystem;

namespace {

uint64_t NowMs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

identity::NodeKey KeyFor(uint8_t index) {
  identity::Seed seed{};
  seed[0] = 0x5e;
  seed[31] = index;
  return identity::NodeKey::FromSeed(seed);
}

/** How the server answers a fetch request. */
enum class FetchBehaviour {
  Honest,             // node::ServeReplicationStream
  FlippedBytes,       // the pack with bytes inverted in its middle
  MissingObject,      // a valid, non-thin pack lacking the parent commit's objects
  Truncated,          // the first half of the pack, then a clean FIN
  ResetMidPack,       // the first half of the pack, then RESET_STREAM
};

const char* Name(FetchBehaviour b) {
  switch (b) {
    case FetchBehaviour::Honest: return "honest";
    case FetchBehaviour::FlippedBytes: return "flipped-bytes";
    case FetchBehaviour::MissingObject: return "missing-object";
    case FetchBehaviour::Truncated: return "truncated";
    case FetchBehaviour::ResetMidPack: return "reset-mid-pack";
  }
  return "?";
}

class NodeReplicationTest : public GitTest {
 protected:
  void SetUp() override {
    GitTest::SetUp();
    m_server_home = Dir("server");
    m_work = MakeWorkRepo("work", 6);
    // 200 KB of incompressible (seeded) bytes, so the pack has a middle worth corrupting.
    std::mt19937_64 rng(42);
    std::string pad(200'000, '\0');
    for (auto& c : pad) c = char(rng());
    std::ofstream(m_work / "pad.bin", std::ios::binary) << pad;
    Sh("cd " + ShellQuote(m_work.string()) + " && git add -A && git commit -q -m pad");
    AddCommits(m_work, 2, "after");
    m_main_parent = Oid(m_work / ".git", "main~1");
    ShareOnServer();
    StartServer();
  }

  void TearDown() override {
    if (m_server) m_server->Stop();  // wakes every serving thread blocked on a stream
    {
      std::lock_guard lock(m_threads_mu);
      for (auto& t : m_threads) t.join();
      m_threads.clear();
    }
    m_server.reset();
    GitTest::TearDown();
  }

  /** What `p2pgit share` does without a network: import, sign Repo and Refs, store both. */
  void ShareOnServer() {
    auto store = storage::Store::Open(m_server_home / "store.db");
    ASSERT_TRUE(store) << store.message();
    auto root = git::FindRootCommit(m_work);
    ASSERT_TRUE(root) << root.message();
    m_repo = identity::ComputeRepoId(*root, m_server_key.public_key());
    auto storage_path = git::StoragePath(m_server_home, m_repo);
    auto storage = git::StorageRepo::OpenOrCreate(storage_path);
    ASSERT_TRUE(storage) << storage.message();
    auto imported = git::ImportWorkingRepo(*storage, m_work);
    ASSERT_TRUE(imported) << imported.message();
    m_signed = imported->refs;

    uint64_t now = NowMs();
    wire::RepoBody repo;
    repo.timestamp_ms = now;
    repo.repo_id = m_repo;
    repo.root_commit = *root;
    repo.creator = m_server_key.public_key();
    repo.name = "work";
    repo.delegates = {m_server_key.public_key()};
    repo.default_branch = "main";
    repo.sequence = 1;
    wire::RefsBody refs;
    refs.timestamp_ms = now;
    refs.repo_id = m_repo;
    for (const auto& r : m_signed) refs.refs.push_back({r.name, r.oid});
    refs.sequence = 1;
    routing::StoreRoutingState state(*store);
    gossip::Admission admission(state);
    for (const auto& m : {wire::SignMessage(m_server_key, repo).encoded, wire::SignMessage(m_server_key, refs).encoded}) {
      auto result = admission.Admit(m, now);
      ASSERT_EQ(result.verdict, gossip::Verdict::Accepted) << result.reason;
    }
    ASSERT_TRUE(storage->SetNamespace(m_server_key.public_key(), m_signed));
    ASSERT_TRUE(store->SetRepoPath(m_repo.multihash, storage_path));
    m_server_storage = storage_path;
  }

  void StartServer() {
    transport::EndpointConfig config;
    config.listen = {"127.0.0.1:0"};
    transport::EndpointHandlers handlers;
    handlers.on_stream = [this](std::shared_ptr<transport::Stream> stream) {
      // Loop thread: hand the stream over at once. FetchRepo opens the repo-state stream, then
      // the fetch stream, one after the other, on a fresh connection per client.
      std::lock_guard lock(m_threads_mu);
      m_threads.emplace_back([this, stream] { Serve(stream); });
    };
    auto endpoint = transport::Endpoint::Create(m_server_key, config, handlers);
    ASSERT_TRUE(endpoint) << endpoint.message();
    m_server = std::move(*endpoint);
    m_server_address = m_server->LocalAddresses().at(0);
  }

  void Serve(const std::shared_ptr<transport::Stream>& stream) {
    bool fetch = m_streams_seen.fetch_add(1) % 2 == 1;
    FetchBehaviour behaviour = m_behaviour.load();
    if (!fetch || behaviour == FetchBehaviour::Honest) return node::ServeReplicationStream(m_server_home, stream);
    auto frame = stream->ReadFrame(10s);
    if (!frame) return stream->Reset();
    auto request = wire::DecodeReplicationRequest(*frame);
    const auto* fetch_request = request ? std::get_if<wire::FetchRequest>(&*request) : nullptr;
    if (fetch_request == nullptr) {
      ADD_FAILURE() << "expected a fetch request on the second stream";
      return stream->Reset();
    }
    auto storage = git::StorageRepo::Open(m_server_storage);
    if (!storage) return stream->Reset();
    Bytes pack;
    std::vector<Bytes> haves = fetch_request->haves;
    git::ServeOptions options;
    if (behaviour == FetchBehaviour::MissingObject) {
      // Leave out everything the parent of main reaches, and send it as a complete (non-thin)
      // pack: index-pack accepts it, the connectivity check must not.
      haves.push_back(m_main_parent);
      options.thin = false;
    }
    auto served = git::ServePack(*storage, fetch_request->wants, haves, [&](ByteSpan chunk) {
      pack.insert(pack.end(), chunk.begin(), chunk.end());
      return true;
    }, options);
    if (!served) {
      ADD_FAILURE() << "ServePack: " << served.message();
      return stream->Reset();
    }
    if (behaviour == FetchBehaviour::FlippedBytes)
      for (size_t i = pack.size() / 2; i < pack.size() / 2 + 16; ++i) pack[i] ^= 0xff;
    if (behaviour == FetchBehaviour::Truncated || behaviour == FetchBehaviour::ResetMidPack) pack.resize(pack.size() / 2);
    m_last_pack_bytes = pack.size();
    if (!stream->WriteFrame(wire::EncodeFetchAnswer(wire::FetchAnswer{true, {}, ""}))) return;
    if (!stream->Write(pack)) return;
    if (behaviour == FetchBehaviour::ResetMidPack) {
      (void)stream->Flush(10s);
      return stream->Reset();
    }
    (void)stream->Finish();
    (void)stream->Flush(10s);
  }

  std::string NamespaceRef(const std::string& name) {
    return "refs/nodes/" + identity::EncodeDidKey(m_server_key.public_key()).substr(8) + "/" + name;
  }

  struct Client {
    fs::path home;
    std::unique_ptr<transport::Endpoint> endpoint;
    std::optional<storage::Store> store;
  };

  /** A fresh home and endpoint connected to the server. */
  Client NewClient(const std::string& name, uint8_t key_index) {
    Client c;
    c.home = Dir(name);
    fs::create_directories(c.home);
    transport::EndpointConfig config;
    config.listen = {"127.0.0.1:0"};
    auto endpoint = transport::Endpoint::Create(KeyFor(key_index), config);
    EXPECT_TRUE(endpoint) << endpoint.message();
    if (!endpoint) return c;
    c.endpoint = std::move(*endpoint);
    auto connected = c.endpoint->Connect(m_server_key.public_key(), m_server_address);
    EXPECT_TRUE(connected) << connected.message();
    auto store = storage::Store::Open(c.home / "store.db");
    EXPECT_TRUE(store) << store.message();
    if (store) c.store.emplace(std::move(*store));
    return c;
  }

  node::FetchResult Fetch(Client& c) {
    return node::FetchRepo(*c.endpoint, m_server_key.public_key(), c.home, *c.store, m_repo);
  }

  /** The client's storage repository holds nothing: no refs, no objects, no quarantine. */
  void ExpectStorageEmpty(const Client& c) {
    auto path = git::StoragePath(c.home, m_repo);
    if (!fs::exists(path)) return;  // never created: trivially unchanged
    EXPECT_EQ(Refs(path), "");
    EXPECT_TRUE(Objects(path).empty()) << Objects(path).size() << " objects";
    auto storage = git::StorageRepo::Open(path);
    ASSERT_TRUE(storage) << storage.message();
    EXPECT_EQ(Quarantines(*storage), 0);
  }

  identity::NodeKey m_server_key = KeyFor(1);
  fs::path m_server_home;
  fs::path m_server_storage;
  fs::path m_work;
  identity::RepoId m_repo;
  std::vector<git::NamedRef> m_signed;
  Bytes m_main_parent;
  std::unique_ptr<transport::Endpoint> m_server;
  std::string m_server_address;
  std::atomic<FetchBehaviour> m_behaviour{FetchBehaviour::Honest};
  std::atomic<uint64_t> m_streams_seen{0};
  std::atomic<size_t> m_last_pack_bytes{0};
  std::mutex m_threads_mu;
  std::vector<std::thread> m_threads;
};

TEST_F(NodeReplicationTest, BadPacksAreRejectedNamingTheSeederAndLeaveTheStoreUnchanged) {
  std::string server_id = identity::EncodeDidKey(m_server_key.public_key());
  uint8_t key_index = 10;
  for (auto behaviour : {FetchBehaviour::FlippedBytes, FetchBehaviour::MissingObject, FetchBehaviour::Truncated,
                         FetchBehaviour::ResetMidPack}) {
    SCOPED_TRACE(Name(behaviour));
    m_behaviour = behaviour;
    m_streams_seen = 0;
    Client client = NewClient(std::string("client-") + Name(behaviour), key_index++);
    ASSERT_TRUE(client.endpoint && client.store);
    auto result = Fetch(client);
    EXPECT_GT(m_last_pack_bytes.load(), 100u);  // the server did send (part of) a pack
    if (behaviour == FetchBehaviour::MissingObject) {
      // A valid pack that does not connect: the namespace is skipped, the peer is at fault.
      ASSERT_TRUE(result) << result.message();
      EXPECT_FALSE(result->usable);
      EXPECT_EQ(result->namespaces_updated, 0u);
      ASSERT_EQ(result->skipped.size(), 1u);
      EXPECT_NE(result->skipped[0].reason.find("not fully connected"), std::string::npos) << result->skipped[0].reason;
      ASSERT_TRUE(result->peer_fault.has_value());
      std::cout << "  " << Name(behaviour) << ": " << *result->peer_fault << "\n";
    } else {
      ASSERT_FALSE(result) << "a " << Name(behaviour) << " pack was accepted";
      std::cout << "  " << Name(behaviour) << ": " << result.message() << "\n";
      EXPECT_EQ(result.message().rfind(server_id + ": ", 0), 0u) << result.message();
      EXPECT_EQ(result.message().find('\n'), std::string::npos) << result.message();
      EXPECT_NE(result.code(), node::FetchFault::Local);
    }
    ExpectStorageEmpty(client);
    // The signed state was admitted (it is genuine): only the objects were refused.
    auto refs = client.store->GetRefs(m_repo.multihash, m_server_key.public_key());
    ASSERT_TRUE(refs.ok());
    EXPECT_TRUE(refs->has_value());
  }
}

TEST_F(NodeReplicationTest, HonestSeederAfterBadOnesFetchesEveryObjectVerified) {
  Client client = NewClient("client", 20);
  ASSERT_TRUE(client.endpoint && client.store);
  m_behaviour = FetchBehaviour::FlippedBytes;
  ASSERT_FALSE(Fetch(client));
  ExpectStorageEmpty(client);

  m_behaviour = FetchBehaviour::Honest;
  m_streams_seen = 0;
  auto result = Fetch(client);
  ASSERT_TRUE(result) << result.message();
  EXPECT_GT(result->pack_bytes, 1000u);
  EXPECT_EQ(result->namespaces_updated, 1u);
  EXPECT_TRUE(result->not_served.empty());
  auto storage = git::StorageRepo::Open(result->storage);
  ASSERT_TRUE(storage) << storage.message();
  auto ns = storage->ListNamespace(m_server_key.public_key());
  ASSERT_TRUE(ns) << ns.message();
  auto got = *ns;
  auto want = m_signed;
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(Objects(result->storage), Objects(m_server_storage));
  EXPECT_EQ(Quarantines(*storage), 0);
  ExpectFsckClean(result->storage);
  std::vector<Bytes> tips;
  for (const auto& r : want) tips.push_back(r.oid);
  EXPECT_TRUE(git::CheckConnected(result->storage, tips));

  // Everything is current now: a second fetch moves nothing.
  m_streams_seen = 0;
  auto again = Fetch(client);
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ(again->pack_bytes, 0u);
  EXPECT_EQ(again->namespaces_updated, 0u);
  EXPECT_EQ(again->namespaces_current, 1u);
}

}  // namespace
