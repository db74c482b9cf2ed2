// Native CUDA kernels of ups::conv_transpose_backward, all deterministic (no atomics):
// - grad_input: one thread per element in grad_input's memory order (N, C_in, D, H, W, or
//   N, D, H, W, C_in for channels-last), over the shared body kern::deconv_grad_input_at (a
//   convolution of grad_output, taps in a fixed order);
// - grad_weight and grad_bias: one block per output element. The warps take whole rows of the
//   reduction (n, then D, H of the tap's valid range) in a fixed round-robin, the lanes the
//   positions along W, and the block's 256 partial sums are combined by a fixed tree in shared
//   memory. The order depends on the problem alone, so every run gives the same bits.
// Each kernel has a 32-bit index variant (no 64-bit division: unravels are precomputed
// multiply-shifts, and the reduction rows advance by carries instead of being unravelled) and a
// 64-bit one for operands beyond 2^31 elements (or under UPS_CUDA_WIDE_INDEX=1).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "common/divmod.hpp"
#include "conv_transpose/deconv_math.hpp"
#include "conv_transpose/deconv_plan.hpp"
#include "conv_transpose_plan.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "dispatch.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;
constexpr int kWarps = kBlock / 32;
// Blocks per SM the kernels are compiled for: two allow 128 registers a thread. Without a
// minimum, ptxas aims at full occupancy and spills.
constexpr int kMinBlocks = 2;
// Blocks of the reduction kernels per launch: a grid-stride loop covers larger outputs.
constexpr std::int64_t kMaxReduceBlocks = 65535;

template <class Index>
struct GradInputArgs {
  std::int64_t gx_stride[5];
  bool channels_last;
  kern::Divider<Index> div_c, div_s[3];  // C_in, D, H, W of grad_input
  kern::Divider<Index> div_cin_g;        // C_in / groups
};

// Grid-stride loops over `total` items counting in Index.
#define UPS_GRID_LOOP(i, total)                                                                  \
  _Pragma("unroll 1") for (Index i =                                                             \
                               static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + \
                               static_cast<Index>(threadIdx.x);                                  \
                           i < (total);                                                          \
                           i += static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x))

template <class T, class Index>
__global__ void __launch_bounds__(kBlock, kMinBlocks)
    deconv_grad_input_kernel(kern::DeconvGeometry g, GradInputArgs<Index> a,
                             const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ gx,
                             Index total) {
  const std::int64_t* ds = g.dst_stride;
  const std::int64_t* ws = g.w_stride;
  const std::int64_t* xs = a.gx_stride;
  UPS_GRID_LOOP(i, total) {
    Index q, n, c, d, h, x;
    if (a.channels_last) {
      a.div_c.divmod(i, &q, &c);
      a.div_s[2].divmod(q, &q, &x);
      a.div_s[1].divmod(q, &q, &h);
      a.div_s[0].divmod(q, &n, &d);
    } else {
      a.div_s[2].divmod(i, &q, &x);
      a.div_s[1].divmod(q, &q, &h);
      a.div_s[0].divmod(q, &q, &d);
      a.div_c.divmod(q, &n, &c);
    }
    Index grp, unused;
    a.div_cin_g.divmod(c, &grp, &unused);
    const T* gbase =
        gy + (n * static_cast<Index>(ds[0]) + grp * static_cast<Index>(g.cout_g * ds[1]));
    const T* wbase = w + c * static_cast<Index>(ws[0]);
    const kern::acc_t<T> acc = kern::deconv_grad_input_at<T, Index>(g, gbase, wbase, d, h, x);
    gx[n * static_cast<Index>(xs[0]) + c * static_cast<Index>(xs[1]) +
       d * static_cast<Index>(xs[2]) + h * static_cast<Index>(xs[3]) +
       x * static_cast<Index>(xs[4])] = kern::from_acc<T>(acc);
  }
}

#undef UPS_GRID_LOOP

// Sum of the block's partial sums in a fixed tree; the result is valid in thread 0.
template <class Acc>
__device__ Acc block_sum(Acc v, Acc* sm) {
  sm[threadIdx.x] = v;
  __syncthreads();
  for (int s = kBlock / 2; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.x) < s) sm[threadIdx.x] += sm[threadIdx.x + s];
    __syncthreads();
  }
  const Acc r = sm[0];
  __syncthreads();  // sm is reused by the next element
  return r;
}

