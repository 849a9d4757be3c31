#include "activity/events.h"

#include <algorithm>

#include "wire/detail/cbor.h"

namespace p2pgit::activity {

using wire::detail::CborReader;
using wire::detail::CborStatus;
using wire::detail::CborWriter;

namespace {

constexpr size_t SHA1_OID_BYTES = 20;
constexpr size_t SHA256_OID_BYTES = 32;

struct OpEntry {
  Op op;
  const char* name;
};
constexpr OpEntry OPS[] = {
    {Op::IssueCreate, "issue.create"}, {Op::IssueComment, "issue.comment"}, {Op::IssueEdit, "issue.edit"},
    {Op::IssueClose, "issue.close"},   {Op::IssueReopen, "issue.reopen"},   {Op::IssueLabel, "issue.label"},
    {Op::PatchCreate, "patch.create"}, {Op::PatchUpdate, "patch.update"},   {Op::PatchComment, "patch.comment"},
    {Op::PatchReview, "patch.review"}, {Op::PatchMerge, "patch.merge"},     {Op::PatchClose, "patch.close"},
};

Failure<PayloadError> FromCbor(CborStatus status, const std::string& what) {
  switch (status) {
    case CborStatus::Truncated:
      return Fail(PayloadError::Truncated, "truncated " + what);
    case CborStatus::NonCanonical:
      return Fail(PayloadError::NonCanonical, what + " is not in canonical (shortest) form");
    case CborStatus::TooLarge:
      return Fail(PayloadError::TooLarge, what + " exceeds its size limit");
    case CborStatus::Malformed:
    case CborStatus::Ok:
      break;
  }
  return Fail(PayloadError::Malformed, "malformed " + what);
}

#define PAYLOAD_TRY(expr, what)                                                  \
  do {                                                                           \
    if (CborStatus s_ = (expr); s_ != CborStatus::Ok) return FromCbor(s_, what); \
  } while (0)

Failure<PayloadError> Invalid(std::string why) {
  return Fail(PayloadError::InvalidField, std::move(why));
}

/** C0 controls, DEL, C1 controls (U+0080..U+009F); `multiline` allows newline and tab. Threat:
 *  titles, labels and comments are printed by the CLI; escapes could rewrite a terminal. */
bool HasControlCharacters(std::string_view text, bool multiline) {
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (multiline && (c == '\n' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f) return true;
  }
  return false;
}

bool IsValidOid(ByteSpan oid) {
  return oid.size() == SHA1_OID_BYTES || oid.size() == SHA256_OID_BYTES;
}

// ---- field rules (shared by encode-side checks and decode) -------------------------------------

Status<PayloadError> CheckTitle(std::string_view title, const std::string& what) {
  if (title.empty()) return Invalid(what + " must not be empty");
  if (title.size() > MAX_TITLE_BYTES) return Fail(PayloadError::TooLarge, what + " exceeds 256 bytes");
  if (HasControlCharacters(title, false)) return Invalid(what + " contains control characters");
  return Ok{};
}

Status<PayloadError> CheckText(std::string_view text, bool allow_empty, const std::string& what) {
  if (!allow_empty && text.empty()) return Invalid(what + " must not be empty");
  if (text.size() > MAX_TEXT_BYTES) return Fail(PayloadError::TooLarge, what + " exceeds MAX_TEXT_BYTES");
  if (HasControlCharacters(text, true))
    return Invalid(what + " contains control characters other than newline and tab");
  return Ok{};
}

Status<PayloadError> CheckLabel(std::string_view label) {
  if (label.empty()) return Invalid("label must not be empty");
  if (label.size() > MAX_LABEL_BYTES) return Fail(PayloadError::TooLarge, "label exceeds 64 bytes");
  if (HasControlCharacters(label, false)) return Invalid("label contains control characters");
  return Ok{};
}

/** A branch a payload names reaches git (`patch merge` checks it out): it must pass the one
 *  ref-name policy, wire::IsValidRefName("heads/<branch>"), which refuses what git could read
 *  as an option ("-f", "--upload-pack=x") or a revision expression ("a..b"). */
Status<PayloadError> CheckBranch(std::string_view branch, const std::string& what) {
  if (!wire::IsValidRefName("heads/" + std::string(branch))) return Invalid(what + " is not a valid branch name");
  return Ok{};
}

Status<PayloadError> CheckOid(ByteSpan oid, const std::string& what) {
  if (!IsValidOid(oid)) return Invalid(what + " must be a 20- or 32-byte object id");
  return Ok{};
}

// ---- encoding ----------------------------------------------------------------------------------

void WriteLabels(CborWriter& w, const std::vector<std::string>& labels) {
  w.Array(labels.size());
  for (const auto& l : labels) w.Text(l);
}

void WriteComment(CborWriter& w, const std::string& body, const std::optional<EventId>& reply_to) {
  w.Map(reply_to ? 2 : 1);
  w.Uint(0), w.Text(body);
  if (reply_to) w.Uint(1), w.ByteString(*reply_to);
}

void EncodeInto(CborWriter& w, const IssueCreate& p) {
  w.Map(3);
  w.Uint(0), w.Text(p.title);
  w.Uint(1), w.Text(p.body);
  w.Uint(2), WriteLabels(w, p.labels);
}
void EncodeInto(CborWriter& w, const IssueComment& p) { WriteComment(w, p.body, p.reply_to); }
void EncodeInto(CborWriter& w, const IssueEdit& p) {
  w.Map((p.title ? 1 : 0) + (p.body ? 1 : 0));
  if (p.title) w.Uint(0), w.Text(*p.title);
  if (p.body) w.Uint(1), w.Text(*p.body);
}
void EncodeInto(CborWriter& w, const IssueClose&) { w.Map(0); }
void EncodeInto(CborWriter& w, const IssueReopen&) { w.Map(0); }
void EncodeInto(CborWriter& w, const IssueLabel& p) {
  w.Map(1);
  w.Uint(0), WriteLabels(w, p.labels);
}
void EncodeInto(CborWriter& w, const PatchCreate& p) {
  w.Map(5);
  w.Uint(0), w.Text(p.base_branch);
  w.Uint(1), w.ByteString(p.base);
  w.Uint(2), w.ByteString(p.head);
  w.Uint(3), w.Text(p.title);
  w.Uint(4), w.Text(p.description);
}
void EncodeInto(CborWriter& w, const PatchUpdate& p) {
  w.Map(1 + (p.base ? 1 : 0) + (p.note ? 1 : 0));
  w.Uint(0), w.ByteString(p.head);
  if (p.base) w.Uint(1), w.ByteString(*p.base);
  if (p.note) w.Uint(2), w.Text(*p.note);
}
void EncodeInto(CborWriter& w, const PatchComment& p) { WriteComment(w, p.body, p.reply_to); }
void EncodeInto(CborWriter& w, const PatchReview& p) {
  w.Map(2);
  w.Uint(0), w.Uint(static_cast<uint64_t>(p.verdict));
  w.Uint(1), w.Text(p.comment);
}
void EncodeInto(CborWriter& w, const PatchMerge& p) {
  w.Map(1);
  w.Uint(0), w.ByteString(p.commit);
}
void EncodeInto(CborWriter& w, const PatchClose&) { w.Map(0); }

// ---- decoding ----------------------------------------------------------------------------------

/**
 * Walks a payload map: unsigned keys strictly increasing, each < key_count; `required` is a
 * bitmask of keys that must be present. read_field(key) reads one value.
 */
template <typename FieldFn>
Status<PayloadError> ReadPayloadMap(CborReader& r, const std::string& op, uint64_t key_count, uint32_t required,
                                    FieldFn&& read_field) {
  uint64_t entries;
  PAYLOAD_TRY(r.Map(entries, MAX_PAYLOAD_KEYS), op + " payload map");
  uint64_t previous = 0;
  uint32_t seen = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    uint64_t key;
    PAYLOAD_TRY(r.Uint(key), op + " payload key");
    if (i > 0 && key <= previous)
      return Fail(PayloadError::NonCanonical, op + " payload keys are not in increasing order");
    previous = key;
    if (key >= key_count)
      return Fail(PayloadError::UnknownField,
                  op + " payload has unknown field " + std::to_string(key) + " (payload v1)");
    if (auto s = read_field(key); !s) return s;
    seen |= 1u << key;
  }
  if ((seen & required) != required)
    return Fail(PayloadError::MissingField, op + " payload lacks a required field");
  if (!r.AtEnd()) return Fail(PayloadError::Malformed, op + " payload has trailing bytes");
  return Ok{};
}

Status<PayloadError> ReadText(CborReader& r, std::string& out, size_t max, const std::string& what) {
  std::string_view text;
  PAYLOAD_TRY(r.Text(text, max), what);
  out.assign(text);
  return Ok{};
}

Status<PayloadError> ReadTitle(CborReader& r, std::string& out, const std::string& what) {
  if (auto s = ReadText(r, out, MAX_TITLE_BYTES, what); !s) return s;
  return CheckTitle(out, what);
}

Status<PayloadError> ReadLongText(CborReader& r, std::string& out, bool allow_empty, const std::string& what) {
  if (auto s = ReadText(r, out, MAX_TEXT_BYTES, what); !s) return s;
  return CheckText(out, allow_empty, what);
}

Status<PayloadError> ReadLabels(CborReader& r, std::vector<std::string>& out) {
  uint64_t n;
  PAYLOAD_TRY(r.Array(n, MAX_LABELS), "labels");
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string label;
    if (auto s = ReadText(r, label, MAX_LABEL_BYTES, "label"); !s) return s;
    if (auto s = CheckLabel(label); !s) return s;
    if (!out.empty() && !(out.back() < label))
      return Fail(PayloadError::NonCanonical, "labels are not strictly sorted (or repeat)");
    out.push_back(std::move(label));
  }
  return Ok{};
}

