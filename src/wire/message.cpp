#include "wire/message.h"

#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "wire/detail/cbor.h"

namespace p2pgit::wire {

using detail::CborReader;
using detail::CborStatus;
using detail::CborWriter;

namespace {

constexpr std::string_view SIGNING_DOMAIN = "p2pgit/1/";
constexpr size_t ENVELOPE_ITEMS = 5;
/** No body defines more keys; a map claiming more is refused before reading it. */
constexpr uint64_t MAX_BODY_KEYS = 16;
constexpr size_t MAX_OID_BYTES = 32;
constexpr size_t SHA1_OID_BYTES = 20;

Failure<WireError> FromCbor(CborStatus status, const char* what) {
  switch (status) {
    case CborStatus::Truncated:
      return Fail(WireError::Truncated, std::string("truncated ") + what);
    case CborStatus::NonCanonical:
      return Fail(WireError::NonCanonical, std::string(what) + " is not in canonical (shortest) form");
    case CborStatus::TooLarge:
      return Fail(WireError::TooLarge, std::string(what) + " exceeds its size limit");
    case CborStatus::Malformed:
    case CborStatus::Ok:
      break;
  }
  return Fail(WireError::Malformed, std::string("malformed ") + what);
}

#define WIRE_TRY(expr, what)                                                     \
  do {                                                                           \
    if (CborStatus s_ = (expr); s_ != CborStatus::Ok) return FromCbor(s_, what); \
  } while (0)

Failure<WireError> Invalid(const std::string& why) {
  return Fail(WireError::InvalidField, why);
}

/** Timestamps and sequence numbers: uint64 on the wire, but at most MAX_COUNTER_VALUE. */
Status<WireError> ReadCounter(CborReader& r, uint64_t& out, const char* what) {
  WIRE_TRY(r.Uint(out), what);
  if (out > MAX_COUNTER_VALUE) return Invalid(std::string(what) + " exceeds 2^63-1");
  return Ok{};
}

bool IsValidOid(ByteSpan oid) {
  return oid.size() == SHA1_OID_BYTES || oid.size() == MAX_OID_BYTES;
}

bool IsValidDnsName(std::string_view host) {
  if (host.empty() || host.size() > MAX_HOST_BYTES) return false;
  size_t label_start = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      size_t len = i - label_start;
      if (len == 0 || len > 63) return false;
      if (host[label_start] == '-' || host[i - 1] == '-') return false;
      label_start = i + 1;
      continue;
    }
    char c = host[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

/** Characters an IP literal or DNS name can contain. Checked before inet_pton, which stops at
 *  the first NUL: "1.2.3.4\0junk" must not pass as 1.2.3.4. Zone ids ("fe80::1%eth0") and
 *  brackets are local syntax, not addresses. */
bool HasOnlyHostCharacters(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == ':';
  });
}

bool IsValidHost(std::string_view host) {
  if (host.empty() || !HasOnlyHostCharacters(host)) return false;
  std::string h(host);
  unsigned char buf[16];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1) return h != "0.0.0.0";  // never a wildcard
  if (inet_pton(AF_INET6, h.c_str(), buf) == 1) {
    static const unsigned char ANY[16] = {};
    return std::memcmp(buf, ANY, 16) != 0;
  }
  // A name made only of digits and dots would be a malformed IPv4 literal, not a DNS name.
  if (std::all_of(h.begin(), h.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }))
    return false;
  return IsValidDnsName(host);
}

/**
 * True when `text` (valid UTF-8) holds a C0 control, DEL or a C1 control (U+0080..U+009F).
 * Threat: aliases and repo names are printed by CLIs and logs; escape sequences in them could
 * rewrite a user's terminal. Descriptions may contain line breaks and tabs.
 */
bool HasControlCharacters(std::string_view text, bool allow_line_breaks) {
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (allow_line_breaks && (c == '\n' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7f) return true;
    // C1 controls are encoded as 0xc2 0x80..0x9f.
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f) return true;
  }
  return false;
}

/** `text` quoted for an error message, with bytes outside printable ASCII as \xNN, so a hostile
 *  field cannot inject escapes into logs; cut at 64 bytes. */
