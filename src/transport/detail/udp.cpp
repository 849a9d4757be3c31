#include "transport/detail/udp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace p2pgit::transport::detail {

namespace {
// Socket buffers large enough that a burst of one send quantum never hits EAGAIN on loopback.
constexpr int SOCKET_BUFFER_BYTES = 8 << 20;
}  // namespace

std::string SockAddr::ToString() const {
  char host[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (family() == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

bool SockAddr::operator==(const SockAddr& other) const {
  return len == other.len && std::memcmp(&storage, &other.storage, len) == 0;
}

TResult<SockAddr> ResolveHostPort(const std::string& text) {
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Fail(TransportError::InvalidArgument, "address '" + text + "' must be [v6]:port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return Fail(TransportError::InvalidArgument, "address '" + text + "' must be host:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return Fail(TransportError::InvalidArgument, "IPv6 address '" + text + "' must be written [v6]:port");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    return Fail(TransportError::InvalidArgument, "port in '" + text + "' must be 0-65535");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rv = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rv != 0 || res == nullptr)
    return Fail(TransportError::InvalidArgument, "cannot resolve '" + host + "': " + gai_strerror(rv));
  SockAddr out;
  std::memcpy(&out.storage, res->ai_addr, res->ai_addrlen);
  out.len = res->ai_addrlen;
  freeaddrinfo(res);
  return out;
}

TResult<std::unique_ptr<UdpSocket>> UdpSocket::Bind(const SockAddr& local, bool use_gso, bool use_gro) {
  std::unique_ptr<UdpSocket> s(new UdpSocket());
  s->m_fd = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (s->m_fd < 0) return Fail(TransportError::Socket, std::string("socket: ") + std::strerror(errno));
  int one = 1;
  if (local.family() == AF_INET6) ::setsockopt(s->m_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int bufsize = SOCKET_BUFFER_BYTES;
  ::setsockopt(s->m_fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  ::setsockopt(s->m_fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  // QUIC sets DF: packets larger than the path MTU are dropped, never fragmented.
  if (local.family() == AF_INET) {
    int pmtu = IP_PMTUDISC_DO;
    ::setsockopt(s->m_fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  } else {
    int pmtu = IPV6_PMTUDISC_DO;
    ::setsockopt(s->m_fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
  }
  if (::bind(s->m_fd, local.sa(), local.len) != 0)
    return Fail(TransportError::Socket, "cannot bind " + local.ToString() + ": " + std::strerror(errno));
  s->m_local.len = sizeof s->m_local.storage;
  ::getsockname(s->m_fd, s->m_local.sa(), &s->m_local.len);
  if (use_gso) {
    // Probe: setting a segment size proves the kernel knows UDP_SEGMENT.
    int seg = 1200;
    s->m_gso = ::setsockopt(s->m_fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
    seg = 0;
    if (s->m_gso) ::setsockopt(s->m_fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
  }
  if (use_gro) s->m_gro = ::setsockopt(s->m_fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  // Not value-initialised: pages are only touched by the packets that arrive.
  size_t slot = s->m_gro ? RECV_SLOT_BYTES : 2048;
  s->m_recv_buffer.reset(new uint8_t[RECV_BATCH * slot]);
  return s;
}

UdpSocket::~UdpSocket() {
  if (m_fd >= 0) ::close(m_fd);
}

int UdpSocket::Send(const SockAddr& to, const uint8_t* data, size_t len, size_t segment) {
  if (len == 0) return 0;
  if (m_gso && len > segment) {
    iovec iov{const_cast<uint8_t*>(data), len};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
    msghdr msg{};
    msg.msg_name = const_cast<sockaddr*>(to.sa());
    msg.msg_namelen = to.len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg16 = static_cast<uint16_t>(segment);
    std::memcpy(CMSG_DATA(cm), &seg16, sizeof seg16);
    for (;;) {
      ++send_calls;
      ssize_t n = ::sendmsg(m_fd, &msg, 0);
      if (n >= 0) return 0;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return -EAGAIN;
      if (errno == EIO || errno == EINVAL) {
        m_gso = false;  // the device cannot segment: fall back to one packet per message
        break;
      }
      return -errno;
    }
  }
  // sendmmsg, one packet each.
  mmsghdr msgs[MAX_GSO_SEGMENTS];
  iovec iovs[MAX_GSO_SEGMENTS];
  size_t count = 0;
  for (size_t off = 0; off < len && count < MAX_GSO_SEGMENTS; off += segment, ++count) {
    iovs[count] = {const_cast<uint8_t*>(data + off), std::min(segment, len - off)};
    msgs[count] = {};
    msgs[count].msg_hdr.msg_name = const_cast<sockaddr*>(to.sa());
    msgs[count].msg_hdr.msg_namelen = to.len;
    msgs[count].msg_hdr.msg_iov = &iovs[count];
    msgs[count].msg_hdr.msg_iovlen = 1;
  }
  size_t sent = 0;
  while (sent < count) {
    ++send_calls;
    int n = ::sendmmsg(m_fd, msgs + sent, static_cast<unsigned>(count - sent), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return sent == 0 ? -EAGAIN : 0;  // rest is lost
      return -errno;
    }
    sent += static_cast<size_t>(n);
  }
  return 0;
}

int UdpSocket::Receive(Received* out, size_t max) {
  size_t slot = m_gro ? RECV_SLOT_BYTES : 2048;
  size_t batch = std::min(max, RECV_BATCH);
  mmsghdr msgs[RECV_BATCH];
  iovec iovs[RECV_BATCH];
  sockaddr_storage addrs[RECV_BATCH];
  alignas(cmsghdr) char controls[RECV_BATCH][CMSG_SPACE(sizeof(int))];
  for (size_t i = 0; i < batch; ++i) {
    iovs[i] = {m_recv_buffer.get() + i * slot, slot};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_control = controls[i];
    msgs[i].msg_hdr.msg_controllen = sizeof controls[i];
  }
  int n;
  do {
    ++recv_calls;
    n = ::recvmmsg(m_fd, msgs, static_cast<unsigned>(batch), 0, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  for (int i = 0; i < n; ++i) {
    Received& r = out[i];
    r.data = static_cast<const uint8_t*>(iovs[i].iov_base);
    r.len = msgs[i].msg_len;
    r.segment = r.len;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm != nullptr; cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm)) {
      if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
        int gso = 0;
        std::memcpy(&gso, CMSG_DATA(cm), sizeof gso);
        if (gso > 0) r.segment = static_cast<size_t>(gso);
      }
    }
    std::memcpy(&r.from.storage, &addrs[i], msgs[i].msg_hdr.msg_namelen);
    r.from.len = msgs[i].msg_hdr.msg_namelen;
  }
  return n;
}

}  // namespace p2pgit::transport::detail