// Advances the row (n, a, b) of a reduction over n, then a in [0, na), then b in [0, nb) by
// `step` rows with carries: no division, and exact for any step.
template <class Index>
__device__ __forceinline__ void advance_row(Index step, Index na, Index nb, Index* n, Index* a,
                                            Index* b) {
  *b += step;
  while (*b >= nb) {
    *b -= nb;
    ++*a;
  }
  while (*a >= na) {
    *a -= na;
    ++*n;
  }
}

template <class Index>
struct GradWeightArgs {
  Index gw_stride[5];
  kern::Divider<Index> div_taps, div_cout_g, div_kw, div_kh, div_cin_g, div_s[3];
};

template <class T, class Index>
__global__ void __launch_bounds__(kBlock, kMinBlocks)
    deconv_grad_weight_kernel(kern::DeconvGeometry g, const T* __restrict__ x,
                              const T* __restrict__ gy, T* __restrict__ gw, GradWeightArgs<Index> v,
                              Index total) {
  using Acc = kern::acc_t<T>;
  __shared__ Acc sm[kBlock];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ds = g.dst_stride;
  const Index cout_g = static_cast<Index>(g.cout_g);
#pragma unroll 1
  for (Index e = blockIdx.x; e < total; e += static_cast<Index>(gridDim.x)) {
    Index rest, tap, c, ci, kd, kh, kw, grp, unused;
    v.div_taps.divmod(e, &rest, &tap);
    v.div_cout_g.divmod(rest, &ci, &c);
    v.div_kw.divmod(tap, &rest, &kw);
    v.div_kh.divmod(rest, &kd, &kh);
    v.div_cin_g.divmod(ci, &grp, &unused);
    const Index co = grp * cout_g + c;
    const kern::TapRangeT<Index> rd = kern::deconv_tap_range_at<Index>(g, v.div_s[0], 0, kd);
    const kern::TapRangeT<Index> rh = kern::deconv_tap_range_at<Index>(g, v.div_s[1], 1, kh);
    const kern::TapRangeT<Index> rw = kern::deconv_tap_range_at<Index>(g, v.div_s[2], 2, kw);
    const Index nd = rd.hi - rd.lo, nh = rh.hi - rh.lo;
    const Index rows = static_cast<Index>(g.n) * nd * nh;
    const Index bd = kd * static_cast<Index>(g.dil[0]) - static_cast<Index>(g.pad[0]);
    const Index bh = kh * static_cast<Index>(g.dil[1]) - static_cast<Index>(g.pad[1]);
    const Index bw = kw * static_cast<Index>(g.dil[2]) - static_cast<Index>(g.pad[2]);
    Acc acc = Acc(0);
    if (rows > 0) {
      Index n = 0, a = 0, b = 0;  // row r = (n * nd + a) * nh + b
      advance_row<Index>(warp, nd, nh, &n, &a, &b);
#pragma unroll 1
      for (Index r = warp; r < rows; r += kWarps) {
        const Index id = rd.lo + a, ih = rh.lo + b;
        const Index od = id * static_cast<Index>(g.stride[0]) + bd;
        const Index oh = ih * static_cast<Index>(g.stride[1]) + bh;
        const T* xr = x + (n * static_cast<Index>(ss[0]) + ci * static_cast<Index>(ss[1]) +
                           id * static_cast<Index>(ss[2]) + ih * static_cast<Index>(ss[3]));
        const T* gr = gy + (n * static_cast<Index>(ds[0]) + co * static_cast<Index>(ds[1]) +
                            od * static_cast<Index>(ds[2]) + oh * static_cast<Index>(ds[3]));
#pragma unroll 1
        for (Index iw = rw.lo + lane; iw < rw.hi; iw += 32) {
          const Index ow = iw * static_cast<Index>(g.stride[2]) + bw;
          acc += kern::to_acc<Acc>(xr[iw * static_cast<Index>(ss[4])]) *
                 kern::to_acc<Acc>(gr[ow * static_cast<Index>(ds[4])]);
        }
        advance_row<Index>(kWarps, nd, nh, &n, &a, &b);
      }
    }
    const Acc sum = block_sum(acc, sm);
    if (threadIdx.x == 0) {
      const Index* os = v.gw_stride;
      gw[ci * os[0] + c * os[1] + kd * os[2] + kh * os[3] + kw * os[4]] = kern::from_acc<T>(sum);
    }
  }
}

