// Subcommand registration for the p2pgit CLI. Each Register* adds its subcommands to `app`;
// a subcommand's CLI11 callback stores the work to run in `run`, which main() calls after
// parsing, so every error is reported in one place as one `error: …` line.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace p2pgit::cli {

/** Exit codes (cli-contract.md): 2 for usage errors, 1 for every other failure. */
inline constexpr int EXIT_OK = 0;
inline constexpr int EXIT_FAILURE_ = 1;
inline constexpr int EXIT_USAGE = 2;

/** The work a parsed subcommand does; returns the process exit code. */
using CommandRun = std::function<int()>;

/** Prints `error: <message>` on stderr and returns `exit_code`. */
int ReportError(const std::string& message, int exit_code = EXIT_FAILURE_);

void RegisterIdentityCommands(CLI::App& app, CommandRun& run);
void RegisterNodeCommands(CLI::App& app, CommandRun& run);
void RegisterDaemonCommands(CLI::App& app, CommandRun& run);
void RegisterRepoCommands(CLI::App& app, CommandRun& run);
void RegisterCatCommands(CLI::App& app, CommandRun& run);
void RegisterCollabCommands(CLI::App& app, CommandRun& run);
void RegisterMessageCommands(CLI::App& app, CommandRun& run);
void RegisterTableCommands(CLI::App& app, CommandRun& run);

}  // namespace p2pgit::cli
