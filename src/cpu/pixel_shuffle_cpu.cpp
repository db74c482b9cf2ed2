// CPU backend of ups::pixel_shuffle / ups::pixel_unshuffle: a parallel loop over the shared
// per-element body of kernels/pixel_shuffle/shuffle_math.hpp.
#include "backend_pool.hpp"
#include "cpu/parallel.hpp"

namespace ups {
namespace detail {

void pixel_shuffle_cpu(const ShufflePlan& plan, const void* src, void* dst, int threads) {
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i)
        kern::shuffle_element<T>(plan.geometry, s, d, i);
    });
  });
}

}  // namespace detail
}  // namespace ups
