// CUDA runtime queries used by the front end (device discovery for Device::kAuto).
#include <cuda_runtime_api.h>

#include <string>

#include "cuda/runtime.hpp"

namespace ups {
namespace detail {

int cuda_device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver or no device: not an error for Device::kAuto
    return 0;
  }
  return n;
}

std::string cuda_unavailable_reason() {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
  }
  return n == 0 ? "the driver reports no device" : "device present";
}

}  // namespace detail
}  // namespace ups
