#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "text.hpp"
#include "ups/context.hpp"
#include "ups/version.hpp"
#include "validate.hpp"

namespace ups {

namespace detail {

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

}  // namespace detail

namespace {

// Read once, on first use, so the warning above appears at most once per process.
std::atomic<bool>& global_deterministic() {
  static std::atomic<bool> flag{detail::env_flag("UPS_DETERMINISTIC")};
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
#ifdef UPS_HAVE_ONEDNN
  info.has_onednn = true;
  info.onednn_version = UPS_ONEDNN_VERSION;
#endif
  info.build_type = UPS_BUILD_TYPE;
  return info;
}

namespace {

// "13.0" from CUDA's 13000 encoding (cudaRuntimeGetVersion, cudnnGetCudartVersion).
std::string cuda_version_string(long v) {
  return detail::concat(v / 1000, ".", (v % 1000) / 10);
}
// "9.19.0" from cuDNN 9's 91900 encoding.
std::string cudnn_version_string(long v) {
  return detail::concat(v / 10000, ".", (v % 10000) / 100, ".", v % 100);
}
// The leading number of "13.0.88", or -1.
long leading_number(const std::string& s) {
  long v = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
    v = v * 10 + (s[i] - '0');
  return i == 0 ? -1 : v;
}
// 91900 from "9.19.0", or -1.
long cudnn_version_number(const std::string& s) {
  long parts[3] = {0, 0, 0};
  std::size_t pos = 0;
  for (long& p : parts) {
    const long v = leading_number(s.substr(pos));
    if (v < 0) return -1;
    p = v;
    pos = s.find('.', pos);
    if (pos == std::string::npos) break;
    ++pos;
  }
  return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

}  // namespace

RuntimeInfo runtime_info() {
  RuntimeInfo r;
  detail::cuda_runtime_versions(&r.cuda_runtime_version, &r.cuda_driver_version);
  detail::cudnn_runtime_versions(&r.cudnn_version, &r.cudnn_cudart_version);
  const BuildInfo b = build_info();
  auto& problems = r.problems;
  const long runtime = r.cuda_runtime_version, driver = r.cuda_driver_version;
  if (b.has_cuda && runtime > 0 && leading_number(b.cuda_version) != runtime / 1000) {
    problems.push_back(detail::concat("ups was built with CUDA ", b.cuda_version,
                                      " but loaded the CUDA runtime ",
                                      cuda_version_string(runtime)));
  }
  if (runtime > 0 && driver > 0 && driver / 1000 < runtime / 1000) {
    problems.push_back(detail::concat("the driver supports CUDA up to ",
                                      cuda_version_string(driver), ", older than the CUDA runtime ",
                                      cuda_version_string(runtime),
                                      " that ups loaded: CUDA calls will fail until the driver is "
                                      "updated"));
  }
  if (b.has_cudnn) {
    const long built = cudnn_version_number(b.cudnn_version);
    const long loaded = static_cast<long>(r.cudnn_version);
    if (built > 0 && loaded / 10000 != built / 10000) {
      problems.push_back(detail::concat("ups was built with cuDNN ", b.cudnn_version,
                                        " but loaded cuDNN ", cudnn_version_string(loaded),
                                        ", another major version"));
    } else if (built > 0 && loaded < built) {
      problems.push_back(detail::concat(
          "ups was built with cuDNN ", b.cudnn_version, " but loaded the older cuDNN ",
          cudnn_version_string(loaded), ", which may lack engines or attributes ups uses"));
    }
    const long cudnn_cudart = static_cast<long>(r.cudnn_cudart_version);
    if (runtime > 0 && cudnn_cudart > 0 && cudnn_cudart / 1000 != runtime / 1000) {
      problems.push_back(detail::concat("cuDNN ", cudnn_version_string(loaded),
                                        " was built for CUDA ", cuda_version_string(cudnn_cudart),
                                        ", but ups uses the CUDA runtime ",
                                        cuda_version_string(runtime)));
    }
  }
  return r;
}

std::size_t cuda_scratch_reserved(int device) {
  return detail::scratch_pool_reserved(device);
}

void cuda_release_scratch() {
  detail::scratch_pool_trim();
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

void Context::set_cuda_device(std::optional<int> index) {
  if (index.has_value()) {
    const int count = cuda_device_count();
    UPS_CHECK(*index >= 0 && *index < count, ErrorCode::kInvalidArgument, "CUDA device ", *index,
              " does not exist: ",
              count == 0 ? std::string("there is no usable CUDA device")
                         : detail::concat("the valid indices are 0 to ", count - 1));
  }
  cuda_device_ = index;
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
