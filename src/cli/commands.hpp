/// @file commands.hpp
/// @brief The commands of the ups program and their help texts.
#pragma once

#include <string>
#include <vector>

#include "cli/args.hpp"

namespace ups {
namespace cli {

/// @brief One command of the program: `ups NAME ARGS...`.
struct Command {
  const char* name;
  const char* summary;                 ///< One line for the command list.
  const char* description;             ///< Paragraphs shown by `ups NAME --help`.
  ArgSpec (*spec)();                   ///< The arguments it accepts.
  int (*run)(const ParsedArgs& args);  ///< Returns the exit status; throws on errors.
};

/// @brief Every command, in the order `ups --help` lists them.
const std::vector<Command>& commands();
/// @brief The command called @p name, or nullptr.
const Command* find_command(const std::string& name);

/// @brief The text of `ups --help`.
std::string program_help();
/// @brief The text of `ups NAME --help`.
std::string command_help(const Command& command);
/// @brief The text of `ups --version`.
std::string version_text();

/// @brief Parses @p args for @p command and runs it (or prints its help). UsageError from
/// parsing names the command's help.
int run_command(const Command& command, const std::vector<std::string>& args);

}  // namespace cli
}  // namespace ups
