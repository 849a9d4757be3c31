#include "activity/fold.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace p2pgit::activity {

namespace {

struct EventIdHash {
  size_t operator()(const EventId& id) const {
    size_t v;
    std::memcpy(&v, id.data(), sizeof v);  // ids are SHA-256 outputs: any 8 bytes are uniform
    return v;
  }
};

bool IsEventIdParent(const Bytes& parent) { return parent.size() == EventId{}.size(); }

EventId ToEventId(const Bytes& bytes) {
  EventId id{};
  std::copy_n(bytes.begin(), id.size(), id.begin());
  return id;
}

bool SameBytes(const Bytes& a, ByteSpan b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

/** A member of the thread and its Lamport clock. */
struct Member {
  const Event* event;
  uint64_t clock;
};

/** The thread's DAG, ready to apply: members in fold order, and the events held or refused by
 *  their parents. */
struct ThreadDag {
  std::vector<Member> members;         // members[0] is the root
  std::vector<IgnoredEvent> held;      // Pending and BadParents (parents spanning threads)
};

IgnoredEvent MakeIgnored(const Event& e, IgnoreReason reason, std::string detail) {
  return IgnoredEvent{e.id, e.author, e.op, reason, std::move(detail)};
}

/** Deterministic order of held events: they have no clock, so by id. */
void SortById(std::vector<IgnoredEvent>& events) {
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
}

FoldResult<ThreadDag> BuildThread(std::span<const Event> events, const wire::RepoId& repo, const EventId& root_id) {
  const ByteSpan repo_bytes(repo.multihash);
  std::unordered_map<EventId, const Event*, EventIdHash> by_id;
  by_id.reserve(events.size());
  for (const Event& e : events) {
    if (!SameBytes(e.repo_id, repo_bytes)) continue;  // another repo's event
    by_id.emplace(e.id, &e);                          // a duplicate id is the same signed event
  }
  auto root_it = by_id.find(root_id);
  if (root_it == by_id.end())
    return Fail(FoldError::NotFound, "no event " + ToHex(root_id) + " in repo " + repo.ToString());
  const Event& root = *root_it->second;
  if (root.parents.size() != 1 || !SameBytes(root.parents[0], repo_bytes))
    return Fail(FoldError::RootInvalid, "event " + ShortId(root_id) + " is not a thread root (its parent is not the repo)");

  std::unordered_map<EventId, std::vector<const Event*>, EventIdHash> children;
  children.reserve(by_id.size());
  for (const auto& [id, e] : by_id)
    for (const Bytes& p : e->parents)
      if (IsEventIdParent(p)) children[ToEventId(p)].push_back(e);

  // Kahn's walk from the root: an event joins when its last parent has joined; its clock is one
  // more than its parents' largest.
  struct Progress {
    uint32_t remaining;
    uint64_t clock;
  };
  std::unordered_map<const Event*, Progress> touched;
  ThreadDag dag;
  dag.members.push_back({&root, 1});
  for (size_t next = 0; next < dag.members.size(); ++next) {
    Member m = dag.members[next];
    auto kids = children.find(m.event->id);
    if (kids == children.end()) continue;
    for (const Event* child : kids->second) {
      if (child == &root) continue;
      auto [it, first] = touched.try_emplace(child, Progress{0, 0});
      if (first)
        it->second.remaining = static_cast<uint32_t>(
            std::count_if(child->parents.begin(), child->parents.end(), IsEventIdParent));
      it->second.clock = std::max(it->second.clock, m.clock + 1);
      if (--it->second.remaining == 0) dag.members.push_back({child, it->second.clock});
    }
  }

  // Events that named a member but whose other parents never joined: held when some ancestor is
  // missing (Pending, and so is everything below them), else refused (parents in two threads).
  // Whether an ancestor is missing: an upward walk over present events, memoized (each event is
  // walked once however many touched events share it).
  std::unordered_map<const Event*, bool> lacks_ancestor;
  auto has_missing_ancestor = [&](const Event* start) {
    std::vector<std::pair<const Event*, size_t>> stack{{start, 0}};
    lacks_ancestor.try_emplace(start, false);
    while (!stack.empty()) {
      auto& [e, next_parent] = stack.back();
      if (lacks_ancestor[e] || next_parent == e->parents.size()) {
        bool missing = lacks_ancestor[e];
        stack.pop_back();
        if (missing && !stack.empty()) lacks_ancestor[stack.back().first] = true;
        continue;
      }
      const Bytes& p = e->parents[next_parent++];
      if (!IsEventIdParent(p)) continue;
      auto found = by_id.find(ToEventId(p));
      if (found == by_id.end()) {
        lacks_ancestor[e] = true;
        continue;
      }
      auto [memo, first] = lacks_ancestor.try_emplace(found->second, false);
      if (first) {
        stack.push_back({found->second, 0});
      } else if (memo->second) {
        lacks_ancestor[e] = true;
      }
    }
    return lacks_ancestor[start];
  };
  std::unordered_set<const Event*> pending;
  std::deque<const Event*> queue;
  for (const auto& [e, progress] : touched) {
    if (progress.remaining == 0) continue;
    if (has_missing_ancestor(e) && pending.insert(e).second) queue.push_back(e);
  }
  while (!queue.empty()) {
    const Event* e = queue.front();
    queue.pop_front();
    auto kids = children.find(e->id);
    if (kids == children.end()) continue;
    for (const Event* child : kids->second) {
      auto t = touched.find(child);
      bool member = t != touched.end() && t->second.remaining == 0;
      if (!member && pending.insert(child).second) queue.push_back(child);
    }
  }
  for (const Event* e : pending) {
    size_t absent = std::count_if(e->parents.begin(), e->parents.end(), [&](const Bytes& p) {
      return IsEventIdParent(p) && !by_id.count(ToEventId(p));
    });
    dag.held.push_back(MakeIgnored(*e, IgnoreReason::Pending,
                                   absent > 0 ? "waiting for " + std::to_string(absent) + " missing parent(s)"
                                              : "waiting for a pending parent"));
  }
  for (const auto& [e, progress] : touched)
    if (progress.remaining > 0 && !pending.count(e))
      dag.held.push_back(MakeIgnored(*e, IgnoreReason::BadParents, "parents belong to more than one thread"));
  SortById(dag.held);

  std::sort(dag.members.begin() + 1, dag.members.end(), [](const Member& a, const Member& b) {
    if (a.clock != b.clock) return a.clock < b.clock;
    if (a.event->author != b.event->author) return a.event->author < b.event->author;
    return a.event->id < b.event->id;
  });
  return dag;
}

std::vector<EventId> MemberHeads(const std::vector<Member>& members) {
  std::unordered_set<EventId, EventIdHash> named;
  named.reserve(members.size());
  for (const Member& m : members)
    for (const Bytes& p : m.event->parents)
      if (IsEventIdParent(p)) named.insert(ToEventId(p));
  std::vector<EventId> heads;
  for (const Member& m : members)
    if (!named.count(m.event->id)) heads.push_back(m.event->id);
  std::sort(heads.begin(), heads.end());
  return heads;
}

/**
 * Shared checks before a member's payload is applied: its parents, its op (known, of this
 * thread's kind), its version and payload. Returns the payload, or records why it is ignored.
 */
std::optional<Payload> DecodeMember(const Event& e, const ByteSpan repo_bytes, bool issue_thread,
                                    std::vector<IgnoredEvent>& ignored) {
  bool repo_parent = std::any_of(e.parents.begin(), e.parents.end(),
                                 [&](const Bytes& p) { return SameBytes(p, repo_bytes); });
  auto op = ParseOp(e.op);
  if (repo_parent) {
    ignored.push_back(MakeIgnored(e, IgnoreReason::BadParents, "names the repo as parent inside a thread"));
    return std::nullopt;
  }
  if (!op) {
    ignored.push_back(MakeIgnored(e, IgnoreReason::UnknownOp, "op unknown to this version"));
    return std::nullopt;
  }
  if (*op == Op::IssueCreate || *op == Op::PatchCreate) {
    ignored.push_back(MakeIgnored(e, IgnoreReason::BadParents, "a create event inside a thread"));
    return std::nullopt;
  }
  if (IsIssueOp(*op) != issue_thread) {
    ignored.push_back(MakeIgnored(e, IgnoreReason::UnknownOp,
                                  std::string(OpName(*op)) + " in " + (issue_thread ? "an issue" : "a patch")));
    return std::nullopt;
  }
  auto payload = DecodePayload(e.op, e.payload_version, e.payload);
  if (!payload) {
    IgnoreReason reason =
        payload.code() == PayloadError::UnknownVersion ? IgnoreReason::UnknownVersion : IgnoreReason::MalformedPayload;
    ignored.push_back(MakeIgnored(e, reason, payload.message()));
    return std::nullopt;
  }
  return std::move(*payload);
}

bool IsDelegate(const RepoAuthority& repo, const PublicKey& key) {
  return std::find(repo.delegates.begin(), repo.delegates.end(), key) != repo.delegates.end();
}

template <typename Root>
FoldResult<Root> DecodeRoot(const Event& root, Op want) {
  if (root.op != OpName(want))
    return Fail(FoldError::WrongKind, "event " + ShortId(root.id) + " is not an " + OpName(want));
  auto payload = DecodePayload(root.op, root.payload_version, root.payload);
  if (!payload)
    return Fail(FoldError::RootInvalid, "event " + ShortId(root.id) + ": " + payload.message());
  return std::get<Root>(std::move(*payload));
}

Comment MakeComment(const Event& e, std::string body, std::optional<EventId> reply_to) {
  return Comment{e.id, e.author, e.timestamp_ms, std::move(body), reply_to};
}

}  // namespace

// ---- fold input --------------------------------------------------------------------------------

EventResult<Event> EventFromRecord(const storage::ActivityRecord& record) {
  Event e;
  if (record.event_id.size() != e.id.size() || record.author.size() != e.author.size())
    return Fail(EventError::BadRecord, "stored activity record has a malformed id or author");
  std::copy(record.event_id.begin(), record.event_id.end(), e.id.begin());
  std::copy(record.author.begin(), record.author.end(), e.author.begin());
  e.repo_id = record.repo_id;
  e.timestamp_ms = record.timestamp_ms;
  e.parents = record.parents;
  e.op = record.op;
  e.payload_version = record.payload_version;
  e.payload = record.payload;
  return e;
}

EventResult<Event> EventFromMessage(const wire::SignedMessage& message) {
  const auto* body = std::get_if<wire::ActivityBody>(&message.body);
  if (body == nullptr)
    return Fail(EventError::NotActivity,
                std::string("a ") + wire::MessageTypeName(message.type()) + " message is not an activity event");
  if (auto v = wire::VerifyMessage(message); !v) return Fail(EventError::BadMessage, v.message());
  Event e;
  e.id = message.id;
  e.repo_id.assign(body->repo_id.multihash.begin(), body->repo_id.multihash.end());
  e.author = message.author;
  e.timestamp_ms = body->timestamp_ms;
  e.parents = body->parents;
  e.op = body->op;
  e.payload_version = body->payload_version;
  e.payload = body->payload;
  return e;
}

EventResult<Event> EventFromEnvelope(ByteSpan envelope) {
  auto message = wire::ParseMessage(envelope);
  if (!message) return Fail(EventError::BadMessage, message.message());
  return EventFromMessage(*message);
}

// ---- threads -----------------------------------------------------------------------------------

std::vector<ThreadRoot> ListThreads(std::span<const Event> events, const wire::RepoId& repo) {
  const ByteSpan repo_bytes(repo.multihash);
  std::vector<ThreadRoot> roots;
  for (const Event& e : events) {
    if (!SameBytes(e.repo_id, repo_bytes)) continue;
    if (e.parents.size() != 1 || !SameBytes(e.parents[0], repo_bytes)) continue;
    if (e.op == OpName(Op::IssueCreate))
      roots.push_back({e.id, ThreadKind::Issue, e.author, e.timestamp_ms});
    else if (e.op == OpName(Op::PatchCreate))
      roots.push_back({e.id, ThreadKind::Patch, e.author, e.timestamp_ms});
  }
  std::sort(roots.begin(), roots.end(), [](const ThreadRoot& a, const ThreadRoot& b) {
    return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms < b.timestamp_ms : a.id < b.id;
  });
  roots.erase(std::unique(roots.begin(), roots.end(), [](const auto& a, const auto& b) { return a.id == b.id; }),
              roots.end());
  return roots;
}

std::vector<EventId> Heads(std::span<const Event> thread_events) {
  std::unordered_set<EventId, EventIdHash> named;
  for (const Event& e : thread_events)
    for (const Bytes& p : e.parents)
      if (IsEventIdParent(p)) named.insert(ToEventId(p));
  std::vector<EventId> heads;
  for (const Event& e : thread_events)
    if (!named.count(e.id)) heads.push_back(e.id);
  std::sort(heads.begin(), heads.end());
  heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
  return heads;
}

std::vector<Event> ThreadEvents(std::span<const Event> events, const wire::RepoId& repo, const EventId& root) {
  std::vector<Event> out;
  auto dag = BuildThread(events, repo, root);
  if (!dag) return out;
  out.reserve(dag->members.size());
  for (const Member& m : dag->members) out.push_back(*m.event);
  return out;
}

// ---- the folds ---------------------------------------------------------------------------------

FoldResult<IssueState> FoldIssue(std::span<const Event> events, const RepoAuthority& repo, const EventId& root_id) {
  auto dag = BuildThread(events, repo.repo_id, root_id);
  if (!dag) return dag.error();
  const Event& root = *dag->members[0].event;
  auto create = DecodeRoot<IssueCreate>(root, Op::IssueCreate);
  if (!create) return create.error();

  IssueState s;
  s.id = root.id;
  s.author = root.author;
  s.created_ms = s.updated_ms = root.timestamp_ms;
  s.title = std::move(create->title);
  s.body = std::move(create->body);
  s.labels = std::move(create->labels);
  s.event_count = dag->members.size();
  const ByteSpan repo_bytes(repo.repo_id.multihash);
  for (size_t i = 1; i < dag->members.size(); ++i) {
    const Event& e = *dag->members[i].event;
    auto payload = DecodeMember(e, repo_bytes, true, s.ignored);
    if (!payload) continue;
    bool authorized = e.author == s.author || IsDelegate(repo, e.author);
    bool applied = true;
    std::visit(
        [&](auto& p) {
          using T = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<T, IssueComment>) {
            s.comments.push_back(MakeComment(e, std::move(p.body), p.reply_to));
          } else if (!authorized) {
            applied = false;
          } else if constexpr (std::is_same_v<T, IssueEdit>) {
            if (p.title) s.title = std::move(*p.title);
            if (p.body) s.body = std::move(*p.body);
          } else if constexpr (std::is_same_v<T, IssueLabel>) {
            s.labels = std::move(p.labels);
          } else if constexpr (std::is_same_v<T, IssueClose>) {
            s.status = ThreadStatus::Closed;
          } else if constexpr (std::is_same_v<T, IssueReopen>) {
            s.status = ThreadStatus::Open;
          }
        },
        *payload);
    if (!applied) {
      s.ignored.push_back(MakeIgnored(e, IgnoreReason::Unauthorized,
                                      e.op + " by neither the issue's author nor a delegate"));
      continue;
    }
    s.updated_ms = std::max(s.updated_ms, e.timestamp_ms);
  }
  s.heads = MemberHeads(dag->members);
  s.ignored.insert(s.ignored.end(), dag->held.begin(), dag->held.end());
  return s;
}

