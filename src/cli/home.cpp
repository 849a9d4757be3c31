#include "cli/home.h"

#include <sys/stat.h>

#include <cstdio>

#include "base/clock.h"
#include "routing/store_heal.h"

namespace p2pgit::cli {

std::filesystem::path StorePath() { return identity::DefaultHome() / "store.db"; }

Result<storage::Store, storage::StoreError> OpenHomeStore() {
  std::filesystem::path home = identity::DefaultHome();
  std::error_code ec;
  if (!std::filesystem::exists(home, ec) && std::filesystem::create_directories(home, ec)) ::chmod(home.c_str(), 0700);
  // Healed on open: messages stored under older, looser rules are removed once (routing/store_heal.h).
  auto opened = routing::OpenHealedStore(StorePath(), UnixMillis());
  if (!opened) return opened.error();
  if (opened->healed > 0)
    std::fprintf(stderr, "p2pgit: healed: removed %lld stored messages that break the ref/time rules\n",
                 static_cast<long long>(opened->healed));
  return std::move(opened->store);
}

Result<identity::NodeKey, identity::KeyStoreError> LoadHomeKey() {
  return identity::LoadOrCreateNodeKey(identity::DefaultHome());
}

}  // namespace p2pgit::cli
