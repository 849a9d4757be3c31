// Replication over QUIC streams: serving a repository's signed state and packs to peers, and
// fetching from one peer into the local store, verified against the owners' signatures.
// Everything here blocks (git child processes, stream reads): run it on a worker thread, never
// on the transport loop or the daemon's gossip worker.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "identity/did.h"
#include "storage/store.h"
#include "transport/endpoint.h"

namespace p2pgit::node {

/** Replication streams served at once by one daemon; more are reset (each may run a
 *  pack-objects: CPU and memory). */
inline constexpr size_t MAX_CONCURRENT_SERVES = 8;
/** How long a peer may take to send a request frame, or between two pack chunks. */
inline constexpr auto REPLICATION_IO_TIMEOUT = std::chrono::seconds(60);

/** Serves one replication stream a peer opened (repo state or a pack), then closes it. */
void ServeReplicationStream(const std::filesystem::path& home, const std::shared_ptr<transport::Stream>& stream);

struct FetchProgress {
  uint64_t bytes = 0;
  double seconds = 0;
};

struct FetchOptions {
  /** Called as pack bytes arrive (at most every ~100 ms). */
  std::function<void(const FetchProgress&)> progress;
};

struct FetchOutcome {
  uint64_t pack_bytes = 0;
  size_t namespaces_updated = 0;
  size_t namespaces_current = 0;          // already exactly as signed
  std::vector<std::string> not_served;    // namespaces (did:key) this peer could not provide
  double seconds = 0;
  std::filesystem::path storage;          // the repository in the home
};

/** One line naming the peer: "<did:key>: <what went wrong>". */
using FetchResult = Result<FetchOutcome, std::string>;

/**
 * Fetches `repo` from `peer` (connected on `endpoint`): asks for the signed Repo and Refs
 * messages it holds and admits them into `store` through the gossip pipeline (signatures,
 * supersession: a peer cannot roll a namespace back), then asks for a pack with every signed tip
 * the local repository lacks, feeds it into a quarantine as it arrives, and commits each
 * namespace to exactly its signed refs — only after every object is hash-checked, every tip is
 * connected, and the root commit and creator give the RepoId. On any failure the local
 * repository is as it was.
 */
FetchResult FetchRepo(transport::Endpoint& endpoint, const transport::PeerId& peer, const std::filesystem::path& home,
                      storage::Store& store, const identity::RepoId& repo, const FetchOptions& options = {});

}  // namespace p2pgit::node
