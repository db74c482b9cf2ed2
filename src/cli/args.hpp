/// @file args.hpp
/// @brief Command-line parsing for the ups program: a declarative option table per command,
/// `--name VALUE` / `--name=VALUE` options, flags, positionals, and strict number and
/// comma-separated tuple parsing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ups {
namespace cli {

/// @brief A mistake on the command line. The program reports it and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ParsedArgs;

/// @brief The arguments one command accepts. `-h` and `--help` are always accepted.
class ArgSpec {
 public:
  /// @brief A switch without a value, e.g. `--align-corners`. @p name includes the dashes.
  ArgSpec& flag(const std::string& name, const std::string& help);
  /// @brief An option with a value, given as `--name VALUE` or `--name=VALUE`, at most once.
  ArgSpec& option(const std::string& name, const std::string& metavar, const std::string& help,
                  bool required = false);
  /// @brief A positional argument; positionals are matched in the order added. Optional ones
  /// (@p required false) must come after the required ones.
  ArgSpec& positional(const std::string& name, const std::string& help, bool required = true);

  /// @brief Parses @p args (the words after the command name). Throws UsageError for unknown
  /// options, missing or extra values, repeated options, missing required options and a wrong
  /// number of positionals; none of these checks apply when help is requested.
  ParsedArgs parse(const std::vector<std::string>& args) const;

  /// @brief The synopsis of the arguments, one item per argument, e.g. {"IN", "OUT",
  /// "--mode M", "[--antialias]"}.
  std::vector<std::string> synopsis() const;
  /// @brief One line per argument, aligned, for `COMMAND --help`.
  std::string describe() const;

 private:
  struct Entry {
    std::string name;
    std::string metavar;  // empty for flags
    std::string help;
    bool required = false;
  };
  const Entry* find(const std::string& name) const;
  std::vector<Entry> options_;
  std::vector<Entry> positionals_;
};

/// @brief The result of ArgSpec::parse.
class ParsedArgs {
 public:
  /// @brief True when `-h` or `--help` was given.
  bool help() const noexcept { return help_; }
  /// @brief True when the flag, option or positional @p name was given.
  bool has(const std::string& name) const {
    return values_.count(name) != 0 || positionals_.count(name) != 0;
  }
  /// @brief The value of option @p name, or std::nullopt when it was not given.
  std::optional<std::string> get(const std::string& name) const;
  /// @brief The value of positional @p name.
  const std::string& positional(const std::string& name) const;

 private:
  friend class ArgSpec;
  bool help_ = false;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> positionals_;
};

/// @brief Parses a decimal integer in [@p min, @p max] (an optional sign, then digits only).
/// @p what names the value in the error, e.g. "--size". Throws UsageError.
std::int64_t parse_int(const std::string& text, const std::string& what, std::int64_t min,
                       std::int64_t max);
/// @brief Parses a finite decimal number ("2", "0.5", "1e-3"; not "nan", "inf" or hex).
/// Throws UsageError.
double parse_real(const std::string& text, const std::string& what);
/// @brief Splits a comma-separated tuple ("2,3" or "2, 3"); empty elements are errors.
std::vector<std::string> split_tuple(const std::string& text, const std::string& what);
/// @brief A comma-separated tuple of integers in [@p min, @p max].
std::vector<std::int64_t> parse_int_tuple(const std::string& text, const std::string& what,
                                          std::int64_t min, std::int64_t max);
/// @brief A comma-separated tuple of finite numbers.
std::vector<double> parse_real_tuple(const std::string& text, const std::string& what);

}  // namespace cli
}  // namespace ups
