/// @file bench_output.hpp
/// @brief What `ups bench` prints: a table for people, or one JSON object per case per line
/// (with --json), for a listed case and for a measured one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/bench_cases.hpp"
#include "cli/bench_timing.hpp"

namespace ups {
namespace cli {
namespace bench {

/// @brief The fields shared by a listed case and a measured one, without the braces: case (the
/// command line), op, device, dtype, layout, shape, out_shape, params, bytes.
std::string json_case_fields(const BenchCase& c, Device device, const Shape& out_shape,
                             std::uint64_t bytes);

/// @brief How the cases of one run are timed and printed.
struct RunSettings {
  Device device = Device::kCPU;
  int warmup = 0;
  int repeat = 0;
  bool json = false;
};

/// @brief What one timed case reports.
struct Measurement {
  Stats stats;
  Shape out_shape;
  std::uint64_t bytes = 0;
  std::string detail;
  std::size_t sets = 1;
  bool flush_l2 = false;
};

/// @brief Prints the header, the cases and the failures of one run on stdout (failures also on
/// stderr).
class Reporter {
 public:
  /// @param copy_gbps the copy bandwidth of the device, which each case is reported against.
  /// @param device_name CUDA only: the name of the device.
  Reporter(const RunSettings& settings, int threads, double copy_gbps, std::string device_name);

  void header() const;
  void result(const BenchCase& c, const Measurement& m) const;
  void failure(const BenchCase& c, const std::string& message) const;

 private:
  RunSettings settings_;
  int threads_;
  double copy_gbps_;
  std::string device_name_;
};

}  // namespace bench
}  // namespace cli
}  // namespace ups
