// A node's long-term Ed25519 key (libsodium) and where it lives on disk.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace p2pgit::identity {

inline constexpr size_t PUBLIC_KEY_BYTES = 32;
inline constexpr size_t SEED_BYTES = 32;
inline constexpr size_t SIGNATURE_BYTES = 64;

using PublicKey = std::array<uint8_t, PUBLIC_KEY_BYTES>;
using Seed = std::array<uint8_t, SEED_BYTES>;
using Signature = std::array<uint8_t, SIGNATURE_BYTES>;

/** Holds a secret key; wipes it on destruction. Move-only. */
class NodeKey {
 public:
  static NodeKey Generate();
  /** Deterministic key from a 32-byte seed (RFC 8032 private key). */
  static NodeKey FromSeed(const Seed& seed);

  NodeKey(NodeKey&&) noexcept;
  NodeKey& operator=(NodeKey&&) noexcept;
  NodeKey(const NodeKey&) = delete;
  NodeKey& operator=(const NodeKey&) = delete;
  ~NodeKey();

  const PublicKey& public_key() const { return m_public; }
  /** The RFC 8032 seed; what GnuTLS imports as the private key of the TLS certificate. */
  const Seed& seed() const { return m_seed; }
  Signature Sign(ByteSpan message) const;

 private:
  NodeKey() = default;
  Seed m_seed{};
  PublicKey m_public{};
  std::array<uint8_t, 64> m_secret{};  // libsodium's seed||public form
};

/** A stored or received 32-byte key; nullopt for any other length. */
std::optional<PublicKey> PublicKeyFromBytes(ByteSpan bytes);

/** True when `signature` is a valid Ed25519 signature of `message` by `key`. */
bool VerifySignature(const PublicKey& key, ByteSpan message, const Signature& signature);

enum class KeyStoreError { Io, InsecurePermissions, Malformed };

/** $P2PGIT_HOME, else ~/.p2pgit. */
std::filesystem::path DefaultHome();

/** The key file inside a home. */
std::filesystem::path KeyPath(const std::filesystem::path& home);

/**
 * Loads the home's node key, creating the home (0700) and key (0600) on first use.
 * Creation is atomic (temp file + link), so concurrent first runs agree on one key.
 * @return InsecurePermissions if the key file or home is readable by group/others (as ssh),
 *         Malformed if the file is not a key, Io otherwise.
 */
Result<NodeKey, KeyStoreError> LoadOrCreateNodeKey(const std::filesystem::path& home);

/** Loads an existing key; never creates one. Same errors as LoadOrCreateNodeKey. */
Result<NodeKey, KeyStoreError> LoadNodeKey(const std::filesystem::path& home);

}  // namespace p2pgit::identity