std::string Quoted(std::string_view text) {
  static const char HEX[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(HEX[c >> 4]);
      out.push_back(HEX[c & 0xf]);
    }
  }
  if (text.size() > 64) out += "...";
  out.push_back('"');
  return out;
}

bool IsValidOp(std::string_view op) {
  if (op.empty() || op.size() > MAX_OP_BYTES) return false;
  return std::all_of(op.begin(), op.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

// ---- encoding -------------------------------------------------------------------------------

void EncodeInto(CborWriter& w, const NodeBody& b) {
  w.Map(5);
  w.Uint(0), w.Uint(b.timestamp_ms);
  w.Uint(1), w.Array(b.addresses.size());
  for (const auto& a : b.addresses) {
    w.Array(2);
    w.Text(a.host);
    w.Uint(a.port);
  }
  w.Uint(2), w.Bool(b.relay);
  w.Uint(3), w.Text(b.alias);
  w.Uint(4), w.Uint(b.protocol_version);
}

void EncodeInto(CborWriter& w, const RepoBody& b) {
  w.Map(9);
  w.Uint(0), w.Uint(b.timestamp_ms);
  w.Uint(1), w.ByteString(b.repo_id.multihash);
  w.Uint(2), w.ByteString(b.root_commit);
  w.Uint(3), w.ByteString(b.creator);
  w.Uint(4), w.Text(b.name);
  w.Uint(5), w.Text(b.description);
  w.Uint(6), w.Array(b.delegates.size());
  for (const auto& d : b.delegates) w.ByteString(d);
  w.Uint(7), w.Text(b.default_branch);
  w.Uint(8), w.Uint(b.sequence);
}

void EncodeInto(CborWriter& w, const RefsBody& b) {
  w.Map(4);
  w.Uint(0), w.Uint(b.timestamp_ms);
  w.Uint(1), w.ByteString(b.repo_id.multihash);
  w.Uint(2), w.Array(b.refs.size());
  for (const auto& r : b.refs) {
    w.Array(2);
    w.Text(r.name);
    w.ByteString(r.oid);
  }
  w.Uint(3), w.Uint(b.sequence);
}

void EncodeInto(CborWriter& w, const InventoryBody& b) {
  w.Map(5);
  w.Uint(0), w.Uint(b.timestamp_ms);
  w.Uint(1), w.Array(b.repos.size());
  for (const auto& r : b.repos) w.ByteString(r.multihash);
  w.Uint(2), w.Uint(b.sequence);
  w.Uint(3), w.Uint(b.page);
  w.Uint(4), w.Uint(b.page_count);
}

void EncodeInto(CborWriter& w, const ActivityBody& b) {
  w.Map(6);
  w.Uint(0), w.Uint(b.timestamp_ms);
  w.Uint(1), w.ByteString(b.repo_id.multihash);
  w.Uint(2), w.Array(b.parents.size());
  for (const auto& p : b.parents) w.ByteString(p);
  w.Uint(3), w.Text(b.op);
  w.Uint(4), w.Uint(b.payload_version);
  w.Uint(5), w.ByteString(b.payload);
}

// ---- decoding -------------------------------------------------------------------------------

/**
 * Walks a body map: keys must be unsigned ints in strictly increasing order (the canonical
 * order), each known to the type; every key in [0, key_count) must be present.
 */
template <typename FieldFn>
Status<WireError> ReadBodyMap(CborReader& r, const char* type_name, uint64_t key_count,
                              FieldFn&& read_field) {
  uint64_t entries;
  WIRE_TRY(r.Map(entries, MAX_BODY_KEYS), "body map");
  uint64_t previous = 0;
  uint64_t seen = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    uint64_t key;
    WIRE_TRY(r.Uint(key), "body key");
    if (i > 0 && key <= previous)
      return Fail(WireError::NonCanonical, std::string(type_name) + " body keys are not in increasing order");
    previous = key;
    if (key >= key_count)
      return Fail(WireError::UnknownField, std::string(type_name) + " body has unknown field " +
                                               std::to_string(key) + " (protocol v1)");
    if (auto s = read_field(key); !s) return s;
    ++seen;
  }
  if (seen != key_count)
    return Fail(WireError::MissingField, std::string(type_name) + " body lacks a required field");
  if (!r.AtEnd()) return Fail(WireError::Malformed, std::string(type_name) + " body has trailing bytes");
  return Ok{};
}

Status<WireError> ReadRepoId(CborReader& r, RepoId& out, const char* what) {
  ByteSpan raw;
  WIRE_TRY(r.ByteString(raw, RepoId::MULTIHASH_BYTES), what);
  auto id = identity::RepoIdFromMultihash(raw);
  if (!id) return Invalid(std::string(what) + ": " + id.message());
  out = *id;
  return Ok{};
}

Status<WireError> ReadKey(CborReader& r, PublicKey& out, const char* what) {
  ByteSpan raw;
  WIRE_TRY(r.ByteString(raw, out.size()), what);
  if (raw.size() != out.size()) return Invalid(std::string(what) + " must be a 32-byte Ed25519 key");
  std::copy(raw.begin(), raw.end(), out.begin());
  return Ok{};
}

Status<WireError> ReadOid(CborReader& r, Bytes& out, const char* what) {
  ByteSpan raw;
  WIRE_TRY(r.ByteString(raw, MAX_OID_BYTES), what);
  if (!IsValidOid(raw)) return Invalid(std::string(what) + " must be a 20- or 32-byte object id");
  out.assign(raw.begin(), raw.end());
  return Ok{};
}

Status<WireError> ReadText(CborReader& r, std::string& out, size_t max, const char* what) {
  std::string_view text;
  WIRE_TRY(r.Text(text, max), what);
  out.assign(text);
  return Ok{};
}

WireResult<Body> DecodeNode(CborReader& r) {
  NodeBody b;
  auto s = ReadBodyMap(r, "node", 5, [&](uint64_t key) -> Status<WireError> {
    switch (key) {
      case 0:
        return ReadCounter(r, b.timestamp_ms, "node timestamp");
      case 1: {
        uint64_t n;
        WIRE_TRY(r.Array(n, MAX_NODE_ADDRESSES), "node addresses");
        for (uint64_t i = 0; i < n; ++i) {
          uint64_t pair, port;
          WIRE_TRY(r.Array(pair, 2), "node address");
          if (pair != 2) return Fail(WireError::Malformed, "node address must be [host, port]");
          Address a;
          if (auto t = ReadText(r, a.host, MAX_HOST_BYTES, "node address host"); !t) return t;
          if (!IsValidHost(a.host))
            return Invalid("node address host " + Quoted(a.host) + " is not an IP literal or DNS name");
          WIRE_TRY(r.Uint(port), "node address port");
          if (port == 0 || port > 65535) return Invalid("node address port must be 1..65535");
          a.port = static_cast<uint16_t>(port);
          b.addresses.push_back(std::move(a));
        }
        return Ok{};
      }
      case 2:
        WIRE_TRY(r.Bool(b.relay), "node relay flag");
        return Ok{};
      case 3:
        if (auto t = ReadText(r, b.alias, MAX_ALIAS_BYTES, "node alias"); !t) return t;
        if (HasControlCharacters(b.alias, false)) return Invalid("node alias contains control characters");
        return Ok{};
      case 4:
        WIRE_TRY(r.Uint(b.protocol_version), "node protocol version");
        if (b.protocol_version == 0) return Invalid("node protocol version must be at least 1");
        return Ok{};
    }
    return Ok{};
  });
  if (!s) return s.error();
  return Body{std::move(b)};
}

WireResult<Body> DecodeRepo(CborReader& r) {
  RepoBody b;
  auto s = ReadBodyMap(r, "repo", 9, [&](uint64_t key) -> Status<WireError> {
    switch (key) {
      case 0:
        return ReadCounter(r, b.timestamp_ms, "repo timestamp");
      case 1:
        return ReadRepoId(r, b.repo_id, "repo id");
      case 2:
        return ReadOid(r, b.root_commit, "repo root commit");
      case 3:
        return ReadKey(r, b.creator, "repo creator");
      case 4:
        if (auto t = ReadText(r, b.name, MAX_REPO_NAME_BYTES, "repo name"); !t) return t;
        if (HasControlCharacters(b.name, false)) return Invalid("repo name contains control characters");
        return Ok{};
      case 5:
        if (auto t = ReadText(r, b.description, MAX_DESCRIPTION_BYTES, "repo description"); !t) return t;
        if (HasControlCharacters(b.description, true))
          return Invalid("repo description contains control characters other than newline and tab");
        return Ok{};
      case 6: {
        uint64_t n;
        WIRE_TRY(r.Array(n, MAX_DELEGATES), "repo delegates");
        if (n == 0) return Invalid("repo delegates must list at least the creator");
        for (uint64_t i = 0; i < n; ++i) {
          PublicKey d;
          if (auto k = ReadKey(r, d, "repo delegate"); !k) return k;
          if (std::find(b.delegates.begin(), b.delegates.end(), d) != b.delegates.end())
            return Invalid("repo delegates list a key twice");
          b.delegates.push_back(d);
        }
        return Ok{};
      }
      case 7:
        if (auto t = ReadText(r, b.default_branch, MAX_REF_NAME_BYTES, "repo default branch"); !t) return t;
        if (!IsValidRefName("heads/" + b.default_branch))
          return Invalid("repo default branch is not a valid branch name");
        return Ok{};
      case 8:
        return ReadCounter(r, b.sequence, "repo sequence");
    }
    return Ok{};
  });
  if (!s) return s.error();
  if (b.delegates.front() != b.creator) return Invalid("repo delegates must start with the creator");
  if (identity::ComputeRepoId(b.root_commit, b.creator) != b.repo_id)
    return Fail(WireError::RepoIdMismatch,
                "repo id " + b.repo_id.ToString() + " is not the hash of its root commit and creator");
  return Body{std::move(b)};
}

WireResult<Body> DecodeRefs(CborReader& r) {
  RefsBody b;
  auto s = ReadBodyMap(r, "refs", 4, [&](uint64_t key) -> Status<WireError> {
    switch (key) {
      case 0:
        return ReadCounter(r, b.timestamp_ms, "refs timestamp");
      case 1:
        return ReadRepoId(r, b.repo_id, "refs repo id");
      case 2: {
        uint64_t n;
        WIRE_TRY(r.Array(n, MAX_REFS_PER_ANNOUNCEMENT), "refs list");
        b.refs.reserve(n);
        for (uint64_t i = 0; i < n; ++i) {
          uint64_t pair;
          WIRE_TRY(r.Array(pair, 2), "ref entry");
          if (pair != 2) return Fail(WireError::Malformed, "ref entry must be [name, oid]");
          RefEntry e;
          if (auto t = ReadText(r, e.name, MAX_REF_NAME_BYTES, "ref name"); !t) return t;
          if (auto refusal = RefNameRefusal(e.name))
            return Invalid("ref name " + Quoted(e.name) + " " + *refusal);
          if (!b.refs.empty() && !(b.refs.back().name < e.name))
            return Fail(WireError::NonCanonical, "refs are not strictly sorted by name (or repeat a name)");
          if (auto o = ReadOid(r, e.oid, "ref object id"); !o) return o;
          // One repository has one object format: ids of two lengths in one message are a lie.
          if (!b.refs.empty() && e.oid.size() != b.refs.front().oid.size())
            return Invalid("ref " + Quoted(e.name) + " has a " + std::to_string(e.oid.size()) +
                           "-byte object id beside " + std::to_string(b.refs.front().oid.size()) + "-byte ones");
          b.refs.push_back(std::move(e));
        }
        return Ok{};
      }
      case 3:
        return ReadCounter(r, b.sequence, "refs sequence");
    }
    return Ok{};
  });
  if (!s) return s.error();
  // Per message: git stores refs as files, so "heads/a" and "heads/a/b" cannot both be written.
  std::vector<std::string_view> names;
  names.reserve(b.refs.size());
  for (const auto& e : b.refs) names.push_back(e.name);
  if (auto conflict = RefDirectoryConflict(names)) return Invalid("refs " + *conflict);
  return Body{std::move(b)};
}

WireResult<Body> DecodeInventory(CborReader& r) {
  InventoryBody b;
  auto s = ReadBodyMap(r, "inventory", 5, [&](uint64_t key) -> Status<WireError> {
    switch (key) {
      case 0:
        return ReadCounter(r, b.timestamp_ms, "inventory timestamp");
      case 1: {
        uint64_t n;
        WIRE_TRY(r.Array(n, MAX_INVENTORY_PAGE_REPOS), "inventory repos");
        b.repos.reserve(n);
        for (uint64_t i = 0; i < n; ++i) {
          RepoId id;
          if (auto k = ReadRepoId(r, id, "inventory repo id"); !k) return k;
          if (!b.repos.empty() && !(b.repos.back() < id))
            return Fail(WireError::NonCanonical, "inventory repos are not strictly sorted (or repeat an id)");
          b.repos.push_back(id);
        }
        return Ok{};
      }
      case 2:
        return ReadCounter(r, b.sequence, "inventory sequence");
      case 3:
        WIRE_TRY(r.Uint(b.page), "inventory page");
        return Ok{};
      case 4:
        WIRE_TRY(r.Uint(b.page_count), "inventory page count");
        return Ok{};
    }
    return Ok{};
  });
  if (!s) return s.error();
  if (b.page_count == 0 || b.page_count > MAX_INVENTORY_PAGES)
    return Invalid("inventory page count out of range");
  if (b.page >= b.page_count) return Invalid("inventory page index beyond page count");
  return Body{std::move(b)};
}

WireResult<Body> DecodeActivity(CborReader& r) {
  ActivityBody b;
  auto s = ReadBodyMap(r, "activity", 6, [&](uint64_t key) -> Status<WireError> {
    switch (key) {
      case 0:
        return ReadCounter(r, b.timestamp_ms, "activity timestamp");
      case 1:
        return ReadRepoId(r, b.repo_id, "activity repo id");
      case 2: {
        uint64_t n;
        WIRE_TRY(r.Array(n, MAX_ACTIVITY_PARENTS), "activity parents");
        if (n == 0) return Invalid("activity needs at least one parent (the repo id for a first event)");
        for (uint64_t i = 0; i < n; ++i) {
          ByteSpan raw;
          WIRE_TRY(r.ByteString(raw, RepoId::MULTIHASH_BYTES), "activity parent");
          Bytes parent(raw.begin(), raw.end());
          // Whether a 34-byte parent is *this* repo's id is checked once the map is read.
          if (parent.size() != 32 && parent.size() != RepoId::MULTIHASH_BYTES)
            return Invalid("activity parent must be a 32-byte event id or this repo's 34-byte id");
          if (!b.parents.empty() && !(b.parents.back() < parent))
            return Fail(WireError::NonCanonical, "activity parents are not strictly sorted (or repeat)");
          b.parents.push_back(std::move(parent));
        }
        return Ok{};
      }
      case 3:
        if (auto t = ReadText(r, b.op, MAX_OP_BYTES, "activity op"); !t) return t;
        if (!IsValidOp(b.op)) return Invalid("activity op must be [a-z0-9._-]{1,64}");
        return Ok{};
      case 4:
        WIRE_TRY(r.Uint(b.payload_version), "activity payload version");
        if (b.payload_version == 0) return Invalid("activity payload version must be at least 1");
        return Ok{};
      case 5: {
        ByteSpan raw;
        WIRE_TRY(r.ByteString(raw, MAX_ACTIVITY_PAYLOAD_BYTES), "activity payload");
        b.payload.assign(raw.begin(), raw.end());
        return Ok{};
      }
    }
    return Ok{};
  });
  if (!s) return s.error();
  for (const Bytes& parent : b.parents) {
    if (parent.size() == RepoId::MULTIHASH_BYTES &&
        !std::equal(parent.begin(), parent.end(), b.repo_id.multihash.begin()))
      return Invalid("activity parent names another repo; only this repo's id may be a root parent");
  }
  return Body{std::move(b)};
}

}  // namespace

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::Node:
      return "node";
    case MessageType::Repo:
      return "repo";
    case MessageType::Refs:
      return "refs";
    case MessageType::Inventory:
      return "inventory";
    case MessageType::Activity:
      return "activity";
  }
  return "unknown";
}

