// CUDA backend of ups::max_pool_backward: a check kernel over indices (one thread per output
// window; an index that is not a tap of its window is recorded in a status record with
// atomicMax of its C-order position, never read through), then the gather kernel, one thread per
// grad_input element running kern::max_pool_backward_at (pool_math.hpp), the CPU's body. No
// atomics touch grad_input, so the result is deterministic. A one-thread kernel completes the
// status record with the offending index and the plane sizes; the host reads it at once
// (synchronous check, the record in scratch) or later through max_pool_check (deferred check, the
// record the caller's, and the op fully stream-ordered: no copy, no wait, no allocation).
//
// The gather runs whatever the check finds: it adds a window's gradient only at the position its
// index names when that is one of the window's taps, so an invalid index is never read or
// written through and its window contributes nothing.
//
// Both kernels come in a 32-bit index variant, chosen when every offset of the three tensors, the
// window arithmetic and both loop counts fit int32 (coordinates from kern::Divider<int32_t>),
// and a 64-bit one.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "cuda/scratch.hpp"
#include "max_pool_plan.hpp"
#include "pool/pool_math.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;
constexpr std::size_t kStatusBytes = 64;

#define UPS_GRID_LOOP(i, total)                                                                  \
  _Pragma("unroll 1") for (Index i =                                                             \
                               static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + \
                               static_cast<Index>(threadIdx.x);                                  \
                           i < (total);                                                          \
                           i += static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x))

template <class Index>
__global__ void pool_backward_check_kernel(kern::PoolBackwardGeometry g, kern::PoolDivs<Index> v,
                                           const std::int64_t* __restrict__ indices, Index total,
                                           MaxPoolStatus* st) {
  UPS_GRID_LOOP(i, total) {
    const kern::PoolCoordT<Index> o = kern::unravel_ncdhw(i, v, false);
    const std::int64_t x = indices[kern::pool_backward_idx_offset(g, o)];
    if (!kern::max_pool_backward_index_ok(g, o, x)) {
      // position starts as -1 (all bits set by the memset), below every position.
      atomicMax(reinterpret_cast<long long*>(&st->position),
                static_cast<long long>(kern::pool_backward_logical(g, o)));
    }
  }
}

template <class T, class Index>
__global__ void pool_backward_kernel(kern::PoolBackwardGeometry g, kern::PoolDivs<Index> v,
                                     const T* __restrict__ grad_output,
                                     const std::int64_t* __restrict__ indices,
                                     T* __restrict__ grad_input, Index total) {
  UPS_GRID_LOOP(i, total) {
    kern::max_pool_backward_at<T, Index>(g, kern::unravel_ncdhw(i, v, g.channels_last), grad_output,
                                         indices, grad_input);
  }
}

#undef UPS_GRID_LOOP

// `shape` is pool_status_ok(plan): the plane sizes to record (passed by value, as the kernel
// must not read host memory).
__global__ void pool_backward_finalize_kernel(kern::PoolBackwardGeometry g,
                                              const std::int64_t* __restrict__ indices,
                                              MaxPoolStatus* st, MaxPoolStatus shape) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const std::int64_t pos = st->position;
  st->index = 0;
  if (pos >= 0) {
    const kern::PoolCoord o = kern::unravel_ncdhw(pos, g.c, g.out, false, g.narrow);
    st->index = indices[kern::pool_backward_idx_offset(g, o)];
  }
  for (int i = 0; i < 3; ++i)
    st->plane[i] = shape.plane[i];
  st->plane_dims = shape.plane_dims;
}