Status<PayloadError> ReadOid(CborReader& r, Bytes& out, const std::string& what) {
  ByteSpan raw;
  PAYLOAD_TRY(r.ByteString(raw, SHA256_OID_BYTES), what);
  if (auto s = CheckOid(raw, what); !s) return s;
  out.assign(raw.begin(), raw.end());
  return Ok{};
}

Status<PayloadError> ReadEventId(CborReader& r, EventId& out, const std::string& what) {
  ByteSpan raw;
  PAYLOAD_TRY(r.ByteString(raw, out.size()), what);
  if (raw.size() != out.size()) return Invalid(what + " must be a 32-byte event id");
  std::copy(raw.begin(), raw.end(), out.begin());
  return Ok{};
}

/** Comments of issues and patches share one shape. */
template <typename T>
PayloadResult<Payload> DecodeComment(CborReader& r, const std::string& op) {
  T p;
  auto s = ReadPayloadMap(r, op, 2, 0b01, [&](uint64_t key) -> Status<PayloadError> {
    if (key == 0) return ReadLongText(r, p.body, false, op + " body");
    EventId id;
    if (auto e = ReadEventId(r, id, op + " reply_to"); !e) return e;
    p.reply_to = id;
    return Ok{};
  });
  if (!s) return s.error();
  return Payload{std::move(p)};
}

