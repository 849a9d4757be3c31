// UDP sockets for the QUIC endpoint: address parsing, bind, batched send (UDP_SEGMENT / GSO) and
// batched receive (recvmmsg + UDP_GRO). Internal to the transport.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

#include "transport/endpoint.h"

namespace p2pgit::transport::detail {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  /** "1.2.3.4:5" or "[::1]:5". */
  std::string ToString() const;
  bool operator==(const SockAddr& other) const;
};

/** "host:port" / "[v6]:port" (numeric or DNS name) → address. */
TResult<SockAddr> ResolveHostPort(const std::string& text);

/** Most packets one GSO send carries: the kernel caps a UDP datagram (all segments) at 64 KiB. */
inline constexpr size_t MAX_GSO_SEGMENTS = 44;
/** Datagrams one recvmmsg call returns. */
inline constexpr size_t RECV_BATCH = 32;
/** Receive slot: with GRO one slot holds up to 64 KiB of coalesced packets. */
inline constexpr size_t RECV_SLOT_BYTES = 65536;

class UdpSocket {
 public:
  static TResult<std::unique_ptr<UdpSocket>> Bind(const SockAddr& local, bool use_gso, bool use_gro);
  ~UdpSocket();

  int fd() const { return m_fd; }
  const SockAddr& local() const { return m_local; }

  /**
   * Sends `len` bytes of back-to-back packets of `segment` bytes each (the last may be shorter)
   * to `to`, in one syscall when GSO works. @return 0, -EAGAIN (socket buffer full, nothing
   * sent), or another -errno (the packets are dropped: QUIC recovers).
   */
  int Send(const SockAddr& to, const uint8_t* data, size_t len, size_t segment);

  struct Received {
    const uint8_t* data;
    size_t len;
    size_t segment;  // packets in data are `segment` bytes each (last may be shorter)
    SockAddr from;
  };
  /** One recvmmsg; returns the number of datagrams (0 when none pending, -errno on error). */
  int Receive(Received* out, size_t max);

  uint64_t send_calls = 0;
  uint64_t recv_calls = 0;

 private:
  UdpSocket() = default;
  int m_fd = -1;
  SockAddr m_local;
  bool m_gso = false;
  bool m_gro = false;
  std::unique_ptr<uint8_t[]> m_recv_buffer;
};

}  // namespace p2pgit::transport::detail
