// CPU backend of ups::max_pool: a parallel loop over the shared per-element body of
// kernels/pool/pool_math.hpp.
#include <algorithm>

#include "cpu/parallel.hpp"
#include "max_pool_plan.hpp"

namespace ups {
namespace detail {

void max_pool_cpu(const MaxPoolPlan& plan, const void* src, void* dst, std::int64_t* indices,
                  int threads) {
  dispatch_all_types(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        kern::max_pool_element<T>(plan.geometry, s, d, indices, i);
      }
    });
  });
}

}  // namespace detail
}  // namespace ups
