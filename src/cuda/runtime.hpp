// The CUDA runtime glue that front ends and backends share: device discovery, the device an op
// runs on (CudaDeviceScope), scratch sizes and pools, and run-time versions. Free of CUDA
// headers: CPU-only builds link the stand-ins in src/cuda/runtime_stub.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "check.hpp"
#include "ups/context.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

// CUDA runtime queries; CPU-only builds link stubs that report no device.
int cuda_device_count() noexcept;
std::string cuda_unavailable_reason();

// Every carve-out starts on a 256-byte boundary, as cudaMalloc's and cuDNN's buffers do: the
// caller's workspace may start anywhere, and atomicAdd on a misaligned float faults and loses
// the CUDA context.
inline constexpr std::size_t kScratchAlign = 256;

// The bytes of workspace that `need` bytes of aligned scratch take: the need plus the slack to
// reach the next boundary. What ops report as their workspace size. 0 for 0.
inline std::size_t scratch_footprint(std::size_t need) {
  if (need == 0) return 0;
  std::size_t total = 0;
  UPS_CHECK(!__builtin_add_overflow(need, kScratchAlign - 1, &total), ErrorCode::kOutOfMemory,
            "a scratch need of ", need, " bytes overflows");
  return total;
}

// ups's scratch pools (src/cuda/device.cpp): bytes held on `device`, and giving back what no
// enqueued work uses. 0 and nothing in CPU-only builds.
std::size_t scratch_pool_reserved(int device);
void scratch_pool_trim();

// Versions of what was loaded at run time; 0 where absent (src/cuda/device.cpp,
// src/cudnn/conv_transpose_cudnn.cpp and their stand-ins).
void cuda_runtime_versions(int* runtime, int* driver) noexcept;
void cudnn_runtime_versions(std::size_t* version, std::size_t* cudart) noexcept;

// Makes the device a CUDA op runs on current for one call, and restores the caller's current
// device when it ends (on every path, errors included). The device is, in this order: the
// context's cuda_device(); the device of the context's stream; the device whose memory holds the
// first of `views` that lives in device memory; the caller's current device. Every view must be
// reachable from that device: device memory of another GPU, or pageable host memory that the
// device cannot address, is a clean ups::Error here rather than a fault inside a kernel (which
// would lose the CUDA context). Empty views are not checked.
struct NamedView {
  const char* name;        // as the op's messages call it: "src", "dst", "weight", ...
  const TensorView* view;  // null for an absent optional tensor
};
class CudaDeviceScope {
 public:
  CudaDeviceScope(const Context& ctx, std::initializer_list<NamedView> views);
  ~CudaDeviceScope();
  CudaDeviceScope(const CudaDeviceScope&) = delete;
  CudaDeviceScope& operator=(const CudaDeviceScope&) = delete;
  // The device the op runs on.
  int device() const noexcept { return device_; }

 private:
  int device_ = 0;
  int previous_ = -1;  // the caller's device when it had to be switched, else -1
};

}  // namespace detail
}  // namespace ups
