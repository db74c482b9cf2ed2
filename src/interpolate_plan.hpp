// ups::interpolate's plan: what the front end (src/interpolate.cpp) validated and hands to the
// backends (src/cpu/interpolate_cpu.cpp, kernels/interpolate/interpolate.cu), and the dispatch
// from a plan to a compile-time (kind, element type) pair, which both backends use so that they
// instantiate exactly the same set of bodies (u8 only for the nearest kinds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "dispatch.hpp"
#include "interpolate/interp_math.hpp"
#include "resample_plan.hpp"
#include "ups/context.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

// A validated interpolate call: which body to run, on what geometry, with which scales.
struct InterpolatePlan {
  kern::InterpKind kind;
  kern::InterpGeometry geometry;
  double user_scale[3];  // scale factor driving the index math per dim (D, H, W), or 0
  bool align_corners;
  DType dtype;
  std::int64_t total;  // number of output elements
};

void interpolate_cpu(const InterpolatePlan& plan, const void* src, void* dst, int threads);

// Copies dst[n, c, z, y, x] = src[n, c, idx[0][z], idx[1][y], idx[2][x]] with interpolate's
// nearest row kernels (elements of elem_size bytes moved as bits), for the resampling engine's
// nearest plans. Returns false, doing nothing, when neither W nor C is innermost in both
// tensors.
bool nearest_tables_cpu(const kern::InterpGeometry& g, std::size_t elem_size, const void* src,
                        void* dst, int threads, const std::vector<std::int64_t>* idx);

// Enqueues the interpolate kernel on `stream`. Throws ups::Error on launch failure.
void interpolate_cuda(const InterpolatePlan& plan, const void* src, void* dst, StreamHandle stream);

// interpolate_backward: grad_input (the plan's input view, `src`) from grad_output (its output
// view, `dst`). The CUDA side takes its scratch from the context (src/cuda/scratch.hpp).
void interpolate_backward_cpu(const InterpolatePlan& plan, const void* grad_out, void* grad_in,
                              int threads);
void interpolate_backward_cuda(const Context& ctx, const InterpolatePlan& plan,
                               const void* grad_out, void* grad_in);
// Bytes of scratch interpolate_backward_cuda needs for `plan` (its transposed tables).
std::size_t interpolate_backward_cuda_workspace(const InterpolatePlan& plan);

// The interpolate rules that run on the separable resampling engine rather than on a kernel of
// their own: lanczos, tricubic, and anti-aliased trilinear / tricubic (src/interpolate_engine.cpp).
enum class InterpEngine : std::uint8_t {
  kNone,      // a dedicated kernel (InterpolatePlan)
  kLanczos,   // Lanczos-3 anti-aliasing windows
  kCubic,     // bicubic's Keys cubic (A = -0.75) per dim
  kAaLinear,  // anti-aliasing triangle windows per dim
  kAaCubic,   // anti-aliasing Keys cubic (a = -0.5) windows per dim
};

// The engine plan of an interpolate call from view `in` to view `out` (validated), with the
// scale that drives the index math per spatial dim (0: in / out).
ResamplePlan make_interp_engine_plan(InterpEngine rule, const TensorView& in, const TensorView& out,
                                     const double* user_scale, bool align_corners);

template <kern::InterpKind K>
using KindTag = std::integral_constant<kern::InterpKind, K>;

template <class F>
void dispatch_interp(const InterpolatePlan& plan, F&& f) {
  using kern::InterpKind;
  const bool nearest = plan.kind == InterpKind::kNearest || plan.kind == InterpKind::kNearestExact;
  dispatch_float_u8(plan.dtype, nearest, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    auto run = [&](auto kind_tag) {
      constexpr InterpKind K = decltype(kind_tag)::value;
      if constexpr (std::is_same_v<T, std::uint8_t> && K != InterpKind::kNearest &&
                    K != InterpKind::kNearestExact) {
        fail(ErrorCode::kInternal, "u8 reached a non-nearest interpolate kind");
      } else {
        f(kind_tag, type_tag);
      }
    };
    switch (plan.kind) {
      case InterpKind::kNearest:
        return run(KindTag<InterpKind::kNearest>{});
      case InterpKind::kNearestExact:
        return run(KindTag<InterpKind::kNearestExact>{});
      case InterpKind::kLinear:
        return run(KindTag<InterpKind::kLinear>{});
      case InterpKind::kBilinear:
        return run(KindTag<InterpKind::kBilinear>{});
      case InterpKind::kTrilinear:
        return run(KindTag<InterpKind::kTrilinear>{});
      case InterpKind::kBicubic:
        return run(KindTag<InterpKind::kBicubic>{});
      case InterpKind::kArea:
        return run(KindTag<InterpKind::kArea>{});
      case InterpKind::kAaBilinear:
        return run(KindTag<InterpKind::kAaBilinear>{});
      case InterpKind::kAaBicubic:
        return run(KindTag<InterpKind::kAaBicubic>{});
    }
  });
}

}  // namespace detail
}  // namespace ups
