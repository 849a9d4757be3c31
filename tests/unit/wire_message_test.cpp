#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "support/wire_messages.h"
#include "wire/detail/cbor.h"
#include "wire/message.h"

using namespace p2pgit;
using namespace p2pgit::wire;
using detail::CborWriter;

namespace {

identity::NodeKey TestKey(uint8_t fill = 0) {
  identity::Seed seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i + fill);
  return identity::NodeKey::FromSeed(seed);
}

RepoBody SampleRepo(const identity::NodeKey& creator) {
  RepoBody b;
  b.timestamp_ms = 1700000000000;
  b.root_commit = Bytes(20, 0xab);
  b.creator = creator.public_key();
  b.repo_id = identity::ComputeRepoId(b.root_commit, b.creator);
  b.name = "demo";
  b.description = "a demo repository";
  b.delegates = {b.creator};
  b.default_branch = "main";
  b.sequence = 1;
  return b;
}

/** Envelope with arbitrary (possibly wrong) parts. */
Bytes Envelope(uint64_t version, uint64_t type, ByteSpan author, ByteSpan signature, ByteSpan body,
               size_t items = 5) {
  CborWriter w;
  w.Array(items);
  w.Uint(version);
  w.Uint(type);
  w.ByteString(author);
  w.ByteString(signature);
  w.ByteString(body);
  return w.Take();
}

WireError DecodeError(ByteSpan bytes) {
  auto r = DecodeMessage(bytes);
  EXPECT_FALSE(r.ok());
  return r.ok() ? WireError::Malformed : r.code();
}

/** Node body map with its fields written by `fill` (to craft bad bodies). */
template <typename F>
Bytes NodeBodyWith(size_t keys, F&& fill) {
  CborWriter w;
  w.Map(keys);
  fill(w);
  return w.Take();
}

Bytes SignedEnvelopeOfBody(const identity::NodeKey& key, MessageType type, const Bytes& body) {
  auto sig = key.Sign(SignedBytes(type, body));
  return Envelope(1, static_cast<uint64_t>(type), key.public_key(), sig, body);
}

}  // namespace

TEST(Wire, EveryTypeRoundTripsAndVerifies) {
  auto key = TestKey();
  const RepoId repo_id = SampleRepo(key).repo_id;
  const Bytes repo_parent(repo_id.multihash.begin(), repo_id.multihash.end());
  std::vector<Body> bodies = {
      NodeBody{1, {{"127.0.0.1", 8776}, {"relay.example.org", 443}, {"2001:db8::1", 1}}, true, "alice", 1},
      SampleRepo(key),
      RefsBody{5, SampleRepo(key).repo_id, {{"heads/main", Bytes(20, 1)}, {"tags/v1", Bytes(20, 2)}}, 7},
      InventoryBody{9, {SampleRepo(key).repo_id}, 3, 0, 1},
      ActivityBody{11, repo_id, {repo_parent}, "issue.create", 1, Bytes{1, 2, 3}},
  };
  for (const auto& body : bodies) {
    SignedMessage m = SignMessage(key, body);
    auto decoded = DecodeMessage(m.encoded);
    ASSERT_TRUE(decoded.ok()) << MessageTypeName(TypeOf(body)) << ": " << decoded.message();
    EXPECT_EQ(decoded->body, body);
    EXPECT_EQ(decoded->author, key.public_key());
    EXPECT_EQ(decoded->id, m.id);
    EXPECT_EQ(decoded->id, ComputeMessageId(m.encoded));
    EXPECT_EQ(EncodeBody(decoded->body), decoded->body_bytes);
  }
}

TEST(Wire, SignaturesAreDomainSeparatedByType) {
  auto key = TestKey();
  auto bytes = SignedBytes(MessageType::Refs, Bytes{0xa0});
  EXPECT_EQ(std::string(bytes.begin(), bytes.end() - 1), "p2pgit/1/refs\n");
  // A signature made for one type does not verify as another.
  Bytes body = EncodeBody(InventoryBody{1, {}, 1, 0, 1});
  auto sig = key.Sign(SignedBytes(MessageType::Inventory, body));
  EXPECT_TRUE(DecodeMessage(Envelope(1, 4, key.public_key(), sig, body)).ok());
  EXPECT_FALSE(identity::VerifySignature(key.public_key(), SignedBytes(MessageType::Node, body), sig));
}

