#include "git/detail/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

extern char** environ;

namespace p2pgit::git::detail {

namespace {

/** The environment of every git child: the caller's, minus anything that would make git act
 *  on another repository or read the user's configuration, plus fixed settings.
 *  - GIT_* of the parent (GIT_DIR from a hook, GIT_OBJECT_DIRECTORY, …) would redirect git;
 *  - system and global config (aliases, pack.*, transfer.*, safe hooks) must not change what
 *    is produced or accepted, so GIT_CONFIG_NOSYSTEM and GIT_CONFIG_GLOBAL=/dev/null;
 *  - replace refs would change what an object id means (and so the root commit): disabled;
 *  - LC_ALL=C keeps error messages in one language for the one-line error. */
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("GIT_") || entry.starts_with("LC_") || entry.starts_with("LANG=") ||
        entry.starts_with("LANGUAGE=") || entry.starts_with("XDG_CONFIG_HOME="))
      continue;
    env.emplace_back(entry);
  }
  env.emplace_back("LC_ALL=C");
  env.emplace_back("GIT_CONFIG_NOSYSTEM=1");
  env.emplace_back("GIT_CONFIG_GLOBAL=/dev/null");
  env.emplace_back("GIT_NO_REPLACE_OBJECTS=1");
  env.emplace_back("GIT_TERMINAL_PROMPT=0");
  env.emplace_back("GIT_NO_LAZY_FETCH=1");
  env.emplace_back("GIT_ATTR_NOSYSTEM=1");
  for (const auto& e : extra) env.push_back(e);
  return env;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

