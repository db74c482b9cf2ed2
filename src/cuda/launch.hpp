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

// 1 + the largest |offset| from element 0 that a view of these sizes and strides reaches (0 when
// it is empty). A view whose span is at most kIndex32Max fits the 32-bit index variants: every
// offset, and every partial sum of an offset's terms, lies in (-2^31, 2^31).
inline std::int64_t offset_span(const std::int64_t* sizes, const std::int64_t* strides, int n) {
  std::int64_t s = 1;
  for (int d = 0; d < n; ++d) {
    if (sizes[d] == 0) return 0;
    if (sizes[d] > 1) s += (sizes[d] - 1) * (strides[d] < 0 ? -strides[d] : strides[d]);
  }
  return s;
}

constexpr std::int64_t kIndex32Max = 0x7fffffff;

// Whether a grid-stride loop over `total` items that advances by `step` can count in int32: the
// last increment must not overflow.
inline bool loop_fits_32(std::int64_t total, std::int64_t step) {
  return total + step <= kIndex32Max;
}

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
