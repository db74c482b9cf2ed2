// Host entry points of interp_math_device.cu: each runs one function of kernels/common/hd.hpp or
// kernels/interpolate/interp_math.hpp on the device over a batch of inputs and returns the
// results, so that the Catch2 tests (plain C++) can compare them with the same function on the
// host. Every entry point throws ups_test::CudaTestError on a CUDA failure.
#pragma once

#include <cstdint>
#include <vector>

#include "interpolate/interp_math.hpp"

namespace ups_test {
namespace device_math {

// Whether this file's device code fuses a*b+c into one rounding (nvcc's --fmad=true default),
// found out by evaluating a product-plus-sum whose fused and unfused results differ.
bool contracts_multiply_add();

// Bit patterns in, bit patterns out, one element per input.
std::vector<std::uint32_t> half_to_float(const std::vector<std::uint16_t>& half_bits);
std::vector<std::uint16_t> float_to_half(const std::vector<std::uint32_t>& float_bits);
std::vector<std::uint32_t> bf16_to_float(const std::vector<std::uint16_t>& bf16_bits);
std::vector<std::uint16_t> float_to_bf16(const std::vector<std::uint32_t>& float_bits);

struct NearestQuery {
  std::int64_t dst, in, out;
  float scale;
};
// kern::nearest_index (exact = false) or kern::nearest_exact_index (exact = true) per query.
std::vector<std::int64_t> nearest_indices(const std::vector<NearestQuery>& queries, bool exact);

template <class Acc>
struct GeneralNearestQuery {
  std::int64_t dst, in;
  Acc scale;
};
// kern::nearest_index_general / kern::nearest_exact_index_general (scale in Acc) per query.
std::vector<std::int64_t> nearest_indices_general(
    const std::vector<GeneralNearestQuery<float>>& queries, bool exact);
std::vector<std::int64_t> nearest_indices_general(
    const std::vector<GeneralNearestQuery<double>>& queries, bool exact);

template <class Acc>
struct TapQuery {
  Acc scale;
  std::int64_t dst, in, out;
  bool align_corners;
};
// kern::linear_taps / kern::cubic_taps per query.
std::vector<ups::kern::LinearTaps<float>> linear_taps(const std::vector<TapQuery<float>>& queries);
std::vector<ups::kern::LinearTaps<double>> linear_taps(
    const std::vector<TapQuery<double>>& queries);
std::vector<ups::kern::CubicTaps<float>> cubic_taps(const std::vector<TapQuery<float>>& queries);
std::vector<ups::kern::CubicTaps<double>> cubic_taps(const std::vector<TapQuery<double>>& queries);

}  // namespace device_math
}  // namespace ups_test
