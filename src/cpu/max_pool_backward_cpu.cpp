// CPU backend of ups::max_pool_backward: a parallel check of the indices, then a parallel loop
// over the shared gather body of kernels/pool/pool_math.hpp. Each element of grad_input is
// written by one iteration with a fixed order of additions, so the result does not depend on the
// number of threads. The gather only adds a window's gradient at the position its index names
// when that position is one of the window's taps, so it never reads or writes through an invalid
// index and can run whatever the check found (the deferred check needs that).
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "cpu/parallel.hpp"
#include "max_pool_plan.hpp"

namespace ups {
namespace detail {

namespace {

void atomic_max(std::atomic<std::int64_t>& a, std::int64_t v) {
  std::int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

void max_pool_backward_cpu(const MaxPoolBackwardPlan& plan, const void* grad_output,
                           const std::int64_t* indices, void* grad_input, int threads,
                           MaxPoolStatus* status, bool write_on_error) {
  const kern::PoolBackwardGeometry& g = plan.geometry;
  // The check: every index of a window with an in-bounds tap names one of its taps.
  std::atomic<std::int64_t> bad{-1};
  parallel_for(plan.total_out, threads, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t local = -1;
    for (std::int64_t i = begin; i < end; ++i) {
      local = std::max(local, kern::max_pool_backward_check_element(g, indices, i));
    }
    if (local >= 0) atomic_max(bad, local);
  });
  *status = pool_status_ok(plan);
  status->position = bad.load();
  if (status->position >= 0) {
    const kern::PoolCoord o = kern::unravel_ncdhw(status->position, g.c, g.out, false, g.narrow);
    status->index = indices[kern::pool_backward_idx_offset(g, o)];
    if (!write_on_error) return;
  }
  dispatch_all_types(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* go = static_cast<const T*>(grad_output);
    T* gi = static_cast<T*>(grad_input);
    parallel_for(plan.total_in, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        kern::max_pool_backward_element<T>(g, go, indices, gi, i);
      }
    });
  });
}

}  // namespace detail
}  // namespace ups
