// CPU backend of ups::pixel_shuffle / ups::pixel_unshuffle: a parallel loop over the shared
// index map of kernels/pixel_shuffle/shuffle_math.hpp.
//
// When the output's innermost dim in memory order is W or C (contiguous and channels-last
// outputs), the loop copies a row at a time: one shuffle_unravel per row, then the source
// offsets of the row from shuffle_run (the odometer the CUDA fast path uses, checked against
// shuffle_src_offset by the tests) instead of five divisions per element. Other layouts run the
// per-element body.
#include <algorithm>

#include "cpu/parallel.hpp"
#include "pixel_shuffle_plan.hpp"

namespace ups {
namespace detail {

void pixel_shuffle_cpu(const PixelShufflePlan& plan, const void* src, void* dst, int threads) {
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const kern::ShuffleGeometry& g = plan.geometry;
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    const int inner = g.order[4];
    if (inner != 2 && inner != 4) {
      parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i)
          kern::shuffle_element<T>(g, s, d, i);
      });
      return;
    }
    const std::int64_t row = g.out_size[inner];
    const std::int64_t step = g.dst_stride[inner];
    parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end;) {
        const kern::ShuffleCoord c = kern::shuffle_unravel(g, i);
        const std::int64_t n = std::min(row - c.o[inner], end - i);
        kern::ShuffleRun run = kern::shuffle_run(g, c, inner);
        T* out = d + kern::shuffle_dst_offset(g, c);
        for (std::int64_t k = 0; k < n; ++k) {
          out[k * step] = s[run.offset];
          run.next();
        }
        i += n;
      }
    });
  });
}

}  // namespace detail
}  // namespace ups
