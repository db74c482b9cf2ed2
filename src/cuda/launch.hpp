// Launch-geometry helpers for grid-stride kernels.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

#include "cuda/cuda_check.hpp"

namespace ups {
namespace detail {

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
