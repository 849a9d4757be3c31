// The fold of issue and patch threads: rules, pending events, forged events, thread listing, id
// prefixes, and the property of issue 8 — five replicas receiving the same events in different
// orders end identical, and equal to a naive reference fold written here with another algorithm.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "activity/fold.h"

using namespace p2pgit;
using namespace p2pgit::activity;

namespace {

identity::NodeKey KeyFrom(uint8_t n) {
  identity::Seed seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i * 7 + n * 31 + 1);
  return identity::NodeKey::FromSeed(seed);
}

struct World {
  identity::NodeKey owner = KeyFrom(1);     // repo creator, delegate
  identity::NodeKey maintainer = KeyFrom(2);  // delegate
  identity::NodeKey reporter = KeyFrom(3);  // opens threads, no delegate
  identity::NodeKey stranger = KeyFrom(4);
  identity::NodeKey stranger2 = KeyFrom(5);
  wire::RepoId repo = identity::ComputeRepoId(Bytes(20, 0x42), owner.public_key());
  RepoAuthority authority{repo, {owner.public_key(), maintainer.public_key()}};

  /** A signed event through the CLI path: MakeActivityBody → SignMessage → EventFromMessage. */
  Event Make(const identity::NodeKey& key, uint64_t ts, std::vector<EventId> parents, Payload payload) const {
    auto body = MakeActivityBody(repo, ts, std::move(parents), std::move(payload));
    EXPECT_TRUE(body.ok()) << body.message();
    auto message = wire::SignMessage(key, wire::Body{*body});
    auto event = EventFromMessage(message);
    EXPECT_TRUE(event.ok()) << event.message();
    return *event;
  }
  /** A signed event with any op, version and payload bytes. */
  wire::SignedMessage SignRaw(const identity::NodeKey& key, uint64_t ts, const std::vector<EventId>& parents,
                              std::string op, uint64_t version, Bytes payload) const {
    wire::ActivityBody body{ts, repo, {}, std::move(op), version, std::move(payload)};
    std::vector<EventId> sorted = parents;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& p : sorted) body.parents.emplace_back(p.begin(), p.end());
    return wire::SignMessage(key, wire::Body{body});
  }
  Event Raw(const identity::NodeKey& key, uint64_t ts, const std::vector<EventId>& parents, std::string op,
            uint64_t version, Bytes payload) const {
    return *EventFromMessage(SignRaw(key, ts, parents, std::move(op), version, std::move(payload)));
  }
};

const IgnoredEvent* FindIgnored(const std::vector<IgnoredEvent>& ignored, const EventId& id) {
  for (const auto& i : ignored)
    if (i.id == id) return &i;
  return nullptr;
}

// ---- the naive reference fold ------------------------------------------------------------------
// Written independently of src/activity/fold.cpp: membership, clocks and order by repeated full
// passes to a fixed point, and the order by brute-force selection of the minimum
// (clock, author, id). Only the payload decoder is shared. Details of ignored events are not
// compared (they are human text).

