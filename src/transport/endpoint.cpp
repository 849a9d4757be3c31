// The QUIC endpoint: one epoll loop thread owning every ngtcp2 connection and GnuTLS session.
// Rules kept throughout this file:
//  - ngtcp2/GnuTLS callbacks never throw (each body is wrapped) and never call ngtcp2 write
//    functions: they record state and queue work in m_deferred, run after the library returns;
//  - a connection is visible to upper layers (registry, handlers, OpenStream) only once the peer
//    proved its NodeId: server side at handshake completion (the client's certificate was checked
//    before its Finished), client side at handshake confirmation (the server accepted us too).
#include "transport/endpoint.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>

#include "identity/did.h"
#include "transport/detail/stream_impl.h"
#include "transport/detail/tls.h"
#include "transport/detail/udp.h"

namespace p2pgit::transport {

using namespace detail;

namespace {

constexpr size_t SCID_BYTES = 16;
constexpr size_t CLIENT_DCID_BYTES = 18;
/** Our receive limit for DATAGRAM frames (whole frame). */
constexpr uint64_t MAX_DATAGRAM_FRAME_BYTES = 1452;
/** Room left in a packet beside a datagram: header (1 + 20-byte CID + 4-byte number), AEAD tag
 *  (16), frame header (1 + 2), and an ACK frame. A datagram that does not fit one packet is
 *  silently never accepted by ngtcp2 0.12.1 (docs/PROTOCOL.md, Transport), so we stay well below. */
constexpr size_t DATAGRAM_PACKET_OVERHEAD = 80;
/** A datagram refused this many times although a packet was being written goes on a stream. */
constexpr int DATAGRAM_ATTEMPTS = 2;
constexpr uint8_t KIND_MESSAGE = 0;
constexpr uint8_t KIND_PING = 1;
constexpr uint8_t KIND_PONG = 2;
constexpr const char* TLS_PRIORITY = "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE";
/** When a write pass sent nothing but ngtcp2's expiry is already due (a stale pacing stamp), wait
 *  this long instead of spinning; arriving packets wake the loop anyway. */
constexpr uint64_t MIN_IDLE_WAKE_NS = 1'000'000;

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

std::string CidKey(const uint8_t* data, size_t len) { return std::string(reinterpret_cast<const char*>(data), len); }
std::string CidKey(const ngtcp2_cid& cid) { return CidKey(cid.data, cid.datalen); }

std::string ShortId(const PeerId& key) {
  std::string did = identity::EncodeDidKey(key);
  return did;
}

void RandomBytes(uint8_t* dest, size_t len) { gnutls_rnd(GNUTLS_RND_RANDOM, dest, len); }

struct PendingDatagram {
  Bytes data;  // kind byte + body
  int attempts = 0;
};

}  // namespace

const char* TransportErrorName(TransportError error) {
  switch (error) {
    case TransportError::InvalidArgument: return "invalid-argument";
    case TransportError::Socket: return "socket";
    case TransportError::Tls: return "tls";
    case TransportError::PeerMismatch: return "peer-mismatch";
    case TransportError::PeerRefused: return "peer-refused";
    case TransportError::Timeout: return "timeout";
    case TransportError::Closed: return "closed";
    case TransportError::NotConnected: return "not-connected";
    case TransportError::Limit: return "limit";
    case TransportError::FrameTooLarge: return "frame-too-large";
    case TransportError::EndOfStream: return "end-of-stream";
    case TransportError::Stopped: return "stopped";
  }
  return "?";
}

namespace detail {

struct Conn {
  Endpoint::Impl* ep = nullptr;
  uint64_t id = 0;
  ngtcp2_conn* q = nullptr;
  gnutls_session_t tls = nullptr;
  ngtcp2_crypto_conn_ref ref{};
  bool client = false;
  UdpSocket* sock = nullptr;
  SockAddr remote;
  PeerId expected{};  // dialer: the NodeId we require
  PeerId peer{};      // verified key (valid when peer_verified)
  bool peer_verified = false;
  bool handshake_done = false;  // TLS handshake completed (both sides' Finished)
  bool ready = false;           // verified and announced
  bool in_registry = false;
  bool dead = false;
  bool counted_handshake = true;  // counted in handshakes_in_progress until ready or dead
  uint64_t start_ns = 0;
  uint64_t ready_ns = 0;
  TransportError fail_code = TransportError::Closed;
  std::string fail_reason;
  std::set<std::string> cids;
  std::map<int64_t, std::shared_ptr<StreamImpl>> streams;
  std::deque<std::shared_ptr<StreamImpl>> send_queue;
  std::deque<PendingDatagram> datagrams;
  std::deque<Bytes> stream_messages;             // messages waiting for a uni stream
  std::map<int64_t, Bytes> incoming_messages;    // uni streams being received
  std::set<int64_t> internal_streams;            // our uni message streams
  std::vector<std::shared_ptr<StreamImpl>> held_streams;  // opened by the peer before ready
  std::map<uint64_t, std::pair<uint64_t, std::function<void(TResult<Duration>)>>> pings;
  uint64_t next_ping_id = 1;
  uint64_t timer_at = UINT64_MAX;
  bool dirty = false;
  bool wrote_nothing = false;
  // Packets the socket refused (EAGAIN), sent first when it drains.
  Bytes blocked;
  size_t blocked_segment = 0;
  SockAddr blocked_to;

  void SetFailure(TransportError code, std::string reason) {
    if (fail_reason.empty()) {
      fail_code = code;
      fail_reason = std::move(reason);
    }
  }

  ~Conn() {
    if (q) ngtcp2_conn_del(q);  // before the TLS session it references
    if (tls) gnutls_deinit(tls);
  }
};

}  // namespace detail

class Endpoint::Impl {
 public:
  Impl(const identity::NodeKey& key, EndpointConfig config, EndpointHandlers handlers)
      : m_self(key.public_key()), m_config(std::move(config)), m_handlers(std::move(handlers)) {}
  ~Impl();

  TStatus Init(const identity::NodeKey& key);
  void Run();
  bool Post(LoopTask task);
  void RequestStop();
  bool OnLoopThread() const { return std::this_thread::get_id() == m_thread.get_id(); }

  // Loop-thread operations used by the public API.
  void DialOnLoop(const PeerId& expected, const SockAddr& addr, std::function<void(TResult<PeerInfo>)> done);
  TResult<std::shared_ptr<Stream>> OpenStreamOnLoop(const PeerId& peer);
  TStatus SendMessageOnLoop(const PeerId& peer, Bytes message);
  size_t MaxDatagramPayloadOf(Conn* c);
  void PingOnLoop(const PeerId& peer, std::function<void(TResult<Duration>)> done);
  void DisconnectOnLoop(const PeerId& peer);
  std::vector<PeerInfo> PeersOnLoop();
  EndpointStats StatsOnLoop();

  void ScheduleStream(const std::shared_ptr<StreamImpl>& s);
  void ReturnCredit(const std::shared_ptr<StreamImpl>& s);
  void ResetStream(const std::shared_ptr<StreamImpl>& s, uint64_t code);

  // ngtcp2 callbacks (static trampolines below call these).
  int OnHandshakeCompleted(Conn* c);
  int OnHandshakeConfirmed(Conn* c);
  int OnStreamOpen(Conn* c, int64_t stream_id);
  /** Gives a verified peer's new stream to the application (on_stream), or resets it. */
  void HandOverStream(const std::shared_ptr<StreamImpl>& s);
  int OnRecvStreamData(Conn* c, uint32_t flags, int64_t stream_id, const uint8_t* data, size_t len, void* sud);
  int OnAcked(Conn* c, int64_t stream_id, uint64_t offset, uint64_t len, void* sud);
  int OnStreamClose(Conn* c, uint32_t flags, int64_t stream_id, uint64_t code, void* sud);
  int OnStreamReset(Conn* c, int64_t stream_id, uint64_t code, void* sud);
  int OnStreamStopSending(Conn* c, int64_t stream_id, uint64_t code, void* sud);
  int OnExtendStreamData(Conn* c, int64_t stream_id, void* sud);
  int OnRecvDatagram(Conn* c, const uint8_t* data, size_t len);
  int OnExtendUniStreams(Conn* c) {
    if (!c->stream_messages.empty()) MarkDirty(c);  // the write pass opens the waiting streams
    return 0;
  }
  int OnNewConnectionId(Conn* c, ngtcp2_cid* cid, uint8_t* token, size_t cidlen);
  int OnRemoveConnectionId(Conn* c, const ngtcp2_cid* cid);

  const PeerId m_self;
  EndpointConfig m_config;
  EndpointHandlers m_handlers;
  std::shared_ptr<LoopLink> m_link = std::make_shared<LoopLink>();
  std::vector<std::string> m_local_addresses;

