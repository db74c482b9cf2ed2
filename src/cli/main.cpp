// The ups program: `ups COMMAND ARGS...`. Every failure ends here as one line
// "ups: error: MESSAGE" on stderr with exit status 2 (command-line mistakes) or 1 (the rest).
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "text.hpp"
#include "ups/error.hpp"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Messages go out as a single line whatever they contain: line breaks become spaces, and any
// other control byte (an escape sequence, a NUL) that reached a message unescaped is written as
// \xNN, so that it neither acts on the terminal nor cuts the line short.
int report(const std::string& message, int status) {
  std::string text = message.empty() ? std::string("unknown error") : message;
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  const std::string line = "ups: error: " + ups::detail::escape_text(text, false) + "\n";
  std::cout.flush();
  std::fwrite(line.data(), 1, line.size(), stderr);
  return status;
}

int dispatch(const std::vector<std::string>& args) {
  using ups::cli::UsageError;
  if (args.empty()) throw UsageError("no command given (see 'ups --help')");
  const std::string& first = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (first == "-h" || first == "--help" || first == "help") {
    if (first == "help" && !rest.empty()) {
      if (rest.size() > 1) throw UsageError("help takes at most one command name");
      const ups::cli::Command* c = ups::cli::find_command(rest[0]);
      if (c == nullptr) throw UsageError("unknown command '" + rest[0] + "' (see 'ups --help')");
      std::cout << ups::cli::command_help(*c);
      return 0;
    }
    std::cout << ups::cli::program_help();
    return 0;
  }
  if (first == "-V" || first == "--version") {
    if (!rest.empty()) throw UsageError("unexpected argument '" + rest[0] + "' after " + first);
    std::cout << ups::cli::version_text();
    return 0;
  }
  if (first.size() > 1 && first[0] == '-') {
    throw UsageError("unknown option '" + first + "' (see 'ups --help')");
  }
  const ups::cli::Command* command = ups::cli::find_command(first);
  if (command == nullptr) throw UsageError("unknown command '" + first + "' (see 'ups --help')");
  return ups::cli::run_command(*command, rest);
}

}  // namespace

int main(int argc, char** argv) {
  int status = 0;
  try {
    status = dispatch(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const ups::cli::UsageError& e) {
    return report(e.what(), kExitUsage);
  } catch (const ups::Error& e) {
    return report(e.what(), kExitFailure);
  } catch (const std::bad_alloc&) {
    return report("out of memory", kExitFailure);
  } catch (const std::exception& e) {
    return report(e.what(), kExitFailure);
  } catch (...) {
    return report("unexpected internal error", kExitFailure);
  }
  // Output that could not be written (a full disk, a closed pipe) is a failure too.
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return report("cannot write to standard output", kExitFailure);
  }
  return status;
}
