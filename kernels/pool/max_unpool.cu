// CUDA backend of ups::max_unpool. The kernels call the per-element bodies of pool_math.hpp that
// the CPU backend runs. An invalid index is never written through and never traps: it is
// recorded (largest C-order position wins, through atomicMax) in a status record that the host
// reads either at once (synchronous check) or later through max_unpool_check (deferred check).
//
// Passes, all on ctx.stream():
//   1. status := {-1, ...}; dst := 0 (one memset when dst is dense, else a strided fill kernel);
//   2a. default: a scatter kernel, one thread per input element (duplicates race);
//   2b. deterministic: claim slots := 0; a claim kernel atomicMax-es 1 + the input position into
//       the slot of each target; a commit kernel lets only the winner of each slot write.
//   3. a one-thread kernel completes the status record with the offending index.
//
// The passes of step 1 and 2 come in a 32-bit index variant (every offset, output position and
// loop count below 2^31; divisions are precomputed multiply-shifts, kern::Divider<int32_t>) and a
// 64-bit one for larger tensors.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "cuda/runtime.hpp"
#include "cuda/scratch.hpp"
#include "max_unpool_plan.hpp"
#include "pool/pool_math.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;

__device__ __forceinline__ void record_bad(MaxUnpoolStatus* st, std::int64_t logical) {
  // position starts as -1 (all bits set by the memset), below every position.
  atomicMax(reinterpret_cast<long long*>(&st->position), static_cast<long long>(logical));
}

struct Strides5 {
  std::int64_t v[5];
};

template <class Index>
struct ZeroDivs {
  kern::Divider<Index> size[5];  // innermost first
};

// Grid-stride loops over `total` items counting in Index.
#define UPS_GRID_LOOP(i, total)                                                                  \
  _Pragma("unroll 1") for (Index i =                                                             \
                               static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + \
                               static_cast<Index>(threadIdx.x);                                  \
                           i < (total);                                                          \
                           i += static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x))

template <class T, class Index>
__global__ void unpool_zero_kernel(T* __restrict__ dst, ZeroDivs<Index> sizes, Strides5 strides,
                                   Index total) {
  UPS_GRID_LOOP(i, total) {
    dst[kern::strided_offset5<Index>(i, sizes.size, strides.v)] = T(0);
  }
}

template <class T, class Index>
__global__ void unpool_scatter_kernel(kern::UnpoolGeometry g, kern::UnpoolDivs<Index> v,
                                      const T* __restrict__ src,
                                      const std::int64_t* __restrict__ indices, T* __restrict__ dst,
                                      Index total, MaxUnpoolStatus* st) {
  UPS_GRID_LOOP(i, total) {
    const std::int64_t bad = kern::unpool_element_at<T, Index>(g, v, src, indices, dst, i);
    if (bad >= 0) record_bad(st, bad);
  }
}

// S is unsigned int or unsigned long long (atomicMax's types).
template <class S, class Index>
__global__ void unpool_claim_kernel(kern::UnpoolGeometry g, kern::UnpoolDivs<Index> v,
                                    const std::int64_t* __restrict__ indices, S* slots, Index total,
                                    MaxUnpoolStatus* st) {
  UPS_GRID_LOOP(i, total) {
    const kern::UnpoolSourceT<Index> s = kern::unpool_source(g, v, i);
    const std::int64_t x = indices[s.idx_off];
    if (!kern::unpool_index_valid(g, x)) {
      record_bad(st, kern::unpool_logical(g, s));
      continue;
    }
    atomicMax(slots + kern::unpool_slot(g, s, static_cast<Index>(x)), static_cast<S>(s.pos + 1));
  }
}

template <class T, class S, class Index>
__global__ void unpool_commit_kernel(kern::UnpoolGeometry g, kern::UnpoolDivs<Index> v,
                                     const T* __restrict__ src,
                                     const std::int64_t* __restrict__ indices, T* __restrict__ dst,
                                     const S* __restrict__ slots, Index total) {
  UPS_GRID_LOOP(i, total) {
    const kern::UnpoolSourceT<Index> s = kern::unpool_source(g, v, i);
    const std::int64_t x = indices[s.idx_off];
    if (!kern::unpool_index_valid(g, x)) continue;
    const Index target = static_cast<Index>(x);
    if (slots[kern::unpool_slot(g, s, target)] != static_cast<S>(s.pos + 1)) continue;
    dst[s.dst_plane_off + kern::unpool_target(g, v, target)] = src[s.src_off];
  }
}

#undef UPS_GRID_LOOP

struct Volume {
  std::int64_t v[3];
  std::int64_t dims;
};