IssueState ReferenceFoldIssue(const std::vector<Event>& input, const RepoAuthority& repo, const EventId& root_id) {
  Bytes repo_bytes(repo.repo_id.multihash.begin(), repo.repo_id.multihash.end());
  std::map<EventId, Event> events;
  for (const Event& e : input)
    if (e.repo_id == repo_bytes) events.emplace(e.id, e);
  auto is_id = [](const Bytes& p) { return p.size() == 32; };
  auto as_id = [](const Bytes& p) {
    EventId id;
    std::copy(p.begin(), p.end(), id.begin());
    return id;
  };
  std::set<EventId> members{root_id};
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& [id, e] : events) {
      if (members.count(id)) continue;
      size_t in = 0, total = 0;
      for (const Bytes& p : e.parents)
        if (is_id(p)) ++total, in += members.count(as_id(p));
      if (total > 0 && in == total) members.insert(id), changed = true;
    }
  }
  std::map<EventId, uint64_t> clock;
  for (const auto& id : members) clock[id] = 1;
  for (size_t round = 0; round < members.size(); ++round)
    for (const auto& id : members) {
      if (id == root_id) continue;
      uint64_t c = 0;
      for (const Bytes& p : events.at(id).parents)
        if (is_id(p)) c = std::max(c, clock[as_id(p)]);
      clock[id] = c + 1;
    }
  std::vector<EventId> remaining(members.begin(), members.end()), order;
  while (!remaining.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < remaining.size(); ++i) {
      const Event& a = events.at(remaining[i]);
      const Event& b = events.at(remaining[best]);
      if (std::tie(clock[a.id], a.author, a.id) < std::tie(clock[b.id], b.author, b.id)) best = i;
    }
    order.push_back(remaining[best]);
    remaining.erase(remaining.begin() + static_cast<std::ptrdiff_t>(best));
  }

  const Event& root = events.at(root_id);
  auto create = std::get<IssueCreate>(*DecodePayload(root.op, root.payload_version, root.payload));
  IssueState s;
  s.id = root.id;
  s.author = root.author;
  s.created_ms = s.updated_ms = root.timestamp_ms;
  s.title = create.title;
  s.body = create.body;
  s.labels = create.labels;
  s.event_count = members.size();
  auto ignore = [&](const Event& e, IgnoreReason reason) { s.ignored.push_back({e.id, e.author, e.op, reason, ""}); };
  for (const EventId& id : order) {
    if (id == root_id) continue;
    const Event& e = events.at(id);
    auto op = ParseOp(e.op);
    if (!op || !IsIssueOp(*op)) {
      ignore(e, IgnoreReason::UnknownOp);
      continue;
    }
    auto payload = DecodePayload(e.op, e.payload_version, e.payload);
    if (!payload) {
      ignore(e, payload.code() == PayloadError::UnknownVersion ? IgnoreReason::UnknownVersion
                                                               : IgnoreReason::MalformedPayload);
      continue;
    }
    bool may = e.author == s.author ||
               std::count(repo.delegates.begin(), repo.delegates.end(), e.author) > 0;
    if (auto* c = std::get_if<IssueComment>(&*payload)) {
      s.comments.push_back({e.id, e.author, e.timestamp_ms, c->body, c->reply_to});
    } else if (!may) {
      ignore(e, IgnoreReason::Unauthorized);
      continue;
    } else if (auto* edit = std::get_if<IssueEdit>(&*payload)) {
      if (edit->title) s.title = *edit->title;
      if (edit->body) s.body = *edit->body;
    } else if (auto* label = std::get_if<IssueLabel>(&*payload)) {
      s.labels = label->labels;
    } else if (std::holds_alternative<IssueClose>(*payload)) {
      s.status = ThreadStatus::Closed;
    } else if (std::holds_alternative<IssueReopen>(*payload)) {
      s.status = ThreadStatus::Open;
    }
    s.updated_ms = std::max(s.updated_ms, e.timestamp_ms);
  }
  // Held: non-members hanging below the thread (every one of them waits for a missing ancestor
  // in the generated sets), by id.
  std::set<EventId> held;
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& [id, e] : events) {
      if (members.count(id) || held.count(id)) continue;
      for (const Bytes& p : e.parents)
        if (is_id(p) && (members.count(as_id(p)) || held.count(as_id(p)))) {
          held.insert(id), changed = true;
          break;
        }
    }
  }
  for (const EventId& id : held) ignore(events.at(id), IgnoreReason::Pending);
  std::set<EventId> named;
  for (const EventId& id : members)
    for (const Bytes& p : events.at(id).parents)
      if (is_id(p)) named.insert(as_id(p));
  for (const EventId& id : members)
    if (!named.count(id)) s.heads.push_back(id);
  return s;
}

IssueState WithoutDetails(IssueState s) {
  for (auto& i : s.ignored) i.detail.clear();
  return s;
}

/** A readable form for failure messages (states compare with ==). */
std::string Describe(const IssueState& s) {
  std::string out = "title=" + s.title + " body=" + s.body + " status=" + StatusName(s.status) + " labels=";
  for (const auto& l : s.labels) out += l + ",";
  out += " events=" + std::to_string(s.event_count) + " updated=" + std::to_string(s.updated_ms) + "\n comments:";
  for (const auto& c : s.comments) out += " " + ShortId(c.id);
  out += "\n ignored:";
  for (const auto& i : s.ignored) out += " " + ShortId(i.id) + "/" + IgnoreReasonName(i.reason);
  out += "\n heads:";
  for (const auto& h : s.heads) out += " " + ShortId(h);
  return out;
}

}  // namespace

// ---- fold input --------------------------------------------------------------------------------

