// Launch-geometry helpers for grid-stride kernels.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

#include "cuda/cuda_check.hpp"

namespace ups {
namespace detail {

// UPS_CUDA_WIDE_INDEX=1 in the environment (read once): every kernel with 32- and 64-bit index
// variants takes the 64-bit one, even where every offset is below 2^31. A diagnostic for index
// overflow, and how the GPU suite tests the 64-bit variants on small tensors (the ctest
// gpu:wide-index). device.cpp.
bool cuda_wide_index();

// Enough blocks to cover `total` elements, capped at a few waves of the current device: the
// kernels are grid-stride loops, so the cap only bounds launch overhead.
inline unsigned grid_for(std::int64_t total, int block) {
  int device = 0, sms = 0;
  UPS_CUDA_CHECK(cudaGetDevice(&device));
  UPS_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const std::int64_t want = (total + block - 1) / block;
  const std::int64_t cap = static_cast<std::int64_t>(std::max(sms, 1)) * 32;
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min(want, cap)));
}

}  // namespace detail
}  // namespace ups
