#include "wire/gossip_frame.h"

#include "wire/detail/cbor.h"

namespace p2pgit::wire {

using detail::CborReader;
using detail::CborStatus;
using detail::CborWriter;

namespace {

enum FrameKind : uint64_t {
  MESSAGE = 1,
  IHAVE = 2,
  IWANT = 3,
  RECONCILE_REQUEST = 4,
  RECONCILE_ANSWER = 5,
  MESSAGE_BATCH = 6
};

Failure<WireError> FrameError(CborStatus status, const char* what) {
  switch (status) {
    case CborStatus::Truncated:
      return Fail(WireError::Truncated, std::string("truncated ") + what);
    case CborStatus::NonCanonical:
      return Fail(WireError::NonCanonical, std::string(what) + " is not canonical");
    case CborStatus::TooLarge:
      return Fail(WireError::TooLarge, std::string(what) + " exceeds its limit");
    default:
      return Fail(WireError::Malformed, std::string("malformed ") + what);
  }
}

#define FRAME_TRY(expr, what)                                                      \
  do {                                                                             \
    if (CborStatus s_ = (expr); s_ != CborStatus::Ok) return FrameError(s_, what); \
  } while (0)

void WriteIds(CborWriter& w, const std::vector<MessageId>& ids) {
  w.Array(ids.size());
  for (const auto& id : ids) w.ByteString(id);
}

Result<std::vector<MessageId>, WireError> ReadIds(CborReader& r, size_t max) {
  uint64_t n;
  FRAME_TRY(r.Array(n, max), "id list");
  std::vector<MessageId> ids(n);
  for (auto& id : ids) {
    ByteSpan raw;
    FRAME_TRY(r.ByteString(raw, id.size()), "message id");
    if (raw.size() != id.size()) return Fail(WireError::InvalidField, "message id must be 32 bytes");
    std::copy(raw.begin(), raw.end(), id.begin());
  }
  return ids;
}

}  // namespace

Bytes EncodeGossipFrame(const GossipFrameBody& frame) {
  CborWriter w;
  struct Visitor {
    CborWriter& w;
    void operator()(const MessageFrame& f) const { w.Array(2), w.Uint(MESSAGE), w.ByteString(f.message); }
    void operator()(const IHaveFrame& f) const { w.Array(2), w.Uint(IHAVE), WriteIds(w, f.ids); }
    void operator()(const IWantFrame& f) const { w.Array(2), w.Uint(IWANT), WriteIds(w, f.ids); }
    void operator()(const ReconcileRequestFrame& f) const {
      w.Array(3), w.Uint(RECONCILE_REQUEST), w.Uint(f.cursor), w.Uint(f.limit);
    }
    void operator()(const MessageBatchFrame& f) const {
      w.Array(2), w.Uint(MESSAGE_BATCH), w.Array(f.messages.size());
      for (const auto& m : f.messages) w.ByteString(m);
    }
    void operator()(const ReconcileAnswerFrame& f) const {
      w.Array(4), w.Uint(RECONCILE_ANSWER), WriteIds(w, f.ids), w.Uint(f.next_cursor), w.Bool(f.more);
    }
  };
  std::visit(Visitor{w}, frame);
  return w.Take();
}

WireResult<GossipFrameBody> DecodeGossipFrame(ByteSpan bytes) {
  if (bytes.size() > MAX_FRAME_BYTES)
    return Fail(WireError::TooLarge, "gossip frame exceeds MAX_FRAME_BYTES");
  CborReader r(bytes);
  uint64_t items, kind;
  FRAME_TRY(r.Array(items, 4), "gossip frame");
  if (items < 2) return Fail(WireError::Malformed, "gossip frame needs a kind and a payload");
  FRAME_TRY(r.Uint(kind), "gossip frame kind");
  auto expect_items = [&](uint64_t want) { return items == want; };
  GossipFrameBody out;
  switch (kind) {
    case MESSAGE: {
      if (!expect_items(2)) return Fail(WireError::Malformed, "message frame must have 2 items");
      ByteSpan message;
      FRAME_TRY(r.ByteString(message, MAX_MESSAGE_BYTES), "message frame");
      out = MessageFrame{Bytes(message.begin(), message.end())};
      break;
    }
    case IHAVE:
    case IWANT: {
      if (!expect_items(2)) return Fail(WireError::Malformed, "ihave/iwant frame must have 2 items");
      auto ids = ReadIds(r, MAX_IDS_PER_FRAME);
      if (!ids) return ids.error();
      if (kind == IHAVE)
        out = IHaveFrame{std::move(*ids)};
      else
        out = IWantFrame{std::move(*ids)};
      break;
    }
    case RECONCILE_REQUEST: {
      if (!expect_items(3)) return Fail(WireError::Malformed, "reconcile request must have 3 items");
      ReconcileRequestFrame f;
      FRAME_TRY(r.Uint(f.cursor), "reconcile cursor");
      FRAME_TRY(r.Uint(f.limit), "reconcile limit");
      if (f.limit == 0 || f.limit > MAX_RECONCILE_ENTRIES)
        return Fail(WireError::InvalidField, "reconcile limit out of range");
      out = f;
      break;
    }
    case RECONCILE_ANSWER: {
      if (!expect_items(4)) return Fail(WireError::Malformed, "reconcile answer must have 4 items");
      ReconcileAnswerFrame f;
      auto ids = ReadIds(r, MAX_RECONCILE_ENTRIES);
      if (!ids) return ids.error();
      f.ids = std::move(*ids);
      FRAME_TRY(r.Uint(f.next_cursor), "reconcile next cursor");
      FRAME_TRY(r.Bool(f.more), "reconcile more flag");
      out = std::move(f);
      break;
    }
    case MESSAGE_BATCH: {
      if (!expect_items(2)) return Fail(WireError::Malformed, "message batch must have 2 items");
      uint64_t n;
      FRAME_TRY(r.Array(n, MAX_BATCH_MESSAGES), "message batch");
      MessageBatchFrame f;
      f.messages.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        ByteSpan message;
        FRAME_TRY(r.ByteString(message, MAX_MESSAGE_BYTES), "batched message");
        f.messages.emplace_back(message.begin(), message.end());
      }
      out = std::move(f);
      break;
    }
    default:
      return Fail(WireError::UnknownType, "unknown gossip frame kind " + std::to_string(kind));
  }
  if (!r.AtEnd()) return Fail(WireError::Malformed, "gossip frame has trailing bytes");
  return out;
}

}  // namespace p2pgit::wire