TEST(ActivityEventInput, ForgedSignatureNeverReachesTheFold) {
  World w;
  auto real = w.SignRaw(w.stranger, 1, {EventId{1}}, "issue.close", 1, Bytes{0xa0});
  // Claim the owner signed it: the envelope keeps the stranger's signature.
  Bytes forged = wire::EncodeEnvelope(wire::MessageType::Activity, w.owner.public_key(), real.signature, real.body_bytes);
  auto from_envelope = EventFromEnvelope(forged);
  ASSERT_FALSE(from_envelope.ok());
  EXPECT_EQ(from_envelope.code(), EventError::BadMessage);
  auto parsed = wire::ParseMessage(forged);
  ASSERT_TRUE(parsed.ok());  // structurally fine: only the signature is wrong
  EXPECT_EQ(EventFromMessage(*parsed).code(), EventError::BadMessage);
  // The genuine one passes.
  auto genuine = EventFromEnvelope(real.encoded);
  ASSERT_TRUE(genuine.ok()) << genuine.message();
  EXPECT_EQ(genuine->id, real.id);
  EXPECT_EQ(genuine->author, w.stranger.public_key());
}

TEST(ActivityEventInput, OtherMessageTypesAreRefused) {
  World w;
  auto node = wire::SignMessage(w.owner, wire::Body{wire::NodeBody{1, {}, false, "n", 1}});
  EXPECT_EQ(EventFromMessage(node).code(), EventError::NotActivity);
  EXPECT_EQ(EventFromEnvelope(Bytes{0x00}).code(), EventError::BadMessage);
}

TEST(ActivityEventInput, StoreRecordsConvert) {
  World w;
  Event e = w.Make(w.reporter, 77, {}, IssueCreate{"t", "b", {}});
  storage::ActivityRecord record{Bytes(e.id.begin(), e.id.end()), e.repo_id, Bytes(e.author.begin(), e.author.end()),
                                 e.timestamp_ms, e.op, e.parents, e.payload_version, e.payload, std::nullopt};
  auto back = EventFromRecord(record);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, e);
  record.event_id.pop_back();
  EXPECT_EQ(EventFromRecord(record).code(), EventError::BadRecord);
}

// ---- issue rules -------------------------------------------------------------------------------

TEST(ActivityFoldIssue, CommentsEditsAndStatus) {
  World w;
  Event root = w.Make(w.reporter, 100, {}, IssueCreate{"Crash", "body", {"bug"}});
  Event c1 = w.Make(w.stranger, 101, {root.id}, IssueComment{"me too", std::nullopt});
  Event edit = w.Make(w.reporter, 102, {c1.id}, IssueEdit{"Crash on start", std::nullopt});
  Event label = w.Make(w.maintainer, 103, {edit.id}, IssueLabel{{"bug", "p1"}});
  Event close = w.Make(w.maintainer, 104, {label.id}, IssueClose{});
  Event c2 = w.Make(w.stranger2, 105, {close.id}, IssueComment{"thanks", c1.id});
  std::vector<Event> events{c2, close, label, edit, c1, root};
  auto s = FoldIssue(events, w.authority, root.id);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->title, "Crash on start");
  EXPECT_EQ(s->body, "body");
  EXPECT_EQ(s->labels, (std::vector<std::string>{"bug", "p1"}));
  EXPECT_EQ(s->status, ThreadStatus::Closed);
  ASSERT_EQ(s->comments.size(), 2u);
  EXPECT_EQ(s->comments[0].body, "me too");
  EXPECT_EQ(s->comments[1].reply_to, c1.id);
  EXPECT_TRUE(s->ignored.empty());
  EXPECT_EQ(s->heads, std::vector<EventId>{c2.id});
  EXPECT_EQ(s->event_count, 6u);
  EXPECT_EQ(s->updated_ms, 105u);
  EXPECT_EQ(s->author, w.reporter.public_key());
}

TEST(ActivityFoldIssue, UnauthorizedCloseAndEditChangeNothing) {
  World w;
  Event root = w.Make(w.reporter, 100, {}, IssueCreate{"t", "b", {}});
  Event close = w.Make(w.stranger, 101, {root.id}, IssueClose{});
  Event edit = w.Make(w.stranger, 102, {close.id}, IssueEdit{"pwned", std::nullopt});
  Event label = w.Make(w.stranger, 103, {edit.id}, IssueLabel{{"spam"}});
  auto s = FoldIssue(std::vector<Event>{root, close, edit, label}, w.authority, root.id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, ThreadStatus::Open);
  EXPECT_EQ(s->title, "t");
  EXPECT_TRUE(s->labels.empty());
  ASSERT_EQ(s->ignored.size(), 3u);
  for (const auto& i : s->ignored) EXPECT_EQ(i.reason, IgnoreReason::Unauthorized);
  EXPECT_EQ(s->heads, std::vector<EventId>{label.id});  // ignored events still count as seen
}

