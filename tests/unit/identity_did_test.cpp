#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdio>
#include <random>
#include <sstream>

#include "identity/base58.h"
#include "identity/did.h"

using namespace p2pgit;
using namespace p2pgit::identity;

namespace {
PublicKey KeyFromHex(const char* hex) { return *FromHexFixed<32>(hex); }
}  // namespace

// W3C did:key examples and their published keys.
TEST(DidKey, W3cExamplesDecodeToPublishedKeys) {
  struct Vector {
    const char* did;
    const char* key_hex;
  } vectors[] = {
      // did-method-key spec example; publicKeyJwk x = Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY
      {"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
       "2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6"},
      // test vector: Ed25519 key of the all-zero seed
      {"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
       "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"},
      // publicKeyBase58 8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K
      {"did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",
       "6c2d48b1605684ef94363dc6158eeb6577466e1a36a740f2fc624617edb7712e"},
  };
  for (const auto& v : vectors) {
    auto key = DecodeDidKey(v.did);
    ASSERT_TRUE(key.ok()) << v.did << ": " << key.message();
    EXPECT_EQ(ToHex(*key), v.key_hex);
    EXPECT_EQ(EncodeDidKey(KeyFromHex(v.key_hex)), v.did);
  }
}

TEST(DidKey, AllZeroSeedKeyMatchesVector) {
  Seed seed{};
  EXPECT_EQ(EncodeDidKey(NodeKey::FromSeed(seed).public_key()),
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp");
}

TEST(DidKey, RejectsWrongMethod) {
  EXPECT_EQ(DecodeDidKey("did:web:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK").code(), DidError::WrongMethod);
  EXPECT_EQ(DecodeDidKey("z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK").code(), DidError::WrongMethod);
  EXPECT_EQ(DecodeDidKey("").code(), DidError::WrongMethod);
  EXPECT_EQ(DecodeDidKey("DID:KEY:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK").code(), DidError::WrongMethod);
}

TEST(DidKey, RejectsWrongMultibasePrefix) {
  EXPECT_EQ(DecodeDidKey("did:key:f6d6b6579206e6f74206d756c746962617365").code(), DidError::WrongMultibase);
  EXPECT_EQ(DecodeDidKey("did:key:").code(), DidError::WrongMultibase);
  EXPECT_EQ(DecodeDidKey("did:key:u7QE").code(), DidError::WrongMultibase);
}

TEST(DidKey, RejectsCharactersOutsideBase58) {
  // The seed document's own example: it contains '0', which base58btc does not have.
  EXPECT_EQ(DecodeDidKey("did:key:zQmW8QYFL8YRxq0QNqSLCVJvEoDuCgZQpL9FxT3p2ZbwU9o").code(), DidError::BadBase58);
  for (char bad : {'0', 'O', 'I', 'l', '+', '/', ' ', '\0'}) {
    std::string did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    did[20] = bad;
    EXPECT_EQ(DecodeDidKey(did).code(), DidError::BadBase58) << int(bad);
  }
}

TEST(DidKey, RejectsWrongMulticodec) {
  // A single 0xed byte (not the varint 0xed 0x01) + 32 key bytes: an earlier design's mistake.
  Bytes single_byte_codec = {0xed};
  auto key = KeyFromHex("2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6");
  single_byte_codec.insert(single_byte_codec.end(), key.begin(), key.end());
  EXPECT_EQ(DecodeDidKey("did:key:z" + EncodeBase58(single_byte_codec)).code(), DidError::WrongMulticodec);
  // secp256k1-pub (0xe7 0x01) and an X25519 key (0xec 0x01).
  EXPECT_EQ(DecodeDidKey("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme").code(), DidError::WrongMulticodec);
  EXPECT_EQ(DecodeDidKey("did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc").code(), DidError::WrongMulticodec);
  EXPECT_EQ(DecodeDidKey("did:key:z").code(), DidError::WrongMulticodec);
}

TEST(DidKey, RejectsWrongLengthAndTrailingBytes) {
  // The did:key test suite's too-short key: 0xed 0x01 then 3 bytes.
  EXPECT_EQ(DecodeDidKey("did:key:zTjsVPtY").code(), DidError::WrongLength);
  Bytes raw = {0xed, 0x01};
  raw.resize(2 + 31, 7);
  EXPECT_EQ(DecodeDidKey("did:key:z" + EncodeBase58(raw)).code(), DidError::WrongLength);
  raw.resize(2 + 33, 7);  // one trailing byte
  EXPECT_EQ(DecodeDidKey("did:key:z" + EncodeBase58(raw)).code(), DidError::WrongLength);
  // The test suite's "too large" example does not even carry the ed25519-pub codec.
  EXPECT_EQ(DecodeDidKey("did:key:z6MkA9MEcFWsoUVqj2zX6LACFaikLQ28i9WAsJnURDS3HLGKSkUbwUbiLH22ohgZ2BwgpQ6qC3VBTNV3pLhYDTVgR").code(),
            DidError::WrongMulticodec);
}

TEST(DidKey, RejectsOverlongTextBeforeDecoding) {
  EXPECT_EQ(DecodeDidKey("did:key:z" + std::string(100000, '1')).code(), DidError::TooLong);
}

TEST(DidKey, EveryKeyEncodesWithZ6MkPrefix) {
  for (int i = 0; i < 200; ++i) {
    auto did = EncodeDidKey(NodeKey::Generate().public_key());
    EXPECT_EQ(did.rfind("did:key:z6Mk", 0), 0u) << did;
  }
}

RC_GTEST_PROP(DidKeyProperty, RoundTrips, (std::array<uint8_t, 32> key)) {
  auto decoded = DecodeDidKey(EncodeDidKey(key));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == key);
}

