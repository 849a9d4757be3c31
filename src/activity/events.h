// Issue and patch events: the ops and their versioned payloads (canonical CBOR maps with integer
// keys, the wire layer's deterministic subset). docs/ACTIVITY.md is the spec.
//
// An event travels as the body of an Activity message (wire::ActivityBody): op and
// payload_version sit in the body, the payload bytes defined here in its `payload` field. The
// event id is the message id; author and signature come from the envelope.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "wire/message.h"

namespace p2pgit::activity {

using EventId = std::array<uint8_t, 32>;  // = wire::MessageId of the event's Activity message

/** The only payload format this code writes and reads. Another version is kept but ignored. */
inline constexpr uint64_t PAYLOAD_VERSION = 1;

// Named limits. The whole payload must fit wire::MAX_ACTIVITY_PAYLOAD_BYTES (64 KiB); these
// keep every combination of fields below it, so a valid payload is always sendable.
/** One line shown in listings. Threat: screen and storage spam per event. */
inline constexpr size_t MAX_TITLE_BYTES = 256;
/** Issue body, comment, patch description, review comment, update note: 60 KiB, so that the
 *  largest text plus the largest other fields (title 256, 32 labels of 64, oids, CBOR heads:
 *  < 2.5 KiB) stays under the 64 KiB payload cap. */
inline constexpr size_t MAX_TEXT_BYTES = wire::MAX_ACTIVITY_PAYLOAD_BYTES - 4096;
/** Labels per issue. Threat: per-event storage and listing width. */
inline constexpr size_t MAX_LABELS = 32;
inline constexpr size_t MAX_LABEL_BYTES = 64;
/** No payload defines more keys; a map claiming more is refused before it is read. */
inline constexpr uint64_t MAX_PAYLOAD_KEYS = 8;

/** Ops, in the order of the Payload variant's alternatives. */
enum class Op : uint8_t {
  IssueCreate,
  IssueComment,
  IssueEdit,
  IssueClose,
  IssueReopen,
  IssueLabel,
  PatchCreate,
  PatchUpdate,
  PatchComment,
  PatchReview,
  PatchMerge,
  PatchClose,
};

/** "issue.create", "patch.review", … (the wire `op` text). */
const char* OpName(Op op);
/** The Op for a wire op name; nullopt for a name this version does not know. */
std::optional<Op> ParseOp(std::string_view name);
/** True for issue.* ops. */
bool IsIssueOp(Op op);

// Payloads. Object ids (oids) are raw git object ids: 20 bytes (SHA-1) or 32 (SHA-256), as in
// Refs messages. Text is UTF-8; titles and labels are one line (no control characters), longer
// texts may hold newlines and tabs but no other control characters (terminal escapes).

/** Opens an issue; its id is this event's id. Key 0 title, 1 body, 2 labels. */
struct IssueCreate {
  std::string title;                // 1..MAX_TITLE_BYTES
  std::string body;                 // may be empty
  std::vector<std::string> labels;  // ≤ MAX_LABELS, each 1..MAX_LABEL_BYTES, strictly sorted
  bool operator==(const IssueCreate&) const = default;
};
/** Key 0 body (1..MAX_TEXT_BYTES), 1 reply_to (optional, an event id of the thread). */
struct IssueComment {
  std::string body;
  std::optional<EventId> reply_to;
  bool operator==(const IssueComment&) const = default;
};
/** Key 0 title, 1 body; both optional, at least one present. */
struct IssueEdit {
  std::optional<std::string> title;
  std::optional<std::string> body;
  bool operator==(const IssueEdit&) const = default;
};
struct IssueClose {
  bool operator==(const IssueClose&) const = default;
};
struct IssueReopen {
  bool operator==(const IssueReopen&) const = default;
};
/** Replaces the issue's whole label set (key 0; same rules as IssueCreate::labels). */
struct IssueLabel {
  std::vector<std::string> labels;
  bool operator==(const IssueLabel&) const = default;
};

/** Opens a patch; revision 0. Keys 0 base_branch, 1 base, 2 head, 3 title, 4 description. */
struct PatchCreate {
  std::string base_branch;  // "main": heads/<base_branch> must be a valid ref name
  Bytes base;               // oid the patch was made against
  Bytes head;               // oid of the patch's head commit
  std::string title;        // 1..MAX_TITLE_BYTES
  std::string description;  // may be empty
  bool operator==(const PatchCreate&) const = default;
};
/** A new revision. Key 0 head, 1 base (optional: unchanged), 2 note (optional). */
struct PatchUpdate {
  Bytes head;
  std::optional<Bytes> base;
  std::optional<std::string> note;
  bool operator==(const PatchUpdate&) const = default;
};
/** Same shape and keys as IssueComment. */
struct PatchComment {
  std::string body;
  std::optional<EventId> reply_to;
  bool operator==(const PatchComment&) const = default;
};
enum class Verdict : uint8_t { Accept = 1, Reject = 2 };
/** Key 0 verdict (uint 1 accept, 2 reject), 1 comment (may be empty). */
struct PatchReview {
  Verdict verdict = Verdict::Accept;
  std::string comment;
  bool operator==(const PatchReview&) const = default;
};
/** Key 0 commit: the merge (or fast-forwarded) commit on the base branch. */
struct PatchMerge {
  Bytes commit;
  bool operator==(const PatchMerge&) const = default;
};
struct PatchClose {
  bool operator==(const PatchClose&) const = default;
};

using Payload = std::variant<IssueCreate, IssueComment, IssueEdit, IssueClose, IssueReopen, IssueLabel,
                             PatchCreate, PatchUpdate, PatchComment, PatchReview, PatchMerge, PatchClose>;

Op OpOf(const Payload& payload);

enum class PayloadError {
  Truncated,       // input ends inside an item
  TooLarge,        // a named limit is exceeded
  Malformed,       // not the CBOR subset, wrong item kind, bad UTF-8, trailing bytes
  NonCanonical,    // long-form ints, keys out of order, labels not strictly sorted
  UnknownOp,       // an op name this version does not know
  UnknownVersion,  // a payload_version other than PAYLOAD_VERSION
  UnknownField,    // a key not defined for this op
  MissingField,    // a required key is absent
  InvalidField,    // a field out of its domain (empty title, control characters, bad oid, …)
};

const char* PayloadErrorName(PayloadError error);  // "truncated", "unknown-op", …

template <typename T>
using PayloadResult = Result<T, PayloadError>;

/** Canonical CBOR bytes of a payload. Does not validate (CheckPayload does). */
Bytes EncodePayload(const Payload& payload);

/**
 * Decodes and validates the payload of an event with this op and payload version. Checks, in
 * order: version (UnknownVersion), op name (UnknownOp), size (TooLarge beyond
 * wire::MAX_ACTIVITY_PAYLOAD_BYTES), then the map: structure, key order, known and required keys,
 * each field's limits and rules. Whatever decodes re-encodes to exactly `bytes`.
 */
PayloadResult<Payload> DecodePayload(std::string_view op, uint64_t payload_version, ByteSpan bytes);

/** Ok when DecodePayload would accept EncodePayload(payload); the CLI checks user input with it. */
Status<PayloadError> CheckPayload(const Payload& payload);

/**
 * The Activity body of a new event, ready for wire::SignMessage. `parents`: the heads of the
 * thread the author has seen (activity::Heads / IssueState::heads), sorted here; ignored for a
 * *.create payload, whose only parent is the repo id. Labels are sorted and deduplicated first.
 * More than wire::MAX_ACTIVITY_PARENTS heads: the first 64 (sorted) are named. Fails when the
 * payload is invalid (CheckPayload) or a non-create event has no parents (InvalidField).
 */
PayloadResult<wire::ActivityBody> MakeActivityBody(const wire::RepoId& repo, uint64_t timestamp_ms,
                                                   std::vector<EventId> parents, Payload payload);

/** Sorted, unique labels (what IssueCreate/IssueLabel require). */
std::vector<std::string> NormalizeLabels(std::vector<std::string> labels);

}  // namespace p2pgit::activity
