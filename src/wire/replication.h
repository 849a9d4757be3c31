// Requests and answers on a replication stream (a bidirectional QUIC stream): asking a peer for
// a repository's signed state, and for a pack. docs/PROTOCOL.md "Replication" is the spec.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "wire/message.h"

namespace p2pgit::wire {

/** Object ids one fetch may name as wanted, and as had: a repository's refs across namespaces
 *  (8,192 per announcement) times a few forks; 65,536 × 21 bytes stays far below a frame. */
inline constexpr size_t MAX_FETCH_WANTS = 65536;
inline constexpr size_t MAX_FETCH_HAVES = 65536;
/** Signed messages in one repo-state answer (its Repo message and one Refs per namespace). */
inline constexpr size_t MAX_REPO_STATE_MESSAGES = 4096;
/** Longest error text in a fetch answer. */
inline constexpr size_t MAX_REASON_BYTES = 512;

/** "Send me the signed Repo and Refs messages you hold for this repo." */
struct RepoStateRequest {
  RepoId repo;
  bool operator==(const RepoStateRequest&) const = default;
};
/** "Send me a pack with everything reachable from `wants` and not from `haves`." */
struct FetchRequest {
  RepoId repo;
  std::vector<Bytes> wants;  // raw object ids (20 bytes)
  std::vector<Bytes> haves;
  bool operator==(const FetchRequest&) const = default;
};
using ReplicationRequest = std::variant<RepoStateRequest, FetchRequest>;

/** First frame of a fetch answer: ok (a pack follows as raw bytes until the stream ends; `missing`
 *  lists wants the server does not hold, left out) or refused with a reason. */
struct FetchAnswer {
  bool ok = false;
  std::vector<Bytes> missing;
  std::string reason;
  bool operator==(const FetchAnswer&) const = default;
};

Bytes EncodeReplicationRequest(const ReplicationRequest& request);
/** Errors: Truncated, TooLarge, Malformed, NonCanonical, InvalidField, UnknownType. */
WireResult<ReplicationRequest> DecodeReplicationRequest(ByteSpan bytes);

Bytes EncodeFetchAnswer(const FetchAnswer& answer);
WireResult<FetchAnswer> DecodeFetchAnswer(ByteSpan bytes);

}  // namespace p2pgit::wire
