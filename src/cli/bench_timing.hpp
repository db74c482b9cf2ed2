/// @file bench_timing.hpp
/// @brief The timing of `ups bench`: the op calls of a problem on the CPU (steady_clock) or on
/// CUDA (events), and the copy bandwidth of either, which every case is also reported against.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "cli/bench_problem.hpp"

#ifdef UPS_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace ups {
namespace cli {
namespace bench {

/// @brief The median, minimum and maximum of a set of times.
struct Stats {
  double median_ms = 0, min_ms = 0, max_ms = 0;
};

/// @brief The statistics of @p ms (not empty).
Stats stats_of(std::vector<double> ms);

/// @brief Times @p repeat calls of p.run(0), each on its own, with std::chrono::steady_clock,
/// after @p warmup untimed calls. Returns milliseconds.
std::vector<double> time_cpu(Problem& p, int warmup, int repeat);

/// @brief The bytes of each of the two buffers of the CPU copy bandwidth: well beyond the last-
/// level cache of the CPUs the suite runs on, so that memory is what is measured.
constexpr std::size_t kCpuCopyBytes = std::size_t(256) << 20;

/// @brief The CPU's copy bandwidth in GB/s with @p threads threads: the median of 5 timed
/// std::memcpy calls of kCpuCopyBytes (after an untimed one), split into one contiguous slice
/// per thread, counted as read plus write bytes, as the CUDA copy bandwidth is.
double cpu_copy_gbps(int threads);

#ifdef UPS_HAVE_CUDA
/// @brief CUDA events, a stream, and the L2 size and free memory of the current device.
class CudaTimer {
 public:
  CudaTimer();
  ~CudaTimer();
  CudaTimer(const CudaTimer&) = delete;
  CudaTimer& operator=(const CudaTimer&) = delete;

  cudaStream_t stream() const noexcept { return stream_; }
  std::size_t l2_bytes() const noexcept { return l2_bytes_; }
  const std::string& name() const noexcept { return name_; }
  std::size_t free_bytes() const;

  /// @brief Times @p repeat calls of run(k), each between its own pair of events, after
  /// @p warmup calls. Before each call the stream either moves to the next buffer set or, with
  /// @p flush, overwrites a buffer of twice the L2 size (outside the events).
  std::vector<double> time(const std::function<void(std::size_t)>& run, std::size_t sets,
                           bool flush, int warmup, int repeat);

  /// @brief The device's copy bandwidth in GB/s: the median of 20 device-to-device copies of
  /// 1 GiB, counted as 2 GiB (read and write) each.
  double copy_gbps();

 private:
  void events(std::size_t count);
  cudaStream_t stream_ = nullptr;
  std::size_t l2_bytes_ = 0;
  std::string name_;
  std::vector<cudaEvent_t> events_;
  void* flush_ = nullptr;
  std::size_t flush_bytes_ = 0;
};
#endif

}  // namespace bench
}  // namespace cli
}  // namespace ups