const char* WireErrorName(WireError error) {
  switch (error) {
    case WireError::Truncated:
      return "truncated";
    case WireError::TooLarge:
      return "too-large";
    case WireError::Malformed:
      return "malformed";
    case WireError::NonCanonical:
      return "non-canonical";
    case WireError::UnknownVersion:
      return "unknown-version";
    case WireError::UnknownType:
      return "unknown-type";
    case WireError::UnknownField:
      return "unknown-field";
    case WireError::MissingField:
      return "missing-field";
    case WireError::InvalidField:
      return "invalid-field";
    case WireError::BadSignature:
      return "bad-signature";
    case WireError::AuthorMismatch:
      return "author-mismatch";
    case WireError::RepoIdMismatch:
      return "repo-id-mismatch";
  }
  return "unknown";
}

MessageType TypeOf(const Body& body) {
  return static_cast<MessageType>(body.index() + 1);
}

Bytes EncodeBody(const Body& body) {
  CborWriter w;
  std::visit([&](const auto& b) { EncodeInto(w, b); }, body);
  return w.Take();
}

WireResult<Body> DecodeBody(MessageType type, ByteSpan bytes) {
  if (bytes.size() > MAX_MESSAGE_BYTES) return Fail(WireError::TooLarge, "body exceeds MAX_MESSAGE_BYTES");
  CborReader r(bytes);
  switch (type) {
    case MessageType::Node:
      return DecodeNode(r);
    case MessageType::Repo:
      return DecodeRepo(r);
    case MessageType::Refs:
      return DecodeRefs(r);
    case MessageType::Inventory:
      return DecodeInventory(r);
    case MessageType::Activity:
      return DecodeActivity(r);
  }
  return Fail(WireError::UnknownType, "unknown message type");
}

