// Scratch memory for one CUDA op call: the context's workspace when the caller gave one, else a
// stream-ordered allocation (cudaMallocAsync) within the context's workspace limit, released
// (stream-ordered) when the object goes out of scope, after the op's work is enqueued.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "check.hpp"
#include "ups/context.hpp"

namespace ups {
namespace detail {

class Scratch {
 public:
  // `op` names the op in error messages; `hint` (optional) tells the caller how to avoid the
  // need.
  Scratch(const Context& ctx, std::size_t bytes, const char* op, const char* hint = "")
      : stream_(ctx.stream()) {
    if (bytes == 0) return;
    if (ctx.workspace() != nullptr) {
      UPS_CHECK(bytes <= ctx.workspace_bytes(), ErrorCode::kOutOfMemory, op, " needs ", bytes,
                " bytes of workspace on CUDA, but the context's workspace has ",
                ctx.workspace_bytes(), hint);
      base_ = static_cast<unsigned char*>(ctx.workspace());
      return;
    }
    UPS_CHECK(bytes <= ctx.workspace_limit(), ErrorCode::kOutOfMemory, op, " needs ", bytes,
              " bytes of scratch memory on CUDA, more than the context's workspace limit of ",
              ctx.workspace_limit(), " bytes", hint);
    void* p = nullptr;
    const cudaError_t err = cudaMallocAsync(&p, bytes, stream_);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      fail(err == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kCudaError,
           concat(op, ": cudaMallocAsync of ", bytes, " bytes failed: ", cudaGetErrorName(err),
                  ": ", cudaGetErrorString(err)));
    }
    owned_ = p;
    base_ = static_cast<unsigned char*>(p);
  }
  ~Scratch() { release(); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Enqueues the release; later work on the stream must not touch the memory.
  void release() noexcept {
    if (owned_ != nullptr) (void)cudaFreeAsync(owned_, stream_);
    owned_ = nullptr;
  }
  void* get() const { return base_; }
  // The start rounded up to 16 bytes (callers that use it reserve the slack).
  unsigned char* aligned() const {
    const auto a = reinterpret_cast<std::uintptr_t>(base_);
    return base_ + ((16 - a % 16) % 16);
  }
  // True when the memory was allocated here rather than taken from the context.
  bool allocated() const { return owned_ != nullptr; }

 private:
  StreamHandle stream_;
  void* owned_ = nullptr;
  unsigned char* base_ = nullptr;
};

}  // namespace detail
}  // namespace ups
