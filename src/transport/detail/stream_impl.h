// The Stream implementation shared by the application threads (blocking calls) and the loop
// thread (ngtcp2 callbacks and the write pass). Internal to the transport.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "transport/endpoint.h"

namespace p2pgit::transport::detail {

/** Work posted to the loop thread. */
using LoopTask = std::function<void(Endpoint::Impl&)>;

/**
 * Outlives the Impl: streams held by the application after the endpoint stopped post through it
 * and get `false` instead of touching freed memory.
 */
struct LoopLink {
  std::mutex mu;
  Endpoint::Impl* impl = nullptr;  // null once the loop stopped
  bool Post(LoopTask task);
};

/** QUIC application error codes we send. */
inline constexpr uint64_t APP_NO_ERROR = 0x0;
inline constexpr uint64_t APP_RESET = 0x1;            // Stream::Reset default
inline constexpr uint64_t APP_DUPLICATE = 0x10;       // simultaneous dial resolved; the other stays
inline constexpr uint64_t APP_SHUTDOWN = 0x11;        // endpoint stopping
inline constexpr uint64_t APP_FRAMING = 0x12;         // frame header over MAX_FRAME_BYTES
inline constexpr uint64_t APP_MESSAGE_TOO_LARGE = 0x13;

class StreamImpl final : public Stream, public std::enable_shared_from_this<StreamImpl> {
 public:
  StreamImpl(std::shared_ptr<LoopLink> link, uint64_t conn_id, int64_t id, const PeerId& peer, size_t send_cap);
  ~StreamImpl() override;

  int64_t id() const override { return m_id; }
  const PeerId& peer() const override { return m_peer; }
  TStatus Write(ByteSpan data) override;
  TStatus WriteFrame(ByteSpan payload) override;
  TStatus Finish() override;
  TResult<size_t> Read(std::span<uint8_t> out, Duration timeout) override;
  TResult<Bytes> ReadFrame(Duration timeout) override;
  TStatus Flush(Duration timeout) override;
  void Reset(uint64_t app_error_code) override;

  // ---- Loop thread only ----
  /** Fills up to `max` vectors with bytes not yet handed to ngtcp2; *fin when they end the stream. */
  size_t PrepareSend(ngtcp2_vec* vecs, size_t max, bool* fin);
  /** ngtcp2 took `n` bytes (and the FIN if `fin`). */
  void OnSent(size_t n, bool fin);
  bool HasPendingSend();
  /** Bytes up to offset `upto` are acknowledged: free them, wake writers. */
  void OnAcked(uint64_t upto);
  void OnReceive(const uint8_t* data, size_t len, bool fin);
  void OnPeerReset(uint64_t app_error_code);
  void OnStopSending(uint64_t app_error_code);
  void OnClosed(TransportError code, const std::string& reason);
  /** Takes the count of bytes consumed by Read since the last call (credit to return). */
  uint64_t TakeConsumed();

  const uint64_t conn_id;
  bool queued = false;  // in the connection's send queue (loop thread)

 private:
  TResult<size_t> ReadExact(uint8_t* out, size_t n, Clock::time_point deadline);
  void SignalWriteLocked();
  TStatus ClosedStatusLocked() const;

  std::shared_ptr<LoopLink> m_link;
  const int64_t m_id;
  const PeerId m_peer;
  const size_t m_send_cap;

  std::mutex m_mu;
  std::condition_variable m_cv;
  // Send side. Chunks keep their address until acknowledged (ngtcp2 retransmits from them).
  std::deque<Bytes> m_send_chunks;
  uint64_t m_send_base = 0;    // stream offset of m_send_chunks.front()[0]
  uint64_t m_written_end = 0;  // bytes queued by the application
  uint64_t m_sent_offset = 0;  // bytes handed to ngtcp2
  uint64_t m_acked = 0;
  bool m_fin_requested = false;
  bool m_fin_sent = false;
  bool m_write_signal_pending = false;
  bool m_send_aborted = false;
  // Receive side.
  std::deque<Bytes> m_recv_chunks;
  size_t m_recv_front_pos = 0;
  uint64_t m_recv_buffered = 0;
  bool m_recv_fin = false;
  bool m_recv_aborted = false;
  uint64_t m_consumed_unreported = 0;
  bool m_consumed_signal_pending = false;
  // Whole stream.
  bool m_closed = false;
  TransportError m_close_code = TransportError::Closed;
  std::string m_close_reason;
};

/** Queues a task on the loop (defined in endpoint.cpp); false once the loop stopped. */
bool PostToImpl(Endpoint::Impl& impl, LoopTask task);
// Loop-side entry points the stream posts to (defined in endpoint.cpp).
void LoopScheduleStream(Endpoint::Impl& impl, const std::shared_ptr<StreamImpl>& stream);
void LoopReturnCredit(Endpoint::Impl& impl, const std::shared_ptr<StreamImpl>& stream);
void LoopResetStream(Endpoint::Impl& impl, const std::shared_ptr<StreamImpl>& stream, uint64_t app_error_code);

}  // namespace p2pgit::transport::detail
