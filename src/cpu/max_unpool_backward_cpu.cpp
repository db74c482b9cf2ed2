// CPU backend of ups::max_unpool_backward: a parallel loop over the shared gather body of
// kernels/pool/pool_math.hpp. Each element of grad_input is written by one iteration, so the
// result does not depend on the number of threads; the invalid index at the largest C-order
// position is reported whatever the split.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "cpu/parallel.hpp"
#include "max_unpool_plan.hpp"

namespace ups {
namespace detail {

void max_unpool_backward_cpu(const MaxUnpoolPlan& plan, const void* grad_output,
                             const std::int64_t* indices, void* grad_input, int threads,
                             MaxUnpoolStatus* status) {
  const kern::UnpoolGeometry& g = plan.geometry;
  std::atomic<std::int64_t> bad{-1};
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* go = static_cast<const T*>(grad_output);
    T* gi = static_cast<T*>(grad_input);
    parallel_for(plan.total_in, threads, [&](std::int64_t begin, std::int64_t end) {
      std::int64_t local = -1;
      for (std::int64_t i = begin; i < end; ++i) {
        local = std::max(local, kern::unpool_backward_element<T>(g, go, indices, gi, i));
      }
      if (local >= 0) {
        std::int64_t cur = bad.load(std::memory_order_relaxed);
        while (local > cur && !bad.compare_exchange_weak(cur, local, std::memory_order_relaxed)) {
        }
      }
    });
  });
  *status = MaxUnpoolStatus{};
  status->position = bad.load();
  status->index = 0;
  if (status->position >= 0) {
    kern::UnpoolGeometry c = g;
    c.channels_last = false;  // positions are C-order
    status->index = indices[kern::unpool_source(c, status->position).idx_off];
  }
  for (int i = 0; i < 3; ++i)
    status->volume[i] = plan.volume[i];
  status->volume_dims = plan.volume_dims;
}

}  // namespace detail
}  // namespace ups
