// QUIC transport: one UDP endpoint (IPv4 and/or IPv6) on ngtcp2 0.12.1 + GnuTLS, whose
// connections are mutually authenticated and bound to NodeIds (Ed25519 keys), carrying framed or
// raw bidirectional streams and datagram messages. See docs/ARCHITECTURE.md (Transport) and docs/PROTOCOL.md.
//
// Thread model: one event-loop thread per Endpoint owns every ngtcp2/GnuTLS object. Every public
// method here may be called from any thread EXCEPT the loop thread itself (handlers run on the
// loop thread and must not block: hand streams to a worker). Methods post a task to the loop
// (eventfd wake-up) and, for the blocking ones, wait for its answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "identity/node_key.h"

namespace p2pgit::transport {

using PeerId = identity::PublicKey;
using Clock = std::chrono::steady_clock;
using Duration = std::chrono::nanoseconds;

/** The only application protocol spoken; a peer offering anything else is refused (TLS alert 120). */
inline constexpr char ALPN[] = "p2pgit/1";

// ---- Named limits (defaults of EndpointConfig; each guards against a named threat) ----

/** Largest request/response frame. A frame header announcing more closes the stream: a peer must
 *  not make us allocate unbounded memory for one request (bulk data uses the raw mode). */
inline constexpr uint32_t MAX_FRAME_BYTES = 16u << 20;
/** Largest message (datagram or its stream fallback): the largest gossip frame (a 4 MiB signed
 *  message plus framing, wire::MAX_FRAME_BYTES); a larger one is a misbehaving peer trying to pin
 *  memory, and its stream is reset. Connection flow control bounds the sum in flight. */
inline constexpr uint32_t MAX_MESSAGE_BYTES = (4u << 20) + 64;
/** Connections per endpoint: each costs ~40-80 KB of ngtcp2/GnuTLS state, so a flood of
 *  handshakes from fresh keys must not exhaust memory; a relay raises it. */
inline constexpr size_t MAX_CONNECTIONS = 2048;
/** Handshakes in progress at once: a handshake costs a signature and a key exchange (CPU), the
 *  cheapest amplification an attacker has. Excess Initial packets are dropped, not answered. */
inline constexpr size_t MAX_HANDSHAKES_IN_PROGRESS = 256;
/** Concurrent bidirectional streams a peer may open on one connection (QUIC stream credit). */
inline constexpr uint64_t MAX_STREAMS_PER_CONNECTION = 64;
/** Concurrent unidirectional (message fallback) streams a peer may open. */
inline constexpr uint64_t MAX_MESSAGE_STREAMS_PER_CONNECTION = 16;
/** Keep-alive PING interval: below the 20-30 s UDP mapping timeout of common NATs. */
inline constexpr Duration DEFAULT_KEEP_ALIVE = std::chrono::seconds(10);
/** A peer silent this long (keep-alives included) is dead: its connection is dropped. */
inline constexpr Duration DEFAULT_IDLE_TIMEOUT = std::chrono::seconds(30);
/** A handshake not finished by then is abandoned (slowloris on the handshake). */
inline constexpr Duration DEFAULT_HANDSHAKE_TIMEOUT = std::chrono::seconds(10);
/** Largest UDP payload we send: 1500-byte Ethernet MTU minus IPv6 (40) and UDP (8) headers. */
inline constexpr size_t MAX_UDP_PAYLOAD = 1452;
/** Bytes an application may queue on one stream before Write blocks (backpressure): bounds the
 *  memory a slow peer can make us hold per stream. Unacknowledged bytes count too. */
inline constexpr size_t STREAM_SEND_BUFFER_BYTES = 8u << 20;
/** Receive windows (flow control): a peer can never make us buffer more than this per stream /
 *  per connection, because credit is only returned as the application consumes bytes. */
inline constexpr uint64_t STREAM_RECEIVE_WINDOW = 8u << 20;
inline constexpr uint64_t CONNECTION_RECEIVE_WINDOW = 16u << 20;
/** Datagrams queued per connection before the oldest is dropped (they are best-effort). */
inline constexpr size_t MAX_QUEUED_DATAGRAMS = 256;

enum class TransportError {
  InvalidArgument,   // bad address text, bad config
  Socket,            // bind/send failure
  Tls,               // local TLS setup failure
  PeerMismatch,      // the peer proved a different NodeId than the one dialed
  PeerRefused,       // the peer refused us, or presented no/foreign certificate, or wrong ALPN
  Timeout,           // handshake or blocking call timed out
  Closed,            // connection or stream closed/reset
  NotConnected,      // no verified connection to that peer
  Limit,             // a cap (connections, handshakes, streams) was reached
  FrameTooLarge,     // a frame header announced more than MAX_FRAME_BYTES
  EndOfStream,       // the peer finished the stream cleanly
  Stopped,           // the endpoint is stopped
};
const char* TransportErrorName(TransportError error);

template <typename T>
using TResult = Result<T, TransportError>;
using TStatus = Status<TransportError>;

struct EndpointConfig {
  /** Addresses to bind ("127.0.0.1:0", "[::1]:7000", "0.0.0.0:7000"). Empty: one ephemeral
   *  socket per family ("0.0.0.0:0" and "[::]:0"), i.e. a node that only dials out. */
  std::vector<std::string> listen;
  Duration keep_alive = DEFAULT_KEEP_ALIVE;  // 0 disables keep-alive PINGs
  Duration idle_timeout = DEFAULT_IDLE_TIMEOUT;
  Duration handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
  size_t max_connections = MAX_CONNECTIONS;
  size_t max_handshakes = MAX_HANDSHAKES_IN_PROGRESS;
  uint64_t max_streams_per_connection = MAX_STREAMS_PER_CONNECTION;
  uint64_t stream_receive_window = STREAM_RECEIVE_WINDOW;
  uint64_t connection_receive_window = CONNECTION_RECEIVE_WINDOW;
  size_t stream_send_buffer = STREAM_SEND_BUFFER_BYTES;
  size_t max_udp_payload = MAX_UDP_PAYLOAD;
  /** Send-side UDP_SEGMENT (GSO) and receive-side UDP_GRO batching where the kernel has them. */
  bool use_gso = true;
  bool use_gro = true;
  /** Log one line per connection event to stderr. */
  bool log = false;

