#include "node/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace p2pgit::node {

namespace {

constexpr const char* SOCKET_NAME = "control.sock";

bool MakeAddress(const std::filesystem::path& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  std::string p = path.string();
  if (p.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  return true;
}

/** Reads until '\n' (excluded) within the deadline and the size cap. */
bool ReadLine(int fd, std::string& out, size_t max_bytes, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') return true;
      if (out.size() >= max_bytes) return false;
      out.push_back(buf[i]);
    }
  }
}

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

int Connect(const std::filesystem::path& path) {
  sockaddr_un addr;
  if (!MakeAddress(path, addr)) return -1;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::filesystem::path ControlSocketPath(const std::filesystem::path& home) { return home / SOCKET_NAME; }

Result<std::unique_ptr<ControlServer>, ControlError> ControlServer::Start(const std::filesystem::path& path,
                                                                        ControlHandler handler) {
  sockaddr_un addr;
  if (!MakeAddress(path, addr)) return Fail(ControlError::Io, "control socket path too long: " + path.string());
  if (int live = Connect(path); live >= 0) {
    ::close(live);
    return Fail(ControlError::AlreadyRunning, "a daemon is already running on " + path.string());
  }
  ::unlink(path.c_str());  // stale socket of a daemon that died
  std::unique_ptr<ControlServer> server(new ControlServer());
  server->m_path = path;
  server->m_handler = std::move(handler);
  server->m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (server->m_fd < 0) return Fail(ControlError::Io, std::string("socket: ") + std::strerror(errno));
  mode_t old_mask = ::umask(0177);  // the socket file is created 0600
  int bound = ::bind(server->m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_mask);
  if (bound != 0 || ::listen(server->m_fd, 16) != 0)
    return Fail(ControlError::Io, "cannot listen on " + path.string() + ": " + std::strerror(errno));
  ::chmod(path.c_str(), 0600);
  if (::pipe2(server->m_wake, O_CLOEXEC) != 0) return Fail(ControlError::Io, "pipe failed");
  server->m_thread = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

ControlServer::~ControlServer() {
  if (m_wake[1] >= 0) (void)!::write(m_wake[1], "x", 1);
  if (m_thread.joinable()) m_thread.join();
  if (m_fd >= 0) ::close(m_fd);
  for (int fd : m_wake)
    if (fd >= 0) ::close(fd);
  if (!m_path.empty()) ::unlink(m_path.c_str());
}

void ControlServer::Serve() {
  while (true) {
    pollfd fds[2] = {{m_fd, POLLIN, 0}, {m_wake[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int client = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::string line;
    nlohmann::json response;
    if (!ReadLine(client, line, MAX_CONTROL_REQUEST_BYTES, CONTROL_IO_TIMEOUT)) {
      response = {{"error", "request missing, too slow or larger than 64 KiB"}};
    } else {
      auto request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (request.is_discarded() || !request.is_object()) {
        response = {{"error", "request is not a JSON object"}};
      } else {
        try {
          response = m_handler(request);
        } catch (const std::exception& e) {  // never let a handler bug kill the daemon
          response = {{"error", std::string("internal error: ") + e.what()}};
        }
      }
    }
    WriteAll(client, response.dump() + "\n");
    ::close(client);
  }
}

Result<nlohmann::json, ControlError> ControlRequest(const std::filesystem::path& path, const nlohmann::json& request,
                                                    std::chrono::milliseconds timeout) {
  int fd = Connect(path);
  if (fd < 0) return Fail(ControlError::NoDaemon, "no daemon is running for this home (start `p2pgit node`)");
  if (!WriteAll(fd, request.dump() + "\n")) {
    ::close(fd);
    return Fail(ControlError::Io, "cannot send to the daemon");
  }
  std::string line;
  bool got = ReadLine(fd, line, 64 * 1024 * 1024, timeout);
  ::close(fd);
  if (!got) return Fail(ControlError::Timeout, "the daemon did not answer in time");
  auto response = nlohmann::json::parse(line, nullptr, false);
  if (response.is_discarded()) return Fail(ControlError::BadResponse, "the daemon's answer is not JSON");
  return response;
}

}  // namespace p2pgit::node
