// CUDA backend of ups::max_pool: a grid-stride kernel over the output in its memory order that
// runs the same body as the CPU backend (kern::max_pool_at, pool_math.hpp). Every output element
// is computed by one thread, so the op is deterministic.
//
// Two index variants: 32-bit, when every offset of src, dst and indices, the window arithmetic
// and the loop count fit int32 (coordinates then come from precomputed multiply-shift divisions,
// kern::Divider<int32_t>), and 64-bit for the rest.
#include <cuda_runtime.h>

#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "max_pool_plan.hpp"
#include "pool/pool_math.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;

template <class T, class Index>
__global__ void max_pool_kernel(kern::PoolGeometry g, kern::PoolDivs<Index> v,
                                const T* __restrict__ src, T* __restrict__ dst,
                                std::int64_t* __restrict__ indices, Index total) {
  const Index step = static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x);
#pragma unroll 1
  for (Index i = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) +
                 static_cast<Index>(threadIdx.x);
       i < total; i += step) {
    kern::max_pool_at<T, Index>(g, kern::unravel_ncdhw(i, v, g.channels_last), src, dst, indices);
  }
}

// Whether the 32-bit variant covers the call.
bool fits_32(const MaxPoolPlan& plan, unsigned grid) {
  const kern::PoolGeometry& g = plan.geometry;
  if (cuda_wide_index() || !loop_fits_32(plan.total, std::int64_t(grid) * kBlock)) return false;
  const std::int64_t in5[5] = {g.n, g.c, g.in[0], g.in[1], g.in[2]};
  const std::int64_t out5[5] = {g.n, g.c, g.out[0], g.out[1], g.out[2]};
  if (offset_span(in5, g.src_stride, 5) > kIndex32Max ||
      offset_span(out5, g.dst_stride, 5) > kIndex32Max ||
      offset_span(out5, g.idx_stride, 5) > kIndex32Max) {
    return false;
  }
  // The window arithmetic of pool_span_t and the flat position (d * H + h) * W + w.
  std::int64_t plane = 1;
  for (int d = 0; d < 3; ++d) {
    const std::int64_t eff = (g.kernel[d] - 1) * g.dilation[d] + 1;  // fits int64 (front end)
    if (g.in[d] > kIndex32Max || g.pad[d] > kIndex32Max || eff > kIndex32Max ||
        g.in[d] + g.pad[d] > kIndex32Max || g.stride[d] > kIndex32Max) {
      return false;
    }
    if (g.out[d] > 0 && (g.out[d] - 1) > (kIndex32Max - eff) / g.stride[d]) return false;
    plane *= g.in[d];
    if (plane > kIndex32Max) return false;
  }
  return true;
}

}  // namespace

void max_pool_cuda(const MaxPoolPlan& plan, const void* src, void* dst, std::int64_t* indices,
                   StreamHandle stream) {
  if (plan.total == 0) return;
  dispatch_all_types(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const kern::PoolGeometry& g = plan.geometry;
    const unsigned grid = grid_for(plan.total, kBlock);
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    if (fits_32(plan, grid)) {
      max_pool_kernel<T, std::int32_t>
          <<<grid, kBlock, 0, stream>>>(g, kern::pool_divs<std::int32_t>(g.c, g.out, true), s, d,
                                        indices, static_cast<std::int32_t>(plan.total));
    } else {
      max_pool_kernel<T, std::int64_t><<<grid, kBlock, 0, stream>>>(
          g, kern::pool_divs<std::int64_t>(g.c, g.out, g.narrow), s, d, indices, plan.total);
    }
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace detail
}  // namespace ups
