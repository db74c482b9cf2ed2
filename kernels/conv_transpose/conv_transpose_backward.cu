// Native CUDA kernels of ups::conv_transpose_backward, all deterministic (no atomics):
// - grad_input: one thread per element over the shared body deconv_grad_input_element (a
//   convolution of grad_output, taps in a fixed order);
// - grad_weight and grad_bias: one block per output element. The warps take whole rows of the
//   reduction (n, then D, H of the tap's valid range) in a fixed round-robin, the lanes the
//   positions along W, and the block's 256 partial sums are combined by a fixed tree in shared
//   memory. The order depends on the problem alone, so every run gives the same bits.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "conv_transpose/deconv_math.hpp"
#include "conv_transpose_plan.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "dispatch.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;
constexpr int kWarps = kBlock / 32;
// Blocks of the reduction kernels per launch: a grid-stride loop covers larger outputs.
constexpr std::int64_t kMaxReduceBlocks = 65535;

struct GradInputArgs {
  std::int64_t gx_stride[5];
  bool channels_last;
};

template <class T>
__global__ void __launch_bounds__(kBlock)
    deconv_grad_input_kernel(kern::DeconvGeometry g, GradInputArgs a, const T* __restrict__ gy,
                             const T* __restrict__ w, T* __restrict__ gx, std::int64_t total) {
  const std::int64_t step = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    kern::deconv_grad_input_element<T>(g, a.gx_stride, a.channels_last, gy, w, gx, i);
  }
}

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

template <class T>
__global__ void __launch_bounds__(kBlock)
    deconv_grad_weight_kernel(kern::DeconvGeometry g, const T* __restrict__ x,
                              const T* __restrict__ gy, T* __restrict__ gw,
                              kern::DeconvGeometry wg /* gw strides in w_stride */,
                              std::int64_t total) {
  using Acc = kern::acc_t<T>;
  __shared__ Acc sm[kBlock];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ds = g.dst_stride;
  for (std::int64_t e = blockIdx.x; e < total; e += gridDim.x) {
    const std::int64_t tap = e % taps, c = (e / taps) % g.cout_g, ci = e / taps / g.cout_g;
    const std::int64_t kd = tap / (g.k[1] * g.k[2]), kh = (tap / g.k[2]) % g.k[1],
                       kw = tap % g.k[2];
    const std::int64_t co = (ci / g.cin_g) * g.cout_g + c;
    const kern::TapRange rd = kern::deconv_tap_range(g, 0, kd);
    const kern::TapRange rh = kern::deconv_tap_range(g, 1, kh);
    const kern::TapRange rw = kern::deconv_tap_range(g, 2, kw);
    const std::int64_t nd = rd.hi - rd.lo, nh = rh.hi - rh.lo;
    const std::int64_t rows = g.n * nd * nh;
    Acc acc = Acc(0);
    for (std::int64_t r = warp; r < rows; r += kWarps) {
      const std::int64_t ih = rh.lo + r % nh, id = rd.lo + (r / nh) % nd, n = r / nh / nd;
      const std::int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dil[0];
      const std::int64_t oh = ih * g.stride[1] - g.pad[1] + kh * g.dil[1];
      const T* xr = x + n * ss[0] + ci * ss[1] + id * ss[2] + ih * ss[3];
      const T* gr = gy + n * ds[0] + co * ds[1] + od * ds[2] + oh * ds[3];
      for (std::int64_t iw = rw.lo + lane; iw < rw.hi; iw += 32) {
        const std::int64_t ow = iw * g.stride[2] - g.pad[2] + kw * g.dil[2];
        acc += kern::to_acc<Acc>(xr[iw * ss[4]]) * kern::to_acc<Acc>(gr[ow * ds[4]]);
      }
    }
    const Acc sum = block_sum(acc, sm);
    if (threadIdx.x == 0) {
      const std::int64_t* os = wg.w_stride;
      gw[ci * os[0] + c * os[1] + kd * os[2] + kh * os[3] + kw * os[4]] = kern::from_acc<T>(sum);
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    deconv_grad_bias_kernel(kern::DeconvGeometry g, const T* __restrict__ gy, T* __restrict__ gb,
                            std::int64_t gb_stride, std::int64_t total) {
  using Acc = kern::acc_t<T>;
  __shared__ Acc sm[kBlock];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const std::int64_t* ds = g.dst_stride;
  const std::int64_t rows = g.n * g.out[0] * g.out[1];
  for (std::int64_t co = blockIdx.x; co < total; co += gridDim.x) {
    Acc acc = Acc(0);
    for (std::int64_t r = warp; r < rows; r += kWarps) {
      const std::int64_t oh = r % g.out[1], od = (r / g.out[1]) % g.out[0],
                         n = r / g.out[1] / g.out[0];
      const T* gr = gy + n * ds[0] + co * ds[1] + od * ds[2] + oh * ds[3];
      for (std::int64_t ow = lane; ow < g.out[2]; ow += 32)
        acc += kern::to_acc<Acc>(gr[ow * ds[4]]);
    }
    const Acc sum = block_sum(acc, sm);
    if (threadIdx.x == 0) gb[co * gb_stride] = kern::from_acc<T>(sum);
  }
}

unsigned reduce_grid(std::int64_t total) {
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min(total, kMaxReduceBlocks)));
}

}  // namespace

void deconv_grad_input_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream) {
  if (p.fwd.src_numel == 0) return;
  GradInputArgs a{};
  for (int i = 0; i < 5; ++i)
    a.gx_stride[i] = p.gx_stride[i];
  a.channels_last = p.gx_channels_last;
  dispatch_float(p.fwd.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    deconv_grad_input_kernel<T><<<grid_for(p.fwd.src_numel, kBlock), kBlock, 0, stream>>>(
        p.fwd.g, a, static_cast<const T*>(p.fwd.dst), static_cast<const T*>(p.fwd.weight),
        static_cast<T*>(p.grad_input), p.fwd.src_numel);
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

void deconv_grad_weight_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream) {
  const kern::DeconvGeometry& g = p.fwd.g;
  const std::int64_t total = g.groups * g.cin_g * g.cout_g * g.k[0] * g.k[1] * g.k[2];
  if (total == 0) return;
  kern::DeconvGeometry wg = g;
  for (int i = 0; i < 5; ++i)
    wg.w_stride[i] = p.gw_stride[i];
  dispatch_float(p.fwd.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    deconv_grad_weight_kernel<T><<<reduce_grid(total), kBlock, 0, stream>>>(
        g, static_cast<const T*>(p.fwd.src), static_cast<const T*>(p.fwd.dst),
        static_cast<T*>(p.grad_weight), wg, total);
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

void deconv_grad_bias_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream) {
  const kern::DeconvGeometry& g = p.fwd.g;
  const std::int64_t total = g.groups * g.cout_g;
  if (total == 0) return;
  dispatch_float(p.fwd.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    deconv_grad_bias_kernel<T><<<reduce_grid(total), kBlock, 0, stream>>>(
        g, static_cast<const T*>(p.fwd.dst), static_cast<T*>(p.grad_bias), p.gb_stride, total);
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace detail
}  // namespace ups