/** Blocks SIGPIPE for this thread while writing to a pipe whose reader may be gone, and
 *  swallows the signal such a write raises, so the process-wide disposition is untouched. */
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&m_pipe);
    sigaddset(&m_pipe, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    m_was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &m_pipe, &m_old);
  }
  void SawEpipe() { m_epipe = true; }
  ~SigpipeGuard() {
    if (m_epipe && !m_was_pending) {
      timespec zero{0, 0};
      while (sigtimedwait(&m_pipe, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }

 private:
  sigset_t m_pipe;
  sigset_t m_old;
  bool m_was_pending = false;
  bool m_epipe = false;
};

std::string ReadTail(FILE* file) {
  if (file == nullptr) return {};
  int fd = fileno(file);
  struct stat st{};
  if (fstat(fd, &st) != 0) return {};
  off_t start = st.st_size > static_cast<off_t>(STDERR_TAIL_BYTES) ? st.st_size - STDERR_TAIL_BYTES : 0;
  std::string out(static_cast<size_t>(st.st_size - start), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd, out.data() + got, out.size() - got, start + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace

std::string Subcommand(const GitInvocation& invocation) {
  for (const auto& a : invocation.args)
    if (!a.starts_with("-")) return a;
  return "";
}

std::string GitExit::Line() const {
  std::vector<std::string_view> lines;
  std::string_view rest(stderr_tail);
  while (!rest.empty()) {
    size_t nl = rest.find_first_of("\r\n");
    std::string_view line = rest.substr(0, nl);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  std::string_view chosen;
  for (const char* prefix : {"fatal: ", "error: "}) {
    for (auto it = lines.rbegin(); it != lines.rend() && chosen.empty(); ++it)
      if (it->starts_with(prefix)) chosen = it->substr(std::strlen(prefix));
    if (!chosen.empty()) break;
  }
  if (chosen.empty() && !lines.empty()) chosen = lines.back();
  std::string line(chosen.substr(0, 300));
  if (line.empty()) line = exit_code > 128 ? "killed by signal " + std::to_string(exit_code - 128)
                                           : "exit code " + std::to_string(exit_code);
  return line;
}

GitResult<GitProcess> GitProcess::Start(const GitInvocation& invocation, bool pipe_stdin, bool pipe_stdout) {
  GitProcess p;
  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  auto fail = [&](const std::string& what) {
    int saved = errno;
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]})
      if (fd >= 0) ::close(fd);
    return Fail(GitError::GitFailed,
                "cannot run git " + Subcommand(invocation) + ": " + what + ": " + std::strerror(saved));
  };
  if (pipe_stdin && ::pipe2(in_pipe, O_CLOEXEC) != 0) return fail("pipe");
  if (pipe_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0) return fail("pipe");
  p.m_stderr = std::tmpfile();
  if (p.m_stderr == nullptr) return fail("temporary file for stderr");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (pipe_stdin) posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (pipe_stdout) posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  else posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fileno(p.m_stderr), 2);

  // A child must not inherit a blocked SIGPIPE or ignored signals of the daemon.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_strings;
  argv_strings.reserve(invocation.args.size() + 1);
  argv_strings.emplace_back("git");
  for (const auto& a : invocation.args) argv_strings.push_back(a);
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment(invocation.env);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int rc = ::posix_spawnp(&p.m_pid, "git", &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    p.m_pid = -1;
    return fail("spawn (is git installed and on PATH?)");
  }
  if (pipe_stdin) {
    ::close(in_pipe[0]);
    p.m_stdin = in_pipe[1];
  }
  if (pipe_stdout) {
    ::close(out_pipe[1]);
    p.m_stdout = out_pipe[0];
  }
  return p;
}

GitProcess::GitProcess(GitProcess&& other) noexcept
    : m_pid(other.m_pid), m_stdin(other.m_stdin), m_stdout(other.m_stdout), m_stderr(other.m_stderr) {
  other.m_pid = -1;
  other.m_stdin = other.m_stdout = -1;
  other.m_stderr = nullptr;
}

GitProcess& GitProcess::operator=(GitProcess&& other) noexcept {
  if (this != &other) {
    Kill();
    CloseFds();
    m_pid = other.m_pid;
    m_stdin = other.m_stdin;
    m_stdout = other.m_stdout;
    m_stderr = other.m_stderr;
    other.m_pid = -1;
    other.m_stdin = other.m_stdout = -1;
    other.m_stderr = nullptr;
  }
  return *this;
}

GitProcess::~GitProcess() {
  Kill();
  CloseFds();
}

void GitProcess::CloseFds() {
  CloseFd(m_stdin);
  CloseFd(m_stdout);
  if (m_stderr != nullptr) std::fclose(m_stderr);
  m_stderr = nullptr;
}

bool GitProcess::Write(ByteSpan bytes) {
  if (m_stdin < 0) return false;
  SigpipeGuard guard;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(m_stdin, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) guard.SawEpipe();
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

void GitProcess::CloseStdin() { CloseFd(m_stdin); }

ssize_t GitProcess::Read(std::span<uint8_t> buffer) {
  if (m_stdout < 0) return 0;
  for (;;) {
    ssize_t n = ::read(m_stdout, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

GitExit GitProcess::Wait() {
  GitExit exit;
  CloseFd(m_stdin);
  CloseFd(m_stdout);
  if (m_pid > 0) {
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
    m_pid = -1;
    exit.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  exit.stderr_tail = ReadTail(m_stderr);
  return exit;
}

void GitProcess::Kill() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGKILL);
  int status = 0;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_pid = -1;
}

GitResult<GitRun> RunGit(const GitInvocation& invocation, std::string_view input) {
  auto started = GitProcess::Start(invocation, !input.empty(), true);
  if (!started) return started.error();
  GitProcess& p = *started;
  GitRun run;
  size_t written = 0;
  if (input.empty()) p.CloseStdin();
  int in_fd = p.stdin_fd();
  if (in_fd >= 0) ::fcntl(in_fd, F_SETFL, ::fcntl(in_fd, F_GETFL) | O_NONBLOCK);
  SigpipeGuard guard;
  bool out_open = true;
  uint8_t buf[65536];
  while (out_open || p.stdin_fd() >= 0) {
    pollfd fds[2];
    int count = 0;
    if (out_open) fds[count++] = {p.stdout_fd(), POLLIN, 0};
    int in_index = -1;
    if (p.stdin_fd() >= 0) {
      in_index = count;
      fds[count++] = {p.stdin_fd(), POLLOUT, 0};
    }
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      return Fail(GitError::GitFailed, std::string("poll: ") + std::strerror(errno));
    }
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = p.Read(buf);
      if (n <= 0) out_open = false;
      else {
        if (run.out.size() + static_cast<size_t>(n) > MAX_COLLECTED_STDOUT_BYTES) {
          p.Kill();
          return Fail(GitError::GitFailed, "git " + Subcommand(invocation) + " printed more than expected");
        }
        run.out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
      }
    }
    if (in_index >= 0 && (fds[in_index].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(p.stdin_fd(), input.data() + written, input.size() - written);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n < 0) {
        if (errno == EPIPE) guard.SawEpipe();
        p.CloseStdin();  // the child stopped reading; its exit status tells why
      } else {
        written += static_cast<size_t>(n);
        if (written == input.size()) p.CloseStdin();
      }
    }
  }
  run.exit = p.Wait();
  run.exit_code = run.exit.exit_code;
  return run;
}

GitResult<std::string> RunGitOk(const GitInvocation& invocation, std::string_view what, std::string_view input,
                                GitError code) {
  auto run = RunGit(invocation, input);
  if (!run) return run.error();
  if (run->exit_code != 0) return Fail(code, std::string(what) + ": " + run->exit.Line());
  return std::move(run->out);
}

GitInvocation InGitDir(const std::string& git_dir, std::vector<std::string> args, std::vector<std::string> env) {
  GitInvocation inv;
  inv.args.reserve(args.size() + 1);
  inv.args.push_back("--git-dir=" + git_dir);
  for (auto& a : args) inv.args.push_back(std::move(a));
  inv.env = std::move(env);
  return inv;
}

}  // namespace p2pgit::git::detail