template <typename T>
PayloadResult<Payload> DecodeEmpty(CborReader& r, const std::string& op) {
  auto s = ReadPayloadMap(r, op, 0, 0, [](uint64_t) -> Status<PayloadError> { return Ok{}; });
  if (!s) return s.error();
  return Payload{T{}};
}

PayloadResult<Payload> DecodeOp(Op op, CborReader& r) {
  const std::string name = OpName(op);
  switch (op) {
    case Op::IssueCreate: {
      IssueCreate p;
      auto s = ReadPayloadMap(r, name, 3, 0b111, [&](uint64_t key) -> Status<PayloadError> {
        if (key == 0) return ReadTitle(r, p.title, "issue title");
        if (key == 1) return ReadLongText(r, p.body, true, "issue body");
        return ReadLabels(r, p.labels);
      });
      if (!s) return s.error();
      return Payload{std::move(p)};
    }
    case Op::IssueComment:
      return DecodeComment<IssueComment>(r, name);
    case Op::IssueEdit: {
      IssueEdit p;
      auto s = ReadPayloadMap(r, name, 2, 0, [&](uint64_t key) -> Status<PayloadError> {
        std::string text;
        if (key == 0) {
          if (auto t = ReadTitle(r, text, "issue title"); !t) return t;
          p.title = std::move(text);
        } else {
          if (auto t = ReadLongText(r, text, true, "issue body"); !t) return t;
          p.body = std::move(text);
        }
        return Ok{};
      });
      if (!s) return s.error();
      if (!p.title && !p.body) return Fail(PayloadError::MissingField, "issue.edit changes neither title nor body");
      return Payload{std::move(p)};
    }
    case Op::IssueClose:
      return DecodeEmpty<IssueClose>(r, name);
    case Op::IssueReopen:
      return DecodeEmpty<IssueReopen>(r, name);
    case Op::IssueLabel: {
      IssueLabel p;
      auto s = ReadPayloadMap(r, name, 1, 0b1, [&](uint64_t) { return ReadLabels(r, p.labels); });
      if (!s) return s.error();
      return Payload{std::move(p)};
    }
    case Op::PatchCreate: {
      PatchCreate p;
      auto s = ReadPayloadMap(r, name, 5, 0b11111, [&](uint64_t key) -> Status<PayloadError> {
        switch (key) {
          case 0:
            if (auto t = ReadText(r, p.base_branch, wire::MAX_REF_NAME_BYTES, "patch base branch"); !t) return t;
            return CheckBranch(p.base_branch, "patch base branch");
          case 1:
            return ReadOid(r, p.base, "patch base");
          case 2:
            return ReadOid(r, p.head, "patch head");
          case 3:
            return ReadTitle(r, p.title, "patch title");
          default:
            return ReadLongText(r, p.description, true, "patch description");
        }
      });
      if (!s) return s.error();
      return Payload{std::move(p)};
    }
    case Op::PatchUpdate: {
      PatchUpdate p;
      auto s = ReadPayloadMap(r, name, 3, 0b001, [&](uint64_t key) -> Status<PayloadError> {
        if (key == 0) return ReadOid(r, p.head, "patch head");
        if (key == 1) {
          Bytes base;
          if (auto o = ReadOid(r, base, "patch base"); !o) return o;
          p.base = std::move(base);
          return Ok{};
        }
        std::string note;
        if (auto t = ReadLongText(r, note, true, "patch update note"); !t) return t;
        p.note = std::move(note);
        return Ok{};
      });
      if (!s) return s.error();
      return Payload{std::move(p)};
    }
    case Op::PatchComment:
      return DecodeComment<PatchComment>(r, name);
    case Op::PatchReview: {
      PatchReview p;
      auto s = ReadPayloadMap(r, name, 2, 0b11, [&](uint64_t key) -> Status<PayloadError> {
        if (key == 1) return ReadLongText(r, p.comment, true, "review comment");
        uint64_t verdict;
        PAYLOAD_TRY(r.Uint(verdict), "review verdict");
        if (verdict != 1 && verdict != 2) return Invalid("review verdict must be 1 (accept) or 2 (reject)");
        p.verdict = static_cast<Verdict>(verdict);
        return Ok{};
      });
      if (!s) return s.error();
      return Payload{std::move(p)};
    }
    case Op::PatchMerge: {
      PatchMerge p;
      auto s = ReadPayloadMap(r, name, 1, 0b1, [&](uint64_t) { return ReadOid(r, p.commit, "merge commit"); });
      if (!s) return s.error();
      return Payload{std::move(p)};
    }
    case Op::PatchClose:
      return DecodeEmpty<PatchClose>(r, name);
  }
  return Fail(PayloadError::UnknownOp, "unknown op");
}

}  // namespace

