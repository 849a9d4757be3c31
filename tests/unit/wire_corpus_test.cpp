// The fuzz seed corpus for the wire decoders (tests/fuzz/corpus/<target>/) is generated here, and
// this test checks the checked-in files still equal what the generator makes and still decode
// (or fail) as their names say, so the seeds keep reaching deep into the decoders.
//   valid-*, vector*: decodes (bodies: DecodeBody; envelopes: DecodeMessage incl. signature)
//   invalid-*       : refused by the decoder
//   badsig-*        : an envelope that parses but whose signature does not verify
// Regenerate with P2PGIT_WRITE_CORPUS=1 ./wire_corpus_test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "wire/message.h"
#include "wire/replication.h"

using namespace p2pgit;
using namespace p2pgit::wire;
namespace fs = std::filesystem;

namespace {

struct Seed {
  std::string target;  // fuzz target, e.g. "body_node_fuzz"
  std::string file;
  Bytes bytes;
};

identity::NodeKey SeedKey(uint8_t offset) {
  identity::Seed seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i + offset);
  return identity::NodeKey::FromSeed(seed);
}

const char* BodyTarget(MessageType type) {
  switch (type) {
    case MessageType::Node:
      return "body_node_fuzz";
    case MessageType::Repo:
      return "body_repo_fuzz";
    case MessageType::Refs:
      return "body_refs_fuzz";
    case MessageType::Inventory:
      return "body_inventory_fuzz";
    case MessageType::Activity:
      return "body_activity_fuzz";
  }
  return "";
}

std::vector<Seed> GenerateSeeds() {
  auto key = SeedKey(0);
  auto delegate = SeedKey(1);
  RepoBody repo;
  repo.timestamp_ms = 1700000000123;
  repo.root_commit = Bytes(32, 0x5a);  // a SHA-256 repository
  repo.creator = key.public_key();
  repo.repo_id = identity::ComputeRepoId(repo.root_commit, repo.creator);
  repo.name = "r\xc3\xa9po";
  repo.description = "first line\nsecond\tline";
  repo.delegates = {key.public_key(), delegate.public_key()};
  repo.default_branch = "release/1.0";
  repo.sequence = 300;

  std::vector<RepoId> repos;
  for (uint8_t i = 0; i < 3; ++i) repos.push_back(identity::ComputeRepoId(Bytes(20, i), key.public_key()));
  InventoryBody inventory = SplitInventory(repos, 70000, 1700000000000).front();
  inventory.page = 1;
  inventory.page_count = 3;

  Bytes event_a(32, 0x0e), event_b(32, 0xe0);
  std::vector<std::pair<std::string, Body>> bodies = {
      {"valid-addresses", NodeBody{1700000000000,
                                   {{"192.0.2.1", 8776}, {"2001:db8::7", 443}, {"relay.example.org", 65535}},
                                   true,
                                   "n\xc5\x93ud",
                                   1}},
      {"valid-empty", NodeBody{0, {}, false, "", 1}},
      {"valid-delegates", repo},
      {"valid-refs", RefsBody{1700000000000,
                              repo.repo_id,
                              {{"heads/main", Bytes(32, 1)},
                               {"heads/release/1.0", Bytes(32, 2)},
                               {"patches/fix-1", Bytes(32, 3)},
                               {"tags/v1.0", Bytes(32, 4)}},
                              25}},
      {"valid-empty", RefsBody{1, repo.repo_id, {}, 1}},
      {"valid-page", inventory},
      {"valid-event-parents",
       ActivityBody{
           1700000000000, repo.repo_id, {event_a, event_b}, "patch.review", 2, Bytes{0xa1, 0x00, 0x61, 'x'}}},
  };

  std::vector<Seed> seeds;
  for (const auto& [name, body] : bodies) {
    MessageType type = TypeOf(body);
    seeds.push_back({BodyTarget(type), name, EncodeBody(body)});
    auto message = SignMessage(key, body);
    seeds.push_back({"message_fuzz", name + "-" + MessageTypeName(type), message.encoded});
  }

  // Refusals near the valid ones: each starts the fuzzer next to a decoder branch.
  Bytes long_form = EncodeBody(NodeBody{5, {}, false, "a", 1});
  long_form[2] = 0x18;  // timestamp 5 as 0x18 0x05
  long_form.insert(long_form.begin() + 3, 0x05);
  seeds.push_back({"body_node_fuzz", "invalid-long-form-int", long_form});
  RepoBody mismatch = repo;
  mismatch.root_commit = Bytes(32, 0x5b);
  seeds.push_back({"body_repo_fuzz", "invalid-repo-id-mismatch", EncodeBody(mismatch)});
  RefsBody unsorted{1, repo.repo_id, {{"tags/a", Bytes(20, 1)}, {"heads/a", Bytes(20, 1)}}, 1};
  seeds.push_back({"body_refs_fuzz", "invalid-unsorted", EncodeBody(unsorted)});
  // The ref-name policy's per-name and per-message rules (docs/PROTOCOL.md, "Ref names").
  RefsBody notes{1, repo.repo_id, {{"notes/commits", Bytes(20, 1)}}, 1};
  seeds.push_back({"body_refs_fuzz", "invalid-notes-root", EncodeBody(notes)});
  RefsBody dash{1, repo.repo_id, {{"heads/-x", Bytes(20, 1)}}, 1};
  seeds.push_back({"body_refs_fuzz", "invalid-dash-component", EncodeBody(dash)});
  RefsBody directory{1, repo.repo_id, {{"heads/a", Bytes(20, 1)}, {"heads/a/b", Bytes(20, 2)}}, 1};
  seeds.push_back({"body_refs_fuzz", "invalid-directory-prefix", EncodeBody(directory)});
  RefsBody mixed{1, repo.repo_id, {{"heads/a", Bytes(20, 1)}, {"heads/b", Bytes(32, 2)}}, 1};
  seeds.push_back({"body_refs_fuzz", "invalid-mixed-oid-lengths", EncodeBody(mixed)});
  auto forged = SignMessage(key, Body{RefsBody{2, repo.repo_id, {{"heads/main", Bytes(20, 9)}}, 2}});
  forged.encoded[forged.encoded.size() - forged.body_bytes.size() - 3] ^= 1;  // a signature bit
  seeds.push_back({"message_fuzz", "badsig-refs", forged.encoded});
  // Replication stream requests and answers.
  seeds.push_back({"replication_request_fuzz", "valid-repo-state", EncodeReplicationRequest(RepoStateRequest{repo.repo_id})});
  seeds.push_back({"replication_request_fuzz", "valid-fetch",
                   EncodeReplicationRequest(FetchRequest{repo.repo_id, {Bytes(20, 1), Bytes(20, 2)}, {Bytes(20, 3)}})});
  seeds.push_back({"replication_request_fuzz", "valid-answer-ok", EncodeFetchAnswer(FetchAnswer{true, {Bytes(20, 4)}, ""})});
  seeds.push_back({"replication_request_fuzz", "valid-answer-refused", EncodeFetchAnswer(FetchAnswer{false, {}, "unknown repo"})});
  return seeds;
}

