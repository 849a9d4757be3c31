// Signed gossip messages: bodies, the envelope, canonical bytes, ids. docs/PROTOCOL.md is the spec.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "identity/did.h"
#include "identity/node_key.h"
#include "wire/ref_name.h"  // IsValidRefName, MAX_REF_NAME_BYTES: the ref-name policy

namespace p2pgit::wire {

using identity::PublicKey;
using identity::RepoId;
using identity::Signature;
using MessageId = std::array<uint8_t, 32>;

inline constexpr uint64_t PROTOCOL_VERSION = 1;

// Named limits: each caps what one peer can make us parse, hold or store with one message.
/** Whole envelope: a maximal Refs message (MAX_REFS_PER_ANNOUNCEMENT entries of the longest name
 *  and a 32-byte oid, ~2.4 MB) fits. Threat: memory per received message. Gossip datagrams are
 *  far smaller; big messages travel on streams. Same order as Bitcoin Core's
 *  MAX_PROTOCOL_MESSAGE_LENGTH (4 MB). */
inline constexpr size_t MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Addresses one node may advertise. Threat: address spam filling routing tables and making us
 *  dial many hosts for one node. */
inline constexpr size_t MAX_NODE_ADDRESSES = 16;
/** A DNS name's length limit (RFC 1035); IP literals are shorter. */
inline constexpr size_t MAX_HOST_BYTES = 253;
/** Shown in listings, not a document. Threat: storage and screen spam per node. */
inline constexpr size_t MAX_ALIAS_BYTES = 64;
/** Threat: storage per repo announcement (every node keeps the latest one per repo). */
inline constexpr size_t MAX_REPO_NAME_BYTES = 128;
inline constexpr size_t MAX_DESCRIPTION_BYTES = 1024;
/** Each delegate may sign the next Repo message. Threat: unbounded authority lists and the
 *  lookups done per announcement. */
inline constexpr size_t MAX_DELEGATES = 32;
/** Refs per announcement: 8192 * 291 bytes (longest entry) < MAX_MESSAGE_BYTES. Threat: rows
 *  written per message. A repo with more refs than this cannot be announced whole (documented). */
inline constexpr size_t MAX_REFS_PER_ANNOUNCEMENT = 8192;
/** Repo ids per inventory page (~36 KB); larger inventories are paged, never truncated. */
inline constexpr size_t MAX_INVENTORY_PAGE_REPOS = 1024;
/** Pages per inventory: 1M repos per node. Threat: rows one node can make us keep. */
inline constexpr size_t MAX_INVENTORY_PAGES = 1024;
/** Parents per activity event. Threat: DAG fan-in work (each parent is looked up). */
inline constexpr size_t MAX_ACTIVITY_PARENTS = 64;
/** Operation names are identifiers such as "issue.create", not text. */
inline constexpr size_t MAX_OP_BYTES = 64;
/** Threat: storage per event; big content belongs in git objects, not in gossip. */
inline constexpr size_t MAX_ACTIVITY_PAYLOAD_BYTES = 64 * 1024;
/** Timestamps and sequences stay within a signed 64-bit integer, so every store and language
 *  orders them the same way (SQLite integers are signed). */
inline constexpr uint64_t MAX_COUNTER_VALUE = 0x7fffffffffffffffULL;

enum class MessageType : uint8_t { Node = 1, Repo = 2, Refs = 3, Inventory = 4, Activity = 5 };

const char* MessageTypeName(MessageType type);  // "node", "repo", …

struct Address {
  std::string host;  // IPv4/IPv6 literal or DNS name
  uint16_t port = 0;
  bool operator==(const Address&) const = default;
};

/** Parses "host:port" or "[v6]:port" (port 1..65535); nullopt when malformed. The host is not
 *  resolved or validated here (encoding a Node body checks it). */
std::optional<Address> ParseHostPort(std::string_view text);
/** "host:port", with brackets around an IPv6 literal. */
std::string FormatHostPort(const Address& address);

struct NodeBody {
  uint64_t timestamp_ms = 0;
  std::vector<Address> addresses;
  bool relay = false;
  std::string alias;
  uint64_t protocol_version = PROTOCOL_VERSION;
  bool operator==(const NodeBody&) const = default;
};

struct RepoBody {
  uint64_t timestamp_ms = 0;
  RepoId repo_id;
  Bytes root_commit;  // raw object id: 20 bytes (SHA-1) or 32 (SHA-256)
  PublicKey creator{};
  std::string name;
  std::string description;
  std::vector<PublicKey> delegates;  // creator first
  std::string default_branch;        // e.g. "main"
  uint64_t sequence = 0;
  bool operator==(const RepoBody&) const = default;
};

struct RefEntry {
  std::string name;  // relative to the signer's namespace: "heads/main", "tags/v1"
  Bytes oid;         // raw object id, 20 or 32 bytes
  bool operator==(const RefEntry&) const = default;
};

struct RefsBody {
  uint64_t timestamp_ms = 0;
  RepoId repo_id;
  std::vector<RefEntry> refs;  // strictly sorted by name (bytewise)
  uint64_t sequence = 0;
  bool operator==(const RefsBody&) const = default;
};

struct InventoryBody {
  uint64_t timestamp_ms = 0;
  std::vector<RepoId> repos;  // strictly sorted
  uint64_t sequence = 0;
  uint64_t page = 0;
  uint64_t page_count = 1;
  bool operator==(const InventoryBody&) const = default;
};

struct ActivityBody {
  uint64_t timestamp_ms = 0;
  RepoId repo_id;
  std::vector<Bytes> parents;  // 32-byte event ids, or the repo id's 34-byte multihash; sorted
  std::string op;              // e.g. "issue.create"
  uint64_t payload_version = 1;
  Bytes payload;
  bool operator==(const ActivityBody&) const = default;
};

using Body = std::variant<NodeBody, RepoBody, RefsBody, InventoryBody, ActivityBody>;

MessageType TypeOf(const Body& body);

enum class WireError {
  Truncated,       // input ends inside an item
  TooLarge,        // a named limit is exceeded
  Malformed,       // not the CBOR subset, wrong item kind, bad UTF-8, trailing bytes
  NonCanonical,    // a value not in its one canonical encoding (long-form ints, key order)
  UnknownVersion,  // envelope protocol version we do not speak
  UnknownType,     // message type we do not know (counted and dropped by gossip)
  UnknownField,    // a body key not defined for this type and version
  MissingField,    // a required body key is absent
  InvalidField,    // a field out of its domain (bad ref name, port 0, wrong id length, …)
  BadSignature,    // Ed25519 verification failed
  AuthorMismatch,  // signer not allowed to sign this (Repo delegates)
  RepoIdMismatch,  // Repo: repo id ≠ multihash(root ‖ creator)
};

const char* WireErrorName(WireError error);

template <typename T>
using WireResult = Result<T, WireError>;

/** A decoded, structurally valid message. `Verified` tells whether the signature was checked. */
struct SignedMessage {
  PublicKey author{};
  Signature signature{};
  Body body;
  Bytes body_bytes;  // exactly what was signed (after the domain prefix)
  Bytes encoded;     // the whole envelope
  MessageId id{};    // SHA-256(encoded)

