// The test vectors printed in docs/PROTOCOL.md: if this fails, the docs or the encoding drifted.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "wire/message.h"

using namespace p2pgit;
using namespace p2pgit::wire;

namespace {

identity::NodeKey VectorKey() {
  identity::Seed seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i);  // 00 01 … 1f
  return identity::NodeKey::FromSeed(seed);
}

RepoId VectorRepoId() {
  return identity::ComputeRepoId(Bytes(20, 0x11), VectorKey().public_key());
}

std::vector<std::pair<const char*, Body>> VectorBodies() {
  auto key = VectorKey();
  RepoBody repo;
  repo.timestamp_ms = 1700000000000;
  repo.root_commit = Bytes(20, 0x11);
  repo.creator = key.public_key();
  repo.repo_id = VectorRepoId();
  repo.name = "demo";
  repo.description = "";
  repo.delegates = {key.public_key()};
  repo.default_branch = "main";
  repo.sequence = 1;
  Bytes repo_parent(repo.repo_id.multihash.begin(), repo.repo_id.multihash.end());
  return {
      {"node", NodeBody{1700000000000, {{"127.0.0.1", 8776}}, false, "a", 1}},
      {"repo", repo},
      {"refs", RefsBody{1700000000000, VectorRepoId(), {{"heads/main", Bytes(20, 0x22)}}, 1}},
      {"inventory", InventoryBody{1700000000000, {VectorRepoId()}, 1, 0, 1}},
      {"activity",
       ActivityBody{1700000000000, VectorRepoId(), {repo_parent}, "issue.create", 1, Bytes{0xa0}}},
  };
}

struct Expected {
  const char* body_hex;
  const char* message_id_hex;
};

// The domain-separation prefixes of SignedBytes, as hex ("p2pgit/1/<type>\n").
const char* const EXPECTED_SIGNED_PREFIX[] = {
    "7032706769742f312f6e6f64650a",         "7032706769742f312f7265706f0a",
    "7032706769742f312f726566730a",         "7032706769742f312f696e76656e746f72790a",
    "7032706769742f312f61637469766974790a",
};

/** The vector block exactly as docs/PROTOCOL.md shows it. */
std::string VectorPrintout() {
  auto key = VectorKey();
  std::ostringstream out;
  out << "public key " << ToHex(key.public_key()) << "\nnode id " << identity::EncodeDidKey(key.public_key())
      << "\nrepo id " << VectorRepoId().ToString() << "\n";
  for (const auto& [name, body] : VectorBodies()) {
    auto m = SignMessage(key, body);
    Bytes prefix = SignedBytes(m.type(), {});
    out << "### " << name << "\nbody " << ToHex(m.body_bytes) << "\nsigned-prefix " << ToHex(prefix)
        << "\nsignature " << ToHex(m.signature) << "\nenvelope " << ToHex(m.encoded) << "\nid " << ToHex(m.id)
        << "\n";
  }
  return out.str();
}

// Filled from the printout below; the same values are in docs/PROTOCOL.md.
const Expected EXPECTED[] = {
    {"a5001b0000018bcfe56800018182693132372e302e302e3119224802f40361610401",
     "448badadebb696e2ae774d382f75f7a4f988cbf52101f5d0f6cfe2e2f19ddc39"},
    {"a9001b0000018bcfe56800015822122010d2b0d689dc6678d353337d11890ea2ebf601219f76a4cc839e9f1e1b595d420254111"
     "111111111111111111111111111111111111103582003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc86641255"
     "31b8046464656d6f05600681582003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b807646d61696"
     "e0801",
     "ab769f63e64779e7d9392bbbd8be7409f49aea7cd1cb2ba3426648767c59c968"},
    {"a4001b0000018bcfe56800015822122010d2b0d689dc6678d353337d11890ea2ebf601219f76a4cc839e9f1e1b595d420281826"
     "a68656164732f6d61696e5422222222222222222222222222222222222222220301",
     "a10c4d8dfd95bfe20295dcdc247270099cbaa7555071384f6ee273ee02887a0f"},
    {"a5001b0000018bcfe5680001815822122010d2b0d689dc6678d353337d11890ea2ebf601219f76a4cc839e9f1e1b595d4202010"
     "3000401",
     "6f48745488b1381423e28e3965eb2a09befdd89b8265a26fb37b27c6b19c0314"},
    {"a6001b0000018bcfe56800015822122010d2b0d689dc6678d353337d11890ea2ebf601219f76a4cc839e9f1e1b595d420281582"
     "2122010d2b0d689dc6678d353337d11890ea2ebf601219f76a4cc839e9f1e1b595d42036c69737375652e637265617465040105"
     "41a0",
     "e4fa184c5854f204872116591e35463eaffc8efb1b7ee2b93408b04ce30134ef"},
};

}  // namespace

TEST(WireVectors, KeyIsRfc8032Seed000102) {
  EXPECT_EQ(identity::EncodeDidKey(VectorKey().public_key()).substr(0, 12), "did:key:z6Mk");
}

TEST(WireVectors, MatchDocumentedBytes) {
  auto key = VectorKey();
  auto bodies = VectorBodies();
  if (std::getenv("P2PGIT_PRINT_VECTORS") != nullptr) std::cout << VectorPrintout();
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto m = SignMessage(key, bodies[i].second);
    EXPECT_EQ(ToHex(m.body_bytes), EXPECTED[i].body_hex) << bodies[i].first;
    EXPECT_EQ(ToHex(m.id), EXPECTED[i].message_id_hex) << bodies[i].first;
    EXPECT_EQ(ToHex(SignedBytes(m.type(), {})), EXPECTED_SIGNED_PREFIX[i]) << bodies[i].first;
    auto decoded = DecodeMessage(m.encoded);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->body, bodies[i].second);
    EXPECT_EQ(decoded->id, m.id);
  }
}

TEST(WireVectors, ProtocolDocShowsExactlyThisPrintout) {
  std::ifstream file(std::string(P2PGIT_SOURCE_DIR) + "/docs/PROTOCOL.md");
  ASSERT_TRUE(file) << "docs/PROTOCOL.md not found";
  std::stringstream doc;
  doc << file.rdbuf();
  std::string printout = VectorPrintout();
  EXPECT_NE(doc.str().find("```\n" + printout + "```\n"), std::string::npos)
      << "docs/PROTOCOL.md \"Test vectors\" differs from the code; the code prints:\n"
      << printout;
}
