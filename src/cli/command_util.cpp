#include "cli/command_util.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "ups/error.hpp"

namespace ups {
namespace cli {

namespace {
constexpr std::int64_t kMaxThreads = 1024;
}  // namespace

ArgSpec& add_device_options(ArgSpec& spec, bool threads) {
  spec.option("--device", "D",
              "auto (the default: CUDA when a device is usable, else the CPU),\n"
              "cpu or cuda");
  if (threads) {
    spec.option("--threads", "T", "CPU threads (0, the default, uses every core); ignored on CUDA");
  }
  return spec;
}

Device device_option(const ParsedArgs& args) {
  const std::string d = args.get("--device").value_or("auto");
  if (d == "auto") return Device::kAuto;
  if (d == "cpu") return Device::kCPU;
  if (d == "cuda") return Device::kCUDA;
  throw UsageError("--device: expected auto, cpu or cuda, got '" + d + "'");
}

Context make_context(const ParsedArgs& args, bool threads) {
  const Device device = device_option(args);
  const int num_threads =
      threads && args.has("--threads")
          ? static_cast<int>(parse_int(*args.get("--threads"), "--threads", 0, kMaxThreads))
          : 0;
  Context ctx(device);
  ctx.set_num_threads(num_threads);
  return ctx;
}

Operand read_operand(const std::string& role, const std::string& path) {
  return Operand{role, path, read_npy(path)};
}

void check_same_dtype(const Operand& first, const Operand& other) {
  if (other.array.dtype() == first.array.dtype()) return;
  throw Error(ErrorCode::kUnsupportedDType,
              "dtype mismatch: " + other.role + " '" + other.path + "' holds " +
                  to_string(other.array.dtype()) + " data but " + first.role + " '" + first.path +
                  "' holds " + to_string(first.array.dtype()) +
                  "; every array of the operation must have the same dtype");
}

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0')
      s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string format_matrix(const float* data, std::int64_t rows, std::int64_t cols) {
  std::vector<std::string> cells;
  std::size_t width = 0;
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    cells.push_back(format_value(data[i]));
    width = std::max(width, cells.back().size());
  }
  std::string s;
  for (std::int64_t r = 0; r < rows; ++r) {
    s += "    [";
    for (std::int64_t c = 0; c < cols; ++c) {
      const std::string& cell = cells[static_cast<std::size_t>(r * cols + c)];
      s += std::string(width - cell.size() + (c ? 2 : 0), ' ') + cell;
    }
    s += "]\n";
  }
  return s;
}

}  // namespace cli
}  // namespace ups