FoldResult<PatchState> FoldPatch(std::span<const Event> events, const RepoAuthority& repo, const EventId& root_id) {
  auto dag = BuildThread(events, repo.repo_id, root_id);
  if (!dag) return dag.error();
  const Event& root = *dag->members[0].event;
  auto create = DecodeRoot<PatchCreate>(root, Op::PatchCreate);
  if (!create) return create.error();

  PatchState s;
  s.id = root.id;
  s.author = root.author;
  s.created_ms = s.updated_ms = root.timestamp_ms;
  s.title = std::move(create->title);
  s.description = std::move(create->description);
  s.base_branch = std::move(create->base_branch);
  s.revisions.push_back(Revision{root.id, root.author, root.timestamp_ms, std::move(create->base),
                                 std::move(create->head), ""});
  s.event_count = dag->members.size();
  const ByteSpan repo_bytes(repo.repo_id.multihash);
  for (size_t i = 1; i < dag->members.size(); ++i) {
    const Event& e = *dag->members[i].event;
    auto payload = DecodeMember(e, repo_bytes, false, s.ignored);
    if (!payload) continue;
    bool is_author = e.author == s.author;
    bool is_delegate = IsDelegate(repo, e.author);
    std::string refusal;
    std::visit(
        [&](auto& p) {
          using T = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<T, PatchComment>) {
            s.comments.push_back(MakeComment(e, std::move(p.body), p.reply_to));
          } else if constexpr (std::is_same_v<T, PatchReview>) {
            s.reviews.push_back(
                Review{e.id, e.author, e.timestamp_ms, p.verdict, std::move(p.comment), s.revisions.size() - 1});
          } else if constexpr (std::is_same_v<T, PatchUpdate>) {
            if (!is_author) {
              refusal = "patch.update by someone other than the patch's author";
              return;
            }
            Bytes base = p.base ? std::move(*p.base) : s.revisions.back().base;
            s.revisions.push_back(
                Revision{e.id, e.author, e.timestamp_ms, std::move(base), std::move(p.head), p.note.value_or("")});
          } else if constexpr (std::is_same_v<T, PatchMerge>) {
            if (!is_delegate) {
              refusal = "patch.merge by a key that is not a repo delegate";
              return;
            }
            s.status = ThreadStatus::Merged;
            s.merge = Merge{e.id, e.author, e.timestamp_ms, std::move(p.commit)};
          } else if constexpr (std::is_same_v<T, PatchClose>) {
            if (!is_author && !is_delegate) {
              refusal = "patch.close by neither the patch's author nor a delegate";
              return;
            }
            s.status = ThreadStatus::Closed;
          }
        },
        *payload);
    if (!refusal.empty()) {
      s.ignored.push_back(MakeIgnored(e, IgnoreReason::Unauthorized, std::move(refusal)));
      continue;
    }
    s.updated_ms = std::max(s.updated_ms, e.timestamp_ms);
  }
  s.heads = MemberHeads(dag->members);
  s.ignored.insert(s.ignored.end(), dag->held.begin(), dag->held.end());
  return s;
}

