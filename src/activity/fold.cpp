#include "activity/fold.h"

#include <algorithm>
#include <cstring>
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
  std::vector<Member> members;     // members[0] is the root
  std::vector<IgnoredEvent> held;  // Pending and BadParents (parents spanning threads)
  std::vector<EventId> heads;      // members no member names as parent, sorted
};

IgnoredEvent MakeIgnored(const Event& e, IgnoreReason reason, std::string detail) {
  return IgnoredEvent{e.id, e.author, e.op, reason, std::move(detail)};
}

constexpr uint32_t ABSENT = UINT32_MAX;

/**
 * The repo's events as a dense graph: event i's parents (index, or ABSENT for an event id not
 * in the input) and children, as flat offset arrays. Indices keep the fold's hot loops out of
 * hash tables (10,000 events fold in a few ms).
 */
struct Graph {
  std::vector<const Event*> nodes;
  std::unordered_map<EventId, uint32_t, EventIdHash> index;
  std::vector<uint32_t> parent_start, parent_list;  // event-id parents only
  std::vector<uint32_t> child_start, child_list;

  std::span<const uint32_t> Parents(uint32_t i) const {
    return std::span<const uint32_t>(parent_list).subspan(parent_start[i], parent_start[i + 1] - parent_start[i]);
  }
  std::span<const uint32_t> Children(uint32_t i) const {
    return std::span<const uint32_t>(child_list).subspan(child_start[i], child_start[i + 1] - child_start[i]);
  }
};

Graph BuildGraph(std::span<const Event> events, ByteSpan repo_bytes) {
  Graph g;
  g.nodes.reserve(events.size());
  g.index.reserve(events.size());
  for (const Event& e : events) {
    if (!SameBytes(e.repo_id, repo_bytes)) continue;  // another repo's event
    // A duplicate id is the same signed event: keep the first.
    if (g.index.emplace(e.id, static_cast<uint32_t>(g.nodes.size())).second) g.nodes.push_back(&e);
  }
  const size_t n = g.nodes.size();
  g.parent_start.assign(n + 1, 0);
  std::vector<uint32_t> child_count(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    g.parent_start[i] = static_cast<uint32_t>(g.parent_list.size());
    for (const Bytes& p : g.nodes[i]->parents) {
      if (!IsEventIdParent(p)) continue;
      auto it = g.index.find(ToEventId(p));
      uint32_t parent = it == g.index.end() ? ABSENT : it->second;
      g.parent_list.push_back(parent);
      if (parent != ABSENT) ++child_count[parent];
    }
  }
  g.parent_start[n] = static_cast<uint32_t>(g.parent_list.size());
  g.child_start.assign(n + 1, 0);
  for (size_t i = 0; i < n; ++i) g.child_start[i + 1] = g.child_start[i] + child_count[i];
  g.child_list.resize(g.child_start[n]);
  std::vector<uint32_t> fill(g.child_start.begin(), g.child_start.end() - 1);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t parent : g.Parents(i))
      if (parent != ABSENT) g.child_list[fill[parent]++] = i;
  return g;
}

