#include "cli/home.h"

namespace p2pgit::cli {

Result<identity::NodeKey, identity::KeyStoreError> LoadHomeKey() {
  return identity::LoadOrCreateNodeKey(identity::DefaultHome());
}

}  // namespace p2pgit::cli