TEST(ActivityFoldIssue, ConcurrentEditsResolveByAuthorKeyThenId) {
  World w;
  Event root = w.Make(w.reporter, 100, {}, IssueCreate{"t", "b", {}});
  // Same parents: same clock. The larger author key applies last and wins, whatever the timestamps.
  Event by_owner = w.Make(w.owner, 500, {root.id}, IssueEdit{"owner's title", std::nullopt});
  Event by_reporter = w.Make(w.reporter, 200, {root.id}, IssueEdit{"reporter's title", std::nullopt});
  const Event& winner = by_owner.author > by_reporter.author ? by_owner : by_reporter;
  auto s = FoldIssue(std::vector<Event>{by_reporter, root, by_owner}, w.authority, root.id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->title, std::get<IssueEdit>(*DecodePayload(winner.op, 1, winner.payload)).title.value());
  EXPECT_EQ(s->heads.size(), 2u);
  // An edit that saw both wins over both, even with the oldest timestamp.
  Event merge = w.Make(w.maintainer, 1, s->heads, IssueEdit{"settled", std::nullopt});
  auto s2 = FoldIssue(std::vector<Event>{merge, by_reporter, root, by_owner}, w.authority, root.id);
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->title, "settled");
  EXPECT_EQ(s2->heads, std::vector<EventId>{merge.id});
}

TEST(ActivityFoldIssue, EventBeforeItsParentIsPendingUntilTheParentArrives) {
  World w;
  Event root = w.Make(w.reporter, 100, {}, IssueCreate{"t", "b", {}});
  Event comment = w.Make(w.stranger, 101, {root.id}, IssueComment{"first", std::nullopt});
  Event close = w.Make(w.owner, 102, {comment.id}, IssueClose{});
  Event after = w.Make(w.stranger, 103, {close.id}, IssueComment{"after", std::nullopt});
  auto early = FoldIssue(std::vector<Event>{root, close, after}, w.authority, root.id);
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->status, ThreadStatus::Open);
  EXPECT_TRUE(early->comments.empty());
  EXPECT_EQ(early->event_count, 1u);
  ASSERT_EQ(early->ignored.size(), 0u) << "close does not name a member: not attributable yet";
  // Once the comment arrives without the close's other ancestors, everything joins.
  auto late = FoldIssue(std::vector<Event>{root, close, after, comment}, w.authority, root.id);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->status, ThreadStatus::Closed);
  EXPECT_EQ(late->comments.size(), 2u);
  // An event naming a member and a missing event is listed as pending, and so is its child.
  Event missing = w.Make(w.stranger2, 104, {root.id}, IssueComment{"never delivered", std::nullopt});
  Event joined = w.Make(w.owner, 105, {after.id, missing.id}, IssueReopen{});
  Event below = w.Make(w.owner, 106, {joined.id}, IssueComment{"below", std::nullopt});
  auto held = FoldIssue(std::vector<Event>{root, comment, close, after, joined, below}, w.authority, root.id);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->status, ThreadStatus::Closed);
  ASSERT_NE(FindIgnored(held->ignored, joined.id), nullptr);
  EXPECT_EQ(FindIgnored(held->ignored, joined.id)->reason, IgnoreReason::Pending);
  ASSERT_NE(FindIgnored(held->ignored, below.id), nullptr);
  EXPECT_EQ(FindIgnored(held->ignored, below.id)->reason, IgnoreReason::Pending);
  EXPECT_EQ(held->heads, std::vector<EventId>{after.id});
  auto resolved =
      FoldIssue(std::vector<Event>{root, comment, close, after, joined, below, missing}, w.authority, root.id);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->status, ThreadStatus::Open);
  EXPECT_TRUE(resolved->ignored.empty());
}

