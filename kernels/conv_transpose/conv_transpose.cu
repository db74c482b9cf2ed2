// Native CUDA kernels of ups::conv_transpose. The gather and scatter kernels are grid-stride
// loops over the per-element bodies of deconv_math.hpp (the ones the CPU reference runs); all
// index math is 64-bit and every launch is stream-ordered.
#include <cuda_runtime.h>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "conv_transpose/deconv_math.hpp"
#include "conv_transpose_plan.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "dispatch.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void gather_kernel(kern::DeconvGeometry g, const T* __restrict__ src,
                              const T* __restrict__ w, const T* __restrict__ bias,
                              T* __restrict__ dst, std::int64_t total) {
  const std::int64_t step = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    kern::deconv_gather_element<T>(g, src, w, bias, dst, i);
  }
}

// atomicAdd straight into dst (f32, f64: native atomics, sm_60 and newer).
template <class T>
struct DirectSink {
  T* dst;
  std::int64_t s0, s1, s2, s3, s4;
  __device__ void operator()(std::int64_t n, std::int64_t c, std::int64_t d, std::int64_t h,
                             std::int64_t w, T v) const {
    atomicAdd(dst + n * s0 + c * s1 + d * s2 + h * s3 + w * s4, v);
  }
};

// atomicAdd into a dense f32 accumulator laid out as N, C, D, H, W (f16, bf16). Accumulating in
// f32 keeps the f32-accumulation contract: 16-bit atomics would round after every add.
struct F32Sink {
  float* acc;
  std::int64_t c, od, oh, ow;
  __device__ void operator()(std::int64_t n, std::int64_t ch, std::int64_t d, std::int64_t h,
                             std::int64_t w, float v) const {
    atomicAdd(acc + (((n * c + ch) * od + d) * oh + h) * ow + w, v);
  }
};

template <class T, class Sink>
__global__ void scatter_kernel(kern::DeconvGeometry g, const T* __restrict__ src,
                               const T* __restrict__ w, Sink sink, std::int64_t total) {
  const std::int64_t step = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    kern::deconv_scatter_element<T>(g, src, w, sink, i);
  }
}

// Output coordinate of logical (N, C, D, H, W) index i.
struct OutIndex {
  std::int64_t c, d, h, w;
  std::int64_t s[5];
  __device__ std::int64_t offset(std::int64_t i, std::int64_t* ch) const {
    const std::int64_t x = i % w;
    i /= w;
    const std::int64_t y = i % h;
    i /= h;
    const std::int64_t z = i % d;
    i /= d;
    *ch = i % c;
    const std::int64_t n = i / c;
    return n * s[0] + *ch * s[1] + z * s[2] + y * s[3] + x * s[4];
  }
};

OutIndex out_index(const kern::DeconvGeometry& g) {
  OutIndex o;
  o.c = g.groups * g.cout_g;
  o.d = g.out[0];
  o.h = g.out[1];
  o.w = g.out[2];
  for (int i = 0; i < 5; ++i)
    o.s[i] = g.dst_stride[i];
  return o;
}

// dst = bias (or 0) before the scatter's atomics.
template <class T>
__global__ void fill_kernel(OutIndex oi, const T* __restrict__ bias, std::int64_t bias_stride,
                            T* __restrict__ dst, std::int64_t total) {
  const std::int64_t step = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    std::int64_t ch;
    const std::int64_t off = oi.offset(i, &ch);
    dst[off] = bias != nullptr ? bias[ch * bias_stride] : T(0);
  }
}

// dst = convert(acc + bias) after the f32-accumulated scatter.
template <class T>
__global__ void finish_kernel(OutIndex oi, const float* __restrict__ acc,
                              const T* __restrict__ bias, std::int64_t bias_stride,
                              T* __restrict__ dst, std::int64_t total) {
  const std::int64_t step = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    std::int64_t ch;
    const std::int64_t off = oi.offset(i, &ch);
    float v = acc[i];
    if (bias != nullptr) v += kern::to_acc<float>(bias[ch * bias_stride]);
    dst[off] = kern::from_acc<T>(v);
  }
}

// dst += bias (after cuDNN). For f16/bf16 the sum is formed in f32 and rounded once more.
template <class T>
__global__ void add_bias_kernel(OutIndex oi, const T* __restrict__ bias, std::int64_t bias_stride,
                                T* __restrict__ dst, std::int64_t total) {
  using Acc = kern::acc_t<T>;
  const std::int64_t step = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    std::int64_t ch;
    const std::int64_t off = oi.offset(i, &ch);
    dst[off] =
        kern::from_acc<T>(kern::to_acc<Acc>(dst[off]) + kern::to_acc<Acc>(bias[ch * bias_stride]));
  }
}

