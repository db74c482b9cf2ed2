/// @file context.hpp
/// @brief Execution context (device, stream, determinism, threads) and process-wide settings.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ups/export.hpp"
#include "ups/tensor.hpp"

// Opaque CUDA stream type, identical to cudaStream_t, so that this header needs no CUDA headers.
struct CUstream_st;

namespace ups {

/// @brief A CUDA stream handle (the same type as cudaStream_t). nullptr is the legacy default
/// stream.
using StreamHandle = CUstream_st*;

/// @brief Sets the process-wide determinism flag. When it is on, ops run only deterministic
/// algorithms: an op without one fails instead of running a nondeterministic one.
///
/// The initial value is read from the environment variable UPS_DETERMINISTIC, once, when the
/// flag is first used. Compared case-insensitively, "1", "true", "yes" and "on" turn it on;
/// "0", "false", "no", "off" and the empty string (or no variable) leave it off. Any other value
/// also leaves it off and prints a one-time warning on stderr
/// ("ups: warning: UPS_DETERMINISTIC='...' is not one of ...; treating it as off").
///
/// Thread-safe; contexts that do not override it see a change at their next op call.
UPS_EXPORT void set_deterministic(bool on) noexcept;
/// @brief The process-wide determinism flag.
UPS_EXPORT bool deterministic() noexcept;

/// @brief True when this build has the CUDA backend and at least one device is usable.
UPS_EXPORT bool cuda_available() noexcept;
/// @brief Number of usable CUDA devices (0 in a CPU-only build or without a driver).
UPS_EXPORT int cuda_device_count() noexcept;

/// @brief How this copy of the library was built.
struct BuildInfo {
  std::string version;         ///< "MAJOR.MINOR.PATCH".
  bool has_cuda = false;       ///< The CUDA backend is compiled in.
  bool has_cudnn = false;      ///< cuDNN support is compiled in.
  std::string cuda_version;    ///< CUDA toolkit version at build time, or empty.
  std::string cuda_archs;      ///< CMAKE_CUDA_ARCHITECTURES at build time, or empty.
  std::string cudnn_version;   ///< cuDNN version at build time, or empty.
  std::string build_type;      ///< CMAKE_BUILD_TYPE.
  bool has_onednn = false;     ///< oneDNN (CPU deconvolution) support is compiled in.
  std::string onednn_version;  ///< oneDNN version at build time, or empty.
};
/// @brief The build configuration.
UPS_EXPORT BuildInfo build_info();

/// @brief What the process loaded at run time, next to what ups was built with.
struct RuntimeInfo {
  int cuda_runtime_version = 0;   ///< cudaRuntimeGetVersion (13000 is 13.0); 0 without CUDA.
  int cuda_driver_version = 0;    ///< The newest CUDA the driver supports; 0 without a driver.
  std::size_t cudnn_version = 0;  ///< cudnnGetVersion (91900 is 9.19.0); 0 without cuDNN.
  std::size_t cudnn_cudart_version =
      0;  ///< The CUDA runtime cuDNN was built for (cudnnGetCudartVersion).
  /// One sentence per disagreement between the build and what was loaded, or between the
  /// loaded libraries and the driver (a cuDNN of another major version than the headers, a
  /// cuDNN built for another CUDA major version, a driver older than the runtime). Empty when
  /// everything agrees.
  std::vector<std::string> problems;
};
/// @brief Queries the loaded CUDA runtime, driver and cuDNN. Needs no GPU.
UPS_EXPORT RuntimeInfo runtime_info();

/// @brief Bytes of device memory that ups's own stream-ordered pool on CUDA device @p device
/// holds, in use or kept for reuse. Scratch memory that ops allocate themselves (when the
/// context has no workspace) comes from this pool, which keeps freed memory for later calls
/// instead of returning it to the driver at every synchronisation, as PyTorch's caching
/// allocator does. 0 when the pool was never used or in a CPU-only build.
UPS_EXPORT std::size_t cuda_scratch_reserved(int device);
/// @brief Returns the unused memory of ups's scratch pools on every device to the driver (like
/// torch.cuda.empty_cache()). Memory still in use by enqueued work stays. Does not synchronise.
UPS_EXPORT void cuda_release_scratch();

/// @brief Where and how ops run.
///
/// A context names a device (CPU or CUDA), a CUDA stream, a CPU thread count and an optional
/// per-context override of the process-wide determinism flag. Ops are stream-ordered: a CUDA op
/// enqueues its kernels on stream() and returns without synchronising the host. Contexts are
/// cheap to copy; a copy shares nothing mutable with the original.
class UPS_EXPORT Context {
 public:
  /// @brief A context on @p device. Device::kAuto picks CUDA when cuda_available(), else CPU.
  /// Throws ups::Error (kUnsupportedDevice) for kCUDA when no usable device exists, and
  /// (kInvalidArgument) for a value that is none of Device's enumerators.
  explicit Context(Device device = Device::kAuto, StreamHandle stream = nullptr);

