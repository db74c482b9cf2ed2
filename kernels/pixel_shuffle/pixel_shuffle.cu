// CUDA backend of ups::pixel_shuffle / ups::pixel_unshuffle. Both kernels walk the output in its
// memory order, so stores are coalesced, and read each element through the same index map as the
// CPU backend (shuffle_math.hpp); both ops are one pass over the data.
//
// - Generic kernel: one output element per grid-stride iteration (kern::shuffle_element).
// - Vector kernel (ShuffleKernel::kAuto, when the layout allows): one 16-byte store per
//   iteration, covering V = 16 / sizeof(T) consecutive elements of the output's unit-stride dim;
//   the coordinates are unravelled once per V elements and the V sources are walked with
//   kern::ShuffleRun (the same offsets as kern::shuffle_src_offset, without a division each).
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "pixel_shuffle/shuffle_math.hpp"
#include "pixel_shuffle_plan.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void shuffle_kernel(kern::ShuffleGeometry g, const T* __restrict__ src,
                               T* __restrict__ dst, std::int64_t total) {
  const std::int64_t step = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    kern::shuffle_element<T>(g, src, dst, i);
  }
}

// kInner is the output dim with unit stride (4 = W for NCHW-like outputs, 2 = C for
// channels-last outputs), a template parameter so that shuffle_run folds to one case.
template <class T, int kInner>
__global__ void shuffle_vector_kernel(kern::ShuffleGeometry g, const T* __restrict__ src,
                                      T* __restrict__ dst, std::int64_t vectors) {
  constexpr int kLanes = 16 / static_cast<int>(sizeof(T));
  union Pack {
    uint4 bits;
    T lanes[kLanes];
  };
  const std::int64_t step = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t v = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       v < vectors; v += step) {
    const kern::ShuffleCoord c = kern::shuffle_unravel(g, v * kLanes);
    T* out = dst + kern::shuffle_dst_offset(g, c);
    kern::ShuffleRun run = kern::shuffle_run(g, c, kInner);
    Pack pack;
#pragma unroll
    for (int k = 0; k < kLanes; ++k) {
      pack.lanes[k] = src[run.offset];
      run.next();
    }
    *reinterpret_cast<uint4*>(out) = pack.bits;
  }
}

// The unit-stride output dim (2 or 4) when every condition of the vector kernel holds, else -1:
// that dim's size is a multiple of V, every other non-unit dim's stride is a multiple of V and
// dst is 16-byte aligned, so each group of V elements is one aligned 16-byte store.
int vector_inner_dim(const PixelShufflePlan& plan, const void* dst, std::int64_t lanes) {
  const kern::ShuffleGeometry& g = plan.geometry;
  const int inner = g.order[4];
  if (!plan.allow_vector || (inner != 2 && inner != 4)) return -1;
  if (reinterpret_cast<std::uintptr_t>(dst) % 16 != 0) return -1;
  if (g.dst_stride[inner] != 1 || g.out_size[inner] % lanes != 0) return -1;
  for (int d = 0; d < 5; ++d) {
    if (d != inner && g.out_size[d] > 1 && g.dst_stride[d] % lanes != 0) return -1;
  }
  return inner;
}

}  // namespace

void pixel_shuffle_cuda(const PixelShufflePlan& plan, const void* src, void* dst,
                        StreamHandle stream) {
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    constexpr std::int64_t kLanes = 16 / sizeof(T);
    const int inner = vector_inner_dim(plan, dst, kLanes);
    const std::int64_t vectors = plan.total / kLanes;
    if (inner == 4) {
      shuffle_vector_kernel<T, 4>
          <<<grid_for(vectors, kBlock), kBlock, 0, stream>>>(plan.geometry, s, d, vectors);
    } else if (inner == 2) {
      shuffle_vector_kernel<T, 2>
          <<<grid_for(vectors, kBlock), kBlock, 0, stream>>>(plan.geometry, s, d, vectors);
    } else {
      shuffle_kernel<T>
          <<<grid_for(plan.total, kBlock), kBlock, 0, stream>>>(plan.geometry, s, d, plan.total);
    }
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace detail
}  // namespace ups
