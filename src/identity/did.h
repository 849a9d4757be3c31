// NodeId (W3C did:key, Ed25519) and RepoId (did:repo, a sha2-256 multihash) text forms.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "identity/node_key.h"

namespace p2pgit::identity {

/** Longest did text accepted before any decoding work (a did:key is 56 chars, did:repo 55). */
inline constexpr size_t MAX_DID_TEXT_BYTES = 128;

enum class DidError {
  TooLong,          // longer than MAX_DID_TEXT_BYTES
  WrongMethod,      // not "did:key:" / "did:repo:"
  WrongMultibase,   // multibase prefix other than 'z' (base58btc)
  BadBase58,        // a character outside the base58btc alphabet (0, O, I, l, ...)
  WrongMulticodec,  // not the varint 0xed 0x01 (ed25519-pub) / not sha2-256 0x12 0x20
  WrongLength,      // key/digest shorter or longer than the codec says (incl. trailing bytes)
};

const char* DidErrorName(DidError error);

/** "did:key:z" + base58btc(0xed 0x01 || key). Always starts "did:key:z6Mk". */
std::string EncodeDidKey(const PublicKey& key);
Result<PublicKey, DidError> DecodeDidKey(std::string_view text);

/** The NodeId without its "did:key:" prefix ("z6Mk…"): the form used in git ref names. */
std::string DidKeyRefComponent(const PublicKey& key);

/** A repository id: the sha2-256 multihash 0x12 0x20 || SHA-256(root commit id || creator key). */
struct RepoId {
  static constexpr size_t MULTIHASH_BYTES = 34;
  std::array<uint8_t, MULTIHASH_BYTES> multihash{};

  std::string ToString() const;  // "did:repo:z…"
  bool operator==(const RepoId&) const = default;
  auto operator<=>(const RepoId&) const = default;
};

/** RepoId for a repository whose root commit has raw object id `root_commit_id` (20 bytes for
 *  SHA-1 repos) and whose creator has public key `creator`. */
RepoId ComputeRepoId(ByteSpan root_commit_id, const PublicKey& creator);

Result<RepoId, DidError> DecodeDidRepo(std::string_view text);
/** Checks a 34-byte multihash is sha2-256 of 32 bytes. */
Result<RepoId, DidError> RepoIdFromMultihash(ByteSpan multihash);

}  // namespace p2pgit::identity