Bytes SignedBytes(MessageType type, ByteSpan body_bytes) {
  Bytes out(SIGNING_DOMAIN.begin(), SIGNING_DOMAIN.end());
  std::string_view name = MessageTypeName(type);
  out.insert(out.end(), name.begin(), name.end());
  out.push_back('\n');
  out.insert(out.end(), body_bytes.begin(), body_bytes.end());
  return out;
}

MessageId ComputeMessageId(ByteSpan encoded) {
  MessageId id;
  crypto_hash_sha256(id.data(), encoded.data(), encoded.size());
  return id;
}

Bytes EncodeEnvelope(MessageType type, const PublicKey& author, const Signature& signature,
                     ByteSpan body_bytes) {
  CborWriter w;
  w.Array(ENVELOPE_ITEMS);
  w.Uint(PROTOCOL_VERSION);
  w.Uint(static_cast<uint64_t>(type));
  w.ByteString(author);
  w.ByteString(signature);
  w.ByteString(body_bytes);
  return w.Take();
}

SignedMessage SignMessage(const identity::NodeKey& key, Body body) {
  SignedMessage m;
  m.author = key.public_key();
  m.body_bytes = EncodeBody(body);
  m.signature = key.Sign(SignedBytes(TypeOf(body), m.body_bytes));
  m.encoded = EncodeEnvelope(TypeOf(body), m.author, m.signature, m.body_bytes);
  m.id = ComputeMessageId(m.encoded);
  m.body = std::move(body);
  return m;
}

