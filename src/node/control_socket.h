// The daemon's control socket: a Unix stream socket in the home (mode 0600) through which
// `p2pgit status` and later commands talk to the running node. One JSON object per line each way.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "base/result.h"

namespace p2pgit::node {

/** Longest request line accepted: requests are small commands, never data. */
inline constexpr size_t MAX_CONTROL_REQUEST_BYTES = 64 * 1024;
/** A client that sends nothing for this long is dropped (one slow client must not stall others). */
inline constexpr std::chrono::milliseconds CONTROL_IO_TIMEOUT{5000};

enum class ControlError { Io, NoDaemon, AlreadyRunning, BadResponse, Timeout };

/** The socket's path inside a home. */
std::filesystem::path ControlSocketPath(const std::filesystem::path& home);

using ControlHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

/**
 * Serves requests on its own thread, one connection at a time (commands are short). The handler
 * runs on that thread and must be thread-safe with respect to the daemon's loop.
 */
class ControlServer {
 public:
  /** Binds the socket (0600). AlreadyRunning if a live daemon answers on it; a stale file from
   *  a dead daemon is replaced. */
  static Result<std::unique_ptr<ControlServer>, ControlError> Start(const std::filesystem::path& path,
                                                                   ControlHandler handler);
  ~ControlServer();  // stops the thread and removes the socket file

 private:
  ControlServer() = default;
  void Serve();
  std::filesystem::path m_path;
  ControlHandler m_handler;
  int m_fd = -1;
  int m_wake[2] = {-1, -1};
  std::thread m_thread;
};

/** Sends one request and waits for its answer. NoDaemon when nothing listens. */
Result<nlohmann::json, ControlError> ControlRequest(const std::filesystem::path& path, const nlohmann::json& request,
                                                    std::chrono::milliseconds timeout = CONTROL_IO_TIMEOUT);

}  // namespace p2pgit::node
