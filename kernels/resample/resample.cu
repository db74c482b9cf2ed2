// CUDA backend of the separable resampling engine (src/resample_plan.hpp): one thread per output
// element (a grid-stride loop over the flat output index), each forming the tensor product of
// its coordinates' taps over the resampled dims.
//
// The host normalises the plan to five dims (missing outer dims are size-1 identities), stores
// every resampled dim's source indices premultiplied by the input stride (int32 when every offset
// of both views fits in 31 bits, int64 otherwise) and its weights in the accumulation type, and
// copies them into the call's scratch on the stream: no host synchronisation. Identity dims have
// no table: their coordinate times the stride joins the base offset and they read one shared
// unit tap {0, 1}, a loop of one trip. Every dim has one pointer and a tap is one load, which
// keeps the five nested tap loops in registers.
//
//     out = sum_j0 .. sum_j4 (w0[j0] * .. * w4[j4]) * in[off0[j0] + .. + off4[j4]]
//
// accumulated in f32 (f64 for f64). Unweighted (nearest) plans copy the element's bits.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "common/fast_divmod.hpp"
#include "common/hd.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "cuda/scratch.hpp"
#include "dispatch.hpp"
#include "resample_plan.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;
// Four blocks of 256 threads per SM: a budget of 64 registers, which the five nested tap loops
// fit without spilling (with the block size alone, ptxas aims at full occupancy and spills).
constexpr int kMinBlocks = 4;
constexpr int kDims = kMaxDims;

// One tap: the source offset (index * input stride) and the weight, read with one load.
template <class Acc, class Index>
struct Tap {
  Index off;
  Acc w;
};

template <class Acc, class Index>
struct ResampleArgs {
  Index out[kDims];             // output sizes
  kern::FastDivmod div[kDims];  // by out[d], for the 32-bit variant
  Index dst_stride[kDims];
  // Identity dims: src_stride is the input stride and taps[d] the one unit tap {0, 1} (step 0);
  // resampled dims: src_stride 0 and taps[d] + o * k[d] the k taps of coordinate o (step k).
  Index src_stride[kDims];
  const Tap<Acc, Index>* taps[kDims];
  int step[kDims];
  int k[kDims];
  const std::uint8_t* outside[kDims];  // null when nothing is outside
  Index total;
};

// Output coordinate o of flat index i in every dim (last dim fastest); returns the destination
// offset and sets `src` to the identity dims' share of the source offset, `p` to each dim's taps
// and `outside` when a coordinate samples outside the input.
template <class Acc, class Index>
__device__ __forceinline__ Index unravel(const ResampleArgs<Acc, Index>& a, Index i, Index& src,
                                         const Tap<Acc, Index>** p, bool& outside) {
  Index dst = 0;
  src = 0;
  outside = false;
  UPS_UNROLL
  for (int d = kDims - 1; d >= 0; --d) {
    Index q, o;
    if constexpr (std::is_same_v<Index, std::int32_t>) {
      std::uint32_t qq, rr;
      a.div[d].divmod(static_cast<std::uint32_t>(i), &qq, &rr);
      q = static_cast<Index>(qq);
      o = static_cast<Index>(rr);
    } else {
      q = i / a.out[d];
      o = i - q * a.out[d];
    }
    dst += o * a.dst_stride[d];
    src += o * a.src_stride[d];
    p[d] = a.taps[d] + o * a.step[d];
    outside = outside || (a.outside[d] != nullptr && a.outside[d][o] != 0);
    i = q;
  }
  return dst;
}

template <class T, class Index>
__global__ void __launch_bounds__(kBlock, kMinBlocks)
    resample_kernel(const ResampleArgs<kern::acc_t<T>, Index> a, const T* __restrict__ src,
                    T* __restrict__ dst, const T extrapolation) {
  using Acc = kern::acc_t<T>;
  using TapT = Tap<Acc, Index>;
  const Index step = static_cast<Index>(gridDim.x) * kBlock;
#pragma unroll 1
  for (Index i = static_cast<Index>(blockIdx.x) * kBlock + static_cast<Index>(threadIdx.x);
       i < a.total; i += step) {
    const TapT* p[kDims];
    Index base;
    bool outside;
    const Index out = unravel(a, i, base, p, outside);
    if (outside) {
      dst[out] = extrapolation;
      continue;
    }
    Acc acc = Acc(0);
#pragma unroll 1
    for (int j0 = 0; j0 < a.k[0]; ++j0) {
      const TapT t0 = p[0][j0];
      const Index s0 = base + t0.off;
#pragma unroll 1
      for (int j1 = 0; j1 < a.k[1]; ++j1) {
        const TapT t1 = p[1][j1];
        const Index s1 = s0 + t1.off;
        const Acc w1 = t0.w * t1.w;
#pragma unroll 1
        for (int j2 = 0; j2 < a.k[2]; ++j2) {
          const TapT t2 = p[2][j2];
          const Index s2 = s1 + t2.off;
          const Acc w2 = w1 * t2.w;
#pragma unroll 1
          for (int j3 = 0; j3 < a.k[3]; ++j3) {
            const TapT t3 = p[3][j3];
            const Index s3 = s2 + t3.off;
            const Acc w3 = w2 * t3.w;
            Acc row = Acc(0);
#pragma unroll 1
            for (int j4 = 0; j4 < a.k[4]; ++j4) {
              const TapT t4 = p[4][j4];
              row = row + t4.w * kern::to_acc<Acc>(src[s3 + t4.off]);
            }
            acc = acc + w3 * row;
          }
        }
      }
    }
    dst[out] = kern::from_acc<T>(acc);
  }
}

