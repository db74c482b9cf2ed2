// Checks shared by every op's front end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "ups/context.hpp"
#include "ups/conv_transpose.hpp"
#include "ups/interpolate.hpp"
#include "ups/pixel_shuffle.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

// "[a, b, c]": a list as the error messages quote it.
template <class V>
std::string list_to_string(const V& v) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

// Enum values outside their enumerators (an integer cast to the enum type) are rejected with
// ups::Error(kInvalidArgument) naming `what` (the parameter, e.g. "options.mode") and the value.
// Each check switches over every enumerator, so -Wswitch points at it when one is added.
void check_enum(DType value, const char* what);
void check_enum(Device value, const char* what);
void check_enum(InterpMode value, const char* what);
void check_enum(ConvTransposeAlgo value, const char* what);
void check_enum(ShuffleKernel value, const char* what);

// Product of `shape`, or ups::Error(kOutOfMemory) naming `what` when it exceeds 2^63 - 1.
std::int64_t checked_numel(const Shape& shape, const char* what);
// Rank within 0..kMaxDims, non-negative sizes, a real device, and data unless the view is empty.
void check_view(const TensorView& v, const char* name);
// The view lives where the context runs.
void check_device(const Context& ctx, const TensorView& v, const char* name);
// No two elements of an output view share an address (a zero or interleaved stride).
void check_no_self_overlap(const TensorView& v, const char* name);
// The byte ranges spanned by `in` and `out` are disjoint (ops are not in-place).
void check_no_overlap(const TensorView& in, const TensorView& out);
// The channel dim (1) has the smallest stride, as in PyTorch's channels_last formats.
bool is_channels_last(const TensorView& v);

}  // namespace detail
}  // namespace ups
