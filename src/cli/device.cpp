#include "cli/device.hpp"

#include <string>
#include <utility>

#include "ups/error.hpp"

#ifdef UPS_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace ups {
namespace cli {
namespace {

std::size_t view_bytes(const TensorView& v) {
  if (v.device != Device::kCPU || !v.is_contiguous()) {
    throw Error(ErrorCode::kInternal, "staging needs contiguous host views");
  }
  return static_cast<std::size_t>(v.numel()) * dtype_size(v.dtype);
}

#ifdef UPS_HAVE_CUDA
void cuda_check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  (void)cudaGetLastError();  // clear a non-sticky error so later calls start clean
  throw Error(
      err == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kCudaError,
      std::string(what) + " failed: " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}
#endif

}  // namespace

struct Staging::Impl {
  explicit Impl(Context& c) : ctx(c) {}
  struct Output {
    void* device;
    void* host;
    std::size_t bytes;
  };
  Context& ctx;
  std::vector<void*> allocations;
  std::vector<Output> outputs;
#ifdef UPS_HAVE_CUDA
  cudaStream_t stream = nullptr;

  void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = nullptr;
    cuda_check(cudaMalloc(&p, bytes), "cudaMalloc");
    allocations.push_back(p);
    return p;
  }
#endif
};

Staging::Staging(Context& ctx) : impl_(std::make_unique<Impl>(ctx)) {
  if (ctx.device() != Device::kCUDA) return;
#ifdef UPS_HAVE_CUDA
  cuda_check(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking),
             "cudaStreamCreateWithFlags");
  ctx.set_stream(impl_->stream);
#else
  throw Error(ErrorCode::kNotCompiled, "this build of the ups program has no CUDA support");
#endif
}

Staging::~Staging() {
#ifdef UPS_HAVE_CUDA
  if (impl_->stream != nullptr) {
    // Work may still be queued when an error unwinds the stack; it must end before its
    // memory is freed.
    (void)cudaStreamSynchronize(impl_->stream);
    for (void* p : impl_->allocations)
      (void)cudaFree(p);
    (void)cudaStreamDestroy(impl_->stream);
    (void)cudaGetLastError();
    impl_->ctx.set_stream(nullptr);
  }
#endif
}

TensorView Staging::input(const TensorView& host) {
  const std::size_t bytes = view_bytes(host);
  if (impl_->ctx.device() != Device::kCUDA) return host;
#ifdef UPS_HAVE_CUDA
  TensorView v = host;
  v.device = Device::kCUDA;
  v.data = impl_->allocate(bytes);
  if (bytes > 0) {
    cuda_check(cudaMemcpyAsync(v.data, host.data, bytes, cudaMemcpyHostToDevice, impl_->stream),
               "cudaMemcpyAsync (host to device)");
  }
  return v;
#else
  (void)bytes;
  throw Error(ErrorCode::kNotCompiled, "this build of the ups program has no CUDA support");
#endif
}

TensorView Staging::output(const TensorView& host) {
  const std::size_t bytes = view_bytes(host);
  if (impl_->ctx.device() != Device::kCUDA) return host;
#ifdef UPS_HAVE_CUDA
  TensorView v = host;
  v.device = Device::kCUDA;
  v.data = impl_->allocate(bytes);
  impl_->outputs.push_back({v.data, host.data, bytes});
  return v;
#else
  (void)bytes;
  throw Error(ErrorCode::kNotCompiled, "this build of the ups program has no CUDA support");
#endif
}

void Staging::finish() {
#ifdef UPS_HAVE_CUDA
  if (impl_->stream == nullptr) return;
  for (const Impl::Output& o : impl_->outputs) {
    if (o.bytes == 0) continue;
    cuda_check(cudaMemcpyAsync(o.host, o.device, o.bytes, cudaMemcpyDeviceToHost, impl_->stream),
               "cudaMemcpyAsync (device to host)");
  }
  cuda_check(cudaStreamSynchronize(impl_->stream), "cudaStreamSynchronize");
#endif
}

CudaReport query_cuda() {
  CudaReport r;
#ifdef UPS_HAVE_CUDA
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    r.error = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    return r;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    const cudaError_t e = cudaGetDeviceProperties(&p, i);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      r.error =
          "device " + std::to_string(i) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
      continue;
    }
    CudaDeviceInfo d;
    d.name = p.name;
    d.major = p.major;
    d.minor = p.minor;
    d.total_memory = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
    r.devices.push_back(std::move(d));
  }
#else
  r.error = "this build has no CUDA support";
#endif
  return r;
}

}  // namespace cli
}  // namespace ups
