// CPU backend of ups::max_unpool: a parallel loop over the shared per-element body of
// kernels/pool/pool_math.hpp.
#include <algorithm>
#include <cstring>
#include <mutex>

#include "cpu/parallel.hpp"
#include "max_unpool_plan.hpp"

namespace ups {
namespace detail {

void max_unpool_cpu(const MaxUnpoolPlan& plan, const void* src, const std::int64_t* indices,
                    void* dst, int threads, MaxUnpoolStatus* status) {
  status->position = -1;
  status->index = 0;
  for (int i = 0; i < 3; ++i)
    status->volume[i] = plan.volume[i];
  status->volume_dims = plan.volume_dims;
  if (plan.total_in == 0 || plan.total_out == 0) return;

  // The CPU visits inputs in C order, so that within a plane later positions overwrite earlier
  // ones (the documented duplicate rule).
  kern::UnpoolGeometry g = plan.geometry;
  g.channels_last = false;

  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    if (plan.dense_bytes > 0) {
      std::memset(static_cast<unsigned char*>(dst) + plan.dense_offset, 0,
                  static_cast<std::size_t>(plan.dense_bytes));
    } else {
      parallel_for(plan.total_out, threads, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          d[kern::strided_offset5(i, plan.dst_sizes, g.dst_stride, g.narrow)] = T(0);
        }
      });
    }

    // Each plane is handled by exactly one thread: the chunk that contains its first element.
    const std::int64_t plane = g.plane_in;
    std::mutex mutex;
    std::int64_t last_bad = -1;  // the largest position with an invalid index
    parallel_for(plan.total_in, threads, [&](std::int64_t begin, std::int64_t end) {
      std::int64_t local_bad = -1;
      for (std::int64_t p = (begin + plane - 1) / plane; p * plane < end; ++p) {
        for (std::int64_t i = p * plane; i < (p + 1) * plane; ++i) {
          const std::int64_t bad = kern::unpool_element<T>(g, s, indices, d, i);
          local_bad = std::max(local_bad, bad);
        }
      }
      if (local_bad >= 0) {
        const std::lock_guard<std::mutex> lock(mutex);
        last_bad = std::max(last_bad, local_bad);
      }
    });
    if (last_bad >= 0) {
      status->position = last_bad;
      status->index = indices[kern::unpool_source(g, last_bad).idx_off];
    }
  });
}

}  // namespace detail
}  // namespace ups
