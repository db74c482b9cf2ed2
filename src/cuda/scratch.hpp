// Scratch memory for one CUDA op call: a 256-byte-aligned carve-out of the context's workspace
// when the caller gave one, else a stream-ordered allocation from ups's pool on the op's device
// (within the context's workspace limit), released (stream-ordered) when the object goes out of
// scope, after the op's work is enqueued. Construct it inside a CudaDeviceScope.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "ups/context.hpp"

namespace ups {
namespace detail {

// The pool that scratch allocations on `device` come from (src/cuda/device.cpp): created on first
// use, with a release threshold that keeps freed memory for the next call.
cudaMemPool_t scratch_pool(int device);

class Scratch {
 public:
  // `need` is the payload in bytes; `op` names the op in error messages; `hint` (optional)
  // tells the caller how to avoid the need.
  Scratch(const Context& ctx, std::size_t need, const char* op, const char* hint = "")
      : stream_(ctx.stream()) {
    if (need == 0) return;
    const std::size_t bytes = scratch_footprint(need);
    if (ctx.workspace() != nullptr) {
      UPS_CHECK(bytes <= ctx.workspace_bytes(), ErrorCode::kOutOfMemory, op, " needs ", bytes,
                " bytes of workspace on CUDA (", need, " plus ", kScratchAlign - 1,
                " for alignment), but the context's workspace has ", ctx.workspace_bytes(), hint);
      base_ = align_up(ctx.workspace());
      return;
    }
    UPS_CHECK(bytes <= ctx.workspace_limit(), ErrorCode::kOutOfMemory, op, " needs ", bytes,
              " bytes of scratch memory on CUDA, more than the context's workspace limit of ",
              ctx.workspace_limit(), " bytes", hint);
    int device = 0;
    check(cudaGetDevice(&device), op, "cudaGetDevice");
    void* p = nullptr;
    check(cudaMallocFromPoolAsync(&p, bytes, scratch_pool(device), stream_), op,
          "cudaMallocFromPoolAsync");
    owned_ = p;
    base_ = align_up(p);
  }
  ~Scratch() { release(); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Enqueues the release; later work on the stream must not touch the memory.
  void release() noexcept {
    if (owned_ != nullptr) (void)cudaFreeAsync(owned_, stream_);
    owned_ = nullptr;
  }
  // The aligned start of the scratch (null for a need of 0).
  unsigned char* get() const { return base_; }
  // True when the memory was allocated here rather than taken from the context.
  bool allocated() const { return owned_ != nullptr; }

 private:
  static unsigned char* align_up(void* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    return static_cast<unsigned char*>(p) + ((kScratchAlign - a % kScratchAlign) % kScratchAlign);
  }
  static void check(cudaError_t err, const char* op, const char* what) {
    if (err == cudaSuccess) return;
    (void)cudaGetLastError();
    fail(err == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kCudaError,
         concat(op, ": ", what, " failed: ", cudaGetErrorName(err), ": ", cudaGetErrorString(err)));
  }

  StreamHandle stream_;
  void* owned_ = nullptr;
  unsigned char* base_ = nullptr;
};

}  // namespace detail
}  // namespace ups
