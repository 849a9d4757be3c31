// Runs a command line for end-to-end tests and captures its output and exit code.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace p2pgit::test {

struct CommandOutput {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

/** Runs `command` with /bin/sh; stderr is captured through a temp file. */
inline CommandOutput RunCommand(const std::string& command) {
  static int counter = 0;
  std::string err_path = "/tmp/p2pgit-test-stderr-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  CommandOutput result;
  FILE* pipe = ::popen((command + " 2>" + err_path).c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (FILE* f = std::fopen(err_path.c_str(), "r")) {
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) result.err.append(buf.data(), n);
    std::fclose(f);
  }
  std::remove(err_path.c_str());
  return result;
}

/** The p2pgit binary of this build tree. */
inline std::string P2pgitBinary() { return std::string(P2PGIT_BIN_DIR) + "/p2pgit"; }

/** Single-quotes `s` for /bin/sh. */
inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace p2pgit::test
