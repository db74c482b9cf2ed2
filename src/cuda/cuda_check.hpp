// Error handling for CUDA runtime calls (after RMM's RMM_CUDA_TRY).
#pragma once

#include <cuda_runtime_api.h>

#include "check.hpp"

// Throws ups::Error(kCudaError) naming the failed call and the CUDA error. The sticky error state
// is cleared first so that the next op does not inherit it.
#define UPS_CUDA_CHECK(call)                                                                    \
  do {                                                                                          \
    const cudaError_t ups_err_ = (call);                                                        \
    if (ups_err_ != cudaSuccess) {                                                              \
      (void)cudaGetLastError();                                                                 \
      ::ups::detail::fail(::ups::ErrorCode::kCudaError,                                         \
                          ::ups::detail::concat(#call, " failed: ", cudaGetErrorName(ups_err_), \
                                                ": ", cudaGetErrorString(ups_err_)));           \
    }                                                                                           \
  } while (0)
