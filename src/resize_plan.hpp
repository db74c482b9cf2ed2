// ups::resize's resolved call: the output shape and, per dim, what the coordinate transform
// needs (src/resize.cpp). Separate from the op so that the table builder can be reached from
// the front end and from workspace queries alike.
#pragma once

#include <cstdint>

#include "interpolate/onnx_math.hpp"
#include "resample_plan.hpp"
#include "ups/resize.hpp"

namespace ups {
namespace detail {

struct ResizeDim {
  bool resized = false;  // named by `axes` (or every dim without axes)
  kern::onnx::DimGeometry g{};
};

struct ResolvedResize {
  Shape out_shape;
  int rank = 0;
  ResizeDim dim[kMaxDims];
};

// Validates `options` for an input of shape `in` (every rule of ups::resize except those on
// the tensors themselves) and resolves the output shape and the per-dim geometry.
ResolvedResize resolve_resize(const Shape& in, const ResizeOptions& options);

// The tap tables of every dim, for a non-empty output.
ResamplePlan make_resize_plan(const ResolvedResize& r, DType dtype, const ResizeOptions& options);

// The taps of one resized dim (in > 0, out > 0).
ResampleAxis make_resize_axis(const kern::onnx::DimGeometry& g, const ResizeOptions& options);

}  // namespace detail
}  // namespace ups
