// A child process for end-to-end tests: its own process group, stdout read line by line,
// stderr to a file (or inherited), killed with its whole group when the test ends, pass or fail.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace p2pgit::test {

using namespace std::chrono_literals;

/** A child process in its own process group, killed (SIGKILL to the group) on destruction. */
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
        const std::string& stderr_path = "") {
    int out[2];
    if (pipe(out) != 0) return;
    m_pid = fork();
    if (m_pid == 0) {
      setpgid(0, 0);
      dup2(out[1], 1);
      if (!stderr_path.empty()) {
        int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (err >= 0) dup2(err, 2);
      }
      close(out[0]);
      close(out[1]);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    m_out = out[0];
    fcntl(m_out, F_SETFL, O_NONBLOCK);
  }
  ~Child() {
    Kill(SIGKILL);
    if (m_out >= 0) close(m_out);
  }
  pid_t pid() const { return m_pid; }

  /** Next stdout line, or "" after `timeout`. */
  std::string ReadLine(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = m_buffer.find('\n');
      if (nl != std::string::npos) {
        std::string line = m_buffer.substr(0, nl);
        m_buffer.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{m_out, POLLIN, 0};
      if (poll(&p, 1, int(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = read(m_out, buf, sizeof buf);
      if (n <= 0) {
        if (n == 0) return "";
        continue;
      }
      m_buffer.append(buf, size_t(n));
    }
  }

  void Kill(int sig) {
    if (m_pid > 0 && !m_reaped) {
      kill(-m_pid, sig);
      kill(m_pid, sig);
      if (sig == SIGKILL) Wait();
    }
  }
  int Wait() {
    if (m_pid <= 0 || m_reaped) return m_status;
    int status = 0;
    waitpid(m_pid, &status, 0);
    m_reaped = true;
    m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return m_status;
  }

 private:
  pid_t m_pid = -1;
  int m_out = -1;
  std::string m_buffer;
  bool m_reaped = false;
  int m_status = -1;
};

struct Listening {
  std::string node_id;
  std::string address;
};

Listening ReadListening(Child& child) {
  Listening l;
  for (int i = 0; i < 4 && (l.node_id.empty() || l.address.empty()); ++i) {
    std::string line = child.ReadLine(20s);
    if (line.rfind("node ", 0) == 0) l.node_id = line.substr(5);
    if (line.rfind("listening ", 0) == 0) l.address = line.substr(10);
  }
  return l;
}

}  // namespace p2pgit::test