  /** Test-only knobs: make this endpoint misbehave to exercise the peer's refusals. */
  struct Testing {
    bool omit_certificate = false;   // present no client certificate
    bool foreign_key_type = false;   // present an ECDSA P-256 certificate instead of Ed25519
    std::string alpn_override;       // offer this ALPN instead of p2pgit/1
  } testing;
};

/** Counters, read with Endpoint::Stats(). Every dropped packet or refused peer is counted. */
struct EndpointStats {
  uint64_t connections_open = 0;        // verified, in the registry
  uint64_t handshakes_in_progress = 0;
  uint64_t connections_accepted = 0;    // incoming, verified
  uint64_t connections_dialed = 0;      // outgoing, verified
  uint64_t handshakes_failed = 0;       // any side: refused, mismatch, timeout
  uint64_t duplicates_closed = 0;       // simultaneous dials resolved
  uint64_t packets_received = 0;
  uint64_t packets_ignored = 0;         // garbage, unknown connection, not an Initial
  uint64_t initials_refused = 0;        // over max_connections / max_handshakes
  uint64_t datagrams_sent = 0;
  uint64_t datagrams_received = 0;
  uint64_t messages_via_stream = 0;     // sent on a stream because too large for a datagram
  uint64_t datagrams_dropped = 0;       // queue overflow
  uint64_t idle_closes = 0;
  uint64_t udp_send_calls = 0;
  uint64_t udp_recv_calls = 0;
};

/** One verified peer connection as seen by upper layers. */
struct PeerInfo {
  PeerId peer{};
  bool we_dialed = false;
  std::string remote_address;  // "1.2.3.4:5" / "[::1]:5"
  Duration handshake_time{};   // from Dial to verified (dialer side)
};

/**
 * A bidirectional stream. Thread-safe; blocking calls wait on the stream's state, never on the
 * loop thread (do not call them from a handler). Two modes share the byte stream:
 *  - frames: WriteFrame/ReadFrame, each a u32 big-endian length then that many bytes
 *    (length <= MAX_FRAME_BYTES, else the stream is reset);
 *  - raw: Write/Read of plain bytes (bulk data) with backpressure: Write blocks while the send
 *    buffer holds stream_send_buffer bytes not yet acknowledged; flow-control credit is returned
 *    to the peer only as Read consumes bytes, so a slow reader slows the writer end to end.
 */
class Stream {
 public:
  virtual ~Stream() = default;
  virtual int64_t id() const = 0;
  virtual const PeerId& peer() const = 0;