// True when dst's elements exactly tile a contiguous byte range starting at dst (some
// permutation of a packed layout with positive strides): then cudaMemsetAsync can zero it.
bool dense_from_base(const TensorView& v) {
  std::vector<std::pair<std::int64_t, std::int64_t>> dims;  // stride, size
  for (int i = 0; i < v.ndim; ++i) {
    if (v.sizes[i] > 1) dims.emplace_back(v.strides[i], v.sizes[i]);
  }
  std::sort(dims.begin(), dims.end());
  std::int64_t expected = 1;
  for (const auto& d : dims) {
    if (d.first != expected) return false;
    expected *= d.second;
  }
  return true;
}

template <class T>
void launch_gather(const ConvTransposePlan& p, StreamHandle stream) {
  gather_kernel<T><<<grid_for(p.dst_numel, kBlock), kBlock, 0, stream>>>(
      p.g, static_cast<const T*>(p.src), static_cast<const T*>(p.weight),
      static_cast<const T*>(p.bias), static_cast<T*>(p.dst), p.dst_numel);
  UPS_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void launch_scatter(const ConvTransposePlan& p, void* workspace, StreamHandle stream) {
  const kern::DeconvGeometry& g = p.g;
  const OutIndex oi = out_index(g);
  const T* bias = static_cast<const T*>(p.bias);
  T* dst = static_cast<T*>(p.dst);
  const unsigned out_grid = grid_for(p.dst_numel, kBlock);
  const unsigned in_grid = grid_for(p.src_numel, kBlock);
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (bias == nullptr && dense_from_base(p.dst_view)) {
      UPS_CUDA_CHECK(
          cudaMemsetAsync(dst, 0, static_cast<std::size_t>(p.dst_numel) * sizeof(T), stream));
    } else {
      fill_kernel<T><<<out_grid, kBlock, 0, stream>>>(oi, bias, g.bias_stride, dst, p.dst_numel);
      UPS_CUDA_CHECK(cudaGetLastError());
    }
    const DirectSink<T> sink{
        dst, g.dst_stride[0], g.dst_stride[1], g.dst_stride[2], g.dst_stride[3], g.dst_stride[4]};
    scatter_kernel<T, DirectSink<T>><<<in_grid, kBlock, 0, stream>>>(
        g, static_cast<const T*>(p.src), static_cast<const T*>(p.weight), sink, p.src_numel);
    UPS_CUDA_CHECK(cudaGetLastError());
  } else {
    float* acc = static_cast<float*>(workspace);
    UPS_CHECK(acc != nullptr, ErrorCode::kInternal, "scatter needs its f32 workspace");
    UPS_CUDA_CHECK(
        cudaMemsetAsync(acc, 0, static_cast<std::size_t>(p.dst_numel) * sizeof(float), stream));
    const F32Sink sink{acc, oi.c, g.out[0], g.out[1], g.out[2]};
    scatter_kernel<T, F32Sink><<<in_grid, kBlock, 0, stream>>>(
        g, static_cast<const T*>(p.src), static_cast<const T*>(p.weight), sink, p.src_numel);
    UPS_CUDA_CHECK(cudaGetLastError());
    finish_kernel<T>
        <<<out_grid, kBlock, 0, stream>>>(oi, acc, bias, g.bias_stride, dst, p.dst_numel);
    UPS_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace

void deconv_gather_cuda(const ConvTransposePlan& p, StreamHandle stream) {
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_gather<T>(p, stream);
  });
}

std::size_t deconv_scatter_workspace(const ConvTransposePlan& p) {
  if (p.dtype == DType::kF16 || p.dtype == DType::kBF16) {
    return static_cast<std::size_t>(p.dst_numel) * sizeof(float);
  }
  return 0;
}

void deconv_scatter_cuda(const ConvTransposePlan& p, void* workspace, StreamHandle stream) {
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_scatter<T>(p, workspace, stream);
  });
}

void deconv_add_bias_cuda(const ConvTransposePlan& p, StreamHandle stream) {
  if (p.bias == nullptr) return;
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    add_bias_kernel<T><<<grid_for(p.dst_numel, kBlock), kBlock, 0, stream>>>(
        out_index(p.g), static_cast<const T*>(p.bias), p.g.bias_stride, static_cast<T*>(p.dst),
        p.dst_numel);
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace detail
}  // namespace ups