 private:
  friend class Endpoint;
  void Log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void RunTasks();
  void ReadSocket(UdpSocket* sock);
  void OnPacket(UdpSocket* sock, const SockAddr& from, const uint8_t* data, size_t len);
  void ReadConnPacket(Conn* c, UdpSocket* sock, const SockAddr& from, const uint8_t* data, size_t len);
  Conn* CreateConn(bool client, UdpSocket* sock, const SockAddr& remote, const ngtcp2_cid& dcid,
                   const ngtcp2_cid& scid, const ngtcp2_pkt_hd* hd, std::string* error);
  bool SetupTls(Conn* c, std::string* error);
  void HandleTimers();
  void UpdateTimer(Conn* c);
  void MarkDirty(Conn* c);
  void WriteDirty();
  void WriteConn(Conn* c);
  bool SendPackets(Conn* c, const SockAddr& to, const uint8_t* data, size_t len, size_t segment);
  bool FlushBlocked(Conn* c);
  void OpenMessageStreams(Conn* c);
  void CloseConn(Conn* c, const ngtcp2_connection_close_error* ccerr, bool send);
  void CloseConnApp(Conn* c, uint64_t code, const std::string& reason);
  void OnReady(Conn* c);
  void Reap();
  void RunDeferred();
  void CompleteWaiters(const PeerId& peer, const TResult<PeerInfo>& result);
  PeerInfo InfoOf(Conn* c);
  Conn* FindConn(uint64_t id);
  void DeliverMessage(Conn* c, Bytes payload);
  UdpSocket* SocketFor(int family);
  ngtcp2_settings MakeSettings(uint64_t now);
  ngtcp2_transport_params MakeParams();

  std::unique_ptr<TlsCredentials> m_creds;
  std::vector<std::unique_ptr<UdpSocket>> m_sockets;
  bool m_accept_incoming = false;
  int m_epoll = -1;
  int m_eventfd = -1;
  int m_timerfd = -1;
  std::thread m_thread;

  std::mutex m_task_mu;
  std::vector<LoopTask> m_tasks;
  bool m_stop_requested = false;
  bool m_stopping = false;  // loop thread only

  // Loop-thread state.
  uint64_t m_next_conn_id = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> m_conns;
  std::unordered_map<std::string, Conn*> m_by_cid;
  std::map<PeerId, Conn*> m_registry;
  std::map<PeerId, std::vector<std::function<void(TResult<PeerInfo>)>>> m_dial_waiters;
  std::set<std::pair<uint64_t, uint64_t>> m_timers;  // (expiry ns, conn id)
  std::vector<uint64_t> m_dirty;
  std::vector<std::function<void()>> m_deferred;
  bool m_any_blocked = false;
  std::unique_ptr<uint8_t[]> m_txbuf;
  size_t m_txbuf_size = 0;
  EndpointStats m_stats;
  ngtcp2_callbacks m_callbacks{};
};

bool detail::PostToImpl(Endpoint::Impl& impl, LoopTask task) { return impl.Post(std::move(task)); }
void detail::LoopScheduleStream(Endpoint::Impl& impl, const std::shared_ptr<StreamImpl>& s) { impl.ScheduleStream(s); }
void detail::LoopReturnCredit(Endpoint::Impl& impl, const std::shared_ptr<StreamImpl>& s) { impl.ReturnCredit(s); }
void detail::LoopResetStream(Endpoint::Impl& impl, const std::shared_ptr<StreamImpl>& s, uint64_t code) {
  impl.ResetStream(s, code);
}

// ---------------------------------------------------------------------------------------------
// C callbacks: every one catches everything (no exception crosses into C).

namespace {

#define P2PGIT_CB_GUARD(expr)                   \
  try {                                         \
    return (expr);                              \
  } catch (...) {                               \
    return NGTCP2_ERR_CALLBACK_FAILURE;         \
  }

Conn* AsConn(void* user_data) { return static_cast<Conn*>(user_data); }

ngtcp2_conn* GetConnFromRef(ngtcp2_crypto_conn_ref* ref) { return static_cast<Conn*>(ref->user_data)->q; }

int CbHandshakeCompleted(ngtcp2_conn*, void* ud) { P2PGIT_CB_GUARD(AsConn(ud)->ep->OnHandshakeCompleted(AsConn(ud))); }
int CbHandshakeConfirmed(ngtcp2_conn*, void* ud) { P2PGIT_CB_GUARD(AsConn(ud)->ep->OnHandshakeConfirmed(AsConn(ud))); }
int CbStreamOpen(ngtcp2_conn*, int64_t sid, void* ud) { P2PGIT_CB_GUARD(AsConn(ud)->ep->OnStreamOpen(AsConn(ud), sid)); }
int CbRecvStreamData(ngtcp2_conn*, uint32_t flags, int64_t sid, uint64_t, const uint8_t* data, size_t len, void* ud,
                     void* sud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnRecvStreamData(AsConn(ud), flags, sid, data, len, sud));
}
int CbAcked(ngtcp2_conn*, int64_t sid, uint64_t offset, uint64_t len, void* ud, void* sud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnAcked(AsConn(ud), sid, offset, len, sud));
}
int CbStreamClose(ngtcp2_conn*, uint32_t flags, int64_t sid, uint64_t code, void* ud, void* sud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnStreamClose(AsConn(ud), flags, sid, code, sud));
}
int CbStreamReset(ngtcp2_conn*, int64_t sid, uint64_t, uint64_t code, void* ud, void* sud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnStreamReset(AsConn(ud), sid, code, sud));
}
int CbStreamStopSending(ngtcp2_conn*, int64_t sid, uint64_t code, void* ud, void* sud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnStreamStopSending(AsConn(ud), sid, code, sud));
}
int CbExtendStreamData(ngtcp2_conn*, int64_t sid, uint64_t, void* ud, void* sud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnExtendStreamData(AsConn(ud), sid, sud));
}
int CbExtendUniStreams(ngtcp2_conn*, uint64_t, void* ud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnExtendUniStreams(AsConn(ud)));
}
int CbRecvDatagram(ngtcp2_conn*, uint32_t, const uint8_t* data, size_t len, void* ud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnRecvDatagram(AsConn(ud), data, len));
}
void CbRand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { RandomBytes(dest, len); }
int CbNewConnectionId(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen, void* ud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnNewConnectionId(AsConn(ud), cid, token, cidlen));
}
int CbRemoveConnectionId(ngtcp2_conn*, const ngtcp2_cid* cid, void* ud) {
  P2PGIT_CB_GUARD(AsConn(ud)->ep->OnRemoveConnectionId(AsConn(ud), cid));
}

// GnuTLS verify function: the identity check of the handshake (see detail/tls.h).
int VerifyPeer(gnutls_session_t session) noexcept {
  try {
    auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
    Conn* c = static_cast<Conn*>(ref->user_data);
    PeerCertificateCheck check = CheckPeerCertificate(session);
    if (!check.ok) {
      c->SetFailure(TransportError::PeerRefused, "refused peer at " + c->remote.ToString() + ": " + check.reason);
      return -1;
    }
    if (c->client && check.key != c->expected) {
      c->SetFailure(TransportError::PeerMismatch, "peer at " + c->remote.ToString() + " proved NodeId " +
                                                      identity::EncodeDidKey(check.key) + ", not the dialed " +
                                                      identity::EncodeDidKey(c->expected));
      return -1;
    }
    c->peer = check.key;
    c->peer_verified = true;
    return 0;
  } catch (...) {
    return -1;
  }
}

std::string DescribePeerClose(const ngtcp2_connection_close_error& ccerr) {
  if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT) {
    if (ccerr.error_code >= NGTCP2_CRYPTO_ERROR && ccerr.error_code < NGTCP2_CRYPTO_ERROR + 0x100)
      return "peer refused the handshake: " + TlsAlertDescription(uint8_t(ccerr.error_code & 0xff));
    if (ccerr.error_code == NGTCP2_CONNECTION_REFUSED) return "peer refused the connection (busy)";
    if (ccerr.error_code == NGTCP2_NO_ERROR) return "peer closed the connection";
    return "peer closed the connection with transport error " + std::to_string(ccerr.error_code);
  }
  if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
    switch (ccerr.error_code) {
      case APP_NO_ERROR: return "peer closed the connection";
      case APP_DUPLICATE: return "duplicate connection closed (simultaneous dial)";
      case APP_SHUTDOWN: return "peer is shutting down";
      default: return "peer closed the connection with application error " + std::to_string(ccerr.error_code);
    }
  }
  return "peer closed the connection";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Setup and loop.

Endpoint::Impl::~Impl() {
  // Connections first (their TLS sessions reference m_creds), then fds.
  m_conns.clear();
  m_sockets.clear();
  if (m_epoll >= 0) ::close(m_epoll);
  if (m_eventfd >= 0) ::close(m_eventfd);
  if (m_timerfd >= 0) ::close(m_timerfd);
}

void Endpoint::Impl::Log(const char* fmt, ...) {
  if (!m_config.log) return;
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "transport: ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
}

