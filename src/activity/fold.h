// The fold: a thread's event DAG (an issue or a patch) → its current state, the same on every
// replica whatever order the events arrived in. docs/ACTIVITY.md states the rules.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "activity/events.h"
#include "base/bytes.h"
#include "base/result.h"
#include "storage/store.h"
#include "wire/message.h"

namespace p2pgit::activity {

using identity::PublicKey;

/** One verified event: fold input. Mirrors storage::ActivityRecord (EventFromRecord). */
struct Event {
  EventId id{};                // message id of its Activity message
  Bytes repo_id;               // 34-byte multihash
  PublicKey author{};          // envelope signer
  uint64_t timestamp_ms = 0;   // author's claim: shown, never used for ordering
  std::vector<Bytes> parents;  // 32-byte event ids, or the repo's 34-byte multihash (a create)
  std::string op;
  uint64_t payload_version = 1;
  Bytes payload;
  bool operator==(const Event&) const = default;
};

enum class EventError {
  BadRecord,    // a stored record whose id or author has the wrong length
  NotActivity,  // a message of another type
  BadMessage,   // the envelope does not parse or its signature does not verify (see message)
};
template <typename T>
using EventResult = Result<T, EventError>;

/** A store row → fold input. The store holds only admitted (signature-checked) events. */
EventResult<Event> EventFromRecord(const storage::ActivityRecord& record);

/**
 * A signed Activity message → fold input. Re-verifies the signature (wire::VerifyMessage), so a
 * forged event never reaches the fold: BadMessage. NotActivity for other message types.
 */
EventResult<Event> EventFromMessage(const wire::SignedMessage& message);

/** Raw envelope bytes → fold input: wire::DecodeMessage (parse + signature) then as above. */
EventResult<Event> EventFromEnvelope(ByteSpan envelope);

/** Who may do what in a repo: its id and delegates (creator first), from its latest Repo message. */
struct RepoAuthority {
  wire::RepoId repo_id;
  std::vector<PublicKey> delegates;
};

enum class ThreadKind : uint8_t { Issue, Patch };

struct ThreadRoot {
  EventId id{};
  ThreadKind kind = ThreadKind::Issue;
  PublicKey author{};
  uint64_t timestamp_ms = 0;
  bool operator==(const ThreadRoot&) const = default;
};

/**
 * The issues and patches of a repo: events whose op is issue.create / patch.create and whose only
 * parent is the repo id. Sorted by timestamp, then id. Root payloads are not decoded here (a
 * malformed one fails FoldIssue/FoldPatch with RootInvalid).
 */
std::vector<ThreadRoot> ListThreads(std::span<const Event> events, const wire::RepoId& repo);

/**
 * Events of `thread_events` that no other event of the span names as parent, sorted: the parents
 * of the next event. Pass the thread's members (IssueState::heads already holds them).
 */
std::vector<EventId> Heads(std::span<const Event> thread_events);

enum class ThreadStatus : uint8_t { Open, Closed, Merged };
const char* StatusName(ThreadStatus status);  // "open", "closed", "merged"

/** Why an event changed nothing. */
enum class IgnoreReason : uint8_t {
  Unauthorized,      // the author may not do this (e.g. a close by a stranger, a merge by a non-delegate)
  MalformedPayload,  // the payload does not decode (detail says why)
  UnknownOp,         // an op this version does not know, or one of the other thread kind
  UnknownVersion,    // a payload version this version does not read
  Pending,           // some parents are missing: held until they arrive
  BadParents,        // a non-create naming the repo id, a create inside a thread, parents in two threads
};
const char* IgnoreReasonName(IgnoreReason reason);  // "unauthorized", "pending", …

struct IgnoredEvent {
  EventId id{};
  PublicKey author{};
  std::string op;
  IgnoreReason reason = IgnoreReason::Unauthorized;
  std::string detail;  // one human line
  bool operator==(const IgnoredEvent&) const = default;
};

struct Comment {
  EventId id{};
  PublicKey author{};
  uint64_t timestamp_ms = 0;
  std::string body;
  std::optional<EventId> reply_to;
  bool operator==(const Comment&) const = default;
};

/** Applied in fold order; `comments` and `ignored` are in fold order too. */
struct IssueState {
  EventId id{};
  PublicKey author{};
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;  // latest timestamp among applied events
  std::string title;
  std::string body;
  std::vector<std::string> labels;
  ThreadStatus status = ThreadStatus::Open;
  std::vector<Comment> comments;
  std::vector<IgnoredEvent> ignored;
  std::vector<EventId> heads;  // parents for the next event of this thread
  size_t event_count = 0;      // thread members (applied or ignored, not pending)
  bool operator==(const IssueState&) const = default;
};

struct Revision {
  EventId id{};  // patch.create (revision 0) or patch.update event
  PublicKey author{};
  uint64_t timestamp_ms = 0;
  Bytes base;
  Bytes head;
  std::string note;  // empty for revision 0
  bool operator==(const Revision&) const = default;
};

struct Review {
  EventId id{};
  PublicKey author{};
  uint64_t timestamp_ms = 0;
  Verdict verdict = Verdict::Accept;
  std::string comment;
  size_t revision = 0;  // index into revisions: the latest one before the review in fold order
  bool operator==(const Review&) const = default;
};

struct Merge {
  EventId id{};
  PublicKey author{};  // a delegate
  uint64_t timestamp_ms = 0;
  Bytes commit;
  bool operator==(const Merge&) const = default;
};

struct PatchState {
  EventId id{};
  PublicKey author{};
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;
  std::string title;
  std::string description;
  std::string base_branch;
  ThreadStatus status = ThreadStatus::Open;
  std::vector<Revision> revisions;  // [0] is the create
  std::vector<Comment> comments;
  std::vector<Review> reviews;
  std::optional<Merge> merge;       // the last authorized merge
  std::vector<IgnoredEvent> ignored;
  std::vector<EventId> heads;
  size_t event_count = 0;
  bool operator==(const PatchState&) const = default;
};

enum class FoldError {
  NotFound,     // no event with the root id
  WrongKind,    // the root is not an issue.create (FoldIssue) / patch.create (FoldPatch)
  RootInvalid,  // the root's parents are not exactly the repo id, or its payload does not decode
};
template <typename T>
using FoldResult = Result<T, FoldError>;

/**
 * Folds the thread rooted at `root` out of `events` (any set of the repo's events; duplicates and
 * other threads are skipped; events of another repo are skipped). Deterministic: the result does
 * not depend on the order of `events`.
 *
 * Members: the root, and every event all of whose parents are members. Order: Lamport clock
 * (root 1, others 1 + max parent clock), then author key bytes, then id. Applied in that order:
 * comments and reviews by anyone; edit/label/close/reopen by the thread's author or a delegate
 * (last one wins per field); patch.update by the patch author; patch.merge by delegates. Status
 * follows the last authorized close/reopen/merge. Events that break a rule are members (later
 * events may name them) but change nothing: they are listed in `ignored` with a reason, as are
 * events held because some parents are missing (Pending, not members).
 */
FoldResult<IssueState> FoldIssue(std::span<const Event> events, const RepoAuthority& repo, const EventId& root);
FoldResult<PatchState> FoldPatch(std::span<const Event> events, const RepoAuthority& repo, const EventId& root);

/** Members of the thread (root first, then fold order), for Heads or for export. */
std::vector<Event> ThreadEvents(std::span<const Event> events, const wire::RepoId& repo, const EventId& root);

enum class PrefixError { TooShort, NotHex, NotFound, Ambiguous };
/** Shortest prefix accepted, as git's default abbreviation. */
inline constexpr size_t MIN_ID_PREFIX_CHARS = 7;
/**
 * The one candidate whose lowercase hex starts with `prefix` (7..64 hex characters, either
 * case). TooShort/NotHex for bad input, NotFound, Ambiguous (the message lists the matches).
 */
Result<EventId, PrefixError> ResolveIdPrefix(std::string_view prefix, std::span<const EventId> candidates);

/** First 7 hex characters, as ids are shown in listings. */
std::string ShortId(const EventId& id);

}  // namespace p2pgit::activity