__global__ void unpool_finalize_kernel(kern::UnpoolGeometry g,
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

// Whether the 32-bit variants cover the call: every offset of src, indices and dst, every
// output-plane position and claim slot (< total_out), and both loop counts fit int32.
bool fits_32(const MaxUnpoolPlan& plan) {
  const kern::UnpoolGeometry& g = plan.geometry;
  if (cuda_wide_index()) return false;
  const std::int64_t step =
      std::int64_t(grid_for(std::max(plan.total_in, plan.total_out), kBlock)) * kBlock;
  if (!loop_fits_32(plan.total_in, step) || !loop_fits_32(plan.total_out, step)) return false;
  const std::int64_t in5[5] = {g.n, g.c, g.in[0], g.in[1], g.in[2]};
  return offset_span(in5, g.src_stride, 5) <= kIndex32Max &&
         offset_span(in5, g.idx_stride, 5) <= kIndex32Max &&
         offset_span(plan.dst_sizes, g.dst_stride, 5) <= kIndex32Max;
}

template <class T, class Index>
void enqueue(const MaxUnpoolPlan& plan, const void* src, const std::int64_t* indices, void* dst,
             MaxUnpoolStatus* st, void* slots, const UnpoolScratchLayout& layout,
             bool deterministic, StreamHandle stream) {
  const kern::UnpoolGeometry& g = plan.geometry;
  const kern::UnpoolDivs<Index> v = kern::unpool_divs<Index>(g);
  const T* s = static_cast<const T*>(src);
  T* d = static_cast<T*>(dst);
  if (plan.dense_bytes > 0) {
    UPS_CUDA_CHECK(cudaMemsetAsync(static_cast<unsigned char*>(dst) + plan.dense_offset, 0,
                                   static_cast<std::size_t>(plan.dense_bytes), stream));
  } else {
    ZeroDivs<Index> sizes;
    Strides5 strides;
    for (int i = 0; i < 5; ++i) {
      sizes.size[i] =
          kern::Divider<Index>(std::max<std::int64_t>(plan.dst_sizes[4 - i], 1), g.narrow);
      strides.v[i] = g.dst_stride[i];
    }
    unpool_zero_kernel<T, Index><<<grid_for(plan.total_out, kBlock), kBlock, 0, stream>>>(
        d, sizes, strides, static_cast<Index>(plan.total_out));
    UPS_CUDA_CHECK(cudaGetLastError());
  }
  const unsigned grid = grid_for(plan.total_in, kBlock);
  const Index total = static_cast<Index>(plan.total_in);
  if (!deterministic) {
    unpool_scatter_kernel<T, Index><<<grid, kBlock, 0, stream>>>(g, v, s, indices, d, total, st);
    UPS_CUDA_CHECK(cudaGetLastError());
    return;
  }
  UPS_CUDA_CHECK(cudaMemsetAsync(slots, 0, layout.slot_bytes, stream));
  if (layout.slot_size == 4) {
    auto* sl = static_cast<unsigned int*>(slots);
    unpool_claim_kernel<unsigned int, Index>
        <<<grid, kBlock, 0, stream>>>(g, v, indices, sl, total, st);
    UPS_CUDA_CHECK(cudaGetLastError());
    unpool_commit_kernel<T, unsigned int, Index>
        <<<grid, kBlock, 0, stream>>>(g, v, s, indices, d, sl, total);
  } else {
    auto* sl = static_cast<unsigned long long*>(slots);
    unpool_claim_kernel<unsigned long long, Index>
        <<<grid, kBlock, 0, stream>>>(g, v, indices, sl, total, st);
    UPS_CUDA_CHECK(cudaGetLastError());
    unpool_commit_kernel<T, unsigned long long, Index>
        <<<grid, kBlock, 0, stream>>>(g, v, s, indices, d, sl, total);
  }
  UPS_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void max_unpool_cuda(const MaxUnpoolPlan& plan, const void* src, const std::int64_t* indices,
                     void* dst, const Context& ctx, MaxUnpoolStatus* status) {
  const StreamHandle stream = ctx.stream();
  const bool has_status = status != nullptr;
  if (plan.total_in == 0 || plan.total_out == 0) {
    if (has_status) UPS_CUDA_CHECK(cudaMemsetAsync(status, 0xff, sizeof(*status), stream));
    return;
  }
  const bool deterministic = ctx.deterministic();
  const UnpoolScratchLayout layout =
      unpool_scratch_layout(plan.total_out, plan.geometry.plane_in, deterministic, has_status);
  Scratch scratch(ctx, layout.payload, "max_unpool",
                  "; give the context a workspace (Context::set_workspace), raise the limit, "
                  "or pass a MaxUnpoolStatus and leave determinism off");
  unsigned char* base = scratch.get();
  MaxUnpoolStatus* st = has_status ? status : reinterpret_cast<MaxUnpoolStatus*>(base);
  void* slots = base + layout.status_bytes;
  const kern::UnpoolGeometry& g = plan.geometry;
  UPS_CUDA_CHECK(cudaMemsetAsync(st, 0xff, sizeof(*st), stream));
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    if (fits_32(plan)) {
      enqueue<T, std::int32_t>(plan, src, indices, dst, st, slots, layout, deterministic, stream);
    } else {
      enqueue<T, std::int64_t>(plan, src, indices, dst, st, slots, layout, deterministic, stream);
    }
  });
  Volume volume{{plan.volume[0], plan.volume[1], plan.volume[2]}, plan.volume_dims};
  unpool_finalize_kernel<<<1, 1, 0, stream>>>(g, indices, st, volume);
  UPS_CUDA_CHECK(cudaGetLastError());

  if (!has_status) {
    MaxUnpoolStatus host{};
    UPS_CUDA_CHECK(cudaMemcpyAsync(&host, st, sizeof(host), cudaMemcpyDeviceToHost, stream));
    scratch.release();
    UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (host.position >= 0) throw_invalid_max_index(host);
  }
}

void max_unpool_read_status_cuda(const MaxUnpoolStatus* status, MaxUnpoolStatus* out,
                                 StreamHandle stream) {
  // cudaMemcpyDefault: the record may also live in managed or mapped host memory.
  UPS_CUDA_CHECK(cudaMemcpyAsync(out, status, sizeof(*out), cudaMemcpyDefault, stream));
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace detail
}  // namespace ups
