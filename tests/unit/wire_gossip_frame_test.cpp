#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "wire/detail/cbor.h"
#include "wire/gossip_frame.h"

using namespace p2pgit;
using namespace p2pgit::wire;

namespace {
MessageId Id(uint8_t n) {
  MessageId id{};
  id.fill(n);
  return id;
}
}  // namespace

TEST(GossipFrame, EveryKindRoundTrips) {
  std::vector<GossipFrameBody> frames = {
      MessageFrame{Bytes{0x85, 1, 2}},
      IHaveFrame{{Id(1), Id(2)}},
      IWantFrame{{Id(3)}},
      ReconcileRequestFrame{42, 100},
      ReconcileAnswerFrame{{Id(4), Id(5)}, 77, true},
      MessageBatchFrame{{Bytes{0x85, 1}, Bytes{0x85, 2, 3}}},
      MessageBatchFrame{},
  };
  for (const auto& f : frames) {
    auto bytes = EncodeGossipFrame(f);
    auto decoded = DecodeGossipFrame(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.message();
    EXPECT_EQ(*decoded, f);
  }
  // 32 ids fit in one datagram-sized frame.
  IHaveFrame full;
  for (uint8_t i = 0; i < MAX_IDS_PER_FRAME; ++i) full.ids.push_back(Id(i));
  EXPECT_LE(EncodeGossipFrame(full).size(), 1100u);
}

TEST(GossipFrameReject, EachRule) {
  EXPECT_EQ(DecodeGossipFrame(Bytes{}).code(), WireError::Truncated);
  EXPECT_EQ(DecodeGossipFrame(Bytes{0x82, 0x09, 0x00}).code(), WireError::UnknownType);
  EXPECT_EQ(DecodeGossipFrame(Bytes{0x81, 0x01}).code(), WireError::Malformed);  // kind only
  EXPECT_EQ(DecodeGossipFrame(Bytes{0x82, 0x18, 0x01, 0x40}).code(), WireError::NonCanonical);
  auto trailing = EncodeGossipFrame(IWantFrame{{Id(1)}});
  trailing.push_back(0);
  EXPECT_EQ(DecodeGossipFrame(trailing).code(), WireError::Malformed);
  IHaveFrame too_many;
  for (uint8_t i = 0; i <= MAX_IDS_PER_FRAME; ++i) too_many.ids.push_back(Id(i));
  EXPECT_EQ(DecodeGossipFrame(EncodeGossipFrame(too_many)).code(), WireError::TooLarge);
  detail::CborWriter w;
  w.Array(2), w.Uint(2), w.Array(1), w.ByteString(Bytes(31, 0));
  EXPECT_EQ(DecodeGossipFrame(w.Take()).code(), WireError::InvalidField);
  EXPECT_EQ(DecodeGossipFrame(EncodeGossipFrame(ReconcileRequestFrame{0, 0})).code(),
            WireError::InvalidField);
  EXPECT_EQ(DecodeGossipFrame(EncodeGossipFrame(ReconcileRequestFrame{0, MAX_RECONCILE_ENTRIES + 1})).code(),
            WireError::InvalidField);
  EXPECT_EQ(DecodeGossipFrame(Bytes(MAX_FRAME_BYTES + 1, 0)).code(), WireError::TooLarge);
  // A batch: at most MAX_BATCH_MESSAGES messages, each a byte string.
  MessageBatchFrame big;
  big.messages.assign(MAX_BATCH_MESSAGES + 1, Bytes{0x85});
  EXPECT_EQ(DecodeGossipFrame(EncodeGossipFrame(big)).code(), WireError::TooLarge);
  detail::CborWriter b;
  b.Array(2), b.Uint(6), b.Array(1), b.Uint(7);  // an integer where a message belongs
  EXPECT_EQ(DecodeGossipFrame(b.Take()).code(), WireError::Malformed);
  detail::CborWriter b3;
  b3.Array(3), b3.Uint(6), b3.Array(0), b3.Uint(0);
  EXPECT_EQ(DecodeGossipFrame(b3.Take()).code(), WireError::Malformed);
}

RC_GTEST_PROP(GossipFrameProperty, RoundTrips,
              (std::vector<std::array<uint8_t, 32>> raw, uint64_t cursor, bool more)) {
  std::vector<MessageId> ids(raw.begin(), raw.end());
  if (ids.size() > MAX_IDS_PER_FRAME) ids.resize(MAX_IDS_PER_FRAME);
  for (const GossipFrameBody& f :
       {GossipFrameBody{IHaveFrame{ids}}, GossipFrameBody{ReconcileAnswerFrame{ids, cursor, more}}}) {
    auto decoded = DecodeGossipFrame(EncodeGossipFrame(f));
    RC_ASSERT(decoded.ok());
    RC_ASSERT(*decoded == f);
  }
}
