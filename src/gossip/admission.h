// The gossip pipeline's receive side, without I/O: bytes from a peer in, a verdict out.
// Order of checks (cheap first, CONVENTIONS.md): size cap → decode → dedup → freshness →
// supersession → signature → authority → store. Time is an argument, never read here.
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

/** Messages dated further in the future than this are held as pending, not accepted. */
inline constexpr uint64_t MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;
/** Held future-dated messages; beyond this the farthest-future one is dropped (memory bound). */
inline constexpr size_t MAX_PENDING_MESSAGES = 1024;
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
  Pending,       // dated beyond MAX_CLOCK_SKEW_MS; held until no longer in the future
  UnknownType,   // a type or version we do not speak: counted and dropped, not misbehaviour
  Malformed,     // failed decoding: misbehaviour
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
  std::optional<wire::SignedMessage> message;  // set when Accepted or Pending
};

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

  /** Re-admits held messages that are no longer in the future; returns their results. */
  std::vector<AdmissionResult> ReleasePending(uint64_t now_ms);

  size_t pending_count() const { return m_pending.size(); }
  const AdmissionCounters& counters() const { return m_counters; }

 private:
  AdmissionResult Finish(AdmissionResult result);
  AdmissionResult CheckAndAccept(wire::SignedMessage message, uint64_t now_ms);

  GossipState& m_state;
  SeenCache m_seen;
  std::multimap<uint64_t, wire::SignedMessage> m_pending;  // by timestamp
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
