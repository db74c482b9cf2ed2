// CPU backend of ups::interpolate: a parallel loop over the shared per-element body.
#include "backend.hpp"
#include "cpu/parallel.hpp"
#include "interp_dispatch.hpp"

namespace ups {
namespace detail {

void interpolate_cpu(const InterpPlan& plan, const void* src, void* dst, int threads) {
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr kern::InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    const auto params =
        kern::make_interp_params<kern::acc_t<T>>(plan.geometry, plan.user_scale, plan.align_corners);
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) kern::interp_element<K, T>(params, s, d, i);
    });
  });
}

}  // namespace detail
}  // namespace ups
