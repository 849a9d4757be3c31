// Folding one issue of 10,000 events (issue 8's goal: < 50 ms). The thread is built as replicas
// build it: 20 authors (3 of them delegates), ~70% comments, edits of title/body, labels,
// close/reopen (some unauthorized), and concurrent branches (an author often names only some of
// the heads). Input order is shuffled. Printed against two floors measured in the same run:
// decoding the 10,000 payloads alone, and verifying the 10,000 signatures (what turning received
// envelopes into fold input costs, EventFromEnvelope).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "activity/fold.h"

using namespace p2pgit;
using namespace p2pgit::activity;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t EVENTS = 10'000;
constexpr size_t AUTHORS = 20;
constexpr size_t DELEGATES = 3;
constexpr double GOAL_MS = 50.0;
constexpr int RUNS = 15;

identity::NodeKey KeyFrom(size_t n) {
  identity::Seed seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i + 13 * n + 1);
  return identity::NodeKey::FromSeed(seed);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

template <typename Fn>
double MedianMs(Fn&& fn) {
  std::vector<double> times;
  for (int i = 0; i < RUNS; ++i) {
    auto start = Clock::now();
    fn();
    times.push_back(Ms(Clock::now() - start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main() {
  std::mt19937 rng(8);
  std::vector<identity::NodeKey> keys;
  for (size_t i = 0; i < AUTHORS; ++i) keys.push_back(KeyFrom(i));
  wire::RepoId repo = identity::ComputeRepoId(Bytes(20, 0x42), keys[0].public_key());
  RepoAuthority authority{repo, {}};
  for (size_t i = 0; i < DELEGATES; ++i) authority.delegates.push_back(keys[i].public_key());

  auto gen_start = Clock::now();
  std::vector<Event> events;
  std::vector<Bytes> envelopes;
  events.reserve(EVENTS);
  auto add = [&](const identity::NodeKey& key, std::vector<EventId> parents, Payload payload) {
    auto body = MakeActivityBody(repo, 1'700'000'000'000 + events.size() * 1000, std::move(parents), std::move(payload));
    auto message = wire::SignMessage(key, wire::Body{*body});
    envelopes.push_back(message.encoded);
    events.push_back(*EventFromMessage(message));
    return events.back().id;
  };
  EventId root = add(keys[5], {}, IssueCreate{"Crash on empty repo", "Steps to reproduce…", {"bug"}});
  std::vector<EventId> heads{root};
  while (events.size() < EVENTS) {
    // Concurrent branches: a third of the events name only one or two of the current heads.
    std::vector<EventId> parents;
    if (rng() % 3 == 0 && heads.size() > 1) {
      std::shuffle(heads.begin(), heads.end(), rng);
      parents.assign(heads.begin(), heads.begin() + 1 + static_cast<std::ptrdiff_t>(rng() % std::min<size_t>(2, heads.size() - 1)));
    } else {
      parents = heads;
      if (parents.size() > wire::MAX_ACTIVITY_PARENTS) parents.resize(wire::MAX_ACTIVITY_PARENTS);
    }
    const identity::NodeKey& key = keys[rng() % AUTHORS];
    std::string n = std::to_string(events.size());
    Payload payload;
    switch (rng() % 20) {
      case 0:
      case 1:
        payload = IssueEdit{"Crash on empty repo (" + n + ")", std::nullopt};
        break;
      case 2:
        payload = IssueEdit{std::nullopt, "Updated steps " + n};
        break;
      case 3:
        payload = IssueClose{};
        break;
      case 4:
        payload = IssueReopen{};
        break;
      case 5:
        payload = IssueLabel{{"bug", "p" + std::to_string(rng() % 3)}};
        break;
      default:
        payload = IssueComment{"Comment " + n + ": I can reproduce this on my machine too.", std::nullopt};
    }
    EventId id = add(key, parents, std::move(payload));
    for (const EventId& p : parents) heads.erase(std::find(heads.begin(), heads.end(), p));
    heads.push_back(id);
  }
  double gen_ms = Ms(Clock::now() - gen_start);
  std::shuffle(events.begin(), events.end(), rng);

  IssueState state;
  double fold_ms = MedianMs([&] { state = *FoldIssue(events, authority, root); });
  double decode_ms = MedianMs([&] {
    size_t ok = 0;
    for (const Event& e : events) ok += DecodePayload(e.op, e.payload_version, e.payload).ok();
    if (ok != EVENTS) std::abort();
  });
  auto verify_start = Clock::now();
  size_t verified = 0;
  for (const Bytes& envelope : envelopes) verified += EventFromEnvelope(envelope).ok();
  double verify_ms = Ms(Clock::now() - verify_start);

  size_t unauthorized = std::count_if(state.ignored.begin(), state.ignored.end(),
                                      [](const IgnoredEvent& i) { return i.reason == IgnoreReason::Unauthorized; });
  std::printf("activity_fold_bench: one issue of %zu events, %zu authors (%zu delegates), shuffled input\n", EVENTS,
              AUTHORS, DELEGATES);
  std::printf("  thread: %zu members, %zu comments, %zu ignored (%zu unauthorized), %zu heads, status %s\n",
              state.event_count, state.comments.size(), state.ignored.size(), unauthorized, state.heads.size(),
              StatusName(state.status));
  std::printf("  generate+sign: %.0f ms\n", gen_ms);
  std::printf("  FoldIssue:        %7.2f ms (median of %d)  goal < %.0f ms: %s\n", fold_ms, RUNS, GOAL_MS,
              fold_ms < GOAL_MS ? "PASS" : "FAIL");
  std::printf("  payload decode:   %7.2f ms  (floor; fold = %.1fx)\n", decode_ms, fold_ms / decode_ms);
  std::printf("  verify envelopes: %7.2f ms  (%zu ok; fold = %.2fx of it)\n", verify_ms, verified, fold_ms / verify_ms);
  return fold_ms < GOAL_MS ? 0 : 1;
}
