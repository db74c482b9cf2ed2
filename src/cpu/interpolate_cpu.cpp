// CPU backend of ups::interpolate: a parallel loop over the shared per-element body.
//
// The loop walks the output a row at a time (a run of the innermost dim in iteration order: W,
// or C for a channels-last output) and hands the body its coordinates directly. Unravelling
// every index costs four 64-bit divisions per element, which took longer than the
// interpolation itself; per row it is one unravel. Inside a row only the innermost coordinate
// changes, so the compiler can also hoist whatever the body computes from the others (the
// plane pointer, the H and D taps and weights) out of the inner loop.
#include <algorithm>

#include "cpu/parallel.hpp"
#include "interpolate_plan.hpp"

namespace ups {
namespace detail {

void interpolate_cpu(const InterpolatePlan& plan, const void* src, void* dst, int threads) {
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr kern::InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    const auto params = kern::make_interp_params<kern::acc_t<T>>(plan.geometry, plan.user_scale,
                                                                 plan.align_corners);
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    const bool channels_last = params.g.dst_channels_last;
    const std::int64_t row = channels_last ? params.g.c : params.g.out[2];
    parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
      // A private copy: the compiler then knows that the stores through dst cannot change the
      // parameters, so what the body computes from them and the fixed coordinates is loop
      // invariant.
      const auto p = params;
      for (std::int64_t i = begin; i < end;) {
        kern::Coord5 o = kern::unravel_output(p.g, i);
        const std::int64_t first = channels_last ? o.c : o.w;
        const std::int64_t last = std::min(row, first + (end - i));
        if (channels_last) {
          for (std::int64_t c = first; c < last; ++c) {
            o.c = c;
            kern::interp_element_at<K, T>(p, s, d, o);
          }
        } else {
          for (std::int64_t w = first; w < last; ++w) {
            o.w = w;
            kern::interp_element_at<K, T>(p, s, d, o);
          }
        }
        i += last - first;
      }
    });
  });
}

}  // namespace detail
}  // namespace ups
