/// @file bench_cases.hpp
/// @brief The cases of `ups bench`: one case from the command line or the default suite, their
/// command-line form, the op options they stand for, and their output shape and minimal traffic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/args.hpp"
#include "ups/ups.hpp"

namespace ups {
namespace cli {
namespace bench {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
// The suite runs CUDA cases with a batch this many times larger: the CPU shapes (tens of MiB)
// would sit in an H100's 50 MB L2 cache or be too short to reach its bandwidth.
constexpr std::int64_t kCudaBatchScale = 8;

enum class ParamKind { kFlag, kWord, kInt, kInts, kReals };

struct ParamInfo {
  const char* option;
  ParamKind kind;
};

/// @brief Every op option of the command, in the order they are printed.
const std::vector<ParamInfo>& param_table();

/// @brief One benchmark case: an op, the shape, dtype and layout of its main input, and its
/// options in the syntax of the command line.
struct BenchCase {
  std::string op;
  Shape shape;
  DType dtype = DType::kF32;
  bool channels_last = false;
  std::vector<std::pair<std::string, std::string>> params;  // option, value ("" for flags)

  bool has(const std::string& option) const;
  std::optional<std::string> get(const std::string& option) const;
};

/// @brief "1,2,3".
std::string join_ints(const Shape& v);
/// @brief "channels-last" or "contiguous".
const char* layout_name(bool channels_last);
/// @brief The arguments of `ups bench` that run this case alone.
std::string command_line(const BenchCase& c);

/// @brief The case described by the command line (OP given). Throws UsageError for unknown
/// ops, options that do not apply, missing required options and malformed values.
BenchCase case_from_args(const ParsedArgs& args);

/// @brief The cases users meet, sized for the CPU (tens of MiB per tensor, a few minutes for
/// the whole suite on two cores); CUDA multiplies the batch by kCudaBatchScale.
std::vector<BenchCase> default_suite(Device device);

/// @brief The element count of @p s; throws kOutOfMemory when it overflows.
std::int64_t numel_of(const Shape& s);
/// @brief The bytes of a tensor of @p s in @p dtype.
std::size_t bytes_of(DType dtype, const Shape& s);

/// @brief An integer option of @p c, or @p fallback when absent.
std::int64_t int_param(const BenchCase& c, const char* option, std::int64_t fallback);

/// @name The options of each op, from a case.
/// @{
InterpolateOptions interpolate_options(const BenchCase& c);
ResizeOptions resize_options(const BenchCase& c);
ConvTransposeOptions conv_transpose_options(const BenchCase& c);
Shape weight_shape(const BenchCase& c);
MaxUnpoolOptions max_unpool_options(const BenchCase& c);
Shape shuffle_output_shape(const BenchCase& c);
/// @}

/// @brief The output shape and minimal traffic of a case, computed without allocating. Throws
/// the library's validation errors for options the op rejects.
std::pair<Shape, std::uint64_t> describe(const BenchCase& c);

}  // namespace bench
}  // namespace cli
}  // namespace ups
