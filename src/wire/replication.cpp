#include "wire/replication.h"

#include "wire/detail/cbor.h"

namespace p2pgit::wire {

using detail::CborReader;
using detail::CborStatus;
using detail::CborWriter;

namespace {

enum RequestKind : uint64_t { REPO_STATE = 1, FETCH = 2 };
enum AnswerKind : uint64_t { ANSWER_OK = 0, ANSWER_REFUSED = 1 };
constexpr size_t OID_BYTES = 20;

Failure<WireError> Error(CborStatus status, const char* what) {
  switch (status) {
    case CborStatus::Truncated: return Fail(WireError::Truncated, std::string("truncated ") + what);
    case CborStatus::NonCanonical: return Fail(WireError::NonCanonical, std::string(what) + " is not canonical");
    case CborStatus::TooLarge: return Fail(WireError::TooLarge, std::string(what) + " exceeds its limit");
    default: return Fail(WireError::Malformed, std::string("malformed ") + what);
  }
}

#define REPL_TRY(expr, what)                                                  \
  do {                                                                        \
    if (CborStatus s_ = (expr); s_ != CborStatus::Ok) return Error(s_, what); \
  } while (0)

void WriteOids(CborWriter& w, const std::vector<Bytes>& oids) {
  w.Array(oids.size());
  for (const auto& oid : oids) w.ByteString(oid);
}

Result<std::vector<Bytes>, WireError> ReadOids(CborReader& r, size_t max, const char* what) {
  uint64_t n;
  REPL_TRY(r.Array(n, max), what);
  std::vector<Bytes> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    ByteSpan raw;
    REPL_TRY(r.ByteString(raw, OID_BYTES), "object id");
    if (raw.size() != OID_BYTES) return Fail(WireError::InvalidField, "object id must be 20 bytes");
    out.emplace_back(raw.begin(), raw.end());
  }
  return out;
}

Result<RepoId, WireError> ReadRepo(CborReader& r) {
  ByteSpan raw;
  REPL_TRY(r.ByteString(raw, 64), "repo id");
  auto id = identity::RepoIdFromMultihash(raw);
  if (!id) return Fail(WireError::InvalidField, "repo id is not a sha2-256 multihash");
  return *id;
}

}  // namespace

Bytes EncodeReplicationRequest(const ReplicationRequest& request) {
  CborWriter w;
  if (const auto* state = std::get_if<RepoStateRequest>(&request)) {
    w.Array(2), w.Uint(REPO_STATE), w.ByteString(state->repo.multihash);
  } else {
    const auto& fetch = std::get<FetchRequest>(request);
    w.Array(4), w.Uint(FETCH), w.ByteString(fetch.repo.multihash);
    WriteOids(w, fetch.wants);
    WriteOids(w, fetch.haves);
  }
  return w.Take();
}

WireResult<ReplicationRequest> DecodeReplicationRequest(ByteSpan bytes) {
  CborReader r(bytes);
  uint64_t items, kind;
  REPL_TRY(r.Array(items, 4), "replication request");
  if (items < 2) return Fail(WireError::Malformed, "replication request needs a kind and a repo");
  REPL_TRY(r.Uint(kind), "request kind");
  ReplicationRequest out;
  if (kind == REPO_STATE) {
    if (items != 2) return Fail(WireError::Malformed, "repo-state request must have 2 items");
    auto repo = ReadRepo(r);
    if (!repo) return repo.error();
    out = RepoStateRequest{*repo};
  } else if (kind == FETCH) {
    if (items != 4) return Fail(WireError::Malformed, "fetch request must have 4 items");
    auto repo = ReadRepo(r);
    if (!repo) return repo.error();
    auto wants = ReadOids(r, MAX_FETCH_WANTS, "wants");
    if (!wants) return wants.error();
    if (wants->empty()) return Fail(WireError::InvalidField, "fetch request wants nothing");
    auto haves = ReadOids(r, MAX_FETCH_HAVES, "haves");
    if (!haves) return haves.error();
    out = FetchRequest{*repo, std::move(*wants), std::move(*haves)};
  } else {
    return Fail(WireError::UnknownType, "unknown replication request kind " + std::to_string(kind));
  }
  if (!r.AtEnd()) return Fail(WireError::Malformed, "replication request has trailing bytes");
  return out;
}

Bytes EncodeFetchAnswer(const FetchAnswer& answer) {
  CborWriter w;
  if (answer.ok) {
    w.Array(2), w.Uint(ANSWER_OK);
    WriteOids(w, answer.missing);
  } else {
    w.Array(2), w.Uint(ANSWER_REFUSED), w.Text(answer.reason.substr(0, MAX_REASON_BYTES));
  }
  return w.Take();
}

WireResult<FetchAnswer> DecodeFetchAnswer(ByteSpan bytes) {
  CborReader r(bytes);
  uint64_t items, kind;
  REPL_TRY(r.Array(items, 2), "fetch answer");
  if (items != 2) return Fail(WireError::Malformed, "fetch answer must have 2 items");
  REPL_TRY(r.Uint(kind), "fetch answer kind");
  FetchAnswer out;
  if (kind == ANSWER_OK) {
    out.ok = true;
    auto missing = ReadOids(r, MAX_FETCH_WANTS, "missing");
    if (!missing) return missing.error();
    out.missing = std::move(*missing);
  } else if (kind == ANSWER_REFUSED) {
    std::string_view reason;
    REPL_TRY(r.Text(reason, MAX_REASON_BYTES), "refusal reason");
    out.reason = std::string(reason);
  } else {
    return Fail(WireError::UnknownType, "unknown fetch answer kind " + std::to_string(kind));
  }
  if (!r.AtEnd()) return Fail(WireError::Malformed, "fetch answer has trailing bytes");
  return out;
}

}  // namespace p2pgit::wire