const char* OpName(Op op) {
  for (const auto& e : OPS)
    if (e.op == op) return e.name;
  return "unknown";
}

std::optional<Op> ParseOp(std::string_view name) {
  for (const auto& e : OPS)
    if (name == e.name) return e.op;
  return std::nullopt;
}

bool IsIssueOp(Op op) {
  return op <= Op::IssueLabel;
}

Op OpOf(const Payload& payload) {
  return static_cast<Op>(payload.index());
}

const char* PayloadErrorName(PayloadError error) {
  switch (error) {
    case PayloadError::Truncated:
      return "truncated";
    case PayloadError::TooLarge:
      return "too-large";
    case PayloadError::Malformed:
      return "malformed";
    case PayloadError::NonCanonical:
      return "non-canonical";
    case PayloadError::UnknownOp:
      return "unknown-op";
    case PayloadError::UnknownVersion:
      return "unknown-version";
    case PayloadError::UnknownField:
      return "unknown-field";
    case PayloadError::MissingField:
      return "missing-field";
    case PayloadError::InvalidField:
      return "invalid-field";
  }
  return "unknown";
}

Bytes EncodePayload(const Payload& payload) {
  CborWriter w;
  std::visit([&](const auto& p) { EncodeInto(w, p); }, payload);
  return w.Take();
}

