// CUDA backend of ups::max_pool: one grid-stride kernel per dtype that calls the same
// per-element body as the CPU backend (pool_math.hpp). Every output element is computed by one
// thread, so the op is deterministic, and all index math is 64-bit.
#include <cuda_runtime.h>

#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "max_pool_plan.hpp"
#include "pool/pool_math.hpp"

namespace ups {
namespace detail {
namespace {

template <class T>
__global__ void max_pool_kernel(kern::PoolGeometry g, const T* __restrict__ src,
                                T* __restrict__ dst, std::int64_t* __restrict__ indices,
                                std::int64_t total) {
  const std::int64_t stride = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    kern::max_pool_element<T>(g, src, dst, indices, i);
  }
}

}  // namespace

void max_pool_cuda(const MaxPoolPlan& plan, const void* src, void* dst, std::int64_t* indices,
                   StreamHandle stream) {
  dispatch_all_types(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    constexpr int kBlock = 256;
    max_pool_kernel<T><<<grid_for(plan.total, kBlock), kBlock, 0, stream>>>(
        plan.geometry, static_cast<const T*>(src), static_cast<T*>(dst), indices, plan.total);
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace detail
}  // namespace ups
