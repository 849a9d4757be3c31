#include "identity/did.h"

#include <sodium.h>

#include "identity/base58.h"

namespace p2pgit::identity {

namespace {
constexpr std::string_view DID_KEY_PREFIX = "did:key:";
constexpr std::string_view DID_REPO_PREFIX = "did:repo:";
constexpr char MULTIBASE_BASE58BTC = 'z';
// multicodec ed25519-pub = 0xed, written as an unsigned varint: 0xed 0x01.
constexpr uint8_t ED25519_PUB_VARINT[2] = {0xed, 0x01};
// multihash sha2-256: code 0x12, digest length 0x20.
constexpr uint8_t SHA2_256_CODE = 0x12;
constexpr uint8_t SHA2_256_LENGTH = 0x20;

/** Strips "<method-prefix>z" and base58-decodes the rest. */
Result<Bytes, DidError> DecodeMultibase(std::string_view text, std::string_view prefix) {
  if (text.size() > MAX_DID_TEXT_BYTES)
    return Fail(DidError::TooLong, "id is " + std::to_string(text.size()) + " characters, longer than any valid id");
  if (text.substr(0, prefix.size()) != prefix)
    return Fail(DidError::WrongMethod, "id does not start with \"" + std::string(prefix) + "\"");
  std::string_view rest = text.substr(prefix.size());
  if (rest.empty() || rest[0] != MULTIBASE_BASE58BTC)
    return Fail(DidError::WrongMultibase, "id is not multibase base58btc (must continue with 'z' after \"" +
                                              std::string(prefix) + "\")");
  auto bytes = DecodeBase58(rest.substr(1));
  if (!bytes)
    return Fail(DidError::BadBase58, "id contains a character outside base58btc (no 0, O, I or l)");
  return std::move(*bytes);
}
}  // namespace

const char* DidErrorName(DidError error) {
  switch (error) {
    case DidError::TooLong: return "too-long";
    case DidError::WrongMethod: return "wrong-method";
    case DidError::WrongMultibase: return "wrong-multibase";
    case DidError::BadBase58: return "bad-base58";
    case DidError::WrongMulticodec: return "wrong-multicodec";
    case DidError::WrongLength: return "wrong-length";
  }
  return "unknown";
}

std::string DidKeyRefComponent(const PublicKey& key) {
  Bytes raw(ED25519_PUB_VARINT, ED25519_PUB_VARINT + 2);
  raw.insert(raw.end(), key.begin(), key.end());
  return std::string(1, MULTIBASE_BASE58BTC) + EncodeBase58(raw);
}

std::string EncodeDidKey(const PublicKey& key) {
  return std::string(DID_KEY_PREFIX) + DidKeyRefComponent(key);
}

Result<PublicKey, DidError> DecodeDidKey(std::string_view text) {
  auto raw = DecodeMultibase(text, DID_KEY_PREFIX);
  if (!raw) return raw.error();
  const Bytes& bytes = *raw;
  if (bytes.size() < 2 || bytes[0] != ED25519_PUB_VARINT[0] || bytes[1] != ED25519_PUB_VARINT[1])
    return Fail(DidError::WrongMulticodec, "did:key is not an Ed25519 key (multicodec must be ed25519-pub, varint 0xed 0x01)");
  if (bytes.size() != 2 + PUBLIC_KEY_BYTES)
    return Fail(DidError::WrongLength, "did:key holds " + std::to_string(bytes.size() - 2) +
                                           " key bytes; an Ed25519 key has 32");
  PublicKey key;
  std::copy(bytes.begin() + 2, bytes.end(), key.begin());
  return key;
}

std::string RepoId::ToString() const {
  return std::string(DID_REPO_PREFIX) + MULTIBASE_BASE58BTC + EncodeBase58(multihash);
}

RepoId ComputeRepoId(ByteSpan root_commit_id, const PublicKey& creator) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, root_commit_id.data(), root_commit_id.size());
  crypto_hash_sha256_update(&state, creator.data(), creator.size());
  RepoId id;
  id.multihash[0] = SHA2_256_CODE;
  id.multihash[1] = SHA2_256_LENGTH;
  crypto_hash_sha256_final(&state, id.multihash.data() + 2);
  return id;
}

Result<RepoId, DidError> RepoIdFromMultihash(ByteSpan bytes) {
  if (bytes.size() < 2 || bytes[0] != SHA2_256_CODE || bytes[1] != SHA2_256_LENGTH)
    return Fail(DidError::WrongMulticodec, "did:repo is not a sha2-256 multihash (must start 0x12 0x20)");
  if (bytes.size() != RepoId::MULTIHASH_BYTES)
    return Fail(DidError::WrongLength, "did:repo holds " + std::to_string(bytes.size() - 2) +
                                           " digest bytes; sha2-256 has 32");
  RepoId id;
  std::copy(bytes.begin(), bytes.end(), id.multihash.begin());
  return id;
}

Result<RepoId, DidError> DecodeDidRepo(std::string_view text) {
  auto raw = DecodeMultibase(text, DID_REPO_PREFIX);
  if (!raw) return raw.error();
  return RepoIdFromMultihash(*raw);
}

}  // namespace p2pgit::identity