template <class T, class Index>
__global__ void __launch_bounds__(kBlock, kMinBlocks)
    deconv_grad_bias_kernel(kern::DeconvGeometry g, const T* __restrict__ gy, T* __restrict__ gb,
                            Index gb_stride, Index total) {
  using Acc = kern::acc_t<T>;
  __shared__ Acc sm[kBlock];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t* ds = g.dst_stride;
  const Index o0 = static_cast<Index>(g.out[0]), o1 = static_cast<Index>(g.out[1]),
              o2 = static_cast<Index>(g.out[2]);
  const Index rows = static_cast<Index>(g.n) * o0 * o1;
#pragma unroll 1
  for (Index co = blockIdx.x; co < total; co += static_cast<Index>(gridDim.x)) {
    Acc acc = Acc(0);
    if (rows > 0) {
      Index n = 0, od = 0, oh = 0;
      advance_row<Index>(warp, o0, o1, &n, &od, &oh);
#pragma unroll 1
      for (Index r = warp; r < rows; r += kWarps) {
        const T* gr = gy + (n * static_cast<Index>(ds[0]) + co * static_cast<Index>(ds[1]) +
                            od * static_cast<Index>(ds[2]) + oh * static_cast<Index>(ds[3]));
#pragma unroll 1
        for (Index ow = lane; ow < o2; ow += 32)
          acc += kern::to_acc<Acc>(gr[ow * static_cast<Index>(ds[4])]);
        advance_row<Index>(kWarps, o0, o1, &n, &od, &oh);
      }
    }
    const Acc sum = block_sum(acc, sm);
    if (threadIdx.x == 0) gb[co * gb_stride] = kern::from_acc<T>(sum);
  }
}

unsigned reduce_grid(std::int64_t total) {
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min(total, kMaxReduceBlocks)));
}

// Whether the forward problem's operands (input, weight, grad_output) and the gradients' views
// allow the 32-bit variants.
bool backward_fits_32(const ConvTransposeBackwardPlan& p) {
  if (cuda_wide_index()) return false;
  const kern::DeconvGeometry& g = p.fwd.g;
  if (!kern::deconv_axes_fit_32(g)) return false;
  const std::int64_t src5[5] = {g.n, g.groups * g.cin_g, g.in[0], g.in[1], g.in[2]};
  const std::int64_t dst5[5] = {g.n, g.groups * g.cout_g, g.out[0], g.out[1], g.out[2]};
  const std::int64_t w5[5] = {g.groups * g.cin_g, g.cout_g, g.k[0], g.k[1], g.k[2]};
  const std::int64_t c1[1] = {g.groups * g.cout_g};
  const std::int64_t gb1[1] = {p.gb_stride};
  const std::int64_t step = std::int64_t(grid_for(p.fwd.src_numel, kBlock)) * kBlock;
  return offset_span(src5, g.src_stride, 5) <= kIndex32Max &&
         offset_span(src5, p.gx_stride, 5) <= kIndex32Max &&
         offset_span(dst5, g.dst_stride, 5) <= kIndex32Max &&
         offset_span(w5, g.w_stride, 5) <= kIndex32Max &&
         offset_span(w5, p.gw_stride, 5) <= kIndex32Max && offset_span(c1, gb1, 1) <= kIndex32Max &&
         loop_fits_32(p.fwd.src_numel, step) &&
         loop_fits_32(w5[0] * w5[1] * w5[2] * w5[3] * w5[4], kMaxReduceBlocks) &&
         loop_fits_32(c1[0], kMaxReduceBlocks);
}

