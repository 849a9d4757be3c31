// Issue and patch payloads: round trips, test vectors (docs/ACTIVITY.md), one test per refusal,
// the Activity body builder, and the fuzz seed corpus (tests/fuzz/corpus/activity_payload_fuzz/).
//   P2PGIT_PRINT_VECTORS=1 prints the vector table of docs/ACTIVITY.md;
//   P2PGIT_WRITE_CORPUS=1 regenerates the seed corpus.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "activity/events.h"
#include "wire/detail/cbor.h"

using namespace p2pgit;
using namespace p2pgit::activity;
using p2pgit::wire::detail::CborWriter;
namespace fs = std::filesystem;

namespace {

EventId IdOf(uint8_t fill) {
  EventId id;
  id.fill(fill);
  return id;
}

/** The vector payloads: one per op, in Op order. */
std::vector<Payload> VectorPayloads() {
  return {
      IssueCreate{"Crash on empty repo", "Steps:\n1. share an empty repo", {"bug", "cli"}},
      IssueComment{"Reproduced on Debian 12.", IdOf(0xab)},
      IssueEdit{std::nullopt, "Steps:\n1. share a repo without commits"},
      IssueClose{},
      IssueReopen{},
      IssueLabel{{"bug", "good-first-issue"}},
      PatchCreate{"main", Bytes(20, 0x11), Bytes(20, 0x22), "Fix crash on empty repo", "Checks for HEAD first."},
      PatchUpdate{Bytes(20, 0x33), std::nullopt, std::string("rebased, addressed review")},
      PatchComment{"Looks good to me.", std::nullopt},
      PatchReview{Verdict::Accept, "LGTM"},
      PatchMerge{Bytes(20, 0x44)},
      PatchClose{},
  };
}

/** Hex of the vector payloads (docs/ACTIVITY.md holds the same table). */
const char* const EXPECTED_VECTORS[] = {
    "a300734372617368206f6e20656d707479207265706f01781d53746570733a0a312e20736861726520616e20656d707479207265706f02826362756763636c69",
    "a2007818526570726f6475636564206f6e2044656269616e2031322e015820abababababababababababababababababababababababababababababababab",
    "a101782653746570733a0a312e2073686172652061207265706f20776974686f757420636f6d6d697473",
    "a0",
    "a0",
    "a100826362756770676f6f642d66697273742d6973737565",
    "a500646d61696e01541111111111111111111111111111111111111111025422222222222222222222222222222222222222220377466978206372617368206f6e20656d707479207265706f0476436865636b7320666f7220484541442066697273742e",
    "a200543333333333333333333333333333333333333333027819726562617365642c2061646472657373656420726576696577",
    "a100714c6f6f6b7320676f6f6420746f206d652e",
    "a2000101644c47544d",
    "a100544444444444444444444444444444444444444444",
    "a0",
};

std::string VectorPrintout() {
  std::string out;
  for (const Payload& p : VectorPayloads())
    out += std::string("| `") + OpName(OpOf(p)) + "` | `" + ToHex(EncodePayload(p)) + "` |\n";
  return out;
}

Bytes Encoded(const std::function<void(CborWriter&)>& fill) {
  CborWriter w;
  fill(w);
  return w.Take();
}

PayloadError DecodeError(std::string_view op, ByteSpan bytes, uint64_t version = 1) {
  auto r = DecodePayload(op, version, bytes);
  EXPECT_FALSE(r.ok()) << op;
  return r.ok() ? PayloadError::Malformed : r.code();
}

PayloadError CheckError(const Payload& p) {
  auto r = CheckPayload(p);
  EXPECT_FALSE(r.ok()) << OpName(OpOf(p));
  return r.ok() ? PayloadError::Malformed : r.code();
}

wire::RepoId TestRepo() {
  return identity::ComputeRepoId(Bytes(20, 0x01), identity::PublicKey{});
}

// ---- fuzz corpus -------------------------------------------------------------------------------

/** Input format of activity_payload_fuzz: byte 0 = op index (low 4 bits; ≥ 12 an unknown op),
 *  bit 7 = payload version 2; the rest is the payload. */
Bytes FuzzInput(uint8_t op_byte, const Bytes& payload) {
  Bytes out{op_byte};
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<std::pair<std::string, Bytes>> CorpusSeeds() {
  std::vector<std::pair<std::string, Bytes>> seeds;
  for (const Payload& p : VectorPayloads())
    seeds.push_back({std::string("valid-") + OpName(OpOf(p)),
                     FuzzInput(static_cast<uint8_t>(OpOf(p)), EncodePayload(p))});
  seeds.push_back({"invalid-unsorted-labels",
                   FuzzInput(0, EncodePayload(IssueCreate{"t", "", {"z", "a"}}))});
  seeds.push_back({"invalid-version-2", FuzzInput(0x80, EncodePayload(IssueClose{}))});
  return seeds;
}

fs::path CorpusDir() {
  return fs::path(P2PGIT_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "activity_payload_fuzz";
}

Bytes ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

// ---- round trips and vectors -------------------------------------------------------------------

TEST(ActivityPayload, VectorsRoundTripAndMatchTheDoc) {
  if (std::getenv("P2PGIT_PRINT_VECTORS") != nullptr) std::cout << VectorPrintout();
  auto payloads = VectorPayloads();
  ASSERT_EQ(payloads.size(), 12u);
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    EXPECT_EQ(static_cast<size_t>(OpOf(p)), i);
    EXPECT_EQ(ParseOp(OpName(OpOf(p))), OpOf(p));
    Bytes bytes = EncodePayload(p);
    auto decoded = DecodePayload(OpName(OpOf(p)), PAYLOAD_VERSION, bytes);
    ASSERT_TRUE(decoded.ok()) << OpName(OpOf(p)) << ": " << decoded.message();
    EXPECT_EQ(*decoded, p);
    EXPECT_TRUE(CheckPayload(p).ok());
    if (i < std::size(EXPECTED_VECTORS) && EXPECTED_VECTORS[i][0] != '\0')
      EXPECT_EQ(ToHex(bytes), EXPECTED_VECTORS[i]) << OpName(OpOf(p));
  }
}

TEST(ActivityPayload, DocListsTheVectors) {
  std::ifstream in(fs::path(P2PGIT_SOURCE_DIR) / "docs" / "ACTIVITY.md");
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const Payload& p : VectorPayloads())
    EXPECT_NE(doc.find(ToHex(EncodePayload(p))), std::string::npos) << OpName(OpOf(p)) << " vector missing from docs/ACTIVITY.md";
}

TEST(ActivityPayload, EmptyPayloadsAreTheEmptyMap) {
  EXPECT_EQ(EncodePayload(IssueClose{}), Bytes{0xa0});
  EXPECT_EQ(EncodePayload(PatchClose{}), Bytes{0xa0});
}

TEST(ActivityPayload, OptionalFieldsRoundTrip) {
  for (const Payload& p : std::vector<Payload>{
           IssueComment{"x", std::nullopt}, IssueEdit{"new title", std::nullopt}, IssueEdit{"t", "b"},
           PatchUpdate{Bytes(32, 1), Bytes(32, 2), std::nullopt}, PatchUpdate{Bytes(20, 1), std::nullopt, std::nullopt},
           PatchComment{"y", IdOf(7)}, PatchReview{Verdict::Reject, ""}, IssueCreate{"t", "", {}}}) {
    auto d = DecodePayload(OpName(OpOf(p)), 1, EncodePayload(p));
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_EQ(*d, p);
  }
}

TEST(ActivityPayload, LargestPayloadsFitTheActivityCap) {
  std::vector<std::string> labels;
  for (int i = 0; i < 32; ++i) labels.push_back(std::string(62, 'a') + static_cast<char>('A' + i / 10) + static_cast<char>('0' + i % 10));
  IssueCreate issue{std::string(MAX_TITLE_BYTES, 't'), std::string(MAX_TEXT_BYTES, 'b'), labels};
  ASSERT_TRUE(CheckPayload(issue).ok()) << CheckPayload(issue).message();
  EXPECT_LE(EncodePayload(issue).size(), wire::MAX_ACTIVITY_PAYLOAD_BYTES);
  PatchCreate patch{std::string(200, 'b'), Bytes(32, 1), Bytes(32, 2), std::string(MAX_TITLE_BYTES, 't'),
                    std::string(MAX_TEXT_BYTES, 'd')};
  ASSERT_TRUE(CheckPayload(patch).ok());
  EXPECT_LE(EncodePayload(patch).size(), wire::MAX_ACTIVITY_PAYLOAD_BYTES);
  PatchUpdate update{Bytes(32, 1), Bytes(32, 2), std::string(MAX_TEXT_BYTES, 'n')};
  ASSERT_TRUE(CheckPayload(update).ok());
  EXPECT_LE(EncodePayload(update).size(), wire::MAX_ACTIVITY_PAYLOAD_BYTES);
}

RC_GTEST_PROP(ActivityPayloadProperty, DecodeOfEncodeIsIdentity, ()) {
  auto text = [](size_t max, bool allow_empty) {
    auto s = *rc::gen::container<std::string>(rc::gen::element('a', 'b', 'z', ' ', '\n', '\t', '7'));
    if (s.size() > max) s.resize(max);
    if (!allow_empty && s.empty()) s = "x";
    return s;
  };
  auto title = [&] {
    std::string t = text(MAX_TITLE_BYTES, false);
    for (char& c : t)
      if (c == '\n' || c == '\t') c = ' ';
    return t;
  };
  auto oid = [] { return Bytes(*rc::gen::element<size_t>(20, 32), *rc::gen::arbitrary<uint8_t>()); };
  std::vector<std::string> labels;
  for (size_t i = *rc::gen::inRange<size_t>(0, 5); i > 0; --i) labels.push_back("l" + std::to_string(*rc::gen::inRange(0, 50)));
  labels = NormalizeLabels(labels);
  std::optional<EventId> reply;
  if (*rc::gen::arbitrary<bool>()) reply = *rc::gen::arbitrary<EventId>();
  std::vector<Payload> all = {
      IssueCreate{title(), text(300, true), labels},
      IssueComment{text(300, false), reply},
      IssueEdit{title(), std::nullopt},
      IssueEdit{std::nullopt, text(300, true)},
      IssueClose{},
      IssueReopen{},
      IssueLabel{labels},
      PatchCreate{*rc::gen::element<std::string>("main", "release/1.0", "dev"), oid(), oid(), title(), text(300, true)},
      PatchUpdate{oid(), std::nullopt, text(50, true)},
      PatchComment{text(300, false), reply},
      PatchReview{*rc::gen::element(Verdict::Accept, Verdict::Reject), text(100, true)},
      PatchMerge{oid()},
      PatchClose{},
  };
  const Payload& p = all[*rc::gen::inRange<size_t>(0, all.size())];
  auto d = DecodePayload(OpName(OpOf(p)), 1, EncodePayload(p));
  RC_ASSERT(d.ok());
  RC_ASSERT(*d == p);
}

// ---- one test per refusal ----------------------------------------------------------------------

TEST(ActivityPayloadRefuses, UnknownVersion) {
  EXPECT_EQ(DecodeError("issue.close", EncodePayload(IssueClose{}), 2), PayloadError::UnknownVersion);
}

TEST(ActivityPayloadRefuses, UnknownOp) {
  EXPECT_EQ(DecodeError("issue.react", EncodePayload(IssueClose{})), PayloadError::UnknownOp);
  EXPECT_EQ(DecodeError("", Bytes{0xa0}), PayloadError::UnknownOp);
}

TEST(ActivityPayloadRefuses, PayloadBeyondTheActivityCap) {
  Bytes huge(wire::MAX_ACTIVITY_PAYLOAD_BYTES + 1, 0);
  EXPECT_EQ(DecodeError("issue.comment", huge), PayloadError::TooLarge);
}

TEST(ActivityPayloadRefuses, EveryProperPrefixIsTruncated) {
  for (const Payload& p : VectorPayloads()) {
    Bytes bytes = EncodePayload(p);
    for (size_t n = 0; n < bytes.size(); ++n)
      EXPECT_EQ(DecodeError(OpName(OpOf(p)), ByteSpan(bytes).first(n)), PayloadError::Truncated)
          << OpName(OpOf(p)) << " prefix " << n;
  }
}

TEST(ActivityPayloadRefuses, TrailingBytes) {
  Bytes bytes = EncodePayload(IssueClose{});
  bytes.push_back(0x00);
  EXPECT_EQ(DecodeError("issue.close", bytes), PayloadError::Malformed);
}

TEST(ActivityPayloadRefuses, NotAMap) {
  EXPECT_EQ(DecodeError("issue.close", Encoded([](CborWriter& w) { w.Array(0); })), PayloadError::Malformed);
}

TEST(ActivityPayloadRefuses, WrongItemKind) {
  // title as a byte string
  Bytes bytes = Encoded([](CborWriter& w) {
    w.Map(3);
    w.Uint(0), w.ByteString(AsBytes("t"));
    w.Uint(1), w.Text("");
    w.Uint(2), w.Array(0);
  });
  EXPECT_EQ(DecodeError("issue.create", bytes), PayloadError::Malformed);
}

TEST(ActivityPayloadRefuses, InvalidUtf8) {
  Bytes bytes = Encoded([](CborWriter& w) {
    w.Map(1);
    w.Uint(0), w.Text("\xc3\x28");
  });
  EXPECT_EQ(DecodeError("issue.comment", bytes), PayloadError::Malformed);
}

TEST(ActivityPayloadRefuses, KeysOutOfOrder) {
  Bytes bytes = Encoded([](CborWriter& w) {
    w.Map(2);
    w.Uint(1), w.Text("body");
    w.Uint(0), w.Text("title");
  });
  EXPECT_EQ(DecodeError("issue.edit", bytes), PayloadError::NonCanonical);
}

TEST(ActivityPayloadRefuses, LongFormInteger) {
  Bytes bytes{0xa2, 0x00, 0x18, 0x01, 0x01, 0x60};  // verdict 1 written as 0x18 0x01
  EXPECT_EQ(DecodeError("patch.review", bytes), PayloadError::NonCanonical);
}

TEST(ActivityPayloadRefuses, UnsortedOrRepeatedLabels) {
  EXPECT_EQ(CheckError(IssueCreate{"t", "", {"b", "a"}}), PayloadError::NonCanonical);
  EXPECT_EQ(CheckError(IssueLabel{{"a", "a"}}), PayloadError::NonCanonical);
}

TEST(ActivityPayloadRefuses, MapClaimingTooManyKeys) {
  Bytes bytes{0xa9};  // map of 9 entries > MAX_PAYLOAD_KEYS
  EXPECT_EQ(DecodeError("issue.create", bytes), PayloadError::TooLarge);
}

TEST(ActivityPayloadRefuses, UnknownField) {
  Bytes create = Encoded([](CborWriter& w) {
    w.Map(4);
    w.Uint(0), w.Text("t");
    w.Uint(1), w.Text("");
    w.Uint(2), w.Array(0);
    w.Uint(3), w.Text("x");
  });
  EXPECT_EQ(DecodeError("issue.create", create), PayloadError::UnknownField);
  Bytes close = Encoded([](CborWriter& w) {
    w.Map(1);
    w.Uint(0), w.Uint(0);
  });
  EXPECT_EQ(DecodeError("patch.close", close), PayloadError::UnknownField);
}

TEST(ActivityPayloadRefuses, MissingField) {
  Bytes no_labels = Encoded([](CborWriter& w) {
    w.Map(2);
    w.Uint(0), w.Text("t");
    w.Uint(1), w.Text("");
  });
  EXPECT_EQ(DecodeError("issue.create", no_labels), PayloadError::MissingField);
  EXPECT_EQ(DecodeError("patch.merge", Bytes{0xa0}), PayloadError::MissingField);
  EXPECT_EQ(DecodeError("issue.comment", Bytes{0xa0}), PayloadError::MissingField);
}

TEST(ActivityPayloadRefuses, EditChangingNothing) {
  EXPECT_EQ(CheckError(IssueEdit{}), PayloadError::MissingField);
}

TEST(ActivityPayloadRefuses, EmptyTitle) {
  EXPECT_EQ(CheckError(IssueCreate{"", "", {}}), PayloadError::InvalidField);
  EXPECT_EQ(CheckError(IssueEdit{std::string(), std::nullopt}), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, TitleTooLong) {
  EXPECT_EQ(CheckError(IssueCreate{std::string(MAX_TITLE_BYTES + 1, 't'), "", {}}), PayloadError::TooLarge);
}

TEST(ActivityPayloadRefuses, ControlCharactersInTitle) {
  EXPECT_EQ(CheckError(IssueCreate{"a\nb", "", {}}), PayloadError::InvalidField);
  EXPECT_EQ(CheckError(PatchCreate{"main", Bytes(20, 1), Bytes(20, 2), "\x1b[31mred", ""}), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, ControlCharactersInText) {
  EXPECT_EQ(CheckError(IssueComment{"ok\x1b]0;x\x07", std::nullopt}), PayloadError::InvalidField);
  EXPECT_EQ(CheckError(IssueCreate{"t", "c1 \xc2\x9b control", {}}), PayloadError::InvalidField);
  EXPECT_TRUE(CheckPayload(IssueComment{"line\n\tindented", std::nullopt}).ok());
}

TEST(ActivityPayloadRefuses, TextTooLong) {
  EXPECT_EQ(CheckError(IssueComment{std::string(MAX_TEXT_BYTES + 1, 'x'), std::nullopt}), PayloadError::TooLarge);
}

TEST(ActivityPayloadRefuses, EmptyComment) {
  EXPECT_EQ(CheckError(IssueComment{"", std::nullopt}), PayloadError::InvalidField);
  EXPECT_EQ(CheckError(PatchComment{"", std::nullopt}), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, ReplyToNotAnEventId) {
  Bytes bytes = Encoded([](CborWriter& w) {
    w.Map(2);
    w.Uint(0), w.Text("x");
    w.Uint(1), w.ByteString(Bytes(31, 1));
  });
  EXPECT_EQ(DecodeError("issue.comment", bytes), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, BadLabels) {
  EXPECT_EQ(CheckError(IssueLabel{{""}}), PayloadError::InvalidField);
  EXPECT_EQ(CheckError(IssueLabel{{std::string(MAX_LABEL_BYTES + 1, 'l')}}), PayloadError::TooLarge);
  EXPECT_EQ(CheckError(IssueLabel{{"a\tb"}}), PayloadError::InvalidField);
  std::vector<std::string> many;
  for (int i = 0; i < 33; ++i) many.push_back("l" + std::to_string(100 + i));
  EXPECT_EQ(CheckError(IssueLabel{many}), PayloadError::TooLarge);
}

TEST(ActivityPayloadRefuses, BadObjectIds) {
  EXPECT_EQ(CheckError(PatchCreate{"main", Bytes(19, 1), Bytes(20, 2), "t", ""}), PayloadError::InvalidField);
  EXPECT_EQ(CheckError(PatchUpdate{Bytes(21, 1), std::nullopt, std::nullopt}), PayloadError::InvalidField);
  EXPECT_EQ(CheckError(PatchMerge{Bytes()}), PayloadError::InvalidField);
  EXPECT_EQ(CheckError(PatchMerge{Bytes(33, 1)}), PayloadError::TooLarge);
}

TEST(ActivityPayloadRefuses, BadBaseBranch) {
  for (const char* branch : {"", "a..b", "with space", "x.lock", "/lead"})
    EXPECT_EQ(CheckError(PatchCreate{branch, Bytes(20, 1), Bytes(20, 2), "t", ""}), PayloadError::InvalidField) << branch;
}

// The base branch reaches git (`patch merge` checks it out): every name the ref-name policy
// (wire::IsValidRefName("heads/<branch>")) refuses is refused by the decoder, as received bytes,
// not only by the encoder-side check. One test per refused kind.
namespace {
PayloadError DecodeBaseBranch(const std::string& branch) {
  return DecodeError("patch.create", EncodePayload(PatchCreate{branch, Bytes(20, 1), Bytes(20, 2), "t", ""}));
}
}  // namespace

// Option injection: git would read these as options. The ref-name policy's "no component starts
// with '-'" rule (src/wire/ref_name.h) refuses them.
TEST(ActivityPayloadRefuses, BaseBranchThatIsAnOption) {
  EXPECT_EQ(DecodeBaseBranch("-f"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("--upload-pack=x"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("--end-of-options"), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, BaseBranchWithAComponentThatIsAnOption) {
  EXPECT_EQ(DecodeBaseBranch("release/-f"), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, BaseBranchThatIsARevisionRange) {
  EXPECT_EQ(DecodeBaseBranch("a..b"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("main@{1}"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("main^"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("main~1"), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, BaseBranchWithControlCharacters) {
  EXPECT_EQ(DecodeBaseBranch("main\n"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch(std::string("a\0b", 3)), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("a\x1b[31m"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("a\x7f"), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, BaseBranchThatIsAPathOrPattern) {
  EXPECT_EQ(DecodeBaseBranch(""), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("/etc"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("a//b"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("main/"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("../x"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch(".hidden"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("x.lock"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("a*"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("a:b"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("a\\b"), PayloadError::InvalidField);
  EXPECT_EQ(DecodeBaseBranch("@"), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, BaseBranchTooLong) {
  // "heads/" + 250 bytes exceeds wire::MAX_REF_NAME_BYTES (255).
  EXPECT_EQ(DecodeBaseBranch(std::string(250, 'b')), PayloadError::InvalidField);
}

TEST(ActivityPayload, HonestBaseBranchesDecode) {
  for (const char* branch : {"main", "release/1.0", "feature/x-y_z", "v1.0-rc"})
    EXPECT_TRUE(DecodePayload("patch.create", PAYLOAD_VERSION,
                              EncodePayload(PatchCreate{branch, Bytes(20, 1), Bytes(20, 2), "t", ""}))
                    .ok())
        << branch;
}

TEST(ActivityPayloadRefuses, UnknownVerdict) {
  Bytes bytes = Encoded([](CborWriter& w) {
    w.Map(2);
    w.Uint(0), w.Uint(3);
    w.Uint(1), w.Text("");
  });
  EXPECT_EQ(DecodeError("patch.review", bytes), PayloadError::InvalidField);
}

TEST(ActivityPayloadRefuses, PayloadOfAnotherOp) {
  // A patch.merge payload under issue.comment: key 0 is a byte string where text is expected.
  EXPECT_EQ(DecodeError("issue.comment", EncodePayload(PatchMerge{Bytes(20, 1)})), PayloadError::Malformed);
}

// ---- the Activity body builder -----------------------------------------------------------------

TEST(ActivityBodyBuilder, CreateHasTheRepoAsOnlyParent) {
  auto repo = TestRepo();
  auto body = MakeActivityBody(repo, 1700000000000, {IdOf(1)}, IssueCreate{"t", "b", {"z", "a", "z"}});
  ASSERT_TRUE(body.ok()) << body.message();
  ASSERT_EQ(body->parents.size(), 1u);
  EXPECT_EQ(body->parents[0], Bytes(repo.multihash.begin(), repo.multihash.end()));
  EXPECT_EQ(body->op, "issue.create");
  EXPECT_EQ(body->payload_version, PAYLOAD_VERSION);
  auto payload = DecodePayload(body->op, body->payload_version, body->payload);
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(std::get<IssueCreate>(*payload).labels, (std::vector<std::string>{"a", "z"}));
  // The body is a valid Activity body for the wire layer.
  auto decoded = wire::DecodeBody(wire::MessageType::Activity, wire::EncodeBody(*body));
  ASSERT_TRUE(decoded.ok()) << decoded.message();
}

TEST(ActivityBodyBuilder, ParentsAreSortedAndUnique) {
  auto body = MakeActivityBody(TestRepo(), 5, {IdOf(9), IdOf(2), IdOf(9)}, IssueComment{"x", std::nullopt});
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->parents, (std::vector<Bytes>{Bytes(32, 2), Bytes(32, 9)}));
  EXPECT_TRUE(wire::DecodeBody(wire::MessageType::Activity, wire::EncodeBody(*body)).ok());
}

TEST(ActivityBodyBuilder, MoreHeadsThanTheParentCapKeepsTheFirst64) {
  std::vector<EventId> heads;
  for (int i = 0; i < 80; ++i) heads.push_back(IdOf(static_cast<uint8_t>(200 - i)));
  auto body = MakeActivityBody(TestRepo(), 5, heads, IssueClose{});
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->parents.size(), wire::MAX_ACTIVITY_PARENTS);
  EXPECT_EQ(body->parents.front(), Bytes(32, 121));
  EXPECT_TRUE(wire::DecodeBody(wire::MessageType::Activity, wire::EncodeBody(*body)).ok());
}

TEST(ActivityBodyBuilder, RefusesNoParentsAndInvalidPayloads) {
  EXPECT_EQ(MakeActivityBody(TestRepo(), 5, {}, IssueClose{}).code(), PayloadError::InvalidField);
  EXPECT_EQ(MakeActivityBody(TestRepo(), 5, {IdOf(1)}, IssueComment{"", std::nullopt}).code(),
            PayloadError::InvalidField);
  EXPECT_EQ(MakeActivityBody(TestRepo(), wire::MAX_COUNTER_VALUE + 1, {IdOf(1)}, IssueClose{}).code(),
            PayloadError::InvalidField);
}

// ---- fuzz corpus -------------------------------------------------------------------------------

TEST(ActivityPayloadCorpus, CheckedInSeedsEqualTheGenerator) {
  bool write = std::getenv("P2PGIT_WRITE_CORPUS") != nullptr;
  for (const auto& [name, bytes] : CorpusSeeds()) {
    fs::path path = CorpusDir() / name;
    if (write) {
      fs::create_directories(path.parent_path());
      std::ofstream(path, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    EXPECT_EQ(ReadFile(path), bytes) << path << " differs; regenerate with P2PGIT_WRITE_CORPUS=1";
    bool valid = name.rfind("valid-", 0) == 0;
    ByteSpan payload = ByteSpan(bytes).subspan(1);
    uint8_t op_index = bytes[0] & 0x0f;
    std::string op = op_index < 12 ? OpName(static_cast<Op>(op_index)) : "unknown.op";
    EXPECT_EQ(DecodePayload(op, (bytes[0] & 0x80) ? 2 : 1, payload).ok(), valid) << name;
  }
}