WireResult<SignedMessage> ParseMessage(ByteSpan encoded) {
  if (encoded.size() > MAX_MESSAGE_BYTES)
    return Fail(WireError::TooLarge, "message of " + std::to_string(encoded.size()) + " bytes exceeds " +
                                         std::to_string(MAX_MESSAGE_BYTES));
  CborReader r(encoded);
  uint64_t items, version, type;
  WIRE_TRY(r.Array(items, ENVELOPE_ITEMS), "envelope");
  if (items != ENVELOPE_ITEMS) return Fail(WireError::Malformed, "envelope must have 5 items");
  WIRE_TRY(r.Uint(version), "envelope version");
  if (version != PROTOCOL_VERSION)
    return Fail(WireError::UnknownVersion,
                "protocol version " + std::to_string(version) + " is not supported (this node speaks 1)");
  WIRE_TRY(r.Uint(type), "envelope type");
  if (type < static_cast<uint64_t>(MessageType::Node) || type > static_cast<uint64_t>(MessageType::Activity))
    return Fail(WireError::UnknownType, "unknown message type " + std::to_string(type));
  SignedMessage m;
  if (auto k = ReadKey(r, m.author, "envelope author"); !k) return k.error();
  ByteSpan sig;
  WIRE_TRY(r.ByteString(sig, m.signature.size()), "envelope signature");
  if (sig.size() != m.signature.size())
    return Fail(WireError::InvalidField, "envelope signature must be 64 bytes");
  std::copy(sig.begin(), sig.end(), m.signature.begin());
  ByteSpan body;
  WIRE_TRY(r.ByteString(body, MAX_MESSAGE_BYTES), "envelope body");
  if (!r.AtEnd()) return Fail(WireError::Malformed, "envelope has trailing bytes");
  auto decoded = DecodeBody(static_cast<MessageType>(type), body);
  if (!decoded) return decoded.error();
  m.body = std::move(*decoded);
  m.body_bytes.assign(body.begin(), body.end());
  m.encoded.assign(encoded.begin(), encoded.end());
  m.id = ComputeMessageId(encoded);
  return m;
}

