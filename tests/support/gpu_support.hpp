// Utilities for the GPU test suite: a CUDA error check, RAII owners of device memory and streams,
// and device tensors with guard regions that reveal writes outside a tensor.
//
// Nothing here touches CUDA at static-initialisation time, so the test binary can list its tests
// (catch_discover_tests does so at build time) on a machine without a GPU. Header-only, and free
// of Catch2, so that .cu files can include it as well.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "ups/tensor.hpp"

namespace ups_test {

// Thrown by UPS_TEST_CUDA_CHECK. A distinct type, so that a test expecting ups::Error from the
// library never mistakes a failure of the test's own CUDA calls for it; Catch2 reports it as an
// unexpected exception with its message.
class CudaTestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::string cuda_error_message(const char* call, cudaError_t err, const char* file,
                                      int line) {
  std::ostringstream os;
  os << call << " failed at " << file << ":" << line << ": " << cudaGetErrorName(err) << ": "
     << cudaGetErrorString(err);
  return os.str();
}

}  // namespace ups_test

// Throws ups_test::CudaTestError naming the failed call and the CUDA error, after clearing the
// (non-sticky) error state so that later checks do not report it again.
#define UPS_TEST_CUDA_CHECK(call)                                                    \
  do {                                                                               \
    const cudaError_t ups_test_err_ = (call);                                        \
    if (ups_test_err_ != cudaSuccess) {                                              \
      (void)cudaGetLastError();                                                      \
      throw ::ups_test::CudaTestError(                                               \
          ::ups_test::cuda_error_message(#call, ups_test_err_, __FILE__, __LINE__)); \
    }                                                                                \
  } while (0)

namespace ups_test {

// Owns a cudaMalloc allocation. Zero bytes allocate nothing (get() is nullptr).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes_ > 0) UPS_TEST_CUDA_CHECK(cudaMalloc(&ptr_, bytes_));
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      ptr_ = std::exchange(other.ptr_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }

  void* get() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t size() const { return bytes_; }

 private:
  void reset() noexcept {
    // A destructor must not throw; a failing cudaFree here would also have failed the test's
    // own synchronisation before it.
    if (ptr_ != nullptr) (void)cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

// Owns a non-blocking CUDA stream: it does not synchronise implicitly with the legacy default
// stream, so a test that forgets to order its work on this stream sees the race.
class CudaStream {
 public:
  CudaStream() { UPS_TEST_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~CudaStream() {
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
  }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  cudaStream_t get() const { return stream_; }
  void synchronize() const { UPS_TEST_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

// Host <-> device copies ordered on `stream`. download_bytes waits for the stream.
inline void upload_bytes(void* device_dst, const void* host_src, std::size_t bytes,
                         cudaStream_t stream) {
  if (bytes == 0) return;
  UPS_TEST_CUDA_CHECK(cudaMemcpyAsync(device_dst, host_src, bytes, cudaMemcpyHostToDevice, stream));
}
inline void download_bytes(void* host_dst, const void* device_src, std::size_t bytes,
                           cudaStream_t stream) {
  if (bytes > 0) {
    UPS_TEST_CUDA_CHECK(
        cudaMemcpyAsync(host_dst, device_src, bytes, cudaMemcpyDeviceToHost, stream));
  }
  UPS_TEST_CUDA_CHECK(cudaStreamSynchronize(stream));
}

// Checks that every byte of [data, data + bytes) equals `sentinel`; returns "" or a description
// of the first byte that differs.
inline std::string check_sentinel(const std::vector<unsigned char>& bytes, unsigned char sentinel,
                                  const char* where) {
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != sentinel) {
      if (bad == 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return "";
  std::ostringstream os;
  os << bad << " byte(s) of the " << where << " guard region were overwritten; first at byte "
     << first << " (0x" << std::hex << static_cast<int>(bytes[first]) << ")";
  return os.str();
}

// A dense device tensor (contiguous or channels-last, the layouts of HostTensor) placed between
// two guard regions filled with a sentinel byte. Its memory image is byte-for-byte that of a
// HostTensor of the same dtype, shape and layout, so copies are plain memcpys.
class GuardedDeviceTensor {
 public:
  // 4 KiB keeps the tensor 256-byte aligned like any cudaMalloc result, so vectorised accesses
  // see the alignment they would see without guards.
  static constexpr std::size_t kGuardBytes = 4096;
  static constexpr unsigned char kSentinel = 0xA5;

  // Allocates the tensor and its guards and fills all of it with kSentinel (on `stream`).
  GuardedDeviceTensor(ups::DType dtype, const ups::Shape& shape, Layout layout, cudaStream_t stream)
      : layout_(layout),
        nbytes_(static_cast<std::size_t>(numel_of(shape)) * ups::dtype_size(dtype)),
        buffer_(nbytes_ + 2 * kGuardBytes),
        stream_(stream) {
    void* ptr = buffer_.as<unsigned char>() + kGuardBytes;
    view_ = layout == Layout::kContiguous
                ? ups::TensorView::contiguous(ptr, dtype, ups::Device::kCUDA, shape)
                : ups::TensorView::channels_last(ptr, dtype, ups::Device::kCUDA, shape);
    UPS_TEST_CUDA_CHECK(cudaMemsetAsync(buffer_.get(), kSentinel, buffer_.size(), stream_));
  }

  // A view of the tensor on Device::kCUDA with the layout's strides.
  const ups::TensorView& view() const { return view_; }
  void* data() const { return view_.data; }
  std::size_t nbytes() const { return nbytes_; }

  // Copies @p t (same dtype, shape and layout) into the tensor.
  void upload(const HostTensor& t) {
    if (t.dtype() != view_.dtype || t.shape() != view_.shape() || t.layout() != layout_) {
      throw std::invalid_argument("GuardedDeviceTensor::upload: dtype, shape or layout differ");
    }
    upload_bytes(data(), t.data(), t.nbytes(), stream_);
  }
  // Fills the tensor's own bytes (not the guards) with @p byte. 0xFF makes every float type NaN,
  // so an element the op forgets to write cannot match a finite expected value.
  void fill(unsigned char byte) {
    if (nbytes() > 0) UPS_TEST_CUDA_CHECK(cudaMemsetAsync(data(), byte, nbytes(), stream_));
  }
  // Synchronises the stream and returns the tensor's contents.
  HostTensor download() const {
    HostTensor out(view_.dtype, view_.shape(), layout_);
    download_bytes(out.data(), data(), out.nbytes(), stream_);
    return out;
  }
  // "" when both guard regions still hold kSentinel, else what was overwritten.
  std::string check_guards() const {
    std::vector<unsigned char> before(kGuardBytes), after(kGuardBytes);
    const auto* base = buffer_.as<const unsigned char>();
    UPS_TEST_CUDA_CHECK(
        cudaMemcpyAsync(before.data(), base, kGuardBytes, cudaMemcpyDeviceToHost, stream_));
    UPS_TEST_CUDA_CHECK(cudaMemcpyAsync(after.data(), base + kGuardBytes + nbytes(), kGuardBytes,
                                        cudaMemcpyDeviceToHost, stream_));
    UPS_TEST_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::string err = check_sentinel(before, kSentinel, "leading");
    const std::string err_after = check_sentinel(after, kSentinel, "trailing");
    if (!err_after.empty()) err += (err.empty() ? "" : "; ") + err_after;
    return err;
  }

 private:
  static std::int64_t numel_of(const ups::Shape& shape) {
    std::int64_t n = 1;
    for (std::int64_t s : shape)
      n *= s;
    return n;
  }

  Layout layout_;
  std::size_t nbytes_;
  DeviceBuffer buffer_;
  ups::TensorView view_;
  cudaStream_t stream_;
};

// Free and total memory of the current device.
inline std::pair<std::size_t, std::size_t> device_memory_info() {
  std::size_t free_bytes = 0, total_bytes = 0;
  UPS_TEST_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return {free_bytes, total_bytes};
}

// "" when got is within the summation-order tolerance of want: f64 to 1e-10, f32 to 1e-5, f16/bf16
// to a few units in the last place, relative to the value plus a small share of the largest
// magnitude (GPU and CPU reductions add in different orders). Else what differs.
inline std::string compare_summed(const HostTensor& got, const HostTensor& want) {
  double tol = 1e-10;
  if (got.dtype() == ups::DType::kF32) tol = 1e-5;
  if (got.dtype() == ups::DType::kF16) tol = 4.0 / 1024;
  if (got.dtype() == ups::DType::kBF16) tol = 4.0 / 128;
  double scale = 0;
  for (std::int64_t i = 0; i < want.numel(); ++i)
    scale = std::max(scale, std::fabs(want.get(i)));
  return compare(got, want, tol, tol * 0.05 * scale);
}

}  // namespace ups_test
