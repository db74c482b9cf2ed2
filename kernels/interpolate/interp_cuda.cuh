// What the CUDA interpolate kernels share (interpolate.cu, interpolate_cl.cu): the tap rule of
// each dim per kind, the host's table sizing and the block size. CUDA translation units only.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cuda/launch.hpp"
#include "interpolate/interp_math.hpp"
#include "interpolate/interp_taps.hpp"
#include "interpolate_plan.hpp"
#include "ups/context.hpp"

namespace ups {
namespace detail {
namespace interp_cuda {

using kern::InterpKind;
using kern::TapRule;

// The tap rule of each dim (D, H, W) of kind K, and how many dims it combines with weights
// (the others are unit dims, or indices only).
template <InterpKind K>
struct Rules;
template <>
struct Rules<InterpKind::kNearest> {
  static constexpr TapRule kX = TapRule::kNearest, kY = TapRule::kNearest, kZ = TapRule::kNearest;
};
template <>
struct Rules<InterpKind::kNearestExact> {
  static constexpr TapRule kX = TapRule::kNearestExact, kY = TapRule::kNearestExact,
                           kZ = TapRule::kNearestExact;
};
template <>
struct Rules<InterpKind::kLinear> {
  static constexpr TapRule kX = TapRule::kLinearRounded, kY = TapRule::kNearest,
                           kZ = TapRule::kNearest;
};
template <>
struct Rules<InterpKind::kBilinear> {
  static constexpr TapRule kX = TapRule::kLinearRounded, kY = TapRule::kLinearRounded,
                           kZ = TapRule::kNearest;
};
template <>
struct Rules<InterpKind::kTrilinear> {
  static constexpr TapRule kX = TapRule::kLinearRounded, kY = TapRule::kLinearRounded,
                           kZ = TapRule::kLinearRounded;
};
template <>
struct Rules<InterpKind::kBicubic> {
  static constexpr TapRule kX = TapRule::kCubic, kY = TapRule::kCubic, kZ = TapRule::kNearest;
};
template <>
struct Rules<InterpKind::kArea> {
  static constexpr TapRule kX = TapRule::kArea, kY = TapRule::kArea, kZ = TapRule::kArea;
};
template <>
struct Rules<InterpKind::kAaBilinear> {
  static constexpr TapRule kX = TapRule::kAaLinear, kY = TapRule::kAaLinear, kZ = TapRule::kNearest;
};
template <>
struct Rules<InterpKind::kAaBicubic> {
  static constexpr TapRule kX = TapRule::kAaCubic, kY = TapRule::kAaCubic, kZ = TapRule::kNearest;
};

// PyTorch's small-output 2-D bilinear kernel: unrounded linear weights, combined as products.
template <InterpKind K>
constexpr TapRule small_rule(TapRule r) {
  return K == InterpKind::kBilinear ? TapRule::kLinear : r;
}

// The largest tap count of any coordinate of dim `dim` by rule R (host).
template <TapRule R, class T, class Acc>
int max_taps(const kern::InterpParams<Acc>& p, int dim) {
  std::int64_t idx[4];
  Acc w[4];
  int k = 1;
  for (std::int64_t o = 0; o < p.g.out[dim]; ++o)
    k = std::max(k, kern::taps_at<R, T>(p, dim, o, idx, w, 0));
  return k;
}

constexpr int kBlock = 256;

// Whether the 32-bit index variants may serve geometry g, as far as the views go: every offset
// of both views below 2^31, every size too (a stride of 0 hides a size from the span), no
// negative stride, and no UPS_CUDA_WIDE_INDEX. Each kernel adds its own grid-stride loops.
inline bool views_fit_32(const kern::InterpGeometry& g) {
  const std::int64_t in_sizes[5] = {g.n, g.c, g.in[0], g.in[1], g.in[2]};
  const std::int64_t out_sizes[5] = {g.n, g.c, g.out[0], g.out[1], g.out[2]};
  bool fit = !cuda_wide_index() && offset_span(in_sizes, g.src_stride, 5) <= kIndex32Max &&
             offset_span(out_sizes, g.dst_stride, 5) <= kIndex32Max;
  for (int d = 0; d < 3; ++d)
    fit = fit && g.in[d] <= kIndex32Max && g.out[d] <= kIndex32Max;
  for (int d = 0; d < 5; ++d)
    fit = fit && g.src_stride[d] >= 0 && g.dst_stride[d] >= 0;
  return fit;
}

}  // namespace interp_cuda

// The channels-last kernel (interpolate_cl.cu): runs the call and returns true when both views
// have C innermost with at least 32 bytes of channels and the kernel's tables fit; else false,
// having done nothing.
bool interpolate_cuda_channels_last(const InterpolatePlan& plan, const void* src, void* dst,
                                    StreamHandle stream);

}  // namespace detail
}  // namespace ups