TEST(ActivityFoldIssue, UnknownOpsVersionsAndMalformedPayloadsAreKeptButChangeNothing) {
  World w;
  Event root = w.Make(w.reporter, 100, {}, IssueCreate{"t", "b", {}});
  Event unknown = w.Raw(w.owner, 101, {root.id}, "issue.react", 1, Bytes{0xa0});
  Event v2 = w.Raw(w.owner, 102, {unknown.id}, "issue.close", 2, Bytes{0xa0});
  Event bad = w.Raw(w.owner, 103, {v2.id}, "issue.edit", 1, Bytes{0xa0});
  Event patch_op = w.Raw(w.owner, 104, {bad.id}, "patch.close", 1, Bytes{0xa0});
  Event nested_create = w.Raw(w.owner, 105, {patch_op.id}, "issue.create", 1, EncodePayload(IssueCreate{"x", "", {}}));
  Event child = w.Make(w.owner, 106, {nested_create.id}, IssueClose{});
  auto s = FoldIssue(std::vector<Event>{root, unknown, v2, bad, patch_op, nested_create, child}, w.authority, root.id);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->ignored.size(), 5u);
  EXPECT_EQ(s->ignored[0].reason, IgnoreReason::UnknownOp);
  EXPECT_EQ(s->ignored[1].reason, IgnoreReason::UnknownVersion);
  EXPECT_EQ(s->ignored[2].reason, IgnoreReason::MalformedPayload);
  EXPECT_EQ(s->ignored[3].reason, IgnoreReason::UnknownOp);
  EXPECT_EQ(s->ignored[4].reason, IgnoreReason::BadParents);
  EXPECT_EQ(s->status, ThreadStatus::Closed);  // the child of ignored events still applies
  EXPECT_EQ(s->title, "t");
}

TEST(ActivityFoldIssue, OtherThreadsAndReposStayOut) {
  World w;
  Event a = w.Make(w.reporter, 100, {}, IssueCreate{"a", "", {}});
  Event b = w.Make(w.stranger, 101, {}, IssueCreate{"b", "", {}});
  Event on_b = w.Make(w.stranger, 102, {b.id}, IssueClose{});
  Event both = w.Make(w.owner, 103, {a.id, b.id}, IssueComment{"spans", std::nullopt});
  World other;
  other.repo = identity::ComputeRepoId(Bytes(20, 0x43), other.owner.public_key());
  Event foreign = other.Make(other.owner, 104, {a.id}, IssueClose{});
  std::vector<Event> events{a, b, on_b, both, foreign};
  auto s = FoldIssue(events, w.authority, a.id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, ThreadStatus::Open);
  EXPECT_EQ(s->event_count, 1u);
  ASSERT_EQ(s->ignored.size(), 1u);
  EXPECT_EQ(s->ignored[0].id, both.id);
  EXPECT_EQ(s->ignored[0].reason, IgnoreReason::BadParents);
  auto roots = ListThreads(events, w.repo);
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[0].id, a.id);
  EXPECT_EQ(roots[1].id, b.id);
  EXPECT_EQ(roots[1].kind, ThreadKind::Issue);
  EXPECT_EQ(ThreadEvents(events, w.repo, b.id).size(), 2u);
  auto thread_b = ThreadEvents(events, w.repo, b.id);
  EXPECT_EQ(Heads(thread_b), std::vector<EventId>{on_b.id});
}

TEST(ActivityFoldIssue, RootErrors) {
  World w;
  Event root = w.Make(w.reporter, 100, {}, IssueCreate{"t", "b", {}});
  Event comment = w.Make(w.reporter, 101, {root.id}, IssueComment{"c", std::nullopt});
  Event patch = w.Make(w.reporter, 102, {}, PatchCreate{"main", Bytes(20, 1), Bytes(20, 2), "p", ""});
  // A root (the repo as only parent) whose issue.create payload does not decode.
  wire::ActivityBody body{103, w.repo, {Bytes(w.repo.multihash.begin(), w.repo.multihash.end())}, "issue.create", 1,
                          Bytes{0xa0}};
  Event bad_root = *EventFromMessage(wire::SignMessage(w.reporter, wire::Body{body}));
  std::vector<Event> events{root, comment, patch, bad_root};
  EXPECT_EQ(FoldIssue(events, w.authority, EventId{}).code(), FoldError::NotFound);
  EXPECT_EQ(FoldIssue(events, w.authority, comment.id).code(), FoldError::RootInvalid);
  EXPECT_EQ(FoldIssue(events, w.authority, patch.id).code(), FoldError::WrongKind);
  EXPECT_EQ(FoldPatch(events, w.authority, root.id).code(), FoldError::WrongKind);
  EXPECT_EQ(FoldIssue(events, w.authority, bad_root.id).code(), FoldError::RootInvalid);
}

// ---- patch rules -------------------------------------------------------------------------------