TEST(WireReject, Truncated) {
  auto m = SignMessage(TestKey(), SampleRepo(TestKey()));
  for (size_t len : {size_t{0}, size_t{1}, size_t{5}, m.encoded.size() / 2, m.encoded.size() - 1}) {
    auto r = ParseMessage(ByteSpan(m.encoded).first(len));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), WireError::Truncated) << len << ": " << r.message();
  }
}

TEST(WireReject, TooLarge) {
  Bytes huge(MAX_MESSAGE_BYTES + 1, 0);
  EXPECT_EQ(DecodeError(huge), WireError::TooLarge);
  // A refs list longer than the limit is refused from its count, before reading it.
  CborWriter w;
  w.Map(4);
  w.Uint(0), w.Uint(1);
  w.Uint(1), w.ByteString(SampleRepo(TestKey()).repo_id.multihash);
  w.Uint(2), w.Array(MAX_REFS_PER_ANNOUNCEMENT + 1);
  EXPECT_EQ(DecodeBody(MessageType::Refs, w.Take()).code(), WireError::TooLarge);
  // An alias over its limit.
  NodeBody node{1, {}, false, std::string(MAX_ALIAS_BYTES + 1, 'a'), 1};
  EXPECT_EQ(DecodeBody(MessageType::Node, EncodeBody(node)).code(), WireError::TooLarge);
}

TEST(WireReject, UnknownTypeAndVersion) {
  auto key = TestKey();
  Bytes body = EncodeBody(NodeBody{});
  auto sig = key.Sign(SignedBytes(MessageType::Node, body));
  EXPECT_EQ(DecodeError(Envelope(1, 0, key.public_key(), sig, body)), WireError::UnknownType);
  EXPECT_EQ(DecodeError(Envelope(1, 6, key.public_key(), sig, body)), WireError::UnknownType);
  EXPECT_EQ(DecodeError(Envelope(1, 200, key.public_key(), sig, body)), WireError::UnknownType);
  EXPECT_EQ(DecodeError(Envelope(2, 1, key.public_key(), sig, body)), WireError::UnknownVersion);
  EXPECT_EQ(DecodeError(Envelope(0, 1, key.public_key(), sig, body)), WireError::UnknownVersion);
}

TEST(WireReject, NonCanonical) {
  auto key = TestKey();
  auto good = SignMessage(key, NodeBody{5, {}, false, "a", 1});
  // Envelope version 1 written in the one-byte form (0x18 0x01) instead of 0x01.
  Bytes long_form = good.encoded;
  long_form[1] = 0x18;
  long_form.insert(long_form.begin() + 2, 0x01);
  EXPECT_EQ(DecodeError(long_form), WireError::NonCanonical);
  // Body keys out of order.
  Bytes swapped = NodeBodyWith(5, [](CborWriter& w) {
    w.Uint(1), w.Array(0);
    w.Uint(0), w.Uint(5);
    w.Uint(2), w.Bool(false);
    w.Uint(3), w.Text("a");
    w.Uint(4), w.Uint(1);
  });
  EXPECT_EQ(DecodeError(SignedEnvelopeOfBody(key, MessageType::Node, swapped)), WireError::NonCanonical);
  // Duplicate key.
  Bytes duplicate = NodeBodyWith(5, [](CborWriter& w) {
    w.Uint(0), w.Uint(5);
    w.Uint(0), w.Uint(5);
    w.Uint(2), w.Bool(false);
    w.Uint(3), w.Text("a");
    w.Uint(4), w.Uint(1);
  });
  EXPECT_EQ(DecodeError(SignedEnvelopeOfBody(key, MessageType::Node, duplicate)), WireError::NonCanonical);
  // Refs not sorted.
  RefsBody refs{1, SampleRepo(key).repo_id, {{"tags/v1", Bytes(20, 1)}, {"heads/main", Bytes(20, 2)}}, 1};
  EXPECT_EQ(DecodeBody(MessageType::Refs, EncodeBody(refs)).code(), WireError::NonCanonical);
  // Indefinite-length array and a float are outside the subset.
  EXPECT_EQ(DecodeError(Bytes{0x9f, 0x01, 0xff}), WireError::Malformed);
  EXPECT_EQ(DecodeBody(MessageType::Node, Bytes{0xa1, 0x00, 0xf9, 0x3c, 0x00}).code(), WireError::Malformed);
}