// Unweighted plans: a copy of the one element the taps name (U: an unsigned integer of the
// element's size).
template <class U, class Index>
__global__ void __launch_bounds__(kBlock, kMinBlocks)
    resample_copy_kernel(const ResampleArgs<float, Index> a, const U* __restrict__ src,
                         U* __restrict__ dst, const U extrapolation) {
  const Index step = static_cast<Index>(gridDim.x) * kBlock;
#pragma unroll 1
  for (Index i = static_cast<Index>(blockIdx.x) * kBlock + static_cast<Index>(threadIdx.x);
       i < a.total; i += step) {
    const Tap<float, Index>* p[kDims];
    Index s;
    bool outside;
    const Index out = unravel(a, i, s, p, outside);
    if (outside) {
      dst[out] = extrapolation;
      continue;
    }
    UPS_UNROLL
    for (int d = 0; d < kDims; ++d)
      s += p[d][0].off;
    dst[out] = src[s];
  }
}

inline std::size_t align16(std::size_t v) {
  return (v + 15) / 16 * 16;
}

// Where the tables lie in scratch: the unit tap first, then per resampled dim its taps and
// (when any is set) its outside flags.
struct Layout {
  std::size_t taps[kDims] = {}, outside[kDims] = {};
  bool has_table[kDims] = {}, has_outside[kDims] = {};
  std::size_t bytes = 0;
};

Layout layout_of(const ResamplePlan& plan, std::size_t tap_size) {
  Layout l;
  std::size_t at = align16(tap_size);
  for (int d = 0; d < plan.rank; ++d) {
    const ResampleAxis& x = plan.axis[d];
    if (x.is_identity()) continue;
    l.has_table[d] = true;
    l.taps[d] = at;
    at = align16(at + x.idx.size() * tap_size);
    if (std::any_of(x.outside.begin(), x.outside.end(), [](std::uint8_t f) { return f != 0; })) {
      l.has_outside[d] = true;
      l.outside[d] = at;
      at = align16(at + x.outside.size());
    }
  }
  l.bytes = at;
  return l;
}

// Fills the tables into `host` at the layout's offsets and the pointers of `a` (device
// addresses from `dev`). Plan dim d lands in slot d + kDims - rank.
template <class Acc, class Index>
void build_args(const ResamplePlan& plan, const TensorView& src, const TensorView& dst,
                const Layout& l, std::vector<unsigned char>& host, unsigned char* dev,
                ResampleArgs<Acc, Index>& a) {
  using TapT = Tap<Acc, Index>;
  const TapT unit{Index(0), Acc(1)};
  std::memcpy(host.data(), &unit, sizeof(TapT));
  const auto* dev_unit = reinterpret_cast<const TapT*>(dev);
  const int shift = kDims - plan.rank;
  for (int s = 0; s < kDims; ++s) {
    a.out[s] = 1;
    a.div[s] = kern::FastDivmod(1);
    a.src_stride[s] = 0;
    a.dst_stride[s] = 0;
    a.taps[s] = dev_unit;
    a.step[s] = 0;
    a.k[s] = 1;
    a.outside[s] = nullptr;
  }
  for (int d = 0; d < plan.rank; ++d) {
    const int s = d + shift;
    const ResampleAxis& x = plan.axis[d];
    a.out[s] = static_cast<Index>(x.out);
    if constexpr (std::is_same_v<Index, std::int32_t>)
      a.div[s] = kern::FastDivmod(static_cast<std::uint32_t>(x.out));
    a.dst_stride[s] = static_cast<Index>(dst.strides[d]);
    if (!l.has_table[d]) {
      a.src_stride[s] = static_cast<Index>(src.strides[d]);
      continue;
    }
    a.k[s] = x.k;
    a.step[s] = x.k;
    for (std::size_t i = 0; i < x.idx.size(); ++i) {
      const TapT t{static_cast<Index>(x.idx[i] * src.strides[d]), static_cast<Acc>(x.w[i])};
      std::memcpy(host.data() + l.taps[d] + i * sizeof(TapT), &t, sizeof(TapT));
    }
    a.taps[s] = reinterpret_cast<const TapT*>(dev + l.taps[d]);
    if (l.has_outside[d]) {
      std::memcpy(host.data() + l.outside[d], x.outside.data(), x.outside.size());
      a.outside[s] = dev + l.outside[d];
    }
  }
  a.total = static_cast<Index>(dst.numel());
}

