// Frames that carry gossip between two connected peers (datagrams, or a stream when too large).
// docs/PROTOCOL.md "Gossip frames" is the spec.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "wire/message.h"

namespace p2pgit::wire {

/** Ids per IHAVE/IWANT frame: 32 ids fit one ~1.2 KB datagram. */
inline constexpr size_t MAX_IDS_PER_FRAME = 32;
/** Messages per batch frame (the whole frame also stays under MAX_FRAME_BYTES). */
inline constexpr size_t MAX_BATCH_MESSAGES = 1024;
/** Entries per reconciliation answer page; the asker pages on with the returned cursor. */
inline constexpr size_t MAX_RECONCILE_ENTRIES = 1024;
/** A whole frame: a full message plus framing. */
inline constexpr size_t MAX_FRAME_BYTES = MAX_MESSAGE_BYTES + 64;

/** A signed message, in full. */
struct MessageFrame {
  Bytes message;  // an encoded envelope (decoded by the gossip pipeline, not here)
  bool operator==(const MessageFrame&) const = default;
};
/** Several signed messages in one frame: the answer to an IWANT of many ids (reconciliation),
 *  carried on a stream (reliable) because it exceeds a datagram. */
struct MessageBatchFrame {
  std::vector<Bytes> messages;
  bool operator==(const MessageBatchFrame&) const = default;
};
/** "I have these messages" (lazy push). */
struct IHaveFrame {
  std::vector<MessageId> ids;
  bool operator==(const IHaveFrame&) const = default;
};
/** "Send me these messages in full." */
struct IWantFrame {
  std::vector<MessageId> ids;
  bool operator==(const IWantFrame&) const = default;
};
/** "What did you receive after your local arrival number `cursor`?" */
struct ReconcileRequestFrame {
  uint64_t cursor = 0;
  uint64_t limit = MAX_RECONCILE_ENTRIES;
  bool operator==(const ReconcileRequestFrame&) const = default;
};
/** Ids in the answerer's arrival order; ask again from `next_cursor` while `more`. */
struct ReconcileAnswerFrame {
  std::vector<MessageId> ids;
  uint64_t next_cursor = 0;
  bool more = false;
  bool operator==(const ReconcileAnswerFrame&) const = default;
};

using GossipFrameBody =
    std::variant<MessageFrame, IHaveFrame, IWantFrame, ReconcileRequestFrame, ReconcileAnswerFrame, MessageBatchFrame>;

Bytes EncodeGossipFrame(const GossipFrameBody& frame);
/** Errors: Truncated, TooLarge, Malformed, NonCanonical, UnknownType (a frame kind we do not know). */
WireResult<GossipFrameBody> DecodeGossipFrame(ByteSpan bytes);

}  // namespace p2pgit::wire
