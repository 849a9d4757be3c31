#include "identity/node_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace p2pgit::identity {

namespace {
constexpr const char* KEY_FILE_NAME = "node.key";
// The key file holds exactly the 32-byte RFC 8032 seed; the public key is derived from it.
constexpr size_t KEY_FILE_BYTES = SEED_BYTES;

void EnsureSodium() {
  // sodium_init is idempotent and thread-safe; < 0 means no usable entropy source.
  if (sodium_init() < 0) std::abort();
}

std::string Errno(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

Result<NodeKey, KeyStoreError> ReadKeyFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Fail(KeyStoreError::Io, Errno("cannot open key", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Fail(KeyStoreError::Io, Errno("cannot stat key", path));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Fail(KeyStoreError::InsecurePermissions,
                "key " + path.string() + " is accessible by others (mode " + mode +
                    "); run: chmod 600 " + path.string());
  }
  if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(KEY_FILE_BYTES)) {
    ::close(fd);
    return Fail(KeyStoreError::Malformed, "key " + path.string() + " is not a p2pgit key (expected " +
                                              std::to_string(KEY_FILE_BYTES) + " bytes)");
  }
  Seed seed{};
  ssize_t got = ::read(fd, seed.data(), seed.size());
  ::close(fd);
  if (got != static_cast<ssize_t>(seed.size())) return Fail(KeyStoreError::Io, Errno("cannot read key", path));
  NodeKey key = NodeKey::FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

bool WriteAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}
}  // namespace

NodeKey NodeKey::Generate() {
  EnsureSodium();
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  NodeKey key = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

NodeKey NodeKey::FromSeed(const Seed& seed) {
  EnsureSodium();
  NodeKey key;
  key.m_seed = seed;
  crypto_sign_seed_keypair(key.m_public.data(), key.m_secret.data(), seed.data());
  return key;
}

NodeKey::NodeKey(NodeKey&& other) noexcept
    : m_seed(other.m_seed), m_public(other.m_public), m_secret(other.m_secret) {
  sodium_memzero(other.m_seed.data(), other.m_seed.size());
  sodium_memzero(other.m_secret.data(), other.m_secret.size());
}

NodeKey& NodeKey::operator=(NodeKey&& other) noexcept {
  if (this != &other) {
    m_seed = other.m_seed;
    m_public = other.m_public;
    m_secret = other.m_secret;
    sodium_memzero(other.m_seed.data(), other.m_seed.size());
    sodium_memzero(other.m_secret.data(), other.m_secret.size());
  }
  return *this;
}

NodeKey::~NodeKey() {
  sodium_memzero(m_seed.data(), m_seed.size());
  sodium_memzero(m_secret.data(), m_secret.size());
}

Signature NodeKey::Sign(ByteSpan message) const {
  Signature signature;
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), m_secret.data());
  return signature;
}

std::optional<PublicKey> PublicKeyFromBytes(ByteSpan bytes) {
  if (bytes.size() != PUBLIC_KEY_BYTES) return std::nullopt;
  PublicKey key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

bool VerifySignature(const PublicKey& key, ByteSpan message, const Signature& signature) {
  EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key.data()) == 0;
}

std::filesystem::path DefaultHome() {
  if (const char* env = std::getenv("P2PGIT_HOME"); env != nullptr && *env != '\0') return env;
  const char* user_home = std::getenv("HOME");
  return std::filesystem::path(user_home != nullptr && *user_home != '\0' ? user_home : ".") / ".p2pgit";
}

std::filesystem::path KeyPath(const std::filesystem::path& home) { return home / KEY_FILE_NAME; }

Result<NodeKey, KeyStoreError> LoadNodeKey(const std::filesystem::path& home) {
  return ReadKeyFile(KeyPath(home));
}

Result<NodeKey, KeyStoreError> LoadOrCreateNodeKey(const std::filesystem::path& home) {
  std::error_code ec;
  std::filesystem::path key_path = KeyPath(home);
  if (std::filesystem::exists(key_path, ec)) return ReadKeyFile(key_path);

  if (!std::filesystem::exists(home, ec)) {
    std::filesystem::create_directories(home, ec);
    if (ec) return Fail(KeyStoreError::Io, "cannot create home " + home.string() + ": " + ec.message());
    ::chmod(home.c_str(), 0700);
  }

  // Write a complete temp file, then link() it into place: link fails if another process got
  // there first, in which case both use the winner's key. A crash leaves at most a temp file.
  std::string tmp_name = (home / ("node.key.tmp-" + std::to_string(::getpid()))).string();
  int fd = ::open(tmp_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Fail(KeyStoreError::Io, Errno("cannot create key", tmp_name));
  NodeKey key = NodeKey::Generate();
  bool written = WriteAll(fd, key.seed().data(), key.seed().size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(tmp_name.c_str());
    return Fail(KeyStoreError::Io, Errno("cannot write key", tmp_name));
  }
  int linked = ::link(tmp_name.c_str(), key_path.c_str());
  int link_errno = errno;
  ::unlink(tmp_name.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return ReadKeyFile(key_path);
    errno = link_errno;
    return Fail(KeyStoreError::Io, Errno("cannot install key", key_path));
  }
  if (int dir_fd = ::open(home.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return key;
}

}  // namespace p2pgit::identity