TStatus Endpoint::Impl::Init(const identity::NodeKey& key) {
  if (m_config.max_udp_payload < 1200 || m_config.max_udp_payload > 65527)
    return Fail(TransportError::InvalidArgument, "max_udp_payload must be 1200..65527");
  auto creds = TlsCredentials::Create(key, m_config.testing);
  if (!creds) return creds.error();
  m_creds = std::move(*creds);

  std::vector<std::string> listen = m_config.listen;
  m_accept_incoming = !listen.empty();
  if (listen.empty()) listen = {"0.0.0.0:0", "[::]:0"};
  for (const auto& text : listen) {
    auto addr = ResolveHostPort(text);
    if (!addr) return addr.error();
    auto sock = UdpSocket::Bind(*addr, m_config.use_gso, m_config.use_gro);
    if (!sock) {
      // An unlisted dial-only IPv6 socket may be unavailable (no IPv6 in a container): fine.
      if (!m_accept_incoming && addr->family() == AF_INET6) continue;
      return sock.error();
    }
    m_local_addresses.push_back((*sock)->local().ToString());
    m_sockets.push_back(std::move(*sock));
  }
  m_epoll = epoll_create1(EPOLL_CLOEXEC);
  m_eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  m_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (m_epoll < 0 || m_eventfd < 0 || m_timerfd < 0) return Fail(TransportError::Socket, "cannot create epoll/eventfd/timerfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_eventfd, &ev);
  ev.data.u64 = 1;
  epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_timerfd, &ev);
  for (size_t i = 0; i < m_sockets.size(); ++i) {
    ev.data.u64 = 2 + i;
    epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_sockets[i]->fd(), &ev);
  }
  m_txbuf_size = MAX_GSO_SEGMENTS * m_config.max_udp_payload;
  m_txbuf.reset(new uint8_t[m_txbuf_size]);

  auto& cb = m_callbacks;
  cb.client_initial = ngtcp2_crypto_client_initial_cb;
  cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = CbRand;
  cb.get_new_connection_id = CbNewConnectionId;
  cb.remove_connection_id = CbRemoveConnectionId;
  cb.handshake_completed = CbHandshakeCompleted;
  cb.handshake_confirmed = CbHandshakeConfirmed;
  cb.stream_open = CbStreamOpen;
  cb.recv_stream_data = CbRecvStreamData;
  cb.acked_stream_data_offset = CbAcked;
  cb.stream_close = CbStreamClose;
  cb.stream_reset = CbStreamReset;
  cb.stream_stop_sending = CbStreamStopSending;
  cb.extend_max_stream_data = CbExtendStreamData;
  cb.extend_max_local_streams_uni = CbExtendUniStreams;
  cb.recv_datagram = CbRecvDatagram;

  m_link->impl = this;
  m_thread = std::thread([this] { Run(); });
  return Ok{};
}

bool Endpoint::Impl::Post(LoopTask task) {
  {
    std::lock_guard lock(m_task_mu);
    if (m_stop_requested) return false;
    m_tasks.push_back(std::move(task));
  }
  uint64_t one = 1;
  ssize_t rv = ::write(m_eventfd, &one, sizeof one);
  (void)rv;
  return true;
}

void Endpoint::Impl::RequestStop() {
  {
    std::lock_guard lock(m_link->mu);
    m_link->impl = nullptr;
  }
  {
    std::lock_guard lock(m_task_mu);
    if (m_stop_requested) return;
    m_stop_requested = true;
  }
  uint64_t one = 1;
  ssize_t rv = ::write(m_eventfd, &one, sizeof one);
  (void)rv;
}

void Endpoint::Impl::RunTasks() {
  std::vector<LoopTask> tasks;
  bool stop;
  {
    std::lock_guard lock(m_task_mu);
    tasks.swap(m_tasks);
    stop = m_stop_requested;
  }
  for (auto& t : tasks) {
    try {
      t(*this);
    } catch (...) {
      Log("a posted task threw; ignored");
    }
  }
  if (stop && !m_stopping) {
    m_stopping = true;
    std::vector<Conn*> all;
    for (auto& [id, c] : m_conns) all.push_back(c.get());
    for (Conn* c : all) CloseConnApp(c, APP_SHUTDOWN, "endpoint stopped");
  }
}

void Endpoint::Impl::Run() {
  epoll_event events[16];
  while (true) {
    // Arm the timer for the earliest connection expiry.
    itimerspec its{};
    if (!m_timers.empty()) {
      uint64_t at = std::max<uint64_t>(m_timers.begin()->first, 1);
      its.it_value.tv_sec = time_t(at / 1'000'000'000ull);
      its.it_value.tv_nsec = long(at % 1'000'000'000ull);
    }
    timerfd_settime(m_timerfd, TFD_TIMER_ABSTIME, &its, nullptr);
    // Work left by the last pass (a datagram moved to a stream, ...) must not wait for an event.
    int n = epoll_wait(m_epoll, events, 16, m_dirty.empty() ? -1 : 0);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == 0) {
        uint64_t v;
        while (::read(m_eventfd, &v, sizeof v) > 0) {
        }
        RunTasks();
      } else if (tag == 1) {
        uint64_t v;
        while (::read(m_timerfd, &v, sizeof v) > 0) {
        }
      } else {
        UdpSocket* sock = m_sockets[tag - 2].get();
        if (events[i].events & EPOLLOUT) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = tag;
          epoll_ctl(m_epoll, EPOLL_CTL_MOD, sock->fd(), &ev);
          m_any_blocked = false;
          for (auto& [id, c] : m_conns)
            if (!c->blocked.empty()) MarkDirty(c.get());
        }
        if (events[i].events & EPOLLIN) ReadSocket(sock);
      }
    }
    HandleTimers();
    RunDeferred();
    WriteDirty();
    RunDeferred();
    Reap();
    if (m_stopping && m_conns.empty()) break;
  }
  // Fail whatever is still waiting.
  for (auto& [peer, waiters] : m_dial_waiters)
    for (auto& w : waiters) w(Fail(TransportError::Stopped, "endpoint stopped"));
  m_dial_waiters.clear();
  std::vector<LoopTask> tasks;
  {
    std::lock_guard lock(m_task_mu);
    tasks.swap(m_tasks);
  }
  // Tasks posted after the stop: they run against an empty endpoint (promises get answers).
  for (auto& t : tasks) {
    try {
      t(*this);
    } catch (...) {
    }
  }
}

UdpSocket* Endpoint::Impl::SocketFor(int family) {
  for (auto& s : m_sockets)
    if (s->local().family() == family) return s.get();
  return nullptr;
}

void Endpoint::Impl::ReadSocket(UdpSocket* sock) {
  UdpSocket::Received batch[RECV_BATCH];
  // Bounded per wake-up so timers and writes keep running under a flood.
  for (int round = 0; round < 8; ++round) {
    int n = sock->Receive(batch, RECV_BATCH);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      const auto& r = batch[i];
      for (size_t off = 0; off < r.len; off += r.segment)
        OnPacket(sock, r.from, r.data + off, std::min(r.segment, r.len - off));
    }
    RunDeferred();
    if (n < int(RECV_BATCH)) break;
  }
}

void Endpoint::Impl::OnPacket(UdpSocket* sock, const SockAddr& from, const uint8_t* data, size_t len) {
  ++m_stats.packets_received;
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, SCID_BYTES);
  if (rv != 0) {
    ++m_stats.packets_ignored;  // garbage, or a version we do not speak
    return;
  }
  auto it = m_by_cid.find(CidKey(vc.dcid, vc.dcidlen));
  if (it != m_by_cid.end()) {
    if (!it->second->dead) ReadConnPacket(it->second, sock, from, data, len);
    return;
  }
  if (!m_accept_incoming || m_stopping) {
    ++m_stats.packets_ignored;
    return;
  }
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, data, len) != 0) {
    ++m_stats.packets_ignored;  // not a valid Initial: nothing to answer
    return;
  }
  if (m_conns.size() >= m_config.max_connections || m_stats.handshakes_in_progress >= m_config.max_handshakes) {
    ++m_stats.initials_refused;
    return;
  }
  ngtcp2_cid scid;
  scid.datalen = SCID_BYTES;
  RandomBytes(scid.data, SCID_BYTES);
  std::string error;
  Conn* c = CreateConn(false, sock, from, hd.scid, scid, &hd, &error);
  if (c == nullptr) {
    ++m_stats.packets_ignored;
    Log("cannot accept from %s: %s", from.ToString().c_str(), error.c_str());
    return;
  }
  // The client keeps using the DCID it chose until it learns ours.
  c->cids.insert(CidKey(hd.dcid));
  m_by_cid[CidKey(hd.dcid)] = c;
  ReadConnPacket(c, sock, from, data, len);
}

ngtcp2_settings Endpoint::Impl::MakeSettings(uint64_t now) {
  ngtcp2_settings s;
  ngtcp2_settings_default(&s);
  s.initial_ts = now;
  s.max_tx_udp_payload_size = m_config.max_udp_payload;
  s.handshake_timeout = uint64_t(m_config.handshake_timeout.count());
  s.max_window = m_config.connection_receive_window;
  s.max_stream_window = m_config.stream_receive_window;
  s.cc_algo = NGTCP2_CC_ALGO_CUBIC;
  return s;
}