  MessageType type() const { return TypeOf(body); }
};

/** Canonical CBOR bytes of a body. */
Bytes EncodeBody(const Body& body);

/** Decodes and validates a body of the given type (all field rules, incl. repo id = hash). */
WireResult<Body> DecodeBody(MessageType type, ByteSpan bytes);

/** The bytes an Ed25519 signature covers: "p2pgit/1/<type>\n" || body_bytes. */
Bytes SignedBytes(MessageType type, ByteSpan body_bytes);

/**
 * The envelope bytes for already-signed parts: [1, type, author, signature, body_bytes].
 * SignMessage uses it; ParseMessage accepts exactly what it produces (the fuzz round trip).
 */
Bytes EncodeEnvelope(MessageType type, const PublicKey& author, const Signature& signature,
                     ByteSpan body_bytes);

/**
 * Signs `body` with `key` and builds the envelope. Does not validate: the caller passes a body
 * that DecodeBody accepts (the CLI checks user input with DecodeBody first), else peers refuse
 * the message.
 */
SignedMessage SignMessage(const identity::NodeKey& key, Body body);

/**
 * Cheap half of receiving: size cap, envelope structure, version and type, body decode and
 * field validation, message id. Does NOT check the signature, so the caller can dedup by id
 * before paying for it.
 */
WireResult<SignedMessage> ParseMessage(ByteSpan encoded);

/** The costly half: the Ed25519 signature over SignedBytes. BadSignature on failure. */
Status<WireError> VerifyMessage(const SignedMessage& message);

/** ParseMessage + VerifyMessage. */
WireResult<SignedMessage> DecodeMessage(ByteSpan encoded);

MessageId ComputeMessageId(ByteSpan encoded);

/**
 * Repo announcements are stateful: a Repo message is authorized when its author is the creator,
 * or a delegate of the latest accepted Repo message for that repo (`latest_accepted`, null when
 * none). AuthorMismatch otherwise.
 */
Status<WireError> CheckRepoAuthority(const RepoBody& candidate, const PublicKey& author,
                                     const RepoBody* latest_accepted);

/** Splits a node's whole inventory into pages (never truncates). Sorts and dedups `repos`. */
std::vector<InventoryBody> SplitInventory(std::vector<RepoId> repos, uint64_t sequence,
                                          uint64_t timestamp_ms);

}  // namespace p2pgit::wire