fs::path CorpusDir() {
  return fs::path(P2PGIT_SOURCE_DIR) / "tests" / "fuzz" / "corpus";
}

Bytes ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<MessageType> TypeOfTarget(const std::string& target) {
  for (auto type : {MessageType::Node, MessageType::Repo, MessageType::Refs, MessageType::Inventory,
                    MessageType::Activity})
    if (target == BodyTarget(type)) return type;
  return std::nullopt;
}

}  // namespace

TEST(WireCorpus, CheckedInSeedsEqualTheGenerator) {
  bool write = std::getenv("P2PGIT_WRITE_CORPUS") != nullptr;
  for (const Seed& seed : GenerateSeeds()) {
    fs::path path = CorpusDir() / seed.target / seed.file;
    if (write) {
      fs::create_directories(path.parent_path());
      std::ofstream(path, std::ios::binary)
          .write(reinterpret_cast<const char*>(seed.bytes.data()),
                 static_cast<std::streamsize>(seed.bytes.size()));
    }
    EXPECT_EQ(ReadFile(path), seed.bytes) << path << " differs; regenerate with P2PGIT_WRITE_CORPUS=1";
  }
}

TEST(WireCorpus, SeedsDecodeAsTheirNamesSay) {
  size_t checked = 0;
  for (const std::string target : {"body_node_fuzz", "body_repo_fuzz", "body_refs_fuzz",
                                   "body_inventory_fuzz", "body_activity_fuzz", "message_fuzz"}) {
    for (const auto& entry : fs::directory_iterator(CorpusDir() / target)) {
      std::string name = entry.path().filename().string();
      Bytes bytes = ReadFile(entry.path());
      bool parses, verifies;
      std::string why;
      if (auto type = TypeOfTarget(target)) {
        auto body = DecodeBody(*type, bytes);
        parses = verifies = body.ok();
        if (!body.ok()) why = body.message();
        if (body.ok()) {
          EXPECT_EQ(EncodeBody(*body), bytes) << target << "/" << name;
        }
      } else {
        auto parsed = ParseMessage(bytes);
        parses = parsed.ok();
        verifies = parses && VerifyMessage(*parsed).ok();
        if (!parses) why = parsed.message();
      }
      if (name.rfind("vector", 0) == 0 || name.rfind("valid-", 0) == 0) {
        EXPECT_TRUE(parses && verifies) << target << "/" << name << ": " << why;
      } else if (name.rfind("invalid-", 0) == 0) {
        EXPECT_FALSE(parses) << target << "/" << name;
      } else if (name.rfind("badsig-", 0) == 0) {
        EXPECT_TRUE(parses && !verifies) << target << "/" << name << ": " << why;
      } else {
        ADD_FAILURE() << "unexpected seed name " << target << "/" << name;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, GenerateSeeds().size());
}
