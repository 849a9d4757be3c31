#include "gossip/admission.h"

#include <variant>

namespace p2pgit::gossip {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::Accepted: return "accepted";
    case Verdict::Duplicate: return "duplicate";
    case Verdict::Superseded: return "superseded";
    case Verdict::FromFuture: return "from-future";
    case Verdict::Unsupported: return "unsupported";
    case Verdict::UnknownType: return "unknown-type";
    case Verdict::Malformed: return "malformed";
    case Verdict::BadSignature: return "bad-signature";
    case Verdict::Unauthorized: return "unauthorized";
    case Verdict::OverQuota: return "over-quota";
    case Verdict::StoreFailed: return "store-failed";
  }
  return "unknown";
}

bool IsMisbehaviour(Verdict verdict) {
  // Unauthorized is not counted: a delegate's update can arrive before the Repo message that made
  // it a delegate, so our view, not the sender, may be behind.
  return verdict == Verdict::Malformed || verdict == Verdict::BadSignature;
}

Admission::Admission(GossipState& state) : m_state(state), m_seen(SEEN_CACHE_CAPACITY) {}

AdmissionResult Admission::Finish(AdmissionResult result) {
  ++m_counters.by_verdict[result.verdict];
  return result;
}

namespace {

/** Older-or-equal than what the state holds for the same slot. Activity is never superseded. */
std::optional<std::string> SupersededBy(GossipState& state, const wire::SignedMessage& m) {
  struct Visitor {
    GossipState& state;
    const wire::PublicKey& author;
    std::optional<std::string> operator()(const wire::NodeBody& b) const {
      auto held = state.NodeTimestamp(author);
      if (held && *held >= b.timestamp_ms) return "node announcement not newer than the one held";
      return std::nullopt;
    }
    std::optional<std::string> operator()(const wire::RepoBody& b) const {
      auto held = state.LatestRepo(b.repo_id);
      if (held && held->sequence >= b.sequence) return "repo announcement sequence not above the one held";
      return std::nullopt;
    }
    std::optional<std::string> operator()(const wire::RefsBody& b) const {
      auto held = state.RefsSequence(author, b.repo_id);
      if (held && *held >= b.sequence) return "refs sequence not above the one held";
      return std::nullopt;
    }
    std::optional<std::string> operator()(const wire::InventoryBody& b) const {
      auto held = state.InventorySequence(author, b.page);
      if (held && *held >= b.sequence) return "inventory page sequence not above the one held";
      return std::nullopt;
    }
    std::optional<std::string> operator()(const wire::ActivityBody&) const { return std::nullopt; }
  };
  return std::visit(Visitor{state, m.author}, m.body);
}

uint64_t TimestampOf(const wire::Body& body) {
  return std::visit([](const auto& b) { return b.timestamp_ms; }, body);
}

/** now + lead without wrapping (now is injected; a test or a broken clock may pass anything). */
uint64_t Horizon(uint64_t now_ms, uint64_t lead_ms) {
  return now_ms > UINT64_MAX - lead_ms ? UINT64_MAX : now_ms + lead_ms;
}

/** The sequence a Repo, Refs or Inventory message carries, and how far ahead it may run. */
std::optional<std::pair<uint64_t, uint64_t>> SequenceAndLead(const wire::SignedMessage& m) {
  if (const auto* repo = std::get_if<wire::RepoBody>(&m.body))
    return std::pair{repo->sequence, m.author == repo->creator ? MAX_CREATOR_REPO_SEQUENCE_LEAD_MS : MAX_CLOCK_SKEW_MS};
  if (const auto* refs = std::get_if<wire::RefsBody>(&m.body)) return std::pair{refs->sequence, MAX_CLOCK_SKEW_MS};
  if (const auto* inventory = std::get_if<wire::InventoryBody>(&m.body))
    return std::pair{inventory->sequence, MAX_CLOCK_SKEW_MS};
  return std::nullopt;
}

}  // namespace

std::optional<Refusal> CheckClockAndFormat(const wire::SignedMessage& m, uint64_t now_ms) {
  if (TimestampOf(m.body) > Horizon(now_ms, MAX_CLOCK_SKEW_MS))
    return Refusal{Verdict::FromFuture, "timestamp " + std::to_string(TimestampOf(m.body)) +
                                            " is more than the allowed clock skew ahead of " + std::to_string(now_ms)};
  if (auto sequence = SequenceAndLead(m); sequence && sequence->first > Horizon(now_ms, sequence->second))
    return Refusal{Verdict::FromFuture, "sequence " + std::to_string(sequence->first) +
                                            " is beyond now + " + std::to_string(sequence->second) +
                                            " ms (sequences are bounded by the clock, in Unix ms)"};
  if (const auto* repo = std::get_if<wire::RepoBody>(&m.body); repo && repo->root_commit.size() != SUPPORTED_OID_BYTES)
    return Refusal{Verdict::Unsupported, "repo root commit is a " + std::to_string(repo->root_commit.size()) +
                                             "-byte object id; this node stores SHA-1 repositories only"};
  if (const auto* refs = std::get_if<wire::RefsBody>(&m.body);
      refs && !refs->refs.empty() && refs->refs.front().oid.size() != SUPPORTED_OID_BYTES)
    return Refusal{Verdict::Unsupported, "refs carry " + std::to_string(refs->refs.front().oid.size()) +
                                             "-byte object ids; this node stores SHA-1 repositories only"};
  return std::nullopt;
}

