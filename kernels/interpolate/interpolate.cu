// CUDA backend of ups::interpolate: one grid-stride kernel per (kind, dtype) that calls the same
// per-element body as the CPU backend (interp_math.hpp). Every output element is written by one
// thread, so every mode is deterministic, and all index math is 64-bit.
#include <cuda_runtime.h>

#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "interpolate/interp_math.hpp"
#include "interpolate_plan.hpp"

namespace ups {
namespace detail {
namespace {

template <kern::InterpKind K, class T>
__global__ void interp_kernel(kern::InterpParams<kern::acc_t<T>> params, const T* __restrict__ src,
                              T* __restrict__ dst, std::int64_t total) {
  const std::int64_t stride = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    kern::interp_element<K, T>(params, src, dst, i);
  }
}

}  // namespace

void interpolate_cuda(const InterpolatePlan& plan, const void* src, void* dst,
                      StreamHandle stream) {
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr kern::InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    const auto params = kern::make_interp_params<kern::acc_t<T>>(plan.geometry, plan.user_scale,
                                                                 plan.align_corners);
    constexpr int kBlock = 256;
    interp_kernel<K, T><<<grid_for(plan.total, kBlock), kBlock, 0, stream>>>(
        params, static_cast<const T*>(src), static_cast<T*>(dst), plan.total);
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace detail
}  // namespace ups