TEST(WireReject, UnknownAndMissingFields) {
  auto key = TestKey();
  Bytes extra = NodeBodyWith(6, [](CborWriter& w) {
    w.Uint(0), w.Uint(5);
    w.Uint(1), w.Array(0);
    w.Uint(2), w.Bool(false);
    w.Uint(3), w.Text("a");
    w.Uint(4), w.Uint(1);
    w.Uint(5), w.Text("future field");
  });
  EXPECT_EQ(DecodeError(SignedEnvelopeOfBody(key, MessageType::Node, extra)), WireError::UnknownField);
  Bytes missing = NodeBodyWith(4, [](CborWriter& w) {
    w.Uint(0), w.Uint(5);
    w.Uint(1), w.Array(0);
    w.Uint(2), w.Bool(false);
    w.Uint(3), w.Text("a");
  });
  EXPECT_EQ(DecodeError(SignedEnvelopeOfBody(key, MessageType::Node, missing)), WireError::MissingField);
}

TEST(WireReject, Malformed) {
  auto key = TestKey();
  auto good = SignMessage(key, NodeBody{5, {}, false, "a", 1});
  Bytes trailing = good.encoded;
  trailing.push_back(0);
  EXPECT_EQ(DecodeError(trailing), WireError::Malformed);
  EXPECT_EQ(DecodeError(Envelope(1, 1, key.public_key(), good.signature, good.body_bytes, 4)),
            WireError::Malformed);
  // Invalid UTF-8 alias.
  Bytes bad_utf8 = NodeBodyWith(5, [](CborWriter& w) {
    w.Uint(0), w.Uint(5);
    w.Uint(1), w.Array(0);
    w.Uint(2), w.Bool(false);
    w.Uint(3), w.ByteString(Bytes{});  // a byte string where text is required
    w.Uint(4), w.Uint(1);
  });
  EXPECT_EQ(DecodeBody(MessageType::Node, bad_utf8).code(), WireError::Malformed);
  Bytes overlong_utf8 = {0xa5, 0x00, 0x05, 0x01, 0x80, 0x02, 0xf4, 0x03, 0x62, 0xc0, 0xaf, 0x04, 0x01};
  EXPECT_EQ(DecodeBody(MessageType::Node, overlong_utf8).code(), WireError::Malformed);
}

TEST(WireReject, InvalidFields) {
  auto key = TestKey();
  auto expect_invalid = [](MessageType type, const Body& body) {
    auto r = DecodeBody(type, EncodeBody(body));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), WireError::InvalidField) << r.message();
  };
  expect_invalid(MessageType::Node, NodeBody{1, {{"0.0.0.0", 1}}, false, "", 1});
  expect_invalid(MessageType::Node, NodeBody{1, {{"::", 1}}, false, "", 1});
  expect_invalid(MessageType::Node, NodeBody{1, {{"bad host!", 1}}, false, "", 1});
  expect_invalid(MessageType::Node, NodeBody{1, {{"300.1.1.1", 1}}, false, "", 1});
  expect_invalid(MessageType::Node, NodeBody{1, {{"example.org", 0}}, false, "", 1});
  RepoBody repo = SampleRepo(key);
  repo.delegates = {TestKey(9).public_key(), repo.creator};
  expect_invalid(MessageType::Repo, repo);  // creator not first
  repo.delegates = {repo.creator, repo.creator};
  expect_invalid(MessageType::Repo, repo);  // duplicate delegate
  repo.delegates = {};
  expect_invalid(MessageType::Repo, repo);
  repo = SampleRepo(key);
  repo.default_branch = "bad..branch";
  expect_invalid(MessageType::Repo, repo);
  repo = SampleRepo(key);
  repo.root_commit = Bytes(19, 1);
  expect_invalid(MessageType::Repo, repo);
  for (const char* name : {"main", "refs/heads/main", "heads/", "heads/a..b", "heads/.hidden", "heads/x.lock",
                           "heads/a b", "heads/a:b", "heads//a", "heads/a@{1}", "other/x", "heads/a."}) {
    expect_invalid(MessageType::Refs, RefsBody{1, repo.repo_id, {{name, Bytes(20, 1)}}, 1});
  }
  expect_invalid(MessageType::Refs, RefsBody{1, repo.repo_id, {{"heads/main", Bytes(21, 1)}}, 1});
  expect_invalid(MessageType::Node, NodeBody{MAX_COUNTER_VALUE + 1, {}, false, "", 1});
  expect_invalid(MessageType::Node, NodeBody{1, {}, false, "", 0});  // protocol version 0
  expect_invalid(MessageType::Activity, ActivityBody{1, repo.repo_id, {Bytes(32, 1)}, "issue.create", 0, {}});
  expect_invalid(MessageType::Refs, RefsBody{1, repo.repo_id, {}, UINT64_MAX});
  expect_invalid(MessageType::Inventory, InventoryBody{1, {}, 1, 1, 1});  // page beyond count
  expect_invalid(MessageType::Inventory, InventoryBody{1, {}, 1, 0, 0});
  ActivityBody act{1, repo.repo_id, {Bytes(33, 1)}, "issue.create", 1, {}};
  expect_invalid(MessageType::Activity, act);  // parent neither event id nor repo id
  RepoBody other = SampleRepo(TestKey(3));
  act.parents = {Bytes(other.repo_id.multihash.begin(), other.repo_id.multihash.end())};
  expect_invalid(MessageType::Activity, act);  // another repo's id: no replay across repos
  act.parents = {};
  expect_invalid(MessageType::Activity, act);
  act.parents = {Bytes(32, 1)};
  act.op = "Issue Create";
  expect_invalid(MessageType::Activity, act);
}

