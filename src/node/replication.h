// Replication over QUIC streams: serving a repository's signed state and packs to peers, and
// fetching from one peer into the local store, verified against the owners' signatures.
// Everything here blocks (git child processes, stream reads): run it on a worker thread, never
// on the transport loop or the daemon's gossip worker.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
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

/** Who is at fault when a fetch fails: only PeerMisbehaved lowers the peer's score. */
enum class FetchFault {
  PeerMisbehaved,  // invalid signed messages or frames, a bad or disconnected pack
  PeerLacks,       // the peer does not hold the repository or its tips: try the next seeder
  Transport,       // connection lost, a timeout: try the next seeder
  Local,           // this machine (disk full, permissions, the store): no peer is blamed
};

const char* FetchFaultName(FetchFault fault);

/** A namespace this fetch left as it was, and why (one line, printable). */
struct NamespaceSkip {
  std::string node;  // did:key
  std::string reason;
};

struct FetchOutcome {
  uint64_t pack_bytes = 0;
  size_t namespaces_updated = 0;
  size_t namespaces_current = 0;          // already exactly as signed
  std::vector<std::string> not_served;    // namespaces (did:key) this peer could not provide
  std::vector<NamespaceSkip> skipped;     // namespaces refused: missing objects, hostile content, …
  /** Delegates' namespaces (did:key) with signed refs that are still not as signed: another
   *  seeder may hold them. Empty when every delegate's namespace is complete. */
  std::vector<std::string> delegates_missing;
  /** Some delegate's namespace is as signed: the repository can be checked out. */
  bool usable = false;
  /** The peer sent objects that do not connect for tips it claimed to hold (its fault). */
  std::optional<std::string> peer_fault;
  uint64_t objects_dropped = 0;           // received objects no committed tip reaches
  double seconds = 0;
  std::filesystem::path storage;          // the repository in the home
  std::string source;                     // did:key of the peer fetched from
};

/** On failure, one line: "<did:key>: <what went wrong>" when the peer is at fault or lacks the
 *  repository, a line about this machine (never naming the peer) when the fault is Local. */
using FetchResult = Result<FetchOutcome, FetchFault>;

/**
 * Fetches `repo` from `peer` (connected on `endpoint`): asks for the signed Repo and Refs
 * messages it holds and admits them into `store` through the gossip pipeline (signatures,
 * supersession: a peer cannot roll a namespace back), then asks for one pack with every signed
 * tip the local repository lacks, feeds it into a quarantine as it arrives, and commits
 * namespace by namespace (delegates first) to exactly its signed refs — each only after its
 * objects are hash-checked, connected and free of hostile trees, and the root commit and creator
 * give the RepoId. A namespace that fails is skipped, recorded in the store with its reason
 * (`repos REPO` shows it) and never blocks another; only objects the committed tips reach enter
 * the store. A failure leaves the local repository as it was.
 */
FetchResult FetchRepo(transport::Endpoint& endpoint, const transport::PeerId& peer, const std::filesystem::path& home,
                      storage::Store& store, const identity::RepoId& repo, const FetchOptions& options = {});

/** Makes sure `peer` is connected before a fetch from it; false skips the peer. */
using EnsureConnected = std::function<bool(const transport::PeerId&)>;

/**
 * Fetches `repo` from `candidates` in order (best first): returns at the first outcome that
 * leaves every delegate's namespace as signed; otherwise the next seeder is tried for what is
 * missing (a peer that refuses, resets or lacks the tips is no reason to stop), and the best
 * usable outcome is returned when none completes. Only a peer's own fault (PeerMisbehaved, or
 * a pack that does not connect) lowers its score; a Local failure stops at once and blames no
 * one. The failure lists each peer's error.
 */
FetchResult FetchFromSeeders(transport::Endpoint& endpoint, const std::vector<transport::PeerId>& candidates,
                             const EnsureConnected& ensure_connected, const std::filesystem::path& home,
                             storage::Store& store, const identity::RepoId& repo, const FetchOptions& options = {});

}  // namespace p2pgit::node