  /// @brief The resolved device: kCPU or kCUDA, never kAuto.
  Device device() const noexcept { return device_; }
  /// @brief The CUDA stream ops are enqueued on (ignored on the CPU).
  StreamHandle stream() const noexcept { return stream_; }
  /// @brief Sets the CUDA stream.
  void set_stream(StreamHandle stream) noexcept { stream_ = stream; }

  /// @brief Pins CUDA ops to device @p index (numbered as cudaSetDevice numbers them).
  /// std::nullopt (the default) lets each op take the device of stream(), or, on the default
  /// stream, the device whose memory holds the op's tensors, or else the calling thread's
  /// current device. Either way an op switches to that device for the call and restores the
  /// caller's current device before it returns, and a tensor in another device's memory is an
  /// error. Throws ups::Error (kInvalidArgument) when no such device exists.
  void set_cuda_device(std::optional<int> index);
  /// @brief The pinned CUDA device, or std::nullopt.
  std::optional<int> cuda_device() const noexcept { return cuda_device_; }

  /// @brief Overrides the process-wide determinism flag for this context; std::nullopt
  /// inherits it again.
  void set_deterministic(std::optional<bool> on) noexcept { deterministic_ = on; }
  /// @brief The determinism flag in force for this context.
  bool deterministic() const noexcept;

  /// @brief Threads used by the CPU backend; 0 (the default) means the hardware concurrency.
  void set_num_threads(int threads);
  /// @brief The thread count in force (never 0).
  int num_threads() const noexcept;

  /// @brief Allows TF32 tensor-core math for f32 ops that can use it (off by default, unlike
  /// PyTorch's cuDNN default, so that f32 results keep f32 precision unless asked).
  void set_allow_tf32(bool on) noexcept { allow_tf32_ = on; }
  /// @brief Whether TF32 math is allowed.
  bool allow_tf32() const noexcept { return allow_tf32_; }

  /// @brief Gives ops a caller-owned device workspace of @p bytes at @p data (stream-ordered
  /// with stream()). Ops that need scratch memory use it instead of allocating; an op whose
  /// workspace need exceeds it fails or picks an algorithm that fits (see each op's header).
  /// Any address will do: ops start their scratch on the next 256-byte boundary, and the
  /// workspace sizes they report include that slack. nullptr / 0 removes it.
  void set_workspace(void* data, std::size_t bytes) noexcept {
    workspace_ = data;
    workspace_bytes_ = data != nullptr ? bytes : 0;
  }
  /// @brief The caller's workspace, or nullptr.
  void* workspace() const noexcept { return workspace_; }
  /// @brief Size in bytes of the caller's workspace (0 without one).
  std::size_t workspace_bytes() const noexcept { return workspace_bytes_; }
  /// @brief Upper bound on scratch memory an op may allocate itself (stream-ordered) when the
  /// caller gave no workspace. Default 256 MiB; 0 forbids allocation inside ops.
  void set_workspace_limit(std::size_t bytes) noexcept { workspace_limit_ = bytes; }
  /// @brief The allocation limit for scratch memory.
  std::size_t workspace_limit() const noexcept { return workspace_limit_; }

 private:
  Device device_;
  StreamHandle stream_;
  std::optional<int> cuda_device_;
  std::optional<bool> deterministic_;
  int num_threads_ = 0;
  bool allow_tf32_ = false;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  std::size_t workspace_limit_ = std::size_t(256) << 20;
};

}  // namespace ups