TEST(ActivityFoldPatch, RevisionsReviewsAndMerge) {
  World w;
  Event root = w.Make(w.reporter, 100, {}, PatchCreate{"main", Bytes(20, 1), Bytes(20, 2), "Fix", "desc"});
  Event review1 = w.Make(w.maintainer, 101, {root.id}, PatchReview{Verdict::Reject, "needs a test"});
  Event update = w.Make(w.reporter, 102, {review1.id}, PatchUpdate{Bytes(20, 3), std::nullopt, std::string("added test")});
  Event hijack = w.Make(w.stranger, 103, {update.id}, PatchUpdate{Bytes(20, 9), std::nullopt, std::nullopt});
  Event review2 = w.Make(w.maintainer, 104, {hijack.id}, PatchReview{Verdict::Accept, "LGTM"});
  Event rogue_merge = w.Make(w.reporter, 105, {review2.id}, PatchMerge{Bytes(20, 7)});
  Event rogue_close = w.Make(w.stranger, 106, {rogue_merge.id}, PatchClose{});
  Event comment = w.Make(w.stranger, 107, {rogue_close.id}, PatchComment{"nice", review2.id});
  Event merge = w.Make(w.owner, 108, {comment.id}, PatchMerge{Bytes(20, 8)});
  Event issue_op = w.Make(w.owner, 109, {merge.id}, IssueClose{});
  std::vector<Event> events{issue_op, merge, comment, rogue_close, rogue_merge, review2, hijack, update, review1, root};
  auto s = FoldPatch(events, w.authority, root.id);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->title, "Fix");
  EXPECT_EQ(s->description, "desc");
  EXPECT_EQ(s->base_branch, "main");
  ASSERT_EQ(s->revisions.size(), 2u);
  EXPECT_EQ(s->revisions[0].head, Bytes(20, 2));
  EXPECT_EQ(s->revisions[1].head, Bytes(20, 3));
  EXPECT_EQ(s->revisions[1].base, Bytes(20, 1));  // unchanged base
  EXPECT_EQ(s->revisions[1].note, "added test");
  ASSERT_EQ(s->reviews.size(), 2u);
  EXPECT_EQ(s->reviews[0].revision, 0u);
  EXPECT_EQ(s->reviews[0].verdict, Verdict::Reject);
  EXPECT_EQ(s->reviews[1].revision, 1u);
  EXPECT_EQ(s->reviews[1].verdict, Verdict::Accept);
  ASSERT_EQ(s->comments.size(), 1u);
  EXPECT_EQ(s->status, ThreadStatus::Merged);
  ASSERT_TRUE(s->merge.has_value());
  EXPECT_EQ(s->merge->commit, Bytes(20, 8));
  EXPECT_EQ(s->merge->author, w.owner.public_key());
  ASSERT_EQ(s->ignored.size(), 4u);
  EXPECT_EQ(s->ignored[0].id, hijack.id);
  EXPECT_EQ(s->ignored[1].id, rogue_merge.id);
  EXPECT_EQ(s->ignored[2].id, rogue_close.id);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(s->ignored[i].reason, IgnoreReason::Unauthorized);
  EXPECT_EQ(s->ignored[3].id, issue_op.id);
  EXPECT_EQ(s->ignored[3].reason, IgnoreReason::UnknownOp);
  EXPECT_EQ(s->heads, std::vector<EventId>{issue_op.id});
}

TEST(ActivityFoldPatch, AuthorOrDelegateCloses) {
  World w;
  Event root = w.Make(w.reporter, 100, {}, PatchCreate{"main", Bytes(20, 1), Bytes(20, 2), "Fix", ""});
  Event close = w.Make(w.reporter, 101, {root.id}, PatchClose{});
  auto s = FoldPatch(std::vector<Event>{root, close}, w.authority, root.id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, ThreadStatus::Closed);
  EXPECT_FALSE(s->merge.has_value());
  auto roots = ListThreads(std::vector<Event>{root, close}, w.repo);
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0].kind, ThreadKind::Patch);
}

// ---- id prefixes -------------------------------------------------------------------------------

TEST(ActivityIdPrefix, ResolvesUniquePrefixes) {
  EventId a{}, b{}, c{};
  a[0] = 0xab, a[1] = 0xcd, a[2] = 0xef, a[3] = 0x01;
  b = a, b[3] = 0x02;
  c[0] = 0x12;
  std::vector<EventId> ids{a, b, c, a};
  EXPECT_EQ(*ResolveIdPrefix("abcdef01", ids), a);
  EXPECT_EQ(*ResolveIdPrefix("ABCDEF02", ids), b);
  EXPECT_EQ(*ResolveIdPrefix(ToHex(c), ids), c);
  EXPECT_EQ(ResolveIdPrefix("abcdef0", ids).code(), PrefixError::Ambiguous);
  EXPECT_EQ(ResolveIdPrefix("abcdef", ids).code(), PrefixError::TooShort);
  EXPECT_EQ(ResolveIdPrefix("abcdefg", ids).code(), PrefixError::NotHex);
  EXPECT_EQ(ResolveIdPrefix(std::string(65, 'a'), ids).code(), PrefixError::NotHex);
  EXPECT_EQ(ResolveIdPrefix("9999999", ids).code(), PrefixError::NotFound);
  EXPECT_EQ(ShortId(a), "abcdef0");
}

