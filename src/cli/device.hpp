/// @file device.hpp
/// @brief Moving host arrays to the device an op runs on, and CUDA device queries, for the ups
/// program. Without the CUDA backend (UPS_HAVE_CUDA undefined) everything here is CPU-only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "ups/context.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace cli {

/// @brief Places host tensors where a context runs its ops.
///
/// On the CPU, input() and output() return the host views as they are. On CUDA, the staging
/// creates a stream for @p ctx (and sets it), input() copies a host view to new device memory,
/// output() allocates device memory for a host view, and finish() waits for the stream and
/// copies every output back to its host view. Device memory and the stream are released by the
/// destructor.
class Staging {
 public:
  explicit Staging(Context& ctx);
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  /// @brief A view of the contiguous host tensor @p host on the context's device.
  TensorView input(const TensorView& host);
  /// @brief A view on the context's device whose contents finish() copies into @p host.
  TensorView output(const TensorView& host);
  /// @brief Waits for the enqueued work and copies the outputs back to the host.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// @brief One CUDA device as the runtime describes it.
struct CudaDeviceInfo {
  std::string name;
  int major = 0;
  int minor = 0;
  std::size_t total_memory = 0;
  int multiprocessors = 0;
};

/// @brief The CUDA devices of this machine (versions: ups::runtime_info()).
struct CudaReport {
  std::string error;  ///< Why no device could be listed, or empty.
  std::vector<CudaDeviceInfo> devices;
};

/// @brief Queries the CUDA runtime (never throws).
CudaReport query_cuda();

}  // namespace cli
}  // namespace ups