TEST(WireReject, RepoIdMismatch) {
  auto key = TestKey();
  RepoBody repo = SampleRepo(key);
  repo.root_commit = Bytes(20, 0xcd);  // repo id no longer matches root ‖ creator
  auto r = DecodeBody(MessageType::Repo, EncodeBody(repo));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), WireError::RepoIdMismatch);
}

TEST(WireReject, BadSignature) {
  auto key = TestKey();
  auto m = SignMessage(key, SampleRepo(key));
  // Signed by another key but claiming `key` as author.
  auto forged = Envelope(1, 2, key.public_key(),
                         TestKey(7).Sign(SignedBytes(MessageType::Repo, m.body_bytes)), m.body_bytes);
  EXPECT_EQ(DecodeError(forged), WireError::BadSignature);
  // Parse alone accepts it (dedup happens before the costly check).
  EXPECT_TRUE(ParseMessage(forged).ok());
}

TEST(WireReject, AuthorMismatchForRepoAuthority) {
  auto creator = TestKey(1);
  auto delegate = TestKey(2);
  auto stranger = TestKey(3);
  RepoBody first = SampleRepo(creator);
  first.delegates = {creator.public_key(), delegate.public_key()};
  RepoBody next = first;
  next.sequence = 2;
  EXPECT_TRUE(CheckRepoAuthority(next, creator.public_key(), nullptr).ok());
  EXPECT_EQ(CheckRepoAuthority(next, delegate.public_key(), nullptr).code(), WireError::AuthorMismatch);
  EXPECT_TRUE(CheckRepoAuthority(next, delegate.public_key(), &first).ok());
  EXPECT_EQ(CheckRepoAuthority(next, stranger.public_key(), &first).code(), WireError::AuthorMismatch);
}

TEST(Wire, InventoryIsPagedNeverTruncated) {
  std::vector<RepoId> repos;
  for (int i = 0; i < 2500; ++i) {
    Bytes root(20, 0);
    root[0] = static_cast<uint8_t>(i);
    root[1] = static_cast<uint8_t>(i >> 8);
    repos.push_back(identity::ComputeRepoId(root, TestKey().public_key()));
  }
  repos.push_back(repos[0]);  // duplicates collapse
  auto pages = SplitInventory(repos, 4, 99);
  ASSERT_EQ(pages.size(), 3u);
  size_t total = 0;
  for (size_t p = 0; p < pages.size(); ++p) {
    EXPECT_EQ(pages[p].page, p);
    EXPECT_EQ(pages[p].page_count, 3u);
    total += pages[p].repos.size();
    auto m = SignMessage(TestKey(), pages[p]);
    EXPECT_TRUE(DecodeMessage(m.encoded).ok());
    EXPECT_LE(m.encoded.size(), MAX_MESSAGE_BYTES);
  }
  EXPECT_EQ(total, 2500u);
  EXPECT_EQ(SplitInventory({}, 1, 1).size(), 1u);  // an empty inventory is one empty page
}