// ---- the property of issue 8 -------------------------------------------------------------------

namespace {

struct Scenario {
  std::vector<Bytes> envelopes;  // as gossip would deliver them, in creation order
  EventId root{};
  EventId unauthorized_close{};
  EventId forged{};              // id of the forged envelope
  EventId below_forged{};        // a genuine event whose parent is the forged one
  std::pair<EventId, EventId> concurrent_edits;
};

/**
 * A random issue thread: ~20-60 events from five keys with stale views (parents = heads of a
 * random prefix of what exists, so branches are concurrent), every op and every refusal; always
 * two concurrent edits of the title, an unauthorized close, a forged event (another key's
 * signature under the owner's name) with a genuine child, plus a second issue.
 */
Scenario Generate(const World& w, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const identity::NodeKey* keys[] = {&w.owner, &w.maintainer, &w.reporter, &w.stranger, &w.stranger2};
  Scenario sc;
  std::vector<Event> made;
  auto add = [&](const wire::SignedMessage& m) {
    sc.envelopes.push_back(m.encoded);
    made.push_back(*EventFromMessage(m));
    return made.back().id;
  };
  auto sign = [&](const identity::NodeKey& key, const std::vector<EventId>& parents, const Payload& p) {
    auto body = MakeActivityBody(w.repo, 1000 + rng() % 1000, parents, p);
    return wire::SignMessage(key, wire::Body{*body});
  };
  auto stale_heads = [&] {
    size_t k = 1 + pick(made.size());
    return Heads(std::span<const Event>(made.data(), k));
  };
  sc.root = add(sign(w.reporter, {}, IssueCreate{"initial", "body", {"bug"}}));
  size_t steps = 20 + pick(40);
  size_t forced_at = pick(steps);
  for (size_t step = 0; step < steps; ++step) {
    if (step == forced_at) {
      auto parents = Heads(made);
      auto e1 = add(sign(w.owner, parents, IssueEdit{"owner title", std::nullopt}));
      auto e2 = add(sign(w.reporter, parents, IssueEdit{"reporter title", std::nullopt}));
      sc.concurrent_edits = {e1, e2};
      sc.unauthorized_close = add(sign(w.stranger, stale_heads(), IssueClose{}));
      // Forged: claims the owner closed the issue; the signature is the stranger's.
      auto real = sign(w.stranger, Heads(made), IssueClose{});
      Bytes forged =
          wire::EncodeEnvelope(wire::MessageType::Activity, w.owner.public_key(), real.signature, real.body_bytes);
      sc.envelopes.push_back(forged);
      sc.forged = wire::ComputeMessageId(forged);
      // Its author saw the forged event beside a genuine head: attributable to the thread, held.
      auto below = sign(w.maintainer, {sc.forged, made.back().id}, IssueComment{"after the forged close", std::nullopt});
      sc.envelopes.push_back(below.encoded);
      sc.below_forged = below.id;  // never joins: its parent is never accepted
      continue;
    }
    const identity::NodeKey& key = *keys[pick(5)];
    auto parents = stale_heads();
    switch (pick(12)) {
      case 0:
      case 1:
      case 2:
        add(sign(key, parents, IssueComment{"c" + std::to_string(step), std::nullopt}));
        break;
      case 3:
        add(sign(key, parents, IssueEdit{"title " + std::to_string(step), std::nullopt}));
        break;
      case 4:
        add(sign(key, parents, IssueEdit{std::nullopt, "body " + std::to_string(step)}));
        break;
      case 5:
        add(sign(key, parents, IssueClose{}));
        break;
      case 6:
        add(sign(key, parents, IssueReopen{}));
        break;
      case 7:
        add(sign(key, parents, IssueLabel{{"l" + std::to_string(pick(3))}}));
        break;
      case 8:
        add(w.SignRaw(key, 1, parents, "issue.react", 1, Bytes{0xa0}));
        break;
      case 9:
        add(w.SignRaw(key, 1, parents, "issue.close", 2, Bytes{0xa0}));
        break;
      case 10:
        add(w.SignRaw(key, 1, parents, "issue.edit", 1, Bytes{0xa1, 0x00, 0x60}));  // empty title
        break;
      case 11:
        add(sign(key, parents, PatchReview{Verdict::Accept, "wrong kind"}));
        break;
    }
  }
  // A second issue in the same repo.
  auto other = add(sign(w.stranger, {}, IssueCreate{"other", "", {}}));
  add(sign(w.owner, {other}, IssueClose{}));
  return sc;
}

std::vector<size_t> ArrivalOrder(size_t n, size_t replica, uint32_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  if (replica == 0) {
    std::reverse(order.begin() + 1, order.end());  // root first, then children before parents
  } else if (replica > 1) {
    std::mt19937 rng(seed * 7919 + static_cast<uint32_t>(replica));
    std::shuffle(order.begin(), order.end(), rng);
  }
  return order;
}

}  // namespace

