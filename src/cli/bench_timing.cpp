// The timing of `ups bench`. CPU runs are timed with std::chrono::steady_clock around each call.
// CUDA runs are timed with CUDA events around each call (one pair per run), and the cache is
// kept out of the measurement by rotating among enough buffer sets that the data touched between
// two uses of one set is at least twice the L2 size, or, when that many sets do not fit in
// memory, by overwriting a buffer of twice the L2 size before each run (outside the events).
// Both devices' copy bandwidths are measured in the same process, counted as read plus write
// bytes, so that every case can be reported as a fraction of it.
#include "cli/bench_timing.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "cli/command_util.hpp"

namespace ups {
namespace cli {
namespace bench {

Stats stats_of(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Stats s;
  const std::size_t n = ms.size();
  s.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  s.min_ms = ms.front();
  s.max_ms = ms.back();
  return s;
}

std::vector<double> time_cpu(Problem& p, int warmup, int repeat) {
  for (int i = 0; i < warmup; ++i)
    p.run(0);
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    p.run(0);
    ms.push_back(elapsed_ms(start));
  }
  return ms;
}

double cpu_copy_gbps(int threads) {
  const std::size_t bytes = kCpuCopyBytes;
  // Buffer zero-fills, so both buffers are mapped before the first copy (what is copied does
  // not change the bandwidth).
  Buffer src(Device::kCPU, bytes);
  Buffer dst(Device::kCPU, bytes);
  const std::size_t n = static_cast<std::size_t>(std::max(threads, 1));
  // Page-aligned slices, so that no two threads write to one page.
  const std::size_t slice = (bytes / n + 4095) / 4096 * 4096;
  auto copy_slice = [&](std::size_t t) {
    const std::size_t begin = std::min(bytes, t * slice);
    const std::size_t end = std::min(bytes, begin + slice);
    std::memcpy(static_cast<char*>(dst.data()) + begin,
                static_cast<const char*>(src.data()) + begin, end - begin);
  };
  // The op calls run on a pool whose threads already exist; starting n - 1 threads per copy
  // costs tens of microseconds against tens of milliseconds of copying.
  auto copy = [&] {
    std::vector<std::thread> workers;
    for (std::size_t t = 1; t < n; ++t)
      workers.emplace_back(copy_slice, t);
    copy_slice(0);
    for (std::thread& w : workers)
      w.join();
  };
  // Few calls: the median of a memory-bound copy this long hardly varies, and every run of the
  // program pays for them.
  copy();
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    copy();
    ms.push_back(elapsed_ms(start));
  }
  return 2.0 * static_cast<double>(bytes) / (stats_of(ms).median_ms * 1e6);
}

#ifdef UPS_HAVE_CUDA
CudaTimer::CudaTimer() {
  int device = 0;
  cuda_check(cudaGetDevice(&device), "cudaGetDevice");
  int l2 = 0;
  cuda_check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device), "cudaDeviceGetAttribute");
  l2_bytes_ = static_cast<std::size_t>(l2);
  cudaDeviceProp prop{};
  cuda_check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  name_ = prop.name;
  cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
             "cudaStreamCreateWithFlags");
}

CudaTimer::~CudaTimer() {
  for (cudaEvent_t e : events_)
    (void)cudaEventDestroy(e);
  if (flush_ != nullptr) (void)cudaFree(flush_);
  (void)cudaStreamSynchronize(stream_);
  (void)cudaStreamDestroy(stream_);
}

std::size_t CudaTimer::free_bytes() const {
  std::size_t free = 0, total = 0;
  cuda_check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return free;
}

std::vector<double> CudaTimer::time(const std::function<void(std::size_t)>& run, std::size_t sets,
                                    bool flush, int warmup, int repeat) {
  // The buffers were filled with cudaMemset and cudaMemcpy on the legacy default stream, which
  // the non-blocking timing stream does not wait for.
  cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  events(2 * static_cast<std::size_t>(repeat));
  if (flush && flush_ == nullptr) {
    flush_bytes_ = std::max<std::size_t>(2 * l2_bytes_, std::size_t(64) << 20);
    cuda_check(cudaMalloc(&flush_, flush_bytes_), "cudaMalloc");
  }
  std::size_t k = 0;
  for (int i = 0; i < warmup; ++i) {
    if (flush) cuda_check(cudaMemsetAsync(flush_, i & 0xff, flush_bytes_, stream_), "memset");
    run(k);
    k = (k + 1) % sets;
  }
  cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  for (int i = 0; i < repeat; ++i) {
    if (flush) cuda_check(cudaMemsetAsync(flush_, i & 0xff, flush_bytes_, stream_), "memset");
    cuda_check(cudaEventRecord(events_[2 * i], stream_), "cudaEventRecord");
    run(k);
    cuda_check(cudaEventRecord(events_[2 * i + 1], stream_), "cudaEventRecord");
    k = (k + 1) % sets;
  }
  cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    float t = 0;
    cuda_check(cudaEventElapsedTime(&t, events_[2 * i], events_[2 * i + 1]),
               "cudaEventElapsedTime");
    ms.push_back(t);
  }
  return ms;
}

double CudaTimer::copy_gbps() {
  const std::size_t bytes = std::size_t(1) << 30;
  void* a = nullptr;
  void* b = nullptr;
  cuda_check(cudaMalloc(&a, bytes), "cudaMalloc");
  const cudaError_t err = cudaMalloc(&b, bytes);
  if (err != cudaSuccess) {
    (void)cudaFree(a);
    cuda_check(err, "cudaMalloc");
  }
  std::vector<double> ms;
  try {
    cuda_check(cudaMemsetAsync(a, 1, bytes, stream_), "cudaMemsetAsync");
    cuda_check(cudaMemsetAsync(b, 0, bytes, stream_), "cudaMemsetAsync");
    auto copy = [&](std::size_t) {
      cuda_check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream_),
                 "cudaMemcpyAsync");
    };
    ms = time(copy, 1, false, 3, 20);
  } catch (...) {
    (void)cudaFree(a);
    (void)cudaFree(b);
    throw;
  }
  (void)cudaFree(a);
  (void)cudaFree(b);
  return 2.0 * static_cast<double>(bytes) / (stats_of(ms).median_ms * 1e6);
}

void CudaTimer::events(std::size_t count) {
  while (events_.size() < count) {
    cudaEvent_t e = nullptr;
    cuda_check(cudaEventCreate(&e), "cudaEventCreate");
    events_.push_back(e);
  }
}
#endif

}  // namespace bench
}  // namespace cli
}  // namespace ups