ngtcp2_transport_params Endpoint::Impl::MakeParams() {
  ngtcp2_transport_params p;
  ngtcp2_transport_params_default(&p);
  // 0.12.1 defaults these to 0 (nothing could be sent): initial windows, auto-tuned up to the
  // max_*window settings as the application drains them.
  uint64_t stream_initial = std::min<uint64_t>(m_config.stream_receive_window, 1u << 20);
  p.initial_max_stream_data_bidi_local = stream_initial;
  p.initial_max_stream_data_bidi_remote = stream_initial;
  p.initial_max_stream_data_uni = MAX_MESSAGE_BYTES + 1;
  p.initial_max_data = std::min<uint64_t>(m_config.connection_receive_window, 4u << 20);
  p.initial_max_streams_bidi = m_config.max_streams_per_connection;
  p.initial_max_streams_uni = MAX_MESSAGE_STREAMS_PER_CONNECTION;
  p.max_idle_timeout = uint64_t(m_config.idle_timeout.count());
  p.max_datagram_frame_size = MAX_DATAGRAM_FRAME_BYTES;
  p.active_connection_id_limit = 4;
  return p;
}

bool Endpoint::Impl::SetupTls(Conn* c, std::string* error) {
  unsigned flags = (c->client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_NO_END_OF_EARLY_DATA;
  if (gnutls_init(&c->tls, flags) != 0) {
    *error = "gnutls_init failed";
    return false;
  }
  if (gnutls_priority_set_direct(c->tls, TLS_PRIORITY, nullptr) != 0) {
    *error = "gnutls priority rejected";
    return false;
  }
  int rv = c->client ? ngtcp2_crypto_gnutls_configure_client_session(c->tls)
                     : ngtcp2_crypto_gnutls_configure_server_session(c->tls);
  if (rv != 0) {
    *error = "ngtcp2_crypto_gnutls_configure_session failed";
    return false;
  }
  c->ref.get_conn = GetConnFromRef;
  c->ref.user_data = c;
  gnutls_session_set_ptr(c->tls, &c->ref);
  if (gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, m_creds->get()) != 0) {
    *error = "gnutls_credentials_set failed";
    return false;
  }
  std::string alpn = m_config.testing.alpn_override.empty() ? std::string(ALPN) : m_config.testing.alpn_override;
  gnutls_datum_t proto{reinterpret_cast<unsigned char*>(alpn.data()), static_cast<unsigned>(alpn.size())};
  unsigned alpn_flags = GNUTLS_ALPN_MANDATORY | (c->client ? 0 : GNUTLS_ALPN_SERVER_PRECEDENCE);
  if (gnutls_alpn_set_protocols(c->tls, &proto, 1, alpn_flags) != 0) {
    *error = "gnutls_alpn_set_protocols failed";
    return false;
  }
  gnutls_session_set_verify_function(c->tls, VerifyPeer);
  if (!c->client) gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_REQUIRE);
  return true;
}

Conn* Endpoint::Impl::CreateConn(bool client, UdpSocket* sock, const SockAddr& remote, const ngtcp2_cid& dcid,
                                 const ngtcp2_cid& scid, const ngtcp2_pkt_hd* hd, std::string* error) {
  auto owned = std::make_unique<Conn>();
  Conn* c = owned.get();
  c->ep = this;
  c->id = m_next_conn_id++;
  c->client = client;
  c->sock = sock;
  c->remote = remote;
  c->start_ns = NowNs();
  if (!SetupTls(c, error)) return nullptr;
  ngtcp2_path path{{const_cast<sockaddr*>(sock->local().sa()), sock->local().len},
                   {const_cast<sockaddr*>(remote.sa()), remote.len},
                   nullptr};
  ngtcp2_settings settings = MakeSettings(c->start_ns);
  ngtcp2_transport_params params = MakeParams();
  int rv;
  if (client) {
    rv = ngtcp2_conn_client_new(&c->q, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &m_callbacks, &settings, &params,
                                nullptr, c);
  } else {
    params.original_dcid = hd->dcid;
    rv = ngtcp2_conn_server_new(&c->q, &dcid, &scid, &path, hd->version, &m_callbacks, &settings, &params, nullptr, c);
  }
  if (rv != 0) {
    *error = std::string("ngtcp2 connection setup failed: ") + ngtcp2_strerror(rv);
    return nullptr;
  }
  ngtcp2_conn_set_tls_native_handle(c->q, c->tls);
  if (m_config.keep_alive.count() > 0) ngtcp2_conn_set_keep_alive_timeout(c->q, uint64_t(m_config.keep_alive.count()));
  c->cids.insert(CidKey(scid));
  m_by_cid[CidKey(scid)] = c;
  ++m_stats.handshakes_in_progress;
  m_conns[c->id] = std::move(owned);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Reading.

void Endpoint::Impl::ReadConnPacket(Conn* c, UdpSocket* sock, const SockAddr& from, const uint8_t* data, size_t len) {
  ngtcp2_path path{{const_cast<sockaddr*>(sock->local().sa()), sock->local().len},
                   {const_cast<sockaddr*>(from.sa()), from.len},
                   nullptr};
  ngtcp2_pkt_info pi{};
  int rv = ngtcp2_conn_read_pkt(c->q, &path, &pi, data, len, NowNs());
  if (rv == 0) {
    MarkDirty(c);
    return;
  }
  switch (rv) {
    case NGTCP2_ERR_DISCARD_PKT:
      ++m_stats.packets_ignored;
      return;
    case NGTCP2_ERR_DRAINING: {
      ngtcp2_connection_close_error ccerr;
      ngtcp2_conn_get_connection_close_error(c->q, &ccerr);
      std::string why = DescribePeerClose(ccerr);
      bool refused = ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT && ccerr.error_code != NGTCP2_NO_ERROR;
      c->SetFailure(refused && !c->ready ? TransportError::PeerRefused : TransportError::Closed, why);
      CloseConn(c, nullptr, false);
      return;
    }
    case NGTCP2_ERR_DROP_CONN:
    case NGTCP2_ERR_RETRY:
      c->SetFailure(TransportError::Closed, "connection dropped");
      CloseConn(c, nullptr, false);
      return;
    case NGTCP2_ERR_CRYPTO: {
      uint8_t alert = ngtcp2_conn_get_tls_alert(c->q);
      c->SetFailure(TransportError::PeerRefused, "TLS handshake with " + from.ToString() + " failed: " + TlsAlertDescription(alert));
      ngtcp2_connection_close_error ccerr;
      ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, alert, nullptr, 0);
      CloseConn(c, &ccerr, true);
      return;
    }
    default: {
      c->SetFailure(TransportError::Closed, std::string("QUIC error: ") + ngtcp2_strerror(rv));
      ngtcp2_connection_close_error ccerr;
      ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rv, nullptr, 0);
      CloseConn(c, &ccerr, true);
      return;
    }
  }
}

