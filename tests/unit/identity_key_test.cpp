#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "identity/node_key.h"

using namespace p2pgit;
using namespace p2pgit::identity;
namespace fs = std::filesystem;

namespace {
fs::path FreshHome(const std::string& name) {
  fs::path home = fs::path(testing::TempDir()) / ("p2pgit-key-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(home);
  return home / "home";
}
mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}
}  // namespace

TEST(NodeKey, Rfc8032Test1) {
  // RFC 8032 §7.1 TEST 1: empty message.
  auto seed = *FromHexFixed<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  NodeKey key = NodeKey::FromSeed(seed);
  EXPECT_EQ(ToHex(key.public_key()), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  Signature sig = key.Sign({});
  EXPECT_EQ(ToHex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(VerifySignature(key.public_key(), {}, sig));
}

RC_GTEST_PROP(NodeKeyProperty, FlippedBitFailsVerification, (std::vector<uint8_t> message, size_t bit)) {
  NodeKey key = NodeKey::Generate();
  Signature sig = key.Sign(message);
  RC_ASSERT(VerifySignature(key.public_key(), message, sig));
  Signature bad = sig;
  bad[(bit / 8) % bad.size()] ^= static_cast<uint8_t>(1u << (bit % 8));
  RC_ASSERT(!VerifySignature(key.public_key(), message, bad));
  if (!message.empty()) {
    auto altered = message;
    altered[(bit / 8) % altered.size()] ^= static_cast<uint8_t>(1u << (bit % 8));
    RC_ASSERT(!VerifySignature(key.public_key(), altered, sig));
  }
}

TEST(KeyStore, CreatesPrivateKeyOnceAndReloadsSameKey) {
  fs::path home = FreshHome("create");
  auto first = LoadOrCreateNodeKey(home);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(ModeOf(home), 0700u);
  EXPECT_EQ(ModeOf(KeyPath(home)), 0600u);
  EXPECT_EQ(fs::file_size(KeyPath(home)), 32u);
  auto second = LoadOrCreateNodeKey(home);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->public_key(), second->public_key());
  // No temp files left behind.
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(home)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(KeyStore, RefusesKeyReadableByOthers) {
  fs::path home = FreshHome("perm");
  ASSERT_TRUE(LoadOrCreateNodeKey(home).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ::chmod(KeyPath(home).c_str(), mode);
    auto key = LoadOrCreateNodeKey(home);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.code(), KeyStoreError::InsecurePermissions);
    EXPECT_NE(key.message().find("chmod 600"), std::string::npos) << key.message();
  }
}

TEST(KeyStore, RefusesMalformedKeyFile) {
  fs::path home = FreshHome("malformed");
  fs::create_directories(home);
  {
    std::ofstream f(KeyPath(home));
    f << "not a key";
  }
  ::chmod(KeyPath(home).c_str(), 0600);
  auto key = LoadOrCreateNodeKey(home);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.code(), KeyStoreError::Malformed);
}

TEST(KeyStore, LoadWithoutCreateFailsOnEmptyHome) {
  fs::path home = FreshHome("nocreate");
  auto key = LoadNodeKey(home);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.code(), KeyStoreError::Io);
  EXPECT_FALSE(fs::exists(KeyPath(home)));
}

TEST(KeyStore, ConcurrentFirstRunsAgreeOnOneKey) {
  fs::path home = FreshHome("race");
  constexpr int CHILDREN = 8;
  int pipes[CHILDREN][2];
  for (int i = 0; i < CHILDREN; ++i) {
    ASSERT_EQ(::pipe(pipes[i]), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto key = LoadOrCreateNodeKey(home);
      if (!key.ok()) _exit(1);
      (void)!::write(pipes[i][1], key->public_key().data(), 32);
      _exit(0);
    }
    ::close(pipes[i][1]);
  }
  PublicKey first{};
  for (int i = 0; i < CHILDREN; ++i) {
    PublicKey got{};
    ASSERT_EQ(::read(pipes[i][0], got.data(), 32), 32);
    ::close(pipes[i][0]);
    if (i == 0) first = got;
    EXPECT_EQ(got, first);
  }
  for (int i = 0; i < CHILDREN; ++i) {
    int status = 0;
    ::wait(&status);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(LoadNodeKey(home)->public_key(), first);
}