std::optional<Refusal> CheckOidsMatchRepo(const wire::RefsBody& refs, const wire::RepoBody& repo) {
  // DecodeRefs already made every id of one message the same length, so the first speaks for all.
  if (refs.refs.empty() || refs.refs.front().oid.size() == repo.root_commit.size()) return std::nullopt;
  return Refusal{Verdict::Malformed, "refs carry " + std::to_string(refs.refs.front().oid.size()) +
                                         "-byte object ids but the repo's root commit has " +
                                         std::to_string(repo.root_commit.size()) + " bytes"};
}

AdmissionResult Admission::Admit(ByteSpan bytes, uint64_t now_ms) {
  auto parsed = wire::ParseMessage(bytes);
  if (!parsed) {
    bool unknown = parsed.code() == wire::WireError::UnknownType || parsed.code() == wire::WireError::UnknownVersion;
    return Finish({unknown ? Verdict::UnknownType : Verdict::Malformed, parsed.message(), std::nullopt});
  }
  wire::SignedMessage message = std::move(*parsed);
  if (m_seen.Contains(message.id) || m_state.HasMessage(message.id))
    return Finish({Verdict::Duplicate, "already seen", std::nullopt});
  // Before the object-format check: ids that contradict the repo's known format are a lie, not
  // a format this node merely lacks.
  if (const auto* refs = std::get_if<wire::RefsBody>(&message.body)) {
    if (auto latest = m_state.LatestRepo(refs->repo_id)) {
      if (auto mismatch = CheckOidsMatchRepo(*refs, *latest)) {
        m_seen.Insert(message.id);
        return Finish({mismatch->verdict, mismatch->reason, std::nullopt});
      }
    }
  }
  // Not remembered as seen: a message from the future becomes admissible once our clock catches
  // up, and checking it again costs only the decode (it comes before the signature check).
  if (auto refusal = CheckClockAndFormat(message, now_ms)) {
    if (refusal->verdict != Verdict::FromFuture) m_seen.Insert(message.id);
    return Finish({refusal->verdict, refusal->reason, std::nullopt});
  }
  return CheckAndAccept(std::move(message), now_ms);
}

AdmissionResult Admission::CheckAndAccept(wire::SignedMessage message, uint64_t now_ms) {
  if (auto older = SupersededBy(m_state, message)) {
    m_seen.Insert(message.id);
    return Finish({Verdict::Superseded, *older, std::nullopt});
  }
  if (const auto* repo = std::get_if<wire::RepoBody>(&message.body)) {
    auto latest = m_state.LatestRepo(repo->repo_id);
    if (auto authority = wire::CheckRepoAuthority(*repo, message.author, latest ? &*latest : nullptr); !authority) {
      m_seen.Insert(message.id);
      return Finish({Verdict::Unauthorized, authority.message(), std::nullopt});
    }
  }
  ++m_counters.signature_checks;
  if (auto verified = wire::VerifyMessage(message); !verified) {
    m_seen.Insert(message.id);
    return Finish({Verdict::BadSignature, verified.message(), std::nullopt});
  }
  if (auto refusal = m_state.QuotaRefusal(message)) {
    m_seen.Insert(message.id);
    return Finish({Verdict::OverQuota, *refusal, std::nullopt});
  }
  if (!m_state.Accept(message, now_ms)) return Finish({Verdict::StoreFailed, "could not store message", std::nullopt});
  m_seen.Insert(message.id);
  return Finish({Verdict::Accepted, "", std::move(message)});
}

// ---- MemoryGossipState ----------------------------------------------------------------------

bool MemoryGossipState::HasMessage(const wire::MessageId& id) { return m_messages.count(id) != 0; }

std::optional<uint64_t> MemoryGossipState::NodeTimestamp(const wire::PublicKey& author) {
  auto it = m_node_timestamps.find(author);
  return it == m_node_timestamps.end() ? std::nullopt : std::optional<uint64_t>(it->second);
}

std::optional<wire::RepoBody> MemoryGossipState::LatestRepo(const wire::RepoId& repo) {
  auto it = m_repos.find(repo);
  return it == m_repos.end() ? std::nullopt : std::optional<wire::RepoBody>(it->second);
}

std::optional<uint64_t> MemoryGossipState::RefsSequence(const wire::PublicKey& author, const wire::RepoId& repo) {
  auto it = m_refs.find({author, repo});
  return it == m_refs.end() ? std::nullopt : std::optional<uint64_t>(it->second);
}

std::optional<uint64_t> MemoryGossipState::InventorySequence(const wire::PublicKey& author, uint64_t page) {
  auto it = m_inventory.find({author, page});
  return it == m_inventory.end() ? std::nullopt : std::optional<uint64_t>(it->second);
}

bool MemoryGossipState::Accept(const wire::SignedMessage& m, uint64_t) {
  m_messages[m.id] = m.encoded;
  if (const auto* node = std::get_if<wire::NodeBody>(&m.body)) m_node_timestamps[m.author] = node->timestamp_ms;
  if (const auto* repo = std::get_if<wire::RepoBody>(&m.body)) m_repos[repo->repo_id] = *repo;
  if (const auto* refs = std::get_if<wire::RefsBody>(&m.body)) m_refs[{m.author, refs->repo_id}] = refs->sequence;
  if (const auto* inv = std::get_if<wire::InventoryBody>(&m.body)) m_inventory[{m.author, inv->page}] = inv->sequence;
  return true;
}

}  // namespace p2pgit::gossip