int Endpoint::Impl::OnHandshakeCompleted(Conn* c) {
  c->handshake_done = true;
  const gnutls_datum_t proto{};
  gnutls_datum_t selected = proto;
  if (gnutls_alpn_get_selected_protocol(c->tls, &selected) != 0 || selected.size != std::strlen(ALPN) ||
      std::memcmp(selected.data, ALPN, selected.size) != 0) {
    c->SetFailure(TransportError::PeerRefused, "peer at " + c->remote.ToString() + " does not speak " + ALPN);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (!c->peer_verified) {
    c->SetFailure(TransportError::PeerRefused, "peer at " + c->remote.ToString() + " presented no certificate");
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (!c->client) {
    uint64_t id = c->id;
    m_deferred.push_back([this, id] {
      if (Conn* conn = FindConn(id)) OnReady(conn);
    });
  }
  return 0;
}

int Endpoint::Impl::OnHandshakeConfirmed(Conn* c) {
  if (c->client && c->peer_verified) {
    uint64_t id = c->id;
    m_deferred.push_back([this, id] {
      if (Conn* conn = FindConn(id)) OnReady(conn);
    });
  }
  return 0;
}

void Endpoint::Impl::HandOverStream(const std::shared_ptr<StreamImpl>& s) {
  if (!m_handlers.on_stream) {
    s->Reset(APP_RESET);
    return;
  }
  try {
    m_handlers.on_stream(s);
  } catch (...) {  // no exception crosses the loop
  }
}

int Endpoint::Impl::OnStreamOpen(Conn* c, int64_t stream_id) {
  bool uni = (stream_id & 0x2) != 0;
  if (uni) {
    c->incoming_messages[stream_id];
    return 0;
  }
  auto s = std::make_shared<StreamImpl>(m_link, c->id, stream_id, c->peer, m_config.stream_send_buffer);
  c->streams[stream_id] = s;
  ngtcp2_conn_set_stream_user_data(c->q, stream_id, s.get());
  if (c->ready) {
    m_deferred.push_back([this, s] { HandOverStream(s); });
  } else {
    c->held_streams.push_back(s);  // announced once the peer is verified
  }
  return 0;
}

int Endpoint::Impl::OnRecvStreamData(Conn* c, uint32_t flags, int64_t stream_id, const uint8_t* data, size_t len,
                                     void* sud) {
  bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  if (sud != nullptr) {
    static_cast<StreamImpl*>(sud)->OnReceive(data, len, fin);
    return 0;  // credit returns as the application reads
  }
  auto it = c->incoming_messages.find(stream_id);
  if (it == c->incoming_messages.end()) return 0;
  // Message stream: consumed here, so credit returns at once.
  ngtcp2_conn_extend_max_stream_offset(c->q, stream_id, len);
  ngtcp2_conn_extend_max_offset(c->q, len);
  if (it->second.size() + len > MAX_MESSAGE_BYTES + 1) {
    c->incoming_messages.erase(it);
    uint64_t id = c->id;
    m_deferred.push_back([this, id, stream_id] {
      if (Conn* conn = FindConn(id)) ngtcp2_conn_shutdown_stream(conn->q, stream_id, APP_MESSAGE_TOO_LARGE);
    });
    return 0;
  }
  it->second.insert(it->second.end(), data, data + len);
  if (fin) {
    Bytes payload = std::move(it->second);
    c->incoming_messages.erase(it);
    // ngtcp2 0.12.1 does not close a peer-opened unidirectional stream once its FIN arrived
    // (measured: no stream_close callback, even after shutting the read side), so its credit
    // would never come back and a connection could carry only MAX_MESSAGE_STREAMS_PER_CONNECTION
    // stream messages. The credit is returned here instead; the library's per-stream record stays
    // until the connection ends (a few hundred bytes per stream-carried message).
    ngtcp2_conn_extend_max_streams_uni(c->q, 1);
    if (!payload.empty() && payload[0] == KIND_MESSAGE) {
      payload.erase(payload.begin());
      uint64_t id = c->id;
      m_deferred.push_back([this, id, p = std::move(payload)]() mutable {
        if (Conn* conn = FindConn(id)) DeliverMessage(conn, std::move(p));
      });
    }
  }
  return 0;
}

void Endpoint::Impl::DeliverMessage(Conn* c, Bytes payload) {
  if (!c->ready) return;  // never surface data of an unverified peer
  if (m_handlers.on_message) {
    try {
      m_handlers.on_message(c->peer, std::move(payload));
    } catch (...) {
    }
  }
}

int Endpoint::Impl::OnAcked(Conn*, int64_t, uint64_t offset, uint64_t len, void* sud) {
  if (sud != nullptr) static_cast<StreamImpl*>(sud)->OnAcked(offset + len);
  return 0;
}

int Endpoint::Impl::OnStreamClose(Conn* c, uint32_t flags, int64_t stream_id, uint64_t code, void* sud) {
  // A request stream the peer opened is done: give its credit back, or after
  // MAX_STREAMS_PER_CONNECTION requests the connection could carry no more (ngtcp2 leaves
  // MAX_STREAMS to the application). Message streams get theirs back at FIN (OnRecvStreamData).
  if (!ngtcp2_conn_is_local_stream(c->q, stream_id) && ngtcp2_is_bidi_stream(stream_id))
    ngtcp2_conn_extend_max_streams_bidi(c->q, 1);
  c->incoming_messages.erase(stream_id);
  c->internal_streams.erase(stream_id);
  if (sud != nullptr) {
    auto* s = static_cast<StreamImpl*>(sud);
    bool app_error = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) && code != APP_NO_ERROR;
    s->OnClosed(TransportError::Closed,
                app_error ? "stream closed with application error " + std::to_string(code) : "stream closed");
  }
  c->streams.erase(stream_id);
  return 0;
}

int Endpoint::Impl::OnStreamReset(Conn*, int64_t, uint64_t code, void* sud) {
  if (sud != nullptr) static_cast<StreamImpl*>(sud)->OnPeerReset(code);
  return 0;
}

int Endpoint::Impl::OnStreamStopSending(Conn* c, int64_t stream_id, uint64_t code, void* sud) {
  if (sud != nullptr) static_cast<StreamImpl*>(sud)->OnStopSending(code);
  uint64_t id = c->id;
  m_deferred.push_back([this, id, stream_id, code] {
    if (Conn* conn = FindConn(id)) ngtcp2_conn_shutdown_stream_write(conn->q, stream_id, code);
  });
  return 0;
}

int Endpoint::Impl::OnExtendStreamData(Conn* c, int64_t stream_id, void*) {
  auto it = c->streams.find(stream_id);
  if (it != c->streams.end() && !it->second->queued) {
    it->second->queued = true;
    c->send_queue.push_back(it->second);
  }
  MarkDirty(c);
  return 0;
}

int Endpoint::Impl::OnRecvDatagram(Conn* c, const uint8_t* data, size_t len) {
  if (len == 0) return 0;
  ++m_stats.datagrams_received;
  uint8_t kind = data[0];
  if (kind == KIND_PING && len == 9) {
    if (c->datagrams.size() < MAX_QUEUED_DATAGRAMS) {
      Bytes pong(data, data + len);
      pong[0] = KIND_PONG;
      c->datagrams.push_back({std::move(pong), 0});
    }
  } else if (kind == KIND_PONG && len == 9) {
    uint64_t id = 0;
    for (int i = 1; i <= 8; ++i) id = (id << 8) | data[i];
    auto it = c->pings.find(id);
    if (it != c->pings.end()) {
      Duration rtt(NowNs() - it->second.first);
      auto done = std::move(it->second.second);
      c->pings.erase(it);
      m_deferred.push_back([done = std::move(done), rtt] { done(rtt); });
    }
  } else if (kind == KIND_MESSAGE) {
    uint64_t id = c->id;
    Bytes payload(data + 1, data + len);
    m_deferred.push_back([this, id, p = std::move(payload)]() mutable {
      if (Conn* conn = FindConn(id)) DeliverMessage(conn, std::move(p));
    });
  }
  return 0;
}

int Endpoint::Impl::OnNewConnectionId(Conn* c, ngtcp2_cid* cid, uint8_t* token, size_t cidlen) {
  cid->datalen = cidlen;
  do {
    RandomBytes(cid->data, cidlen);
  } while (m_by_cid.count(CidKey(*cid)) != 0);
  RandomBytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
  c->cids.insert(CidKey(*cid));
  m_by_cid[CidKey(*cid)] = c;
  return 0;
}

int Endpoint::Impl::OnRemoveConnectionId(Conn* c, const ngtcp2_cid* cid) {
  auto key = CidKey(*cid);
  c->cids.erase(key);
  auto it = m_by_cid.find(key);
  if (it != m_by_cid.end() && it->second == c) m_by_cid.erase(it);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Registry.

PeerInfo Endpoint::Impl::InfoOf(Conn* c) {
  PeerInfo info;
  info.peer = c->peer;
  info.we_dialed = c->client;
  info.remote_address = c->remote.ToString();
  info.handshake_time = Duration(c->ready_ns - c->start_ns);
  return info;
}

Conn* Endpoint::Impl::FindConn(uint64_t id) {
  auto it = m_conns.find(id);
  return (it == m_conns.end() || it->second->dead) ? nullptr : it->second.get();
}

void Endpoint::Impl::OnReady(Conn* c) {
  if (c->ready || c->dead) return;
  c->ready = true;
  c->ready_ns = NowNs();
  if (c->counted_handshake) {
    c->counted_handshake = false;
    --m_stats.handshakes_in_progress;
  }
  auto it = m_registry.find(c->peer);
  bool fresh = it == m_registry.end();
  if (!fresh) {
    Conn* existing = it->second;
    // One connection per pair: both sides keep the one dialed by the smaller NodeId, so two
    // simultaneous dials resolve the same way on both ends. Same dialer (a peer that restarted
    // and dialed again): the newer one wins.
    const PeerId& dialer_existing = existing->client ? m_self : existing->peer;
    const PeerId& dialer_new = c->client ? m_self : c->peer;
    bool new_wins = dialer_existing == dialer_new ? true : dialer_new < dialer_existing;
    ++m_stats.duplicates_closed;
    if (new_wins) {
      existing->in_registry = false;
      it->second = c;
      c->in_registry = true;
      CloseConnApp(existing, APP_DUPLICATE, "replaced by another connection to the same peer");
    } else {
      CloseConnApp(c, APP_DUPLICATE, "duplicate connection closed (simultaneous dial)");
      CompleteWaiters(c->peer, InfoOf(existing));
      return;
    }
  } else {
    m_registry[c->peer] = c;
    c->in_registry = true;
  }
  if (c->client)
    ++m_stats.connections_dialed;
  else
    ++m_stats.connections_accepted;
  Log("%s %s verified (%s) in %.2f ms", c->client ? "dialed" : "accepted", ShortId(c->peer).c_str(),
      c->remote.ToString().c_str(), double(c->ready_ns - c->start_ns) / 1e6);
  PeerInfo info = InfoOf(c);
  if (fresh && m_handlers.on_connected) {
    try {
      m_handlers.on_connected(info);
    } catch (...) {
    }
  }
  for (auto& s : c->held_streams) HandOverStream(s);
  c->held_streams.clear();
  CompleteWaiters(c->peer, info);
  MarkDirty(c);
}

void Endpoint::Impl::CompleteWaiters(const PeerId& peer, const TResult<PeerInfo>& result) {
  auto it = m_dial_waiters.find(peer);
  if (it == m_dial_waiters.end()) return;
  auto waiters = std::move(it->second);
  m_dial_waiters.erase(it);
  for (auto& w : waiters) {
    try {
      w(result);
    } catch (...) {
    }
  }
}

void Endpoint::Impl::CloseConnApp(Conn* c, uint64_t code, const std::string& reason) {
  c->SetFailure(TransportError::Closed, reason);
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_set_application_error(&ccerr, code, nullptr, 0);
  CloseConn(c, &ccerr, true);
}

void Endpoint::Impl::CloseConn(Conn* c, const ngtcp2_connection_close_error* ccerr, bool send) {
  if (c->dead) return;
  if (send && ccerr != nullptr && !ngtcp2_conn_is_in_closing_period(c->q) && !ngtcp2_conn_is_in_draining_period(c->q)) {
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(c->q, &ps.path, &pi, m_txbuf.get(), m_config.max_udp_payload,
                                                        ccerr, NowNs());
    if (n > 0) c->sock->Send(c->remote, m_txbuf.get(), size_t(n), size_t(n));
  }
  c->dead = true;
}

void Endpoint::Impl::Reap() {
  std::vector<uint64_t> dead;
  for (auto& [id, c] : m_conns)
    if (c->dead) dead.push_back(id);
  for (uint64_t id : dead) {
    std::unique_ptr<Conn> c = std::move(m_conns[id]);
    m_conns.erase(id);
    for (const auto& cid : c->cids) {
      auto it = m_by_cid.find(cid);
      if (it != m_by_cid.end() && it->second == c.get()) m_by_cid.erase(it);
    }
    if (c->timer_at != UINT64_MAX) m_timers.erase({c->timer_at, c->id});
    if (c->counted_handshake) {
      --m_stats.handshakes_in_progress;
      ++m_stats.handshakes_failed;
      Log("handshake with %s failed: %s", c->remote.ToString().c_str(), c->fail_reason.c_str());
    }
    std::string reason = c->fail_reason.empty() ? "connection closed" : c->fail_reason;
    for (auto& [sid, s] : c->streams) s->OnClosed(TransportError::Closed, "connection closed: " + reason);
    for (auto& s : c->held_streams) s->OnClosed(TransportError::Closed, "connection closed: " + reason);
    for (auto& [pid, ping] : c->pings) ping.second(Fail(TransportError::Closed, "connection closed: " + reason));
    if (c->in_registry) {
      m_registry.erase(c->peer);
      Log("disconnected from %s: %s", ShortId(c->peer).c_str(), reason.c_str());
      if (m_handlers.on_disconnected) {
        try {
          m_handlers.on_disconnected(c->peer, reason);
        } catch (...) {
        }
      }
    }
    if (c->client && !c->ready) {
      auto reg = m_registry.find(c->expected);
      if (reg != m_registry.end()) {
        CompleteWaiters(c->expected, InfoOf(reg->second));
      } else {
        bool other_dial = false;
        for (auto& [oid, o] : m_conns)
          if (o->client && !o->dead && o->expected == c->expected) other_dial = true;
        if (!other_dial) {
          TransportError code = c->fail_code;
          if (c->fail_reason.empty()) code = TransportError::Closed;
          CompleteWaiters(c->expected, Fail(code, reason));
        }
      }
    }
  }
}

void Endpoint::Impl::RunDeferred() {
  while (!m_deferred.empty()) {
    auto work = std::move(m_deferred);
    m_deferred.clear();
    for (auto& w : work) {
      try {
        w();
      } catch (...) {
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Timers and writing.

void Endpoint::Impl::UpdateTimer(Conn* c) {
  if (c->timer_at != UINT64_MAX) m_timers.erase({c->timer_at, c->id});
  c->timer_at = UINT64_MAX;
  if (c->dead) return;
  uint64_t at = ngtcp2_conn_get_expiry(c->q);
  if (at == UINT64_MAX) return;
  if (c->wrote_nothing) {
    uint64_t floor = NowNs() + MIN_IDLE_WAKE_NS;
    if (at < floor) at = floor;
  }
  c->timer_at = at;
  m_timers.insert({at, c->id});
}

void Endpoint::Impl::HandleTimers() {
  uint64_t now = NowNs();
  while (!m_timers.empty() && m_timers.begin()->first <= now) {
    uint64_t id = m_timers.begin()->second;
    m_timers.erase(m_timers.begin());
    Conn* c = FindConn(id);
    if (c == nullptr) continue;
    c->timer_at = UINT64_MAX;
    int rv = ngtcp2_conn_handle_expiry(c->q, now);
    if (rv == 0) {
      c->wrote_nothing = false;
      MarkDirty(c);
      continue;
    }
    if (rv == NGTCP2_ERR_IDLE_CLOSE) {
      ++m_stats.idle_closes;
      c->SetFailure(c->ready ? TransportError::Closed : TransportError::Timeout,
                    "idle timeout: no packet from the peer for " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(m_config.idle_timeout).count()) + " ms");
      CloseConn(c, nullptr, false);
    } else if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
      c->SetFailure(TransportError::Timeout, "handshake with " + c->remote.ToString() + " timed out");
      CloseConn(c, nullptr, false);
    } else {
      c->SetFailure(TransportError::Closed, std::string("QUIC error: ") + ngtcp2_strerror(rv));
      ngtcp2_connection_close_error ccerr;
      ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rv, nullptr, 0);
      CloseConn(c, &ccerr, true);
    }
  }
}

void Endpoint::Impl::MarkDirty(Conn* c) {
  if (c->dirty) return;
  c->dirty = true;
  m_dirty.push_back(c->id);
}

void Endpoint::Impl::WriteDirty() {
  auto dirty = std::move(m_dirty);
  m_dirty.clear();
  for (uint64_t id : dirty) {
    Conn* c = FindConn(id);
    if (c == nullptr) continue;
    c->dirty = false;
    WriteConn(c);
  }
}

bool Endpoint::Impl::SendPackets(Conn* c, const SockAddr& to, const uint8_t* data, size_t len, size_t segment) {
  int rv = c->sock->Send(to, data, len, segment);
  if (rv == -EAGAIN) {
    c->blocked.assign(data, data + len);
    c->blocked_segment = segment;
    c->blocked_to = to;
    if (!m_any_blocked) {
      m_any_blocked = true;
      for (size_t i = 0; i < m_sockets.size(); ++i) {
        if (m_sockets[i].get() != c->sock) continue;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = 2 + i;
        epoll_ctl(m_epoll, EPOLL_CTL_MOD, c->sock->fd(), &ev);
      }
    }
    return false;
  }
  return true;  // sent, or dropped on a hard error (QUIC recovers as from loss)
}

bool Endpoint::Impl::FlushBlocked(Conn* c) {
  if (c->blocked.empty()) return true;
  Bytes pending = std::move(c->blocked);
  c->blocked.clear();
  return SendPackets(c, c->blocked_to, pending.data(), pending.size(), c->blocked_segment);
}

void Endpoint::Impl::OpenMessageStreams(Conn* c) {
  while (!c->stream_messages.empty()) {
    int64_t sid;
    int rv = ngtcp2_conn_open_uni_stream(c->q, &sid, nullptr);
    if (rv != 0) return;  // no credit: extend_max_local_streams_uni marks us dirty later
    auto s = std::make_shared<StreamImpl>(m_link, c->id, sid, c->peer, c->stream_messages.front().size() + 1);
    ngtcp2_conn_set_stream_user_data(c->q, sid, s.get());
    c->streams[sid] = s;
    c->internal_streams.insert(sid);
    // Small: the buffer is larger than the message, so these never block.
    (void)s->Write(c->stream_messages.front());
    (void)s->Finish();
    c->stream_messages.pop_front();
    ++m_stats.messages_via_stream;
    s->queued = true;
    c->send_queue.push_back(s);
  }
}

void Endpoint::Impl::WriteConn(Conn* c) {
  if (c->dead) return;
  if (!FlushBlocked(c)) return;
  if (!c->stream_messages.empty() && c->ready) OpenMessageStreams(c);
  const size_t max_payload = m_config.max_udp_payload;
  size_t quantum = ngtcp2_conn_get_send_quantum(c->q);
  size_t max_pkts = std::clamp<size_t>(quantum / max_payload, 1, MAX_GSO_SEGMENTS);
  uint64_t ts = NowNs();
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  uint8_t* buf = m_txbuf.get();
  size_t off = 0, segment = 0, npkts = 0, total_pkts = 0;
  bool blocked = false;
  auto flush_batch = [&]() -> bool {
    if (off == 0) return true;
    SockAddr to;
    std::memcpy(&to.storage, ps.path.remote.addr, ps.path.remote.addrlen);
    to.len = ps.path.remote.addrlen;
    bool ok = SendPackets(c, to, buf, off, segment);
    off = 0;
    segment = 0;
    return ok;
  };
  for (;;) {
    ngtcp2_ssize nwrite = 0;
    if (!c->datagrams.empty()) {
      PendingDatagram& d = c->datagrams.front();
      ngtcp2_vec v{d.data.data(), d.data.size()};
      int accepted = 0;
      nwrite = ngtcp2_conn_writev_datagram(c->q, &ps.path, &pi, buf + off, max_payload, &accepted,
                                           NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &v, 1, ts);
      if (accepted) {
        c->datagrams.pop_front();
        ++m_stats.datagrams_sent;
      } else if (nwrite == NGTCP2_ERR_INVALID_STATE || nwrite == NGTCP2_ERR_INVALID_ARGUMENT ||
                 (nwrite > 0 && ++d.attempts >= DATAGRAM_ATTEMPTS)) {
        // The peer takes no datagrams, or this one does not fit a packet: a stream carries it.
        if (d.data[0] == KIND_MESSAGE) c->stream_messages.push_back(std::move(d.data));
        c->datagrams.pop_front();
        if (nwrite < 0) continue;
      }
      if (nwrite == NGTCP2_ERR_WRITE_MORE) continue;
    } else {
      std::shared_ptr<StreamImpl> s;
      while (!c->send_queue.empty()) {
        auto& front = c->send_queue.front();
        if (front->HasPendingSend() && c->streams.count(front->id()) != 0) {
          s = front;
          break;
        }
        front->queued = false;
        c->send_queue.pop_front();
      }
      ngtcp2_vec vecs[16];
      size_t nvec = 0;
      bool fin = false;
      int64_t sid = -1;
      if (s) {
        nvec = s->PrepareSend(vecs, 16, &fin);
        sid = s->id();
      }
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
      ngtcp2_ssize ndatalen = -1;
      nwrite = ngtcp2_conn_writev_stream(c->q, &ps.path, &pi, buf + off, max_payload, &ndatalen, flags, sid, vecs,
                                         nvec, ts);
      if (s && ndatalen >= 0) {
        uint64_t total = 0;
        for (size_t i = 0; i < nvec; ++i) total += vecs[i].len;
        s->OnSent(size_t(ndatalen), fin && uint64_t(ndatalen) == total);
        // Round-robin between streams with data.
        if (c->send_queue.size() > 1) {
          c->send_queue.pop_front();
          c->send_queue.push_back(s);
        }
      }
      if (nwrite < 0) {
        if (nwrite == NGTCP2_ERR_WRITE_MORE) continue;
        if (s && (nwrite == NGTCP2_ERR_STREAM_DATA_BLOCKED || nwrite == NGTCP2_ERR_STREAM_SHUT_WR ||
                  nwrite == NGTCP2_ERR_STREAM_NOT_FOUND)) {
          // Wait for MAX_STREAM_DATA (extend_max_stream_data re-queues it).
          auto it = std::find(c->send_queue.begin(), c->send_queue.end(), s);
          if (it != c->send_queue.end()) c->send_queue.erase(it);
          s->queued = false;
          continue;
        }
      }
    }
    if (nwrite < 0) {
      c->SetFailure(TransportError::Closed, std::string("QUIC write error: ") + ngtcp2_strerror(int(nwrite)));
      ngtcp2_connection_close_error ccerr;
      ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, int(nwrite), nullptr, 0);
      CloseConn(c, &ccerr, true);
      return;
    }
    if (nwrite == 0) break;
    // One more packet at buf + off. GSO needs equal sizes (the last may be shorter).
    size_t plen = size_t(nwrite);
    if (off > 0 && plen > segment) {
      // Larger than the batch's segment: send the batch, move this packet to the front.
      Bytes tmp(buf + off, buf + off + plen);
      if (!flush_batch()) {
        blocked = true;
        break;  // this packet is lost to the socket buffer; QUIC retransmits
      }
      std::memcpy(buf, tmp.data(), plen);
    }
    if (off == 0) segment = plen;
    off += plen;
    ++npkts;
    ++total_pkts;
    if (plen < segment || npkts >= max_pkts || off + max_payload > m_txbuf_size) {
      if (!flush_batch()) {
        blocked = true;
        break;
      }
      if (npkts >= max_pkts) break;
    }
  }
  if (!blocked) flush_batch();
  c->wrote_nothing = total_pkts == 0;
  // 0.12.1 paces the second client flight with the initial RTT (333 ms) before any sample:
  // only start pacing once the handshake is done.
  if (total_pkts > 0 && c->handshake_done) ngtcp2_conn_update_pkt_tx_time(c->q, ts);
  UpdateTimer(c);
}

// ---------------------------------------------------------------------------------------------
// Loop-side API.

void Endpoint::Impl::DialOnLoop(const PeerId& expected, const SockAddr& addr,
                                std::function<void(TResult<PeerInfo>)> done) {
  if (m_stopping) return done(Fail(TransportError::Stopped, "endpoint stopped"));
  if (expected == m_self) return done(Fail(TransportError::InvalidArgument, "cannot dial our own NodeId"));
  if (auto it = m_registry.find(expected); it != m_registry.end()) return done(InfoOf(it->second));
  m_dial_waiters[expected].push_back(std::move(done));
  for (auto& [id, c] : m_conns)
    if (c->client && !c->dead && c->expected == expected) return;  // joins the dial in progress
  UdpSocket* sock = SocketFor(addr.family());
  if (sock == nullptr)
    return CompleteWaiters(expected, Fail(TransportError::InvalidArgument,
                                          "no " + std::string(addr.family() == AF_INET6 ? "IPv6" : "IPv4") +
                                              " socket bound to dial " + addr.ToString()));
  if (m_conns.size() >= m_config.max_connections)
    return CompleteWaiters(expected, Fail(TransportError::Limit, "connection limit reached"));
  ngtcp2_cid dcid, scid;
  dcid.datalen = CLIENT_DCID_BYTES;
  RandomBytes(dcid.data, dcid.datalen);
  scid.datalen = SCID_BYTES;
  RandomBytes(scid.data, scid.datalen);
  std::string error;
  Conn* c = CreateConn(true, sock, addr, dcid, scid, nullptr, &error);
  if (c == nullptr) return CompleteWaiters(expected, Fail(TransportError::Tls, error));
  c->expected = expected;
  MarkDirty(c);
}

TResult<std::shared_ptr<Stream>> Endpoint::Impl::OpenStreamOnLoop(const PeerId& peer) {
  auto it = m_registry.find(peer);
  if (it == m_registry.end()) return Fail(TransportError::NotConnected, "not connected to " + ShortId(peer));
  Conn* c = it->second;
  int64_t sid;
  int rv = ngtcp2_conn_open_bidi_stream(c->q, &sid, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
    return Fail(TransportError::Limit, "peer allows no more concurrent streams");
  if (rv != 0) return Fail(TransportError::Closed, std::string("cannot open stream: ") + ngtcp2_strerror(rv));
  auto s = std::make_shared<StreamImpl>(m_link, c->id, sid, c->peer, m_config.stream_send_buffer);
  ngtcp2_conn_set_stream_user_data(c->q, sid, s.get());
  c->streams[sid] = s;
  return std::shared_ptr<Stream>(s);
}

size_t Endpoint::Impl::MaxDatagramPayloadOf(Conn* c) {
  const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(c->q);
  if (rp == nullptr || rp->max_datagram_frame_size < 16) return 0;
  size_t frame_cap = size_t(rp->max_datagram_frame_size) - 1 /*type*/ - 2 /*length*/;
  size_t path = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->q);
  size_t packet_cap = path > DATAGRAM_PACKET_OVERHEAD ? path - DATAGRAM_PACKET_OVERHEAD : 0;
  size_t cap = std::min(frame_cap, packet_cap);
  return cap > 1 ? cap - 1 /*kind byte*/ : 0;
}

TStatus Endpoint::Impl::SendMessageOnLoop(const PeerId& peer, Bytes message) {
  auto it = m_registry.find(peer);
  if (it == m_registry.end()) return Fail(TransportError::NotConnected, "not connected to " + ShortId(peer));
  Conn* c = it->second;
  if (message.size() > MAX_MESSAGE_BYTES)
    return Fail(TransportError::InvalidArgument, "message of " + std::to_string(message.size()) + " bytes exceeds MAX_MESSAGE_BYTES");
  Bytes framed;
  framed.reserve(message.size() + 1);
  framed.push_back(KIND_MESSAGE);
  framed.insert(framed.end(), message.begin(), message.end());
  if (message.size() <= MaxDatagramPayloadOf(c)) {
    if (c->datagrams.size() >= MAX_QUEUED_DATAGRAMS) {
      c->datagrams.pop_front();  // best-effort: the oldest goes
      ++m_stats.datagrams_dropped;
    }
    c->datagrams.push_back({std::move(framed), 0});
  } else {
    c->stream_messages.push_back(std::move(framed));
  }
  MarkDirty(c);
  return Ok{};
}

void Endpoint::Impl::PingOnLoop(const PeerId& peer, std::function<void(TResult<Duration>)> done) {
  auto it = m_registry.find(peer);
  if (it == m_registry.end()) return done(Fail(TransportError::NotConnected, "not connected to " + ShortId(peer)));
  Conn* c = it->second;
  uint64_t id = c->next_ping_id++;
  Bytes ping(9);
  ping[0] = KIND_PING;
  for (int i = 0; i < 8; ++i) ping[1 + i] = uint8_t(id >> (56 - 8 * i));
  c->pings[id] = {NowNs(), std::move(done)};
  c->datagrams.push_back({std::move(ping), 0});
  MarkDirty(c);
}

void Endpoint::Impl::DisconnectOnLoop(const PeerId& peer) {
  auto it = m_registry.find(peer);
  if (it != m_registry.end()) CloseConnApp(it->second, APP_NO_ERROR, "disconnected locally");
  for (auto& [id, c] : m_conns)
    if (c->client && !c->dead && !c->ready && c->expected == peer) CloseConnApp(c.get(), APP_NO_ERROR, "dial cancelled");
}

std::vector<PeerInfo> Endpoint::Impl::PeersOnLoop() {
  std::vector<PeerInfo> out;
  for (auto& [peer, c] : m_registry) out.push_back(InfoOf(c));
  return out;
}

EndpointStats Endpoint::Impl::StatsOnLoop() {
  EndpointStats s = m_stats;
  s.connections_open = m_registry.size();
  for (auto& sock : m_sockets) {
    s.udp_send_calls += sock->send_calls;
    s.udp_recv_calls += sock->recv_calls;
  }
  return s;
}

void Endpoint::Impl::ScheduleStream(const std::shared_ptr<StreamImpl>& s) {
  Conn* c = FindConn(s->conn_id);
  if (c == nullptr) {
    s->OnClosed(TransportError::Closed, "connection closed");
    return;
  }
  if (!s->queued) {
    s->queued = true;
    c->send_queue.push_back(s);
  }
  MarkDirty(c);
}

void Endpoint::Impl::ReturnCredit(const std::shared_ptr<StreamImpl>& s) {
  uint64_t n = s->TakeConsumed();
  Conn* c = FindConn(s->conn_id);
  if (c == nullptr || n == 0) return;
  if (c->streams.count(s->id()) != 0) ngtcp2_conn_extend_max_stream_offset(c->q, s->id(), n);
  ngtcp2_conn_extend_max_offset(c->q, n);
  MarkDirty(c);
}

void Endpoint::Impl::ResetStream(const std::shared_ptr<StreamImpl>& s, uint64_t code) {
  Conn* c = FindConn(s->conn_id);
  if (c == nullptr) return;
  if (c->streams.count(s->id()) != 0) ngtcp2_conn_shutdown_stream(c->q, s->id(), code);
  MarkDirty(c);
}

// ---------------------------------------------------------------------------------------------
// Public API.

Endpoint::Endpoint(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Endpoint::~Endpoint() { Stop(); }

TResult<std::unique_ptr<Endpoint>> Endpoint::Create(const identity::NodeKey& key, EndpointConfig config,
                                                    EndpointHandlers handlers) {
  auto impl = std::make_unique<Impl>(key, std::move(config), std::move(handlers));
  auto st = impl->Init(key);
  if (!st) return st.error();
  return std::unique_ptr<Endpoint>(new Endpoint(std::move(impl)));
}

void Endpoint::Stop() {
  if (!m_impl || !m_impl->m_thread.joinable()) return;
  m_impl->RequestStop();
  m_impl->m_thread.join();
}

const PeerId& Endpoint::self() const { return m_impl->m_self; }

std::vector<std::string> Endpoint::LocalAddresses() const { return m_impl->m_local_addresses; }

void Endpoint::Dial(const PeerId& expected, const std::string& address, std::function<void(TResult<PeerInfo>)> done) {
  auto addr = ResolveHostPort(address);  // DNS on the caller's thread, never on the loop
  if (!addr) return done(addr.error());
  auto shared_done = std::make_shared<std::function<void(TResult<PeerInfo>)>>(std::move(done));
  SockAddr sa = *addr;
  if (!m_impl->Post([expected, sa, shared_done](Impl& impl) { impl.DialOnLoop(expected, sa, *shared_done); }))
    (*shared_done)(Fail(TransportError::Stopped, "endpoint stopped"));
}

namespace {
// Runs `fn` on the loop and waits for its result (never from the loop thread).
template <typename T, typename Fn>
TResult<T> CallOnLoop(Endpoint::Impl& impl, bool on_loop, Fn fn) {
  if (on_loop) return Fail(TransportError::InvalidArgument, "blocking transport call from the loop thread");
  auto promise = std::make_shared<std::promise<TResult<T>>>();
  auto future = promise->get_future();
  if (!impl.Post([promise, fn = std::move(fn)](Endpoint::Impl& i) mutable { promise->set_value(fn(i)); }))
    return Fail(TransportError::Stopped, "endpoint stopped");
  return future.get();
}
}  // namespace

TResult<PeerInfo> Endpoint::Connect(const PeerId& expected, const std::string& address) {
  if (m_impl->OnLoopThread()) return Fail(TransportError::InvalidArgument, "blocking transport call from the loop thread");
  auto promise = std::make_shared<std::promise<TResult<PeerInfo>>>();
  auto future = promise->get_future();
  Dial(expected, address, [promise](TResult<PeerInfo> r) { promise->set_value(std::move(r)); });
  return future.get();
}

TResult<std::shared_ptr<Stream>> Endpoint::OpenStream(const PeerId& peer) {
  return CallOnLoop<std::shared_ptr<Stream>>(*m_impl, m_impl->OnLoopThread(),
                                              [peer](Impl& impl) { return impl.OpenStreamOnLoop(peer); });
}

TStatus Endpoint::SendMessage(const PeerId& peer, ByteSpan message) {
  Bytes copy(message.begin(), message.end());
  return CallOnLoop<Ok>(*m_impl, m_impl->OnLoopThread(),
                        [peer, copy = std::move(copy)](Impl& impl) mutable { return impl.SendMessageOnLoop(peer, std::move(copy)); });
}

TResult<size_t> Endpoint::MaxDatagramPayload(const PeerId& peer) {
  return CallOnLoop<size_t>(*m_impl, m_impl->OnLoopThread(), [peer](Impl& impl) -> TResult<size_t> {
    auto it = impl.m_registry.find(peer);
    if (it == impl.m_registry.end()) return Fail(TransportError::NotConnected, "not connected");
    return impl.MaxDatagramPayloadOf(it->second);
  });
}

TResult<Duration> Endpoint::Ping(const PeerId& peer, Duration timeout) {
  if (m_impl->OnLoopThread()) return Fail(TransportError::InvalidArgument, "blocking transport call from the loop thread");
  auto promise = std::make_shared<std::promise<TResult<Duration>>>();
  auto future = promise->get_future();
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto done = [promise, answered](TResult<Duration> r) {
    if (!answered->exchange(true)) promise->set_value(std::move(r));
  };
  if (!m_impl->Post([peer, done](Impl& impl) { impl.PingOnLoop(peer, done); }))
    return Fail(TransportError::Stopped, "endpoint stopped");
  if (future.wait_for(timeout) != std::future_status::ready) {
    if (!answered->exchange(true)) return Fail(TransportError::Timeout, "no pong within the timeout (datagram lost?)");
  }
  return future.get();
}

void Endpoint::Disconnect(const PeerId& peer) {
  m_impl->Post([peer](Impl& impl) { impl.DisconnectOnLoop(peer); });
}

std::vector<PeerInfo> Endpoint::Peers() {
  auto r = CallOnLoop<std::vector<PeerInfo>>(*m_impl, m_impl->OnLoopThread(),
                                             [](Impl& impl) -> TResult<std::vector<PeerInfo>> { return impl.PeersOnLoop(); });
  return r ? *r : std::vector<PeerInfo>{};
}

EndpointStats Endpoint::Stats() {
  auto r = CallOnLoop<EndpointStats>(*m_impl, m_impl->OnLoopThread(),
                                     [](Impl& impl) -> TResult<EndpointStats> { return impl.StatsOnLoop(); });
  return r ? *r : EndpointStats{};
}

TResult<std::pair<PeerId, std::string>> ParseNodeAddress(const std::string& text) {
  auto at = text.find('@');
  if (at == std::string::npos)
    return Fail(TransportError::InvalidArgument, "'" + text + "' must be NODEID@HOST:PORT (did:key:z6Mk…@127.0.0.1:7000)");
  auto key = identity::DecodeDidKey(text.substr(0, at));
  if (!key) return Fail(TransportError::InvalidArgument, "invalid NodeId in '" + text + "': " + key.message());
  std::string hostport = text.substr(at + 1);
  auto addr = ResolveHostPort(hostport);
  if (!addr) return addr.error();
  return std::make_pair(*key, hostport);
}

}  // namespace p2pgit::transport
