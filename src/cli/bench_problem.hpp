/// @file bench_problem.hpp
/// @brief A case of `ups bench` made ready to run: its buffers allocated, filled and touched on
/// the CPU or on CUDA, and the op call bound to them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/bench_cases.hpp"
#include "ups/ups.hpp"

#ifdef UPS_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace ups {
namespace cli {
namespace bench {

#ifdef UPS_HAVE_CUDA
/// @brief Throws ups::Error (kOutOfMemory or kCudaError) naming @p what when @p err is not
/// cudaSuccess, after clearing the sticky error.
void cuda_check(cudaError_t err, const char* what);
#else
/// @brief Throws ups::Error (kNotCompiled): this program was built without CUDA.
[[noreturn]] void no_cuda();
#endif

/// @brief Memory on the CPU (64-byte aligned, as PyTorch's CPU allocator aligns) or on the
/// current CUDA device, zero-filled so that every page is touched before anything is timed.
class Buffer {
 public:
  Buffer(Device device, std::size_t bytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const noexcept { return data_; }
  std::size_t bytes() const noexcept { return bytes_; }

  /// @brief Copies bytes() bytes from host memory.
  void upload(const void* host);

 private:
  Device device_;
  std::size_t bytes_;
  void* data_ = nullptr;
};

/// @brief A case made ready to run: buffers allocated and filled (one set, or several on CUDA),
/// and the op call bound to them.
struct Problem {
  Context ctx;
  Shape out_shape;
  std::uint64_t bytes = 0;               // minimal traffic of one call
  std::function<void(std::size_t)> run;  // runs the op on buffer set k
  std::function<void()> check;           // after the timed runs (may be empty)
  std::function<std::string()> detail;   // extra information for the report (may be empty)
  std::size_t sets = 1;
  bool flush_l2 = false;
  std::vector<std::unique_ptr<Buffer>> buffers;

  explicit Problem(const Context& c) : ctx(c) {}
  Buffer& allocate(std::size_t nbytes) {
    buffers.push_back(std::make_unique<Buffer>(ctx.device(), nbytes));
    return *buffers.back();
  }
};

/// @brief How many buffer sets a problem of `set_bytes` bytes per set gets.
struct SetPolicy {
  Device device = Device::kCPU;
  std::size_t l2_bytes = 0;
  std::size_t free_bytes = 0;

  /// @brief Sets are rotated so that at least 2 x L2 bytes are touched between two uses of one
  /// set; when that many sets take more than half the free memory (or more than 64 sets would
  /// be needed), a single set is used and the L2 is overwritten before each run instead.
  void apply(Problem& p, std::size_t set_bytes) const;
};

/// @brief Case @p c made ready to run on @p ctx's device.
std::unique_ptr<Problem> build(const BenchCase& c, const Context& ctx, const SetPolicy& policy);

}  // namespace bench
}  // namespace cli
}  // namespace ups
