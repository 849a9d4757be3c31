#include "transport/detail/stream_impl.h"

#include <algorithm>
#include <cstring>

namespace p2pgit::transport::detail {

namespace {
// Send chunks are reserved at this size and never grown past it, so their bytes never move.
constexpr size_t SEND_CHUNK_BYTES = 64 * 1024;
// Received packets are coalesced into chunks of this size (fewer allocations than one per packet).
constexpr size_t RECV_CHUNK_BYTES = 64 * 1024;
constexpr size_t FRAME_HEADER_BYTES = 4;
}  // namespace

bool LoopLink::Post(LoopTask task) {
  std::lock_guard lock(mu);
  if (impl == nullptr) return false;
  return PostToImpl(*impl, std::move(task));
}

StreamImpl::StreamImpl(std::shared_ptr<LoopLink> link, uint64_t conn_id_, int64_t id, const PeerId& peer,
                       size_t send_cap)
    : conn_id(conn_id_), m_link(std::move(link)), m_id(id), m_peer(peer), m_send_cap(std::max<size_t>(send_cap, SEND_CHUNK_BYTES)) {}

StreamImpl::~StreamImpl() = default;

TStatus StreamImpl::ClosedStatusLocked() const {
  std::string reason = m_close_reason.empty() ? "stream closed" : m_close_reason;
  return Fail(m_close_code, reason);
}

void StreamImpl::SignalWriteLocked() {
  if (m_write_signal_pending) return;
  m_write_signal_pending = true;
  auto self = shared_from_this();
  if (!m_link->Post([self](Endpoint::Impl& impl) {
        {
          std::lock_guard lock(self->m_mu);
          self->m_write_signal_pending = false;
        }
        LoopScheduleStream(impl, self);
      })) {
    m_write_signal_pending = false;
  }
}

TStatus StreamImpl::Write(ByteSpan data) {
  std::unique_lock lock(m_mu);
  size_t done = 0;
  while (done < data.size()) {
    m_cv.wait(lock, [&] {
      return m_closed || m_send_aborted || m_fin_requested || (m_written_end - m_acked) < m_send_cap;
    });
    if (m_send_aborted) return Fail(TransportError::Closed, "peer stopped reading this stream");
    if (m_closed) return ClosedStatusLocked();
    if (m_fin_requested) return Fail(TransportError::InvalidArgument, "write after Finish");
    size_t room = m_send_cap - static_cast<size_t>(m_written_end - m_acked);
    size_t n = std::min(room, data.size() - done);
    size_t left = n;
    while (left > 0) {
      if (m_send_chunks.empty() || m_send_chunks.back().size() == SEND_CHUNK_BYTES) {
        m_send_chunks.emplace_back();
        m_send_chunks.back().reserve(SEND_CHUNK_BYTES);
      }
      Bytes& chunk = m_send_chunks.back();
      size_t take = std::min(left, SEND_CHUNK_BYTES - chunk.size());
      const uint8_t* src = data.data() + done + (n - left);
      chunk.insert(chunk.end(), src, src + take);  // within capacity: no reallocation
      left -= take;
    }
    m_written_end += n;
    done += n;
    SignalWriteLocked();
  }
  return Ok{};
}

TStatus StreamImpl::WriteFrame(ByteSpan payload) {
  if (payload.size() > MAX_FRAME_BYTES)
    return Fail(TransportError::FrameTooLarge, "frame of " + std::to_string(payload.size()) + " bytes exceeds MAX_FRAME_BYTES");
  uint32_t n = static_cast<uint32_t>(payload.size());
  uint8_t header[FRAME_HEADER_BYTES] = {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
  // Header and payload land in one buffer append sequence; another thread writing the same stream
  // concurrently could interleave, so frames on one stream need one writer (documented).
  auto st = Write(ByteSpan(header, sizeof header));
  if (!st) return st;
  return Write(payload);
}

TStatus StreamImpl::Finish() {
  std::lock_guard lock(m_mu);
  if (m_closed) return ClosedStatusLocked();
  m_fin_requested = true;
  SignalWriteLocked();
  return Ok{};
}

TResult<size_t> StreamImpl::Read(std::span<uint8_t> out, Duration timeout) {
  std::unique_lock lock(m_mu);
  auto deadline = Clock::now() + timeout;
  if (!m_cv.wait_until(lock, deadline, [&] {
        return m_recv_buffered > 0 || m_recv_fin || m_recv_aborted || m_closed;
      }))
    return Fail(TransportError::Timeout, "read timed out");
  if (m_recv_buffered == 0) {
    if (m_recv_fin) return size_t{0};
    if (m_recv_aborted) return Fail(TransportError::Closed, "stream reset by peer");
    return Fail(m_close_code, m_close_reason.empty() ? "stream closed" : m_close_reason);
  }
  size_t copied = 0;
  while (copied < out.size() && !m_recv_chunks.empty()) {
    Bytes& front = m_recv_chunks.front();
    size_t take = std::min(out.size() - copied, front.size() - m_recv_front_pos);
    std::memcpy(out.data() + copied, front.data() + m_recv_front_pos, take);
    copied += take;
    m_recv_front_pos += take;
    if (m_recv_front_pos == front.size()) {
      m_recv_chunks.pop_front();
      m_recv_front_pos = 0;
    }
  }
  m_recv_buffered -= copied;
  m_consumed_unreported += copied;
  if (!m_consumed_signal_pending) {  // after close too: connection credit still returns
    m_consumed_signal_pending = true;
    auto self = shared_from_this();
    if (!m_link->Post([self](Endpoint::Impl& impl) { LoopReturnCredit(impl, self); })) m_consumed_signal_pending = false;
  }
  return copied;
}

TResult<size_t> StreamImpl::ReadExact(uint8_t* out, size_t n, Clock::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    auto now = Clock::now();
    Duration left = deadline > now ? std::chrono::duration_cast<Duration>(deadline - now) : Duration::zero();
    auto r = Read(std::span<uint8_t>(out + got, n - got), left);
    if (!r) return r;
    if (*r == 0) break;
    got += *r;
  }
  return got;
}

TResult<Bytes> StreamImpl::ReadFrame(Duration timeout) {
  auto deadline = Clock::now() + timeout;
  uint8_t header[FRAME_HEADER_BYTES];
  auto h = ReadExact(header, sizeof header, deadline);
  if (!h) return h.error();
  if (*h == 0) return Fail(TransportError::EndOfStream, "peer finished the stream");
  if (*h < sizeof header) return Fail(TransportError::Closed, "stream ended inside a frame header");
  uint32_t len = (uint32_t(header[0]) << 24) | (uint32_t(header[1]) << 16) | (uint32_t(header[2]) << 8) | header[3];
  if (len > MAX_FRAME_BYTES) {
    Reset(APP_FRAMING);
    return Fail(TransportError::FrameTooLarge,
                "peer announced a frame of " + std::to_string(len) + " bytes (max " + std::to_string(MAX_FRAME_BYTES) + "); stream reset");
  }
  Bytes payload(len);
  auto p = ReadExact(payload.data(), len, deadline);
  if (!p) return p.error();
  if (*p < len) return Fail(TransportError::Closed, "stream ended inside a frame");
  return payload;
}

TStatus StreamImpl::Flush(Duration timeout) {
  std::unique_lock lock(m_mu);
  if (!m_cv.wait_until(lock, Clock::now() + timeout, [&] {
        return m_closed || m_send_aborted || m_acked >= m_written_end;
      }))
    return Fail(TransportError::Timeout, "flush timed out");
  if (m_acked >= m_written_end) return Ok{};
  if (m_send_aborted) return Fail(TransportError::Closed, "peer stopped reading this stream");
  return ClosedStatusLocked();
}

void StreamImpl::Reset(uint64_t app_error_code) {
  {
    std::lock_guard lock(m_mu);
    if (m_closed) return;
    m_closed = true;
    m_close_code = TransportError::Closed;
    m_close_reason = "stream reset locally";
    m_cv.notify_all();
  }
  auto self = shared_from_this();
  m_link->Post([self, app_error_code](Endpoint::Impl& impl) { LoopResetStream(impl, self, app_error_code); });
}

size_t StreamImpl::PrepareSend(ngtcp2_vec* vecs, size_t max, bool* fin) {
  std::lock_guard lock(m_mu);
  *fin = false;
  if (m_closed || m_send_aborted) return 0;
  uint64_t skip = m_sent_offset - m_send_base;
  size_t count = 0;
  for (auto& chunk : m_send_chunks) {
    if (count == max) break;
    if (skip >= chunk.size()) {
      skip -= chunk.size();
      continue;
    }
    vecs[count].base = chunk.data() + skip;
    vecs[count].len = chunk.size() - skip;
    skip = 0;
    ++count;
  }
  if (m_fin_requested && !m_fin_sent) {
    // FIN only with the last bytes: all remaining data fits these vectors.
    uint64_t total = 0;
    for (size_t i = 0; i < count; ++i) total += vecs[i].len;
    *fin = m_sent_offset + total == m_written_end;
  }
  return count;
}

void StreamImpl::OnSent(size_t n, bool fin) {
  std::lock_guard lock(m_mu);
  m_sent_offset += n;
  if (fin && m_sent_offset == m_written_end) m_fin_sent = true;
}

bool StreamImpl::HasPendingSend() {
  std::lock_guard lock(m_mu);
  if (m_closed || m_send_aborted) return false;
  return m_sent_offset < m_written_end || (m_fin_requested && !m_fin_sent);
}

void StreamImpl::OnAcked(uint64_t upto) {
  std::lock_guard lock(m_mu);
  if (upto <= m_acked) return;
  m_acked = upto;
  // A fully acknowledged last chunk goes too: the next Write starts a new one at m_send_base.
  while (!m_send_chunks.empty() && m_send_base + m_send_chunks.front().size() <= m_acked) {
    m_send_base += m_send_chunks.front().size();
    m_send_chunks.pop_front();
  }
  m_cv.notify_all();
}

void StreamImpl::OnReceive(const uint8_t* data, size_t len, bool fin) {
  std::lock_guard lock(m_mu);
  while (len > 0) {
    if (m_recv_chunks.empty() || m_recv_chunks.back().size() == RECV_CHUNK_BYTES) {
      m_recv_chunks.emplace_back();
      m_recv_chunks.back().reserve(RECV_CHUNK_BYTES);
    }
    Bytes& chunk = m_recv_chunks.back();
    size_t take = std::min(len, RECV_CHUNK_BYTES - chunk.size());
    chunk.insert(chunk.end(), data, data + take);
    data += take;
    len -= take;
    m_recv_buffered += take;
  }
  if (fin) m_recv_fin = true;
  m_cv.notify_all();
}

void StreamImpl::OnPeerReset(uint64_t) {
  std::lock_guard lock(m_mu);
  m_recv_aborted = true;
  m_cv.notify_all();
}

void StreamImpl::OnStopSending(uint64_t) {
  std::lock_guard lock(m_mu);
  m_send_aborted = true;
  m_cv.notify_all();
}

void StreamImpl::OnClosed(TransportError code, const std::string& reason) {
  std::lock_guard lock(m_mu);
  if (m_closed) return;
  m_closed = true;
  m_close_code = code;
  m_close_reason = reason;
  m_cv.notify_all();
}

uint64_t StreamImpl::TakeConsumed() {
  std::lock_guard lock(m_mu);
  uint64_t n = m_consumed_unreported;
  m_consumed_unreported = 0;
  m_consumed_signal_pending = false;
  return n;
}

}  // namespace p2pgit::transport::detail
