// ups::pixel_shuffle's and ups::pixel_unshuffle's plan: what the front end (src/pixel_shuffle.cpp)
// validated and hands to the backends (src/cpu/pixel_shuffle_cpu.cpp,
// kernels/pixel_shuffle/pixel_shuffle.cu).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "dispatch.hpp"
#include "pixel_shuffle/shuffle_math.hpp"
#include "ups/context.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

struct PixelShufflePlan {
  kern::ShuffleGeometry geometry;
  DType dtype;
  std::int64_t total;  // number of output elements
  bool allow_vector;   // ShuffleKernel::kAuto
};

// One leading dim (before C, H, W) of a shuffle: its size and the strides of src and dst.
struct ShuffleLeadDim {
  std::int64_t size;
  std::int64_t src_stride;
  std::int64_t dst_stride;
};

// The `count` leading dims with the given sizes and strides, outermost first, reduced to as few
// as address the same elements in the same order: size-1 dims are dropped, and a dim merges
// into the next inner one when, in src and in dst alike, its stride is the inner one's stride
// times the inner size. Empty when every leading dim has size 1 (or there are none).
inline std::vector<ShuffleLeadDim> collapse_shuffle_lead_dims(int count, const std::int64_t* sizes,
                                                              const std::int64_t* src_strides,
                                                              const std::int64_t* dst_strides) {
  std::vector<ShuffleLeadDim> dims;
  for (int i = 0; i < count; ++i) {
    if (sizes[i] != 1) dims.push_back({sizes[i], src_strides[i], dst_strides[i]});
  }
  // Merge from the inside out: dims[k] folds into dims[k + 1] when stepping it once is the same
  // as stepping dims[k + 1] through its whole size, in both tensors.
  std::vector<ShuffleLeadDim> merged;
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
    if (!merged.empty()) {
      ShuffleLeadDim& inner = merged.back();
      if (it->src_stride == inner.src_stride * inner.size &&
          it->dst_stride == inner.dst_stride * inner.size) {
        inner.size *= it->size;
        continue;
      }
    }
    merged.push_back(*it);
  }
  return std::vector<ShuffleLeadDim>(merged.rbegin(), merged.rend());
}

void pixel_shuffle_cpu(const PixelShufflePlan& plan, const void* src, void* dst, int threads);
// Enqueues the shuffle kernel on `stream`. Throws ups::Error on launch failure.
void pixel_shuffle_cuda(const PixelShufflePlan& plan, const void* src, void* dst,
                        StreamHandle stream);

}  // namespace detail
}  // namespace ups
