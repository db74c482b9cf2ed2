// The interface between the validating front end (src/*.cpp) and the backends (src/cpu,
// kernels/*.cu). Everything here has been validated before it is called.
#pragma once

#include <cstdint>
#include <string>

#include "interpolate/interp_math.hpp"
#include "ups/context.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

// A validated interpolate call: which body to run, on what geometry, with which scales.
struct InterpPlan {
  kern::InterpKind kind;
  kern::InterpGeometry geometry;
  double user_scale[3];  // scale factor driving the index math per dim (D, H, W), or 0
  bool align_corners;
  DType dtype;
  std::int64_t total;  // number of output elements
};

void interpolate_cpu(const InterpPlan& plan, const void* src, void* dst, int threads);

// CUDA runtime queries; CPU-only builds link stubs that report no device.
int cuda_device_count() noexcept;
std::string cuda_unavailable_reason();
// Enqueues the interpolate kernel on `stream`. Throws ups::Error on launch failure.
void interpolate_cuda(const InterpPlan& plan, const void* src, void* dst, StreamHandle stream);

}  // namespace detail
}  // namespace ups