// Whether the 32-bit variants cover the call (the conditions of max_pool's fits_32, with the
// roles of input and output as in the backward pass).
bool fits_32(const MaxPoolBackwardPlan& plan, unsigned grid) {
  const kern::PoolBackwardGeometry& g = plan.geometry;
  if (cuda_wide_index()) return false;
  const std::int64_t step = std::int64_t(grid) * kBlock;
  if (!loop_fits_32(plan.total_in, step) || !loop_fits_32(plan.total_out, step)) return false;
  const std::int64_t in5[5] = {g.n, g.c, g.in[0], g.in[1], g.in[2]};
  const std::int64_t out5[5] = {g.n, g.c, g.out[0], g.out[1], g.out[2]};
  if (offset_span(in5, g.gin_stride, 5) > kIndex32Max ||
      offset_span(out5, g.gout_stride, 5) > kIndex32Max ||
      offset_span(out5, g.idx_stride, 5) > kIndex32Max) {
    return false;
  }
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

void max_pool_backward_cuda(const MaxPoolBackwardPlan& plan, const void* grad_output,
                            const std::int64_t* indices, void* grad_input, const Context& ctx,
                            MaxPoolStatus* status) {
  static_assert(sizeof(MaxPoolStatus) <= kStatusBytes, "the status record must fit its slot");
  const StreamHandle stream = ctx.stream();
  const bool has_status = status != nullptr;
  // Every call initialises a caller's record (position -1: no invalid index), in stream order.
  if (plan.total_in == 0) {
    if (has_status) UPS_CUDA_CHECK(cudaMemsetAsync(status, 0xff, sizeof(*status), stream));
    return;
  }
  Scratch scratch(ctx, has_status ? 0 : kStatusBytes, "max_pool_backward",
                  "; give the context a workspace (Context::set_workspace), raise the limit, or "
                  "pass a MaxPoolStatus");
  MaxPoolStatus* st = has_status ? status : reinterpret_cast<MaxPoolStatus*>(scratch.get());
  const kern::PoolBackwardGeometry& g = plan.geometry;
  // position := -1 (all bits set), below every position the check kernel's atomicMax records.
  UPS_CUDA_CHECK(cudaMemsetAsync(st, 0xff, sizeof(*st), stream));
  const unsigned grid_out = grid_for(plan.total_out, kBlock);
  const unsigned grid_in = grid_for(plan.total_in, kBlock);
  const bool narrow32 = fits_32(plan, std::max(grid_in, grid_out));
  if (narrow32) {
    pool_backward_check_kernel<std::int32_t>
        <<<grid_out, kBlock, 0, stream>>>(g, kern::pool_divs<std::int32_t>(g.c, g.out, true),
                                          indices, static_cast<std::int32_t>(plan.total_out), st);
  } else {
    pool_backward_check_kernel<std::int64_t><<<grid_out, kBlock, 0, stream>>>(
        g, kern::pool_divs<std::int64_t>(g.c, g.out, g.narrow), indices, plan.total_out, st);
  }
  UPS_CUDA_CHECK(cudaGetLastError());
  dispatch_all_types(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* go = static_cast<const T*>(grad_output);
    T* gi = static_cast<T*>(grad_input);
    if (narrow32) {
      pool_backward_kernel<T, std::int32_t>
          <<<grid_in, kBlock, 0, stream>>>(g, kern::pool_divs<std::int32_t>(g.c, g.in, true), go,
                                           indices, gi, static_cast<std::int32_t>(plan.total_in));
    } else {
      pool_backward_kernel<T, std::int64_t><<<grid_in, kBlock, 0, stream>>>(
          g, kern::pool_divs<std::int64_t>(g.c, g.in, g.narrow), go, indices, gi, plan.total_in);
    }
    UPS_CUDA_CHECK(cudaGetLastError());
  });
  pool_backward_finalize_kernel<<<1, 1, 0, stream>>>(g, indices, st, pool_status_ok(plan));
  UPS_CUDA_CHECK(cudaGetLastError());
  if (has_status) return;
  MaxPoolStatus host{};
  UPS_CUDA_CHECK(cudaMemcpyAsync(&host, st, sizeof(host), cudaMemcpyDeviceToHost, stream));
  scratch.release();
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (host.position >= 0) throw_invalid_pool_index(host);
}

void max_pool_read_status_cuda(const MaxPoolStatus* status, MaxPoolStatus* out,
                               StreamHandle stream) {
  // cudaMemcpyDefault: the record may also live in managed or mapped host memory.
  UPS_CUDA_CHECK(cudaMemcpyAsync(out, status, sizeof(*out), cudaMemcpyDefault, stream));
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace detail
}  // namespace ups
