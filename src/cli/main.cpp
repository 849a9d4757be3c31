#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/commands.h"

namespace p2pgit::cli {

int ReportError(const std::string& message, int exit_code) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return exit_code;
}

namespace {
bool HasSubcommand(CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == name) return true;
  }
  return false;
}
}  // namespace

}  // namespace p2pgit::cli

int main(int argc, char** argv) {
  using namespace p2pgit::cli;
  CLI::App app{"p2pgit: a peer-to-peer git network (repositories by did:repo id)", "p2pgit"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  CommandRun run;
  RegisterIdentityCommands(app, run);
  RegisterMessageCommands(app, run);
  RegisterTableCommands(app, run);
  RegisterDaemonCommands(app, run);
  RegisterRepoCommands(app, run);
  RegisterCatCommands(app, run);
  RegisterCollabCommands(app, run);
  RegisterNodeCommands(app, run);
  if (argc < 2) return ReportError("no command given (see p2pgit --help)", EXIT_USAGE);
  if (std::string first = argv[1]; first[0] != '-' && !HasSubcommand(app, first))
    return ReportError("unknown command '" + first + "' (see p2pgit --help)", EXIT_USAGE);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, whatever CLI11 would have printed (cli-contract.md).
    std::string what = e.what();
    for (char& c : what)
      if (c == '\n') c = ' ';
    return ReportError(what + " (see --help)", EXIT_USAGE);
  }
  if (!run) return ReportError("no command given (see --help)", EXIT_USAGE);
  try {
    return run();
  } catch (const std::exception& e) {
    // Last resort: a layer leaked an exception; still one line, never a trace.
    return ReportError(e.what());
  }
}
