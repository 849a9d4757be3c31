// The gossip pipeline's receive side, without I/O: bytes from a peer in, a verdict out.
// Order of checks (cheap first, CONVENTIONS.md): size cap → decode (incl. the ref-name policy) →
// dedup → clock and object format → supersession → authority → signature → store. Time is an
// argument, never read here.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gossip/seen_cache.h"
#include "wire/message.h"

namespace p2pgit::gossip {

/** How far ahead of our clock a timestamp, or a Repo/Refs/Inventory sequence read as Unix ms,
 *  may be. Beyond it the message is refused (FromFuture), not held: holding future messages
 *  costs memory per signer, and a value far in the future (up to 2^63-1) would let one signer
 *  publish a sequence nobody can ever exceed, freezing the slot forever. */
inline constexpr uint64_t MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;
/** A Repo message signed by the repo's creator may run this far ahead (2x the skew): whatever a
 *  delegate published at the edge of its allowance, the creator's next message (sequence =
 *  max(previous + 1, now)) still fits, so the creator can always remove a delegate at once. */
inline constexpr uint64_t MAX_CREATOR_REPO_SEQUENCE_LEAD_MS = 2 * MAX_CLOCK_SKEW_MS;
/** The only object-id length the git layer handles (SHA-1). Refs or a Repo root of another
 *  length is refused as Unsupported (not misbehaviour: SHA-256 ids are valid protocol). */
inline constexpr size_t SUPPORTED_OID_BYTES = 20;
/** Recently seen ids kept in memory; older ones are caught by the state's own lookup. */
inline constexpr size_t SEEN_CACHE_CAPACITY = 65536;

/** What admission needs to know about accepted messages; SQLite and in-memory backends. */
class GossipState {
 public:
  virtual ~GossipState() = default;
  virtual bool HasMessage(const wire::MessageId& id) = 0;
  /** Timestamp of the newest accepted Node message by `author`. */
  virtual std::optional<uint64_t> NodeTimestamp(const wire::PublicKey& author) = 0;
  /** The highest-sequence accepted Repo message body for `repo`. */
  virtual std::optional<wire::RepoBody> LatestRepo(const wire::RepoId& repo) = 0;
  virtual std::optional<uint64_t> RefsSequence(const wire::PublicKey& author, const wire::RepoId& repo) = 0;
  virtual std::optional<uint64_t> InventorySequence(const wire::PublicKey& author, uint64_t page) = 0;
  /** Why a valid message would exceed a storage quota (e.g. activity per author and repo), or
   *  nullopt. Quotas refuse new entries; they never evict accepted ones. */
  virtual std::optional<std::string> QuotaRefusal(const wire::SignedMessage& message) {
    (void)message;
    return std::nullopt;
  }
  /** Stores a fully checked message and applies it to the tables. False on storage failure. */
  virtual bool Accept(const wire::SignedMessage& message, uint64_t now_ms) = 0;
};

enum class Verdict {
  Accepted,      // new, valid, stored: forward it
  Duplicate,     // seen before (cache or store)
  Superseded,    // valid but older than what we hold (lower sequence / older timestamp)
  FromFuture,    // timestamp or sequence beyond now + MAX_CLOCK_SKEW_MS: refused, not misbehaviour
  Unsupported,   // an object format this node cannot store (SHA-256 ids): refused, not misbehaviour
  UnknownType,   // a type or version we do not speak: counted and dropped, not misbehaviour
  Malformed,     // failed decoding or the ref-name policy, or ids that disagree with the repo's: misbehaviour
  BadSignature,  // misbehaviour
  Unauthorized,  // e.g. a Repo message from neither the creator nor a current delegate: misbehaviour
  OverQuota,     // valid, but a storage quota is full: dropped, not misbehaviour
  StoreFailed,   // our own storage failed; the sender did nothing wrong
};

const char* VerdictName(Verdict verdict);

/** True for verdicts that count against the sending peer. */
bool IsMisbehaviour(Verdict verdict);

struct AdmissionResult {
  Verdict verdict = Verdict::Malformed;
  std::string reason;                      // one line, for logs
  std::optional<wire::SignedMessage> message;  // set when Accepted
};

/** A refusal by one of the rules below: its verdict and one line for logs. */
struct Refusal {
  Verdict verdict = Verdict::Malformed;
  std::string reason;
};

/**
 * The rules that need only the message and the clock: timestamp and sequence no further ahead
 * than MAX_CLOCK_SKEW_MS (MAX_CREATOR_REPO_SEQUENCE_LEAD_MS for a creator's Repo message) →
 * FromFuture; object ids of another length than SUPPORTED_OID_BYTES → Unsupported. Admission
 * runs them on every message; the store heal (routing::HealStore) re-runs them on stored ones.
 */
std::optional<Refusal> CheckClockAndFormat(const wire::SignedMessage& message, uint64_t now_ms);

/** Refs whose object ids are not as long as their repo's known root commit (the repo's object
 *  format): Malformed, a signer cannot mix formats by mistake. Nullopt when they agree. */
std::optional<Refusal> CheckOidsMatchRepo(const wire::RefsBody& refs, const wire::RepoBody& repo);

/** Counters of every dropped or accepted message, by verdict. */
struct AdmissionCounters {
  std::map<Verdict, uint64_t> by_verdict;
  uint64_t signature_checks = 0;
};

class Admission {
 public:
  explicit Admission(GossipState& state);

  /** Runs the pipeline on one message's bytes received at `now_ms` (Unix ms). */
  AdmissionResult Admit(ByteSpan bytes, uint64_t now_ms);

  const AdmissionCounters& counters() const { return m_counters; }

 private:
  AdmissionResult Finish(AdmissionResult result);
  AdmissionResult CheckAndAccept(wire::SignedMessage message, uint64_t now_ms);

  GossipState& m_state;
  SeenCache m_seen;
  AdmissionCounters m_counters;
};

/** GossipState in memory: for the simulator and tests (same interface as the SQLite one). */
class MemoryGossipState : public GossipState {
 public:
  bool HasMessage(const wire::MessageId& id) override;
  std::optional<uint64_t> NodeTimestamp(const wire::PublicKey& author) override;
  std::optional<wire::RepoBody> LatestRepo(const wire::RepoId& repo) override;
  std::optional<uint64_t> RefsSequence(const wire::PublicKey& author, const wire::RepoId& repo) override;
  std::optional<uint64_t> InventorySequence(const wire::PublicKey& author, uint64_t page) override;
  bool Accept(const wire::SignedMessage& message, uint64_t now_ms) override;

  size_t message_count() const { return m_messages.size(); }

 private:
  std::map<wire::MessageId, Bytes> m_messages;
  std::map<wire::PublicKey, uint64_t> m_node_timestamps;
  std::map<wire::RepoId, wire::RepoBody> m_repos;
  std::map<std::pair<wire::PublicKey, wire::RepoId>, uint64_t> m_refs;
  std::map<std::pair<wire::PublicKey, uint64_t>, uint64_t> m_inventory;
};

}  // namespace p2pgit::gossip