TEST(Wire, MaximalRefsMessageFits) {
  auto key = TestKey();
  RefsBody refs{MAX_COUNTER_VALUE, SampleRepo(key).repo_id, {}, MAX_COUNTER_VALUE};
  for (size_t i = 0; i < MAX_REFS_PER_ANNOUNCEMENT; ++i) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08zu", i);
    refs.refs.push_back({"heads/" + std::string(MAX_REF_NAME_BYTES - 6 - 8, 'x') + suffix, Bytes(32, 1)});
  }
  auto m = SignMessage(key, refs);
  EXPECT_LE(m.encoded.size(), MAX_MESSAGE_BYTES);
  EXPECT_TRUE(DecodeMessage(m.encoded).ok());
}

RC_GTEST_PROP(WireProperty, DecodeOfEncodeIsIdentity, ()) {
  auto key = TestKey(*rc::gen::arbitrary<uint8_t>());
  Body body = wire::testing::GenBody();
  SignedMessage m = SignMessage(key, body);
  auto decoded = DecodeMessage(m.encoded);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(decoded->body == body);
  RC_ASSERT(decoded->id == m.id);
}

RC_GTEST_PROP(WireProperty, AnyFlippedBitFailsDecodeOrVerify, ()) {
  auto key = TestKey(*rc::gen::arbitrary<uint8_t>());
  SignedMessage m = SignMessage(key, wire::testing::GenBody());
  size_t bit = *rc::gen::inRange<size_t>(0, m.encoded.size() * 8);
  Bytes flipped = m.encoded;
  flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  RC_ASSERT(!DecodeMessage(flipped).ok());
}

// ---- every body type: field-set rules, checked by splicing the canonical body map ----------

namespace {

/** End offset of the CBOR item starting at `pos` (our subset only; test helper, trusted input). */
size_t SkipItem(const Bytes& b, size_t pos) {
  uint8_t major = b[pos] >> 5, info = b[pos] & 0x1f;
  size_t extra = info < 24 ? 0 : size_t{1} << (info - 24);
  uint64_t arg = info < 24 ? info : 0;
  for (size_t i = 0; i < extra; ++i) arg = (arg << 8) | b[pos + 1 + i];
  pos += 1 + extra;
  switch (major) {
    case 2:
    case 3:
      return pos + arg;
    case 4:
      for (uint64_t i = 0; i < arg; ++i) pos = SkipItem(b, pos);
      return pos;
    case 5:
      for (uint64_t i = 0; i < 2 * arg; ++i) pos = SkipItem(b, pos);
      return pos;
    default:
      return pos;  // uint, simple values
  }
}

/** The key/value pairs of a canonical body map (fewer than 24 entries: one-byte head). */
std::vector<Bytes> BodyPairs(const Bytes& body) {
  size_t n = body[0] & 0x1f, pos = 1;
  std::vector<Bytes> pairs;
  for (size_t i = 0; i < n; ++i) {
    size_t end = SkipItem(body, SkipItem(body, pos));
    pairs.emplace_back(body.begin() + static_cast<std::ptrdiff_t>(pos),
                       body.begin() + static_cast<std::ptrdiff_t>(end));
    pos = end;
  }
  return pairs;
}

Bytes MapOf(const std::vector<Bytes>& pairs) {
  Bytes out{static_cast<uint8_t>(0xa0 | pairs.size())};
  for (const auto& p : pairs) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<Body> OneOfEachType() {
  auto key = TestKey();
  RepoBody repo = SampleRepo(key);
  Bytes parent(repo.repo_id.multihash.begin(), repo.repo_id.multihash.end());
  return {
      NodeBody{1, {{"127.0.0.1", 8776}}, true, "alice", 1},
      repo,
      RefsBody{5, repo.repo_id, {{"heads/main", Bytes(20, 1)}}, 7},
      InventoryBody{9, {repo.repo_id}, 3, 0, 1},
      ActivityBody{11, repo.repo_id, {parent}, "issue.create", 1, Bytes{1, 2, 3}},
  };
}

}  // namespace

TEST(WireReject, EveryTypeMissingUnknownReorderedDuplicatedField) {
  for (const Body& body : OneOfEachType()) {
    MessageType type = TypeOf(body);
    const char* name = MessageTypeName(type);
    Bytes bytes = EncodeBody(body);
    auto pairs = BodyPairs(bytes);
    ASSERT_EQ(MapOf(pairs), bytes) << name;
    ASSERT_TRUE(DecodeBody(type, MapOf(pairs)).ok()) << name;
    for (size_t k = 0; k < pairs.size(); ++k) {
      auto fewer = pairs;
      fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(k));
      EXPECT_EQ(DecodeBody(type, MapOf(fewer)).code(), WireError::MissingField)
          << name << " without key " << k;
    }
    auto more = pairs;
    more.push_back(Bytes{static_cast<uint8_t>(pairs.size()), 0x00});  // next key, value 0
    EXPECT_EQ(DecodeBody(type, MapOf(more)).code(), WireError::UnknownField) << name;
    auto huge_key = pairs;
    huge_key.push_back(Bytes{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00});
    EXPECT_EQ(DecodeBody(type, MapOf(huge_key)).code(), WireError::UnknownField) << name;
    auto swapped = pairs;
    std::swap(swapped[0], swapped[1]);
    EXPECT_EQ(DecodeBody(type, MapOf(swapped)).code(), WireError::NonCanonical) << name;
    auto duplicated = pairs;
    duplicated[1] = duplicated[0];
    EXPECT_EQ(DecodeBody(type, MapOf(duplicated)).code(), WireError::NonCanonical) << name;
    Bytes trailing = bytes;
    trailing.push_back(0x00);
    EXPECT_EQ(DecodeBody(type, trailing).code(), WireError::Malformed) << name;
    // The body of one type is not a body of another (field sets differ in size or kinds).
    for (const Body& other : OneOfEachType()) {
      if (TypeOf(other) != type) {
        EXPECT_FALSE(DecodeBody(TypeOf(other), bytes).ok()) << name;
      }
    }
  }
  EXPECT_EQ(DecodeBody(static_cast<MessageType>(9), EncodeBody(NodeBody{})).code(), WireError::UnknownType);
}