FoldResult<ThreadDag> BuildThread(std::span<const Event> events, const wire::RepoId& repo, const EventId& root_id) {
  const ByteSpan repo_bytes(repo.multihash);
  Graph g = BuildGraph(events, repo_bytes);
  auto root_it = g.index.find(root_id);
  if (root_it == g.index.end())
    return Fail(FoldError::NotFound, "no event " + ToHex(root_id) + " in repo " + repo.ToString());
  const uint32_t root = root_it->second;
  const Event& root_event = *g.nodes[root];
  if (root_event.parents.size() != 1 || !SameBytes(root_event.parents[0], repo_bytes))
    return Fail(FoldError::RootInvalid, "event " + ShortId(root_id) + " is not a thread root (its parent is not the repo)");

  // Kahn's walk from the root: an event joins when its last parent has joined; its clock is one
  // more than its parents' largest. remaining[i] == UNTOUCHED: no parent of i has joined.
  const size_t n = g.nodes.size();
  constexpr uint32_t UNTOUCHED = UINT32_MAX;
  std::vector<uint32_t> remaining(n, UNTOUCHED);
  std::vector<uint64_t> clock(n, 0);
  std::vector<uint32_t> order{root};
  std::vector<uint32_t> touched;
  clock[root] = 1;
  remaining[root] = 0;
  for (size_t next = 0; next < order.size(); ++next) {
    uint32_t m = order[next];
    for (uint32_t child : g.Children(m)) {
      if (child == root) continue;
      if (remaining[child] == UNTOUCHED) {
        remaining[child] = static_cast<uint32_t>(g.Parents(child).size());
        touched.push_back(child);
      }
      clock[child] = std::max(clock[child], clock[m] + 1);
      if (--remaining[child] == 0) order.push_back(child);
    }
  }

  // Events that named a member but whose other parents never joined: held when some ancestor is
  // missing (Pending, and so is everything below them), else refused (parents in two threads).
  // Whether an ancestor is missing: an upward walk over present events, memoized (0 unknown,
  // 1 no, 2 yes), so each event is walked once however many touched events share it.
  std::vector<uint8_t> lacks(n, 0);
  auto has_missing_ancestor = [&](uint32_t start) {
    std::vector<std::pair<uint32_t, size_t>> stack{{start, 0}};
    lacks[start] = 1;
    while (!stack.empty()) {
      auto [e, next_parent] = stack.back();
      auto parents = g.Parents(e);
      if (lacks[e] == 2 || next_parent == parents.size()) {
        stack.pop_back();
        if (lacks[e] == 2 && !stack.empty()) lacks[stack.back().first] = 2;
        continue;
      }
      ++stack.back().second;
      uint32_t p = parents[next_parent];
      if (p == ABSENT || lacks[p] == 2) {
        lacks[e] = 2;
      } else if (lacks[p] == 0) {
        lacks[p] = 1;
        stack.push_back({p, 0});
      }
    }
    return lacks[start] == 2;
  };
  std::vector<uint8_t> pending(n, 0);
  std::vector<uint32_t> queue;
  for (uint32_t e : touched)
    if (remaining[e] > 0 && has_missing_ancestor(e)) pending[e] = 1, queue.push_back(e);
  for (size_t next = 0; next < queue.size(); ++next)
    for (uint32_t child : g.Children(queue[next]))
      if ((remaining[child] == UNTOUCHED || remaining[child] > 0) && !pending[child])
        pending[child] = 1, queue.push_back(child);

  ThreadDag dag;
  for (uint32_t e : queue) {
    size_t absent = std::count(g.Parents(e).begin(), g.Parents(e).end(), ABSENT);
    dag.held.push_back(MakeIgnored(*g.nodes[e], IgnoreReason::Pending,
                                   absent > 0 ? "waiting for " + std::to_string(absent) + " missing parent(s)"
                                              : "waiting for a pending parent"));
  }
  for (uint32_t e : touched)
    if (remaining[e] > 0 && !pending[e])
      dag.held.push_back(MakeIgnored(*g.nodes[e], IgnoreReason::BadParents, "parents belong to more than one thread"));
  // Held events have no clock: ordered by id.
  std::sort(dag.held.begin(), dag.held.end(), [](const auto& a, const auto& b) { return a.id < b.id; });

  std::vector<uint8_t> named(n, 0);
  dag.members.reserve(order.size());
  for (uint32_t m : order) {
    dag.members.push_back({g.nodes[m], clock[m]});
    for (uint32_t p : g.Parents(m)) named[p] = 1;  // members' parents are members: never ABSENT
  }
  for (uint32_t m : order)
    if (!named[m]) dag.heads.push_back(g.nodes[m]->id);
  std::sort(dag.heads.begin(), dag.heads.end());

  std::sort(dag.members.begin() + 1, dag.members.end(), [](const Member& a, const Member& b) {
    if (a.clock != b.clock) return a.clock < b.clock;
    if (a.event->author != b.event->author) return a.event->author < b.event->author;
    return a.event->id < b.event->id;
  });
  return dag;
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
  s.heads = std::move(dag->heads);
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
  s.heads = std::move(dag->heads);
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