template <class T, class U, class Index, bool kWeighted>
void launch(const Context& ctx, const ResamplePlan& plan, const TensorView& src,
            const TensorView& dst) {
  using Acc = std::conditional_t<kWeighted, kern::acc_t<T>, float>;
  const Layout l = layout_of(plan, sizeof(Tap<Acc, Index>));
  std::vector<unsigned char> host(l.bytes, 0);
  Scratch scratch(ctx, l.bytes, "resample", " (resample_cuda_workspace gives the size)");
  unsigned char* dev = scratch.get();
  ResampleArgs<Acc, Index> a{};
  build_args(plan, src, dst, l, host, dev, a);
  // Pageable memory: the copy is staged before the call returns, so `host` may go.
  UPS_CUDA_CHECK(cudaMemcpyAsync(dev, host.data(), l.bytes, cudaMemcpyHostToDevice, ctx.stream()));
  const std::int64_t total = dst.numel();
  const unsigned grid = grid_for(total, kBlock);
  const T e = extrapolation_of<T>(plan.extrapolation_value);
  if constexpr (kWeighted) {
    resample_kernel<T, Index><<<grid, kBlock, 0, ctx.stream()>>>(a, static_cast<const T*>(src.data),
                                                                 static_cast<T*>(dst.data), e);
  } else {
    static_assert(sizeof(T) == sizeof(U), "copies move the element's bits");
    U bits;
    std::memcpy(&bits, &e, sizeof(U));
    resample_copy_kernel<U, Index><<<grid, kBlock, 0, ctx.stream()>>>(
        a, static_cast<const U*>(src.data), static_cast<U*>(dst.data), bits);
  }
  UPS_CUDA_CHECK(cudaGetLastError());
  // Scratch's destructor enqueues the release after the kernel.
}

// U: the element's bits for unweighted plans (void for weighted ones).
template <class T, class U>
void run(const Context& ctx, const ResamplePlan& plan, const TensorView& src,
         const TensorView& dst) {
  constexpr bool kWeighted = std::is_void_v<U>;
  using Bits = std::conditional_t<kWeighted, T, U>;
  const std::int64_t total = dst.numel();
  const bool narrow =
      !cuda_wide_index() && offset_span(src.sizes, src.strides, src.ndim) <= kIndex32Max &&
      offset_span(dst.sizes, dst.strides, dst.ndim) <= kIndex32Max &&
      loop_fits_32(total, static_cast<std::int64_t>(grid_for(total, kBlock)) * kBlock);
  if (narrow)
    launch<T, Bits, std::int32_t, kWeighted>(ctx, plan, src, dst);
  else
    launch<T, Bits, std::int64_t, kWeighted>(ctx, plan, src, dst);
}

}  // namespace

std::size_t resample_cuda_workspace(const ResamplePlan& plan) {
  // The 64-bit layout: an upper bound of both index widths' needs (16-byte taps).
  return scratch_footprint(layout_of(plan, sizeof(Tap<double, std::int64_t>)).bytes);
}

void resample_cuda(const Context& ctx, const ResamplePlan& plan, const TensorView& src,
                   const TensorView& dst) {
  check_resample_plan(plan, src, dst);
  if (dst.numel() == 0) return;
  if (!plan.weighted) {
    switch (dtype_size(plan.dtype)) {
      case 1:
        return run<std::uint8_t, std::uint8_t>(ctx, plan, src, dst);
      case 2:
        if (plan.dtype == DType::kF16) return run<kern::half_t, std::uint16_t>(ctx, plan, src, dst);
        return run<kern::bf16_t, std::uint16_t>(ctx, plan, src, dst);
      case 4:
        return run<float, std::uint32_t>(ctx, plan, src, dst);
      default:
        return run<double, std::uint64_t>(ctx, plan, src, dst);
    }
  }
  dispatch_float(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    run<T, void>(ctx, plan, src, dst);
  });
}

}  // namespace detail
}  // namespace ups