// ---- names and ids -----------------------------------------------------------------------------

const char* StatusName(ThreadStatus status) {
  switch (status) {
    case ThreadStatus::Open:
      return "open";
    case ThreadStatus::Closed:
      return "closed";
    case ThreadStatus::Merged:
      return "merged";
  }
  return "unknown";
}

const char* IgnoreReasonName(IgnoreReason reason) {
  switch (reason) {
    case IgnoreReason::Unauthorized:
      return "unauthorized";
    case IgnoreReason::MalformedPayload:
      return "malformed-payload";
    case IgnoreReason::UnknownOp:
      return "unknown-op";
    case IgnoreReason::UnknownVersion:
      return "unknown-version";
    case IgnoreReason::Pending:
      return "pending";
    case IgnoreReason::BadParents:
      return "bad-parents";
  }
  return "unknown";
}

std::string ShortId(const EventId& id) {
  return ToHex(id).substr(0, MIN_ID_PREFIX_CHARS);
}

Result<EventId, PrefixError> ResolveIdPrefix(std::string_view prefix, std::span<const EventId> candidates) {
  if (prefix.size() < MIN_ID_PREFIX_CHARS)
    return Fail(PrefixError::TooShort, "an id prefix needs at least 7 hex characters");
  if (prefix.size() > 2 * EventId{}.size()) return Fail(PrefixError::NotHex, "an id has at most 64 hex characters");
  std::string lower;
  for (char c : prefix) {
    char l = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f')))
      return Fail(PrefixError::NotHex, "an id is lowercase hex ([0-9a-f])");
    lower.push_back(l);
  }
  std::vector<EventId> matches;
  for (const EventId& id : candidates)
    if (ToHex(id).compare(0, lower.size(), lower) == 0 &&
        std::find(matches.begin(), matches.end(), id) == matches.end())
      matches.push_back(id);
  if (matches.empty()) return Fail(PrefixError::NotFound, "no id starts with " + lower);
  if (matches.size() > 1) {
    std::sort(matches.begin(), matches.end());
    std::string list;
    for (size_t i = 0; i < matches.size() && i < 5; ++i) list += (i ? ", " : "") + ToHex(matches[i]).substr(0, 12);
    return Fail(PrefixError::Ambiguous,
                "id prefix " + lower + " is ambiguous (" + std::to_string(matches.size()) + " matches: " + list + ")");
  }
  return matches[0];
}

}  // namespace p2pgit::activity
