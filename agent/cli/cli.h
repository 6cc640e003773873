#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"

namespace CLI {
class App;
}

namespace mediapath::agent {

/// Parses argv, runs the chosen subcommand, returns the process exit code (exit_codes.h).
int runCli(int argc, char** argv);

/// Each subcommand registers itself on the app and, when chosen, stores in `run` the action to
/// perform after parsing completes. Commands live in command_*.cc, one file per area.
struct CommandAction {
  std::function<int()> run;
};

/// `location` is shared: render (offline) and the Genesys lifecycle commands hang off it.
struct CommandTree {
  CLI::App* root = nullptr;
  CLI::App* location = nullptr;
};

void addConfigCommands(CommandTree& tree, CommandAction& action);
void addGenesysCommands(CommandTree& tree, CommandAction& action);
void addProbeCommands(CommandTree& tree, CommandAction& action);
void addReadinessCommand(CommandTree& tree, CommandAction& action);
void addRunCommand(CommandTree& tree, CommandAction& action);

/// $STATE_DIRECTORY when systemd sets it, else /var/lib/mediapath-agent (DESIGN.md, CLI).
std::string defaultStateDirectory();

/// Loads and checks a config for a command. On failure prints every problem to stderr as
/// "FILE: /pointer: message" and returns nullopt (the command then exits kExitUsage).
std::optional<Config> loadConfigForCommand(const std::string& path);

/// Prints `rows` (the first is the header) as left-aligned columns two spaces apart, without
/// trailing blanks: the table form of `probe` and `readiness`.
void printColumns(const std::vector<std::vector<std::string>>& rows, std::ostream& out);

/// "mediapath-agent 0.1.0 (git abc123)".
const char* versionString();

}  // namespace mediapath::agent
