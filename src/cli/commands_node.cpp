// `p2pgit node`, `ping`: filled in by the transport layer work (issue 4).
#include "cli/commands.h"

namespace p2pgit::cli {

void RegisterNodeCommands(CLI::App&, CommandRun&) {}

}  // namespace p2pgit::cli
