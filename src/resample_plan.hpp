// The separable resampling engine: every output element is a tensor product, over the dims of
// a rank-1..5 tensor, of per-dim taps (source index, weight) built once per call on the host.
// The front ends build the tables from their own rules and hand the plan here:
// - src/resize.cpp: ONNX Resize (every coordinate mode, nearest mode, cubic_coeff_a,
//   exclude_outside, antialias, tf_crop_and_resize's extrapolation, any axis);
// - src/interpolate.cpp: PyTorch modes the fixed-kind kernels do not cover (lanczos, tricubic,
//   antialiased trilinear and tricubic).
// The backends (src/cpu/resample_cpu.cpp, kernels/resample/resample.cu) only apply tables, so
// one implementation serves every rule.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "common/hd.hpp"

#include "ups/context.hpp"
#include "ups/export.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

// The engine's entry points are exported from the library, although this header is not
// installed, so that the test suites can hold both backends to a reference on arbitrary tables.

// The taps of one dim. Output coordinate o reads source indices idx[o * k + j] with weights
// w[o * k + j], j < k. Every index is in [0, in). Windows shorter than k are padded with a valid
// index and weight 0. With `outside` non-empty, outside[o] != 0 marks an output coordinate that
// samples outside the input: every output element with such a coordinate in any dim is the
// plan's extrapolation value (tf_crop_and_resize).
struct UPS_EXPORT ResampleAxis {
  std::int64_t in = 1;
  std::int64_t out = 1;
  int k = 1;
  std::vector<std::int64_t> idx;
  std::vector<double> w;
  std::vector<std::uint8_t> outside;

  // A dim left as it is: out == in, one tap o -> o with weight 1 and nothing outside. Backends
  // skip such dims.
  static ResampleAxis identity(std::int64_t n);
  bool is_identity() const;
};

struct ResamplePlan {
  DType dtype = DType::kF32;
  int rank = 0;                 // 1..kMaxDims
  ResampleAxis axis[kMaxDims];  // the first `rank` are used
  // False for nearest rules: every output element is a copy of the one element its taps
  // name (k == 1 and weight 1 in every dim), bit-exact on both backends, u8 allowed.
  bool weighted = true;
  double extrapolation_value = 0.0;  // used where an axis marks `outside`
};

// Throws ups::Error (kInternal; kUnsupportedDType for a dtype the plan cannot run on) unless the
// plan's tables are consistent with each other and with the views: both backends call it first,
// so that no table can make them read or write out of bounds.
UPS_EXPORT void check_resample_plan(const ResamplePlan& plan, const TensorView& src,
                                    const TensorView& dst);

// Applies `plan` from `src` to `dst` (validated shapes: src sizes are axis[d].in, dst sizes
// axis[d].out; any strides, no overlap).
UPS_EXPORT void resample_cpu(const ResamplePlan& plan, const TensorView& src, const TensorView& dst,
                             int threads);
// Enqueues the same on ctx.stream(): tables copied into scratch (ctx.workspace() or the
// stream-ordered pool, src/cuda/scratch.hpp), no host synchronisation.
UPS_EXPORT void resample_cuda(const Context& ctx, const ResamplePlan& plan, const TensorView& src,
                              const TensorView& dst);
// Bytes of scratch resample_cuda needs for `plan` (0 without the CUDA backend).
UPS_EXPORT std::size_t resample_cuda_workspace(const ResamplePlan& plan);

// The extrapolation value as an element of T: rounded to nearest (even) for the float types,
// rounded and saturated for u8 (NaN becomes 0).
template <class T>
T extrapolation_of(double v) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    if (!(v > 0)) return 0;
    if (v >= 255) return 255;
    return static_cast<std::uint8_t>(std::nearbyint(v));
  } else if constexpr (std::is_same_v<T, double>) {
    return v;
  } else {
    return kern::from_acc<T>(static_cast<float>(v));
  }
}

}  // namespace detail
}  // namespace ups