TEST(WireReject, NonCanonicalIntegerAndLengthForms) {
  // Node body with timestamp written as `ts` (raw CBOR) and alias written as `alias`.
  auto node = [](Bytes ts, Bytes alias) {
    Bytes b{0xa5, 0x00};
    b.insert(b.end(), ts.begin(), ts.end());
    b.insert(b.end(), {0x01, 0x80, 0x02, 0xf4, 0x03});
    b.insert(b.end(), alias.begin(), alias.end());
    b.insert(b.end(), {0x04, 0x01});
    return b;
  };
  ASSERT_TRUE(DecodeBody(MessageType::Node, node({0x05}, {0x61, 'a'})).ok());
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0x18, 0x05}, {0x61, 'a'})).code(), WireError::NonCanonical);
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0x19, 0x00, 0xff}, {0x61, 'a'})).code(),
            WireError::NonCanonical);
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0x1a, 0x00, 0x00, 0xff, 0xff}, {0x61, 'a'})).code(),
            WireError::NonCanonical);
  EXPECT_EQ(
      DecodeBody(MessageType::Node, node({0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, {0x61, 'a'})).code(),
      WireError::NonCanonical);
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0x05}, {0x78, 0x01, 'a'})).code(), WireError::NonCanonical);
  // Outside the subset: negative int, tag, reserved info, indefinite text, null, half float.
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0x20}, {0x61, 'a'})).code(), WireError::Malformed);
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0xc1, 0x05}, {0x61, 'a'})).code(), WireError::Malformed);
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0x1c}, {0x61, 'a'})).code(), WireError::Malformed);
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0x05}, {0x7f, 0x61, 'a', 0xff})).code(),
            WireError::Malformed);
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0xf6}, {0x61, 'a'})).code(), WireError::Malformed);
  EXPECT_EQ(DecodeBody(MessageType::Node, node({0xf9, 0x3c, 0x00}, {0x61, 'a'})).code(),
            WireError::Malformed);
}