Status<WireError> VerifyMessage(const SignedMessage& m) {
  if (!identity::VerifySignature(m.author, SignedBytes(m.type(), m.body_bytes), m.signature))
    return Fail(WireError::BadSignature, std::string(MessageTypeName(m.type())) +
                                             " message signature does not verify for " +
                                             identity::EncodeDidKey(m.author));
  return Ok{};
}

WireResult<SignedMessage> DecodeMessage(ByteSpan encoded) {
  auto m = ParseMessage(encoded);
  if (!m) return m;
  if (auto v = VerifyMessage(*m); !v) return v.error();
  return m;
}

Status<WireError> CheckRepoAuthority(const RepoBody& candidate, const PublicKey& author,
                                     const RepoBody* latest_accepted) {
  if (author == candidate.creator) return Ok{};
  if (latest_accepted != nullptr && latest_accepted->repo_id == candidate.repo_id &&
      std::find(latest_accepted->delegates.begin(), latest_accepted->delegates.end(), author) !=
          latest_accepted->delegates.end())
    return Ok{};
  return Fail(WireError::AuthorMismatch, "repo announcement for " + candidate.repo_id.ToString() +
                                             " is signed by " + identity::EncodeDidKey(author) +
                                             ", neither its creator nor a current delegate");
}

std::vector<InventoryBody> SplitInventory(std::vector<RepoId> repos, uint64_t sequence,
                                          uint64_t timestamp_ms) {
  std::sort(repos.begin(), repos.end());
  repos.erase(std::unique(repos.begin(), repos.end()), repos.end());
  size_t pages =
      std::max<size_t>(1, (repos.size() + MAX_INVENTORY_PAGE_REPOS - 1) / MAX_INVENTORY_PAGE_REPOS);
  std::vector<InventoryBody> out(pages);
  for (size_t p = 0; p < pages; ++p) {
    out[p].timestamp_ms = timestamp_ms;
    out[p].sequence = sequence;
    out[p].page = p;
    out[p].page_count = pages;
    auto first =
        repos.begin() + static_cast<std::ptrdiff_t>(std::min(repos.size(), p * MAX_INVENTORY_PAGE_REPOS));
    auto last = repos.begin() +
                static_cast<std::ptrdiff_t>(std::min(repos.size(), (p + 1) * MAX_INVENTORY_PAGE_REPOS));
    out[p].repos.assign(first, last);
  }
  return out;
}

std::optional<Address> ParseHostPort(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  unsigned long value = std::stoul(std::string(port));
  if (value == 0 || value > 65535) return std::nullopt;
  return Address{std::string(host), static_cast<uint16_t>(value)};
}

std::string FormatHostPort(const Address& address) {
  bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace p2pgit::wire
