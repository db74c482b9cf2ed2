// CUDA backend of ups::pixel_shuffle / ups::pixel_unshuffle. Both kernels walk the output in its
// memory order, so stores are coalesced, and read each element through the same index map as the
// CPU backend (shuffle_math.hpp); both ops are one pass over the data.
//
// - Generic kernel: one output element per grid-stride iteration (kern::shuffle_element_at).
// - Vector kernel (ShuffleKernel::kAuto, when the layout allows): one 16-byte store per
//   iteration, covering V = 16 / sizeof(T) consecutive elements of the output's unit-stride dim;
//   the coordinates are unravelled once per V elements and the V sources are walked with
//   kern::ShuffleRunT (the same offsets as kern::shuffle_src_offset, without a division each).
//
// Both come in a 32-bit index variant, used when every offset of src and dst and the element
// count are below 2^31, whose divisions are precomputed multiply-shifts (kern::Divider<int32_t>),
// and a 64-bit one for larger tensors.
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

template <class T, class Index>
__global__ void shuffle_kernel(kern::ShuffleGeometry g, kern::ShuffleDivs<Index> v,
                               const T* __restrict__ src, T* __restrict__ dst, Index total) {
  const Index step = static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x);
#pragma unroll 1
  for (Index i = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) +
                 static_cast<Index>(threadIdx.x);
       i < total; i += step) {
    kern::shuffle_element_at<T, Index>(g, v, src, dst, i);
  }
}

// kInner is the output dim with unit stride (4 = W for NCHW-like outputs, 2 = C for
// channels-last outputs), a template parameter so that shuffle_run folds to one case.
template <class T, int kInner, class Index>
__global__ void shuffle_vector_kernel(kern::ShuffleGeometry g, kern::ShuffleDivs<Index> v,
                                      const T* __restrict__ src, T* __restrict__ dst,
                                      Index vectors) {
  constexpr int kLanes = 16 / static_cast<int>(sizeof(T));
  union Pack {
    uint4 bits;
    T lanes[kLanes];
  };
  const Index step = static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x);
#pragma unroll 1
  for (Index i = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) +
                 static_cast<Index>(threadIdx.x);
       i < vectors; i += step) {
    const kern::ShuffleCoordT<Index> c = kern::shuffle_unravel(g, v, i * kLanes);
    T* out = dst + kern::shuffle_dst_offset(g, c);
    kern::ShuffleRunT<Index> run = kern::shuffle_run(g, v, c, kInner);
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

// Whether the 32-bit variants cover the call: the loop count and the offsets of both views.
bool fits_32(const kern::ShuffleGeometry& g, std::int64_t total) {
  if (cuda_wide_index() || !loop_fits_32(total, std::int64_t(grid_for(total, kBlock)) * kBlock)) {
    return false;
  }
  std::int64_t in_size[5];
  for (int d = 0; d < 5; ++d)
    in_size[d] = g.out_size[d];
  const std::int64_t r2 = g.r * g.r;
  if (g.unshuffle) {
    in_size[2] /= r2, in_size[3] *= g.r, in_size[4] *= g.r;
  } else {
    in_size[2] *= r2, in_size[3] /= g.r, in_size[4] /= g.r;
  }
  return offset_span(g.out_size, g.dst_stride, 5) <= kIndex32Max &&
         offset_span(in_size, g.src_stride, 5) <= kIndex32Max;
}

template <class T, class Index>
void launch(const PixelShufflePlan& plan, const T* s, T* d, StreamHandle stream) {
  const kern::ShuffleGeometry& g = plan.geometry;
  const kern::ShuffleDivs<Index> v = kern::shuffle_divs<Index>(g);
  constexpr std::int64_t kLanes = 16 / sizeof(T);
  const int inner = vector_inner_dim(plan, d, kLanes);
  const std::int64_t vectors = plan.total / kLanes;
  if (inner == 4) {
    shuffle_vector_kernel<T, 4, Index>
        <<<grid_for(vectors, kBlock), kBlock, 0, stream>>>(g, v, s, d, static_cast<Index>(vectors));
  } else if (inner == 2) {
    shuffle_vector_kernel<T, 2, Index>
        <<<grid_for(vectors, kBlock), kBlock, 0, stream>>>(g, v, s, d, static_cast<Index>(vectors));
  } else {
    shuffle_kernel<T, Index><<<grid_for(plan.total, kBlock), kBlock, 0, stream>>>(
        g, v, s, d, static_cast<Index>(plan.total));
  }
  UPS_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void pixel_shuffle_cuda(const PixelShufflePlan& plan, const void* src, void* dst,
                        StreamHandle stream) {
  if (plan.total == 0) return;
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    if (fits_32(plan.geometry, plan.total)) {
      launch<T, std::int32_t>(plan, s, d, stream);
    } else {
      launch<T, std::int64_t>(plan, s, d, stream);
    }
  });
}

}  // namespace detail
}  // namespace ups