TEST(WireReject, HostsThatAreNotAddresses) {
  auto host_error = [](std::string host) {
    auto r = DecodeBody(MessageType::Node, EncodeBody(NodeBody{1, {{std::move(host), 1}}, false, "", 1}));
    return r.ok() ? std::optional<WireError>{} : std::optional<WireError>{r.code()};
  };
  for (const char* ok : {"127.0.0.1", "::1", "2001:db8::1", "::ffff:192.0.2.1", "relay.example.org",
                         "localhost", "a-b.example", "xn--bcher-kva.example"})
    EXPECT_EQ(host_error(ok), std::nullopt) << ok;
  // inet_pton stops at NUL: the whole text must be the literal.
  EXPECT_EQ(host_error(std::string("1.2.3.4\0evil", 12)), WireError::InvalidField);
  EXPECT_EQ(host_error(std::string("example.org\0", 12)), WireError::InvalidField);
  for (const char* bad : {"", "[::1]", "fe80::1%eth0", "1.2.3", "-a.example", "a..b", "a_b.example",
                          "h\xc3\xa9.example", "1.2.3.4:80", "a b"})
    EXPECT_EQ(host_error(bad), WireError::InvalidField) << bad;
  EXPECT_EQ(host_error(std::string(64, 'a') + ".example"), WireError::InvalidField);  // label > 63
  EXPECT_EQ(host_error(std::string(MAX_HOST_BYTES + 1, 'a')), WireError::TooLarge);
  // The error names the host with escapes made visible, never raw.
  auto r = DecodeBody(MessageType::Node, EncodeBody(NodeBody{1, {{"\x1b[2J", 1}}, false, "", 1}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("\\x1b[2J"), std::string::npos) << r.message();
  EXPECT_EQ(r.message().find('\x1b'), std::string::npos);
}

TEST(WireReject, ControlCharactersInShownText) {
  auto key = TestKey();
  auto node_code = [](std::string alias) {
    auto r = DecodeBody(MessageType::Node, EncodeBody(NodeBody{1, {}, false, std::move(alias), 1}));
    return r.ok() ? std::optional<WireError>{} : std::optional<WireError>{r.code()};
  };
  EXPECT_EQ(node_code("h\xc3\xa9llo \xe2\x9c\x93"), std::nullopt);  // UTF-8 is fine
  EXPECT_EQ(node_code("nbsp\xc2\xa0ok"), std::nullopt);
  EXPECT_EQ(node_code("a\x1b[31m"), WireError::InvalidField);
  EXPECT_EQ(node_code("a\nb"), WireError::InvalidField);
  EXPECT_EQ(node_code("a\x7f"), WireError::InvalidField);
  EXPECT_EQ(node_code("c1\xc2\x9b"), WireError::InvalidField);  // U+009B, the 8-bit CSI
  RepoBody repo = SampleRepo(key);
  repo.description = "line one\nline two\tcolumn";
  EXPECT_TRUE(DecodeBody(MessageType::Repo, EncodeBody(repo)).ok());
  repo.description = "bell\x07";
  EXPECT_EQ(DecodeBody(MessageType::Repo, EncodeBody(repo)).code(), WireError::InvalidField);
  repo = SampleRepo(key);
  repo.name = "two\nlines";
  EXPECT_EQ(DecodeBody(MessageType::Repo, EncodeBody(repo)).code(), WireError::InvalidField);
}

TEST(WireReject, EnvelopeFieldLengths) {
  auto key = TestKey();
  auto good = SignMessage(key, NodeBody{5, {}, false, "a", 1});
  Bytes short_author(31, 1), short_sig(63, 1);
  EXPECT_EQ(DecodeError(Envelope(1, 1, short_author, good.signature, good.body_bytes)),
            WireError::InvalidField);
  EXPECT_EQ(DecodeError(Envelope(1, 1, good.author, short_sig, good.body_bytes)), WireError::InvalidField);
  Bytes long_author(33, 1);
  EXPECT_EQ(DecodeError(Envelope(1, 1, long_author, good.signature, good.body_bytes)), WireError::TooLarge);
  // The body must be a byte string holding the map, not the map itself.
  CborWriter w;
  w.Array(5), w.Uint(1), w.Uint(1), w.ByteString(good.author), w.ByteString(good.signature);
  Bytes inline_body = w.Take();
  inline_body.insert(inline_body.end(), good.body_bytes.begin(), good.body_bytes.end());
  EXPECT_EQ(DecodeError(inline_body), WireError::Malformed);
  // Not an array at all.
  EXPECT_EQ(DecodeError(good.body_bytes), WireError::Malformed);
}

TEST(WireReject, AuthorMismatchNeedsTheSameRepo) {
  auto creator = TestKey(1);
  auto delegate = TestKey(2);
  RepoBody other = SampleRepo(TestKey(5));
  other.delegates.push_back(delegate.public_key());
  RepoBody candidate = SampleRepo(creator);
  // A delegate of a *different* repo has no say over this one.
  EXPECT_EQ(CheckRepoAuthority(candidate, delegate.public_key(), &other).code(), WireError::AuthorMismatch);
  // The creator keeps authority even when a later message dropped it from the delegates.
  RepoBody latest = candidate;
  latest.delegates = {creator.public_key(), delegate.public_key()};
  EXPECT_TRUE(CheckRepoAuthority(candidate, creator.public_key(), &latest).ok());
}

RC_GTEST_PROP(WireProperty, EveryProperPrefixIsTruncated, ()) {
  SignedMessage m = SignMessage(TestKey(), wire::testing::GenBody());
  size_t len = *rc::gen::inRange<size_t>(0, m.encoded.size());
  auto r = ParseMessage(ByteSpan(m.encoded).first(len));
  RC_ASSERT(!r.ok());
  RC_ASSERT(r.code() == WireError::Truncated);
  size_t body_len = *rc::gen::inRange<size_t>(0, m.body_bytes.size());
  auto b = DecodeBody(m.type(), ByteSpan(m.body_bytes).first(body_len));
  RC_ASSERT(!b.ok());
  RC_ASSERT(b.code() == WireError::Truncated);
}

RC_GTEST_PROP(WireProperty, ParsedEnvelopeReencodesToTheSameBytes, ()) {
  SignedMessage m = SignMessage(TestKey(*rc::gen::arbitrary<uint8_t>()), wire::testing::GenBody());
  auto parsed = ParseMessage(m.encoded);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(EncodeEnvelope(parsed->type(), parsed->author, parsed->signature, parsed->body_bytes) ==
            m.encoded);
  RC_ASSERT(EncodeBody(parsed->body) == m.body_bytes);
}

RC_GTEST_PROP(WireProperty, ResigningAnyFieldChangeChangesTheId, ()) {
  // Ids are content addresses: two different bodies never share an id (no id field to forge).
  auto key = TestKey();
  Body a = wire::testing::GenBody();
  Body b = wire::testing::GenBody();
  RC_PRE(!(a == b));
  RC_ASSERT(SignMessage(key, a).id != SignMessage(key, b).id);
  RC_ASSERT(SignMessage(key, a).id == SignMessage(key, a).id);  // deterministic signatures
}

TEST(WireReject, CountsAndLengthsCheckedBeforeReading) {
  RepoId repo_id = SampleRepo(TestKey()).repo_id;
  // A body map claiming more entries than any type defines.
  EXPECT_EQ(DecodeBody(MessageType::Node, Bytes{0xb1}).code(), WireError::TooLarge);
  EXPECT_EQ(DecodeBody(MessageType::Node, Bytes{0xa5}).code(), WireError::Truncated);
  // A refs array within its limit but longer than the bytes that follow.
  CborWriter w;
  w.Map(4), w.Uint(0), w.Uint(1), w.Uint(1), w.ByteString(repo_id.multihash), w.Uint(2), w.Array(4000);
  EXPECT_EQ(DecodeBody(MessageType::Refs, w.Take()).code(), WireError::Truncated);
  // A payload declaring 4 GiB: refused from its head, nothing allocated.
  Bytes act = EncodeBody(ActivityBody{1, repo_id, {Bytes(32, 1)}, "x", 1, {}});
  act.back() = 0x5a;  // payload head: bstr with a 4-byte length
  act.insert(act.end(), {0xff, 0xff, 0xff, 0xff});
  EXPECT_EQ(DecodeBody(MessageType::Activity, act).code(), WireError::TooLarge);
  // A payload within its limit whose bytes are missing.
  act.resize(act.size() - 5);
  act.insert(act.end(), {0x59, 0x10, 0x00});  // 4096 bytes, shortest form
  EXPECT_EQ(DecodeBody(MessageType::Activity, act).code(), WireError::Truncated);
}