template <class T, class Index>
void grad_input_as(const ConvTransposeBackwardPlan& p, bool narrow, StreamHandle stream) {
  const kern::DeconvGeometry& g = p.fwd.g;
  GradInputArgs<Index> a{};
  for (int i = 0; i < 5; ++i)
    a.gx_stride[i] = p.gx_stride[i];
  a.channels_last = p.gx_channels_last;
  a.div_c = kern::Divider<Index>(g.groups * g.cin_g, narrow);
  for (int d = 0; d < 3; ++d)
    a.div_s[d] = kern::Divider<Index>(g.in[d], narrow);
  a.div_cin_g = kern::Divider<Index>(g.cin_g, narrow);
  deconv_grad_input_kernel<T, Index><<<grid_for(p.fwd.src_numel, kBlock), kBlock, 0, stream>>>(
      g, a, static_cast<const T*>(p.fwd.dst), static_cast<const T*>(p.fwd.weight),
      static_cast<T*>(p.grad_input), static_cast<Index>(p.fwd.src_numel));
  UPS_CUDA_CHECK(cudaGetLastError());
}

template <class T, class Index>
void grad_weight_as(const ConvTransposeBackwardPlan& p, bool narrow, std::int64_t total,
                    StreamHandle stream) {
  const kern::DeconvGeometry& g = p.fwd.g;
  GradWeightArgs<Index> v{};
  for (int i = 0; i < 5; ++i)
    v.gw_stride[i] = static_cast<Index>(p.gw_stride[i]);
  v.div_taps = kern::Divider<Index>(g.k[0] * g.k[1] * g.k[2], narrow);
  v.div_cout_g = kern::Divider<Index>(g.cout_g, narrow);
  v.div_kw = kern::Divider<Index>(g.k[2], narrow);
  v.div_kh = kern::Divider<Index>(g.k[1], narrow);
  v.div_cin_g = kern::Divider<Index>(g.cin_g, narrow);
  for (int d = 0; d < 3; ++d)
    v.div_s[d] = kern::Divider<Index>(g.stride[d], narrow);
  deconv_grad_weight_kernel<T, Index><<<reduce_grid(total), kBlock, 0, stream>>>(
      g, static_cast<const T*>(p.fwd.src), static_cast<const T*>(p.fwd.dst),
      static_cast<T*>(p.grad_weight), v, static_cast<Index>(total));
  UPS_CUDA_CHECK(cudaGetLastError());
}

template <class T, class Index>
void grad_bias_as(const ConvTransposeBackwardPlan& p, std::int64_t total, StreamHandle stream) {
  deconv_grad_bias_kernel<T, Index><<<reduce_grid(total), kBlock, 0, stream>>>(
      p.fwd.g, static_cast<const T*>(p.fwd.dst), static_cast<T*>(p.grad_bias),
      static_cast<Index>(p.gb_stride), static_cast<Index>(total));
  UPS_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void deconv_grad_input_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream) {
  if (p.fwd.src_numel == 0) return;
  const bool narrow = backward_fits_32(p);
  dispatch_float(p.fwd.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (narrow) {
      grad_input_as<T, std::int32_t>(p, true, stream);
    } else {
      grad_input_as<T, std::int64_t>(p, false, stream);
    }
  });
}

void deconv_grad_weight_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream) {
  const kern::DeconvGeometry& g = p.fwd.g;
  const std::int64_t total = g.groups * g.cin_g * g.cout_g * g.k[0] * g.k[1] * g.k[2];
  if (total == 0) return;
  const bool narrow = backward_fits_32(p);
  dispatch_float(p.fwd.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (narrow) {
      grad_weight_as<T, std::int32_t>(p, true, total, stream);
    } else {
      grad_weight_as<T, std::int64_t>(p, false, total, stream);
    }
  });
}

void deconv_grad_bias_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream) {
  const kern::DeconvGeometry& g = p.fwd.g;
  const std::int64_t total = g.groups * g.cout_g;
  if (total == 0) return;
  const bool narrow = backward_fits_32(p);
  dispatch_float(p.fwd.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (narrow) {
      grad_bias_as<T, std::int32_t>(p, total, stream);
    } else {
      grad_bias_as<T, std::int64_t>(p, total, stream);
    }
  });
}

}  // namespace detail
}  // namespace ups