PayloadResult<Payload> DecodePayload(std::string_view op, uint64_t payload_version, ByteSpan bytes) {
  if (payload_version != PAYLOAD_VERSION)
    return Fail(PayloadError::UnknownVersion,
                "payload version " + std::to_string(payload_version) + " is not supported (this node reads 1)");
  auto parsed = ParseOp(op);
  if (!parsed) {
    std::string shown(op.substr(0, wire::MAX_OP_BYTES));
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return Fail(PayloadError::UnknownOp, "unknown op \"" + shown + "\"");
  }
  if (bytes.size() > wire::MAX_ACTIVITY_PAYLOAD_BYTES)
    return Fail(PayloadError::TooLarge, "payload exceeds MAX_ACTIVITY_PAYLOAD_BYTES");
  CborReader r(bytes);
  return DecodeOp(*parsed, r);
}

Status<PayloadError> CheckPayload(const Payload& payload) {
  Bytes bytes = EncodePayload(payload);
  auto decoded = DecodePayload(OpName(OpOf(payload)), PAYLOAD_VERSION, bytes);
  if (!decoded) return decoded.error();
  return Ok{};
}

std::vector<std::string> NormalizeLabels(std::vector<std::string> labels) {
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

PayloadResult<wire::ActivityBody> MakeActivityBody(const wire::RepoId& repo, uint64_t timestamp_ms,
                                                   std::vector<EventId> parents, Payload payload) {
  if (auto* create = std::get_if<IssueCreate>(&payload)) create->labels = NormalizeLabels(create->labels);
  if (auto* label = std::get_if<IssueLabel>(&payload)) label->labels = NormalizeLabels(label->labels);
  if (auto s = CheckPayload(payload); !s) return s.error();
  if (timestamp_ms > wire::MAX_COUNTER_VALUE) return Invalid("timestamp exceeds 2^63-1");
  Op op = OpOf(payload);
  wire::ActivityBody body;
  body.timestamp_ms = timestamp_ms;
  body.repo_id = repo;
  if (op == Op::IssueCreate || op == Op::PatchCreate) {
    body.parents.emplace_back(repo.multihash.begin(), repo.multihash.end());
  } else {
    std::sort(parents.begin(), parents.end());
    parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
    if (parents.empty()) return Invalid(std::string(OpName(op)) + " needs the thread's heads as parents");
    // More heads than a body may carry (a thread with > 64 concurrent branches): name the first
    // 64. The event then merges only those branches; the fold stays correct, only less causal.
    if (parents.size() > wire::MAX_ACTIVITY_PARENTS) parents.resize(wire::MAX_ACTIVITY_PARENTS);
    for (const auto& p : parents) body.parents.emplace_back(p.begin(), p.end());
  }
  body.op = OpName(op);
  body.payload_version = PAYLOAD_VERSION;
  body.payload = EncodePayload(payload);
  return body;
}

}  // namespace p2pgit::activity
