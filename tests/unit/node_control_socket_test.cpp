#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include "node/control_socket.h"

using namespace p2pgit::node;
namespace fs = std::filesystem;

namespace {
fs::path TempHome() {
  fs::path home = fs::path("/tmp") / ("p2pgit-ctl-" + std::to_string(::getpid()));
  fs::remove_all(home);
  fs::create_directories(home);
  return home;
}

int RawConnect(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  return fd;
}
}  // namespace

TEST(ControlSocket, AnswersRequestsAndIsPrivate) {
  fs::path home = TempHome();
  auto path = ControlSocketPath(home);
  auto server = ControlServer::Start(path, [](const nlohmann::json& request) {
    return nlohmann::json{{"echo", request.value("cmd", "")}};
  });
  ASSERT_TRUE(server.ok()) << server.message();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto response = ControlRequest(path, {{"cmd", "status"}});
  ASSERT_TRUE(response.ok()) << response.message();
  EXPECT_EQ((*response)["echo"], "status");
  // A second daemon on the same home is refused.
  auto second = ControlServer::Start(path, [](const nlohmann::json&) { return nlohmann::json{}; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.code(), ControlError::AlreadyRunning);
  server->reset();
  EXPECT_FALSE(fs::exists(path));
  fs::remove_all(home);
}

TEST(ControlSocket, BadRequestsGetAnErrorAndTheServerKeepsServing) {
  fs::path home = TempHome();
  auto path = ControlSocketPath(home);
  auto server = ControlServer::Start(path, [](const nlohmann::json&) -> nlohmann::json {
    throw std::runtime_error("handler bug");
  });
  ASSERT_TRUE(server.ok());
  // Not JSON.
  int fd = RawConnect(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "nope\n", 5), 5);
  char buf[256] = {};
  ASSERT_GT(::read(fd, buf, sizeof buf - 1), 0);
  EXPECT_NE(std::string(buf).find("not a JSON object"), std::string::npos) << buf;
  ::close(fd);
  // Oversized line.
  fd = RawConnect(path);
  std::string big(MAX_CONTROL_REQUEST_BYTES + 10, 'a');
  (void)!::write(fd, big.data(), big.size());
  std::memset(buf, 0, sizeof buf);
  ASSERT_GT(::read(fd, buf, sizeof buf - 1), 0);
  EXPECT_NE(std::string(buf).find("64 KiB"), std::string::npos) << buf;
  ::close(fd);
  // A handler exception becomes an error answer, not a dead daemon.
  auto response = ControlRequest(path, {{"cmd", "x"}});
  ASSERT_TRUE(response.ok());
  EXPECT_NE((*response)["error"].get<std::string>().find("handler bug"), std::string::npos);
  fs::remove_all(home);
}

TEST(ControlSocket, NoDaemonAndStaleSocket) {
  fs::path home = TempHome();
  auto path = ControlSocketPath(home);
  auto none = ControlRequest(path, {{"cmd", "status"}});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.code(), ControlError::NoDaemon);
  // A socket file left by a daemon that died (nobody listening) is replaced.
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  ASSERT_TRUE(fs::exists(path));
  auto server = ControlServer::Start(path, [](const nlohmann::json&) { return nlohmann::json{{"ok", true}}; });
  ASSERT_TRUE(server.ok()) << server.message();
  EXPECT_TRUE(ControlRequest(path, {{"cmd", "status"}}).ok());
  fs::remove_all(home);
}
