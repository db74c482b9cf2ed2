/// @file command_util.hpp
/// @brief Pieces shared by the commands of the ups program: the device options, building a
/// context from them, reading operand files of one dtype, and printing small arrays.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cli/args.hpp"
#include "cli/npy.hpp"
#include "ups/context.hpp"

namespace ups {
namespace cli {

/// @brief Adds `--device D` and, when @p threads is true, `--threads T` to @p spec.
ArgSpec& add_device_options(ArgSpec& spec, bool threads);
/// @brief The value of `--device` (auto when absent). Throws UsageError for other words.
Device device_option(const ParsedArgs& args);
/// @brief A context on the `--device` of @p args, with the `--threads` count when @p threads is
/// true. Throws UsageError for malformed values and ups::Error when the device is unusable.
Context make_context(const ParsedArgs& args, bool threads);

/// @brief An .npy operand named on the command line, e.g. {"IN", "in.npy"} or {"--weight",
/// "w.npy"}, with its contents.
struct Operand {
  std::string role;  ///< How the command line names it: a positional or an option.
  std::string path;  ///< The file it was read from.
  HostArray array;   ///< The contents.
};
/// @brief Reads the .npy file at @p path for the argument @p role.
Operand read_operand(const std::string& role, const std::string& path);
/// @brief Throws ups::Error (kUnsupportedDType) naming both files when @p other does not have
/// the dtype of @p first: operands of one op share a dtype, and converting silently would
/// hide a mistake.
void check_same_dtype(const Operand& first, const Operand& other);

/// @brief Milliseconds since @p start.
double elapsed_ms(std::chrono::steady_clock::time_point start);

/// @brief Shortest decimal form with at most 4 decimals: "1", "1.5", "1.25".
std::string format_value(double v);
/// @brief A row-major rows x cols block of float data as an indented, right-aligned matrix,
/// one line "    [a  b  c]" per row.
std::string format_matrix(const float* data, std::int64_t rows, std::int64_t cols);

}  // namespace cli
}  // namespace ups
