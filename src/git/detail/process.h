// Running git plumbing as child processes: posix_spawn with pipes, no shell, a controlled
// environment, every child reaped, stderr captured for a one-line error.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "git/error.h"

namespace p2pgit::git::detail {

/** stdout collected by RunGit is capped: a ref listing or an object list, never a pack. */
inline constexpr size_t MAX_COLLECTED_STDOUT_BYTES = 256u << 20;
/** The last bytes of a child's stderr kept for its error line. */
inline constexpr size_t STDERR_TAIL_BYTES = 16 * 1024;

struct GitInvocation {
  std::vector<std::string> args;  // after "git"
  std::vector<std::string> env;   // extra "NAME=value" entries on top of the controlled base
};

struct GitExit {
  int exit_code = -1;       // 128 + signal number when killed by a signal
  std::string stderr_tail;  // at most STDERR_TAIL_BYTES
  /** The line that explains a failure: git's last "fatal:" line, else its last "error:" line,
   *  else its last line; without the prefix, at most 300 characters. */
  std::string Line() const;
};

/**
 * One running git process. The destructor kills (SIGKILL) and reaps a child that was not
 * waited for, so an early return or an exception-free abort never leaves a zombie or a
 * runaway pack writer.
 */
class GitProcess {
 public:
  /** Starts `git <args>`. Unpiped stdin/stdout are /dev/null; stderr always goes to an
   *  unlinked temporary file (never a pipe, so a chatty child cannot block on it). */
  static GitResult<GitProcess> Start(const GitInvocation& invocation, bool pipe_stdin, bool pipe_stdout);

  GitProcess(GitProcess&& other) noexcept;
  GitProcess& operator=(GitProcess&& other) noexcept;
  GitProcess(const GitProcess&) = delete;
  GitProcess& operator=(const GitProcess&) = delete;
  ~GitProcess();

  /** Writes all of `bytes` to the child's stdin, blocking while its pipe is full.
   *  @return false when the child no longer reads (it exited or closed stdin): the caller
   *  should Wait() and report the child's error. Never raises SIGPIPE. */
  bool Write(ByteSpan bytes);
  void CloseStdin();
  int stdin_fd() const { return m_stdin; }
  int stdout_fd() const { return m_stdout; }
  /** Reads what is available from stdout, blocking until something is. 0 at EOF, -1 on error. */
  ssize_t Read(std::span<uint8_t> buffer);
  /** Closes our pipe ends, reaps the child and returns its exit status and stderr. */
  GitExit Wait();
  /** SIGKILL then reap. */
  void Kill();
  bool running() const { return m_pid > 0; }

 private:
  GitProcess() = default;
  void CloseFds();

  pid_t m_pid = -1;
  int m_stdin = -1;
  int m_stdout = -1;
  FILE* m_stderr = nullptr;
};

struct GitRun {
  int exit_code = -1;
  std::string out;
  GitExit exit;
};

/** Runs git to completion, writing `input` to its stdin while collecting its stdout (both
 *  through poll, so neither side can deadlock on a full pipe).
 *  @return GitFailed when git cannot be started or its stdout exceeds the cap; a non-zero exit
 *  is not an error here (see RunGitOk). */
GitResult<GitRun> RunGit(const GitInvocation& invocation, std::string_view input = {});

/** RunGit where a non-zero exit becomes `code` with the message "<what>: <git's line>". */
GitResult<std::string> RunGitOk(const GitInvocation& invocation, std::string_view what, std::string_view input = {},
                                GitError code = GitError::GitFailed);

/** The git subcommand of an invocation ("index-pack"), for messages. */
std::string Subcommand(const GitInvocation& invocation);

/** "-C"-free invocation against a git directory: {"--git-dir=<dir>", args...}. */
GitInvocation InGitDir(const std::string& git_dir, std::vector<std::string> args, std::vector<std::string> env = {});

}  // namespace p2pgit::git::detail
