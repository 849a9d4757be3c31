#include "cli/home.h"

#include <sys/stat.h>

namespace p2pgit::cli {

std::filesystem::path StorePath() { return identity::DefaultHome() / "store.db"; }

Result<storage::Store, storage::StoreError> OpenHomeStore() {
  std::filesystem::path home = identity::DefaultHome();
  std::error_code ec;
  if (!std::filesystem::exists(home, ec) && std::filesystem::create_directories(home, ec)) ::chmod(home.c_str(), 0700);
  return storage::Store::Open(StorePath());
}

Result<identity::NodeKey, identity::KeyStoreError> LoadHomeKey() {
  return identity::LoadOrCreateNodeKey(identity::DefaultHome());
}

}  // namespace p2pgit::cli
