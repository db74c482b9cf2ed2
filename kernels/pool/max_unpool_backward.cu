// CUDA backend of ups::max_unpool_backward: one thread per grad_input element gathers the
// grad_output element its index names (kern::unpool_backward_element_at, pool_math.hpp, the
// CPU's body). Each grad_input element is written once, so the result is deterministic. An
// invalid index is never read through: its element gets zero and its C-order position is
// recorded with atomicMax in a status record, which a one-thread kernel completes with the index
// and which the host reads at once (synchronous check) or through max_unpool_check (deferred).
//
// A 32-bit index variant (every offset, output-plane position and loop count below 2^31) and a
// 64-bit one.
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "cuda/scratch.hpp"
#include "max_unpool_plan.hpp"
#include "pool/pool_math.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;

template <class T, class Index>
__global__ void unpool_backward_kernel(kern::UnpoolGeometry g, kern::UnpoolDivs<Index> v,
                                       const T* __restrict__ grad_output,
                                       const std::int64_t* __restrict__ indices,
                                       T* __restrict__ grad_input, Index total,
                                       MaxUnpoolStatus* st) {
  const Index step = static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x);
#pragma unroll 1
  for (Index i = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) +
                 static_cast<Index>(threadIdx.x);
       i < total; i += step) {
    const std::int64_t bad =
        kern::unpool_backward_element_at<T, Index>(g, v, grad_output, indices, grad_input, i);
    if (bad >= 0) {
      atomicMax(reinterpret_cast<long long*>(&st->position), static_cast<long long>(bad));
    }
  }
}

struct Volume {
  std::int64_t v[3];
  std::int64_t dims;
};

__global__ void unpool_backward_finalize_kernel(kern::UnpoolGeometry g,
                                                const std::int64_t* __restrict__ indices,
                                                MaxUnpoolStatus* st, Volume volume) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const std::int64_t pos = st->position;
  if (pos >= 0) {
    g.channels_last = false;  // positions are C-order
    st->index = indices[kern::unpool_source(g, pos).idx_off];
  }
  for (int i = 0; i < 3; ++i)
    st->volume[i] = volume.v[i];
  st->volume_dims = volume.dims;
}

bool fits_32(const MaxUnpoolPlan& plan, unsigned grid) {
  const kern::UnpoolGeometry& g = plan.geometry;
  if (cuda_wide_index()) return false;
  const std::int64_t step = std::int64_t(grid) * kBlock;
  if (!loop_fits_32(plan.total_in, step) || !loop_fits_32(plan.total_out, step)) return false;
  const std::int64_t in5[5] = {g.n, g.c, g.in[0], g.in[1], g.in[2]};
  return offset_span(in5, g.src_stride, 5) <= kIndex32Max &&
         offset_span(in5, g.idx_stride, 5) <= kIndex32Max &&
         offset_span(plan.dst_sizes, g.dst_stride, 5) <= kIndex32Max;
}

}  // namespace

void max_unpool_backward_cuda(const MaxUnpoolPlan& plan, const void* grad_output,
                              const std::int64_t* indices, void* grad_input, const Context& ctx,
                              MaxUnpoolStatus* status) {
  const StreamHandle stream = ctx.stream();
  const bool has_status = status != nullptr;
  if (plan.total_in == 0) {
    if (has_status) UPS_CUDA_CHECK(cudaMemsetAsync(status, 0xff, sizeof(*status), stream));
    return;
  }
  Scratch scratch(ctx, has_status ? 0 : 64, "max_unpool_backward",
                  "; give the context a workspace (Context::set_workspace), raise the limit, "
                  "or pass a MaxUnpoolStatus");
  MaxUnpoolStatus* st = has_status ? status : reinterpret_cast<MaxUnpoolStatus*>(scratch.get());
  const kern::UnpoolGeometry& g = plan.geometry;
  UPS_CUDA_CHECK(cudaMemsetAsync(st, 0xff, sizeof(*st), stream));
  const unsigned grid = grid_for(plan.total_in, kBlock);
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* go = static_cast<const T*>(grad_output);
    T* gi = static_cast<T*>(grad_input);
    if (fits_32(plan, grid)) {
      unpool_backward_kernel<T, std::int32_t>
          <<<grid, kBlock, 0, stream>>>(g, kern::unpool_divs<std::int32_t>(g), go, indices, gi,
                                        static_cast<std::int32_t>(plan.total_in), st);
    } else {
      unpool_backward_kernel<T, std::int64_t><<<grid, kBlock, 0, stream>>>(
          g, kern::unpool_divs<std::int64_t>(g), go, indices, gi, plan.total_in, st);
    }
    UPS_CUDA_CHECK(cudaGetLastError());
  });
  Volume volume{{plan.volume[0], plan.volume[1], plan.volume[2]}, plan.volume_dims};
  unpool_backward_finalize_kernel<<<1, 1, 0, stream>>>(g, indices, st, volume);
  UPS_CUDA_CHECK(cudaGetLastError());
  if (!has_status) {
    MaxUnpoolStatus host{};
    UPS_CUDA_CHECK(cudaMemcpyAsync(&host, st, sizeof(host), cudaMemcpyDeviceToHost, stream));
    scratch.release();
    UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (host.position >= 0) throw_invalid_max_index(host);
  }
}

}  // namespace detail
}  // namespace ups