TEST(ActivityFoldProperty, ReplicasConvergeToTheReferenceFold) {
  World w;
  constexpr uint32_t SCENARIOS = 60;
  constexpr size_t REPLICAS = 5;
  size_t resolved_pending = 0;
  for (uint32_t seed = 1; seed <= SCENARIOS; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Scenario sc = Generate(w, seed);
    std::vector<IssueState> finals;
    for (size_t replica = 0; replica < REPLICAS; ++replica) {
      std::vector<Event> received;
      std::set<EventId> pending_seen;
      for (size_t index : ArrivalOrder(sc.envelopes.size(), replica, seed)) {
        auto event = EventFromEnvelope(sc.envelopes[index]);  // the forged one is dropped here
        if (!event) {
          EXPECT_EQ(event.code(), EventError::BadMessage);
          EXPECT_EQ(wire::ComputeMessageId(sc.envelopes[index]), sc.forged);
          continue;
        }
        received.push_back(*event);
        if (replica > 2) continue;  // replicas 0-2 are checked after every arrival
        auto state = FoldIssue(received, w.authority, sc.root);
        if (!state) {
          EXPECT_EQ(state.code(), FoldError::NotFound);
          continue;
        }
        auto reference = ReferenceFoldIssue(received, w.authority, sc.root);
        ASSERT_EQ(WithoutDetails(*state), reference) << Describe(*state) << "\nreference:\n" << Describe(reference);
        for (const auto& i : state->ignored)
          if (i.reason == IgnoreReason::Pending) pending_seen.insert(i.id);
      }
      auto state = FoldIssue(received, w.authority, sc.root);
      ASSERT_TRUE(state.ok()) << state.message();
      for (const EventId& id : pending_seen)
        if (id != sc.below_forged) {
          const IgnoredEvent* still = FindIgnored(state->ignored, id);
          EXPECT_TRUE(still == nullptr || still->reason != IgnoreReason::Pending) << ShortId(id) << "\n" << Describe(*state);
          ++resolved_pending;
        }
      finals.push_back(*state);
    }
    for (size_t r = 1; r < REPLICAS; ++r) EXPECT_EQ(finals[r], finals[0]) << "replica " << r;
    // The final state equals the reference and holds each forced case.
    std::vector<Event> all;
    for (const Bytes& e : sc.envelopes)
      if (auto event = EventFromEnvelope(e)) all.push_back(*event);
    EXPECT_EQ(WithoutDetails(finals[0]), ReferenceFoldIssue(all, w.authority, sc.root));
    const IssueState& s = finals[0];
    ASSERT_NE(FindIgnored(s.ignored, sc.unauthorized_close), nullptr);
    EXPECT_EQ(FindIgnored(s.ignored, sc.unauthorized_close)->reason, IgnoreReason::Unauthorized);
    ASSERT_NE(FindIgnored(s.ignored, sc.below_forged), nullptr);
    EXPECT_EQ(FindIgnored(s.ignored, sc.below_forged)->reason, IgnoreReason::Pending);
    EXPECT_EQ(FindIgnored(s.ignored, sc.forged), nullptr);
    EXPECT_EQ(FindIgnored(s.ignored, sc.concurrent_edits.first), nullptr);
    EXPECT_EQ(FindIgnored(s.ignored, sc.concurrent_edits.second), nullptr);
    std::set<EventId> distinct;  // identical events (same key, parents, payload, time) share an id
    for (const Event& e : all) distinct.insert(e.id);
    EXPECT_EQ(s.event_count + 1 /* below_forged */ + 2 /* other issue */, distinct.size());
  }
  EXPECT_GT(resolved_pending, SCENARIOS) << "replica 0 should see children before their parents";
}