  /** Queues all bytes, blocking while the send buffer is full. Closed if reset/closed. */
  virtual TStatus Write(ByteSpan data) = 0;
  virtual TStatus WriteFrame(ByteSpan payload) = 0;
  /** Ends our direction (FIN) after everything queued. */
  virtual TStatus Finish() = 0;
  /** Reads up to out.size() bytes; 0 means the peer finished. Timeout / Closed on failure. */
  virtual TResult<size_t> Read(std::span<uint8_t> out, Duration timeout) = 0;
  /** One frame; EndOfStream if the peer finished between frames; FrameTooLarge resets. */
  virtual TResult<Bytes> ReadFrame(Duration timeout) = 0;
  /** Waits until everything written has been acknowledged by the peer (or failure). */
  virtual TStatus Flush(Duration timeout) = 0;
  /** Abandons both directions (RESET_STREAM + STOP_SENDING) with an application code. */
  virtual void Reset(uint64_t app_error_code = 1) = 0;
};

struct EndpointHandlers {
  /** A peer is verified and registered (both directions). Runs on the loop thread. */
  std::function<void(const PeerInfo&)> on_connected;
  /** A peer's connection is gone; reason is one human line. Runs on the loop thread. */
  std::function<void(const PeerId&, const std::string& reason)> on_disconnected;
  /** The peer opened a stream. Runs on the loop thread: hand it to a worker, do not block. */
  std::function<void(std::shared_ptr<Stream>)> on_stream;
  /** A message arrived (datagram or stream fallback). Runs on the loop thread. */
  std::function<void(const PeerId&, Bytes message)> on_message;
};

class Endpoint {
 public:
  /** Binds the sockets, builds the certificate from `key` and starts the loop thread. */
  static TResult<std::unique_ptr<Endpoint>> Create(const identity::NodeKey& key, EndpointConfig config,
                                                   EndpointHandlers handlers = {});
  ~Endpoint();  // Stop()s
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  /** Closes every connection (CONNECTION_CLOSE sent) and joins the loop thread. Idempotent. */
  void Stop();

  const PeerId& self() const;
  /** The bound addresses, ports resolved ("127.0.0.1:41234"). */
  std::vector<std::string> LocalAddresses() const;

  /**
   * Connects to `address` ("host:port", "[v6]:port") and requires the peer to prove `expected`.
   * Completes (on the loop thread) with the verified peer, reusing an existing connection to it.
   * Errors: PeerMismatch (another key answered), PeerRefused (it refused our certificate or
   * ALPN), Timeout (handshake_timeout), InvalidArgument, Limit, Stopped.
   */
  void Dial(const PeerId& expected, const std::string& address,
            std::function<void(TResult<PeerInfo>)> done);
  /** Blocking Dial. */
  TResult<PeerInfo> Connect(const PeerId& expected, const std::string& address);

  /** Opens a bidirectional stream on the verified connection to `peer`. */
  TResult<std::shared_ptr<Stream>> OpenStream(const PeerId& peer);
  /**
   * Sends a small message: as one DATAGRAM when it fits the largest payload the current path
   * allows, else on a unidirectional stream. Best-effort for datagrams (never retransmitted).
   */
  TStatus SendMessage(const PeerId& peer, ByteSpan message);
  /** Largest message that goes as a datagram on the connection to `peer` now (0 if none). */
  TResult<size_t> MaxDatagramPayload(const PeerId& peer);
  /** One datagram round trip (PING/PONG answered by the transport itself). */
  TResult<Duration> Ping(const PeerId& peer, Duration timeout);
  /** Closes the connection to `peer` (no-op when none). */
  void Disconnect(const PeerId& peer);

  std::vector<PeerInfo> Peers();
  EndpointStats Stats();

  class Impl;

 private:
  explicit Endpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

/** "did:key:z…@host:port" → key and "host:port"; InvalidArgument with a user-facing message. */
TResult<std::pair<PeerId, std::string>> ParseNodeAddress(const std::string& text);

}  // namespace p2pgit::transport
