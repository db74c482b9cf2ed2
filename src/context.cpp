#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "backend.hpp"
#include "check.hpp"
#include "text.hpp"
#include "ups/context.hpp"
#include "ups/version.hpp"
#include "validate.hpp"

namespace ups {
namespace {

// A boolean environment variable: case-insensitively "1", "true", "yes" or "on" mean on; "0",
// "false", "no", "off", the empty string or no variable mean off. Anything else also means off,
// with a warning on stderr, because a mistyped value would otherwise silently turn a requested
// setting off.
bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return false;
  std::string s(v);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s.empty() || s == "0" || s == "false" || s == "no" || s == "off") return false;
  const std::string line = "ups: warning: " + std::string(name) + "='" + detail::escape_text(v) +
                           "' is not one of 1, true, yes, on, 0, false, no, off (in any case) or "
                           "empty; treating it as off\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  return false;
}

// Read once, on first use, so the warning above appears at most once per process.
std::atomic<bool>& global_deterministic() {
  static std::atomic<bool> flag{env_flag("UPS_DETERMINISTIC")};
  return flag;
}

}  // namespace

void set_deterministic(bool on) noexcept {
  global_deterministic().store(on);
}
bool deterministic() noexcept {
  return global_deterministic().load();
}

int cuda_device_count() noexcept {
  return detail::cuda_device_count();
}
bool cuda_available() noexcept {
  return cuda_device_count() > 0;
}

BuildInfo build_info() {
  BuildInfo info;
  info.version = UPS_VERSION_STRING;
#ifdef UPS_HAVE_CUDA
  info.has_cuda = true;
  info.cuda_version = UPS_CUDA_VERSION;
  info.cuda_archs = UPS_CUDA_ARCHS;
#endif
#ifdef UPS_HAVE_CUDNN
  info.has_cudnn = true;
  info.cudnn_version = UPS_CUDNN_VERSION;
#endif
  info.build_type = UPS_BUILD_TYPE;
  return info;
}

Context::Context(Device device, StreamHandle stream) : device_(device), stream_(stream) {
  detail::check_enum(device, "device");
  if (device_ == Device::kAuto) device_ = cuda_available() ? Device::kCUDA : Device::kCPU;
  if (device_ == Device::kCUDA) {
#ifndef UPS_HAVE_CUDA
    detail::fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
#else
    UPS_CHECK(cuda_available(), ErrorCode::kUnsupportedDevice,
              "no usable CUDA device: ", detail::cuda_unavailable_reason());
#endif
  }
}

bool Context::deterministic() const noexcept {
  return deterministic_.has_value() ? *deterministic_ : ups::deterministic();
}

void Context::set_num_threads(int threads) {
  UPS_CHECK(threads >= 0, ErrorCode::kInvalidArgument,
            "thread count must be non-negative (0 means all cores), but got ", threads);
  num_threads_ = threads;
}

int Context::num_threads() const noexcept {
  if (num_threads_ > 0) return num_threads_;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

}  // namespace ups