RC_GTEST_PROP(Base58Property, RoundTripsWithLeadingZeros, (std::vector<uint8_t> bytes)) {
  auto decoded = DecodeBase58(EncodeBase58(bytes));
  RC_ASSERT(decoded.has_value());
  RC_ASSERT(*decoded == bytes);
}

TEST(Base58, KnownValues) {
  EXPECT_EQ(EncodeBase58(Bytes{}), "");
  EXPECT_EQ(EncodeBase58(Bytes{0}), "1");
  EXPECT_EQ(EncodeBase58(Bytes{0, 0, 1}), "112");
  EXPECT_EQ(EncodeBase58(AsBytes("hello world")), "StV1DL6CwTryKyV");
  EXPECT_EQ(*DecodeBase58("StV1DL6CwTryKyV"), Bytes(AsBytes("hello world").begin(), AsBytes("hello world").end()));
}

TEST(DidRepo, KnownVector) {
  auto root = *FromHex("0123456789012345678901234567890123456789");
  auto creator = KeyFromHex("2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6");
  RepoId id = ComputeRepoId(root, creator);
  EXPECT_EQ(id.ToString(), "did:repo:zQmPT38gmKDGT2fhKssVxMxrHoJey4UwAJKWNd2nL4ZRqir");
  auto decoded = DecodeDidRepo(id.ToString());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, id);
}

TEST(DidRepo, Rejections) {
  EXPECT_EQ(DecodeDidRepo("did:key:zQmPT38gmKDGT2fhKssVxMxrHoJey4UwAJKWNd2nL4ZRqir").code(), DidError::WrongMethod);
  EXPECT_EQ(DecodeDidRepo("did:repo:QmPT38gmKDGT2fhKssVxMxrHoJey4UwAJKWNd2nL4ZRqir").code(), DidError::WrongMultibase);
  EXPECT_EQ(DecodeDidRepo("did:repo:zQmPT38gmKDGT2fhKssVxMxrHoJey4UwAJKWNd2nL4ZRqi0").code(), DidError::BadBase58);
  Bytes sha512 = {0x13, 0x40};
  sha512.resize(66, 1);
  EXPECT_EQ(DecodeDidRepo("did:repo:z" + EncodeBase58(sha512)).code(), DidError::WrongMulticodec);
  Bytes short_digest = {0x12, 0x20};
  short_digest.resize(33, 1);
  EXPECT_EQ(DecodeDidRepo("did:repo:z" + EncodeBase58(short_digest)).code(), DidError::WrongLength);
  Bytes trailing = {0x12, 0x20};
  trailing.resize(35, 1);
  EXPECT_EQ(DecodeDidRepo("did:repo:z" + EncodeBase58(trailing)).code(), DidError::WrongLength);
  EXPECT_EQ(DecodeDidRepo("did:repo:z" + std::string(200, 'a')).code(), DidError::TooLong);
}

// did:key and did:repo agree with an independent Python implementation on random inputs.
TEST(Ids, AgreeWithIndependentPythonImplementation) {
  std::mt19937_64 rng(20261125);
  std::string request_path = testing::TempDir() + "/ids_requests.txt";
  std::vector<std::string> expected;
  {
    FILE* f = std::fopen(request_path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    for (int i = 0; i < 300; ++i) {
      PublicKey key;
      for (auto& b : key) b = static_cast<uint8_t>(rng());
      if (i % 50 == 0) std::fill(key.begin(), key.begin() + 3, 0);  // leading zero bytes
      Bytes root(i % 3 == 0 ? 32 : 20);
      for (auto& b : root) b = static_cast<uint8_t>(rng());
      std::fprintf(f, "didkey %s\nrepoid %s %s\n", ToHex(key).c_str(), ToHex(root).c_str(), ToHex(key).c_str());
      expected.push_back(EncodeDidKey(key));
      expected.push_back(ComputeRepoId(root, key).ToString());
    }
    std::fclose(f);
  }
  std::string cmd = std::string(P2PGIT_PYTHON) + " " + P2PGIT_SOURCE_DIR + "/tests/vectors/ids.py < " + request_path;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char line[256];
  size_t i = 0;
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string got(line);
    if (!got.empty() && got.back() == '\n') got.pop_back();
    ASSERT_LT(i, expected.size());
    EXPECT_EQ(got, expected[i]) << "line " << i;
    ++i;
  }
  EXPECT_EQ(::pclose(pipe), 0);
  EXPECT_EQ(i, expected.size());
}
