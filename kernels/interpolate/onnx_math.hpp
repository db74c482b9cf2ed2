// The per-dim math of ONNX Resize (opset 19 and later) in f64: coordinate transforms, nearest
// rounding, linear and cubic weights (stretched for antialias) and exclude_outside. src/resize.cpp
// builds the tap tables of ups::resize from these functions, once per call on the host; they are
// UPS_HD so that a kernel may evaluate them per element too. docs/semantics.md ("ONNX Resize")
// states every formula; the order of operations here follows ONNX's reference implementation
// (onnx/reference/ops/op_resize.py) where the specification leaves it open, so that ties (a
// coordinate exactly halfway between two indices, exactly on the border) fall the same way.
#pragma once

#include <cstdint>

#include "common/hd.hpp"

namespace ups {
namespace kern {
namespace onnx {

// Mirrors ups::CoordinateMode (kept separate so that device code needs no public header).
enum class Coord : int {
  kHalfPixel = 0,
  kHalfPixelSymmetric = 1,
  kPytorchHalfPixel = 2,
  kAlignCorners = 3,
  kAsymmetric = 4,
  kTfCropAndResize = 5,
};

// Mirrors ups::NearestMode.
enum class Nearest : int {
  kRoundPreferFloor = 0,
  kRoundPreferCeil = 1,
  kFloor = 2,
  kCeil = 3,
};

// What the coordinate transform of one dim needs.
struct DimGeometry {
  std::int64_t in;      // length_original
  std::int64_t out;     // length_resized (the integer output length)
  double scale;         // the dim's scale: given, or out / in for sizes
  double output_width;  // the possibly fractional target length (in * scale for scales)
  double roi_start;     // tf_crop_and_resize only
  double roi_end;
};

// ONNX's coordinate_transformation_mode: the input coordinate x_original of output coordinate
// x_resized. Lengths of 1 take the specification's special cases with the integer output length
// (length_resized), not the fractional target length.
UPS_HD double source_coordinate(Coord mode, std::int64_t x_resized, const DimGeometry& g) {
  const double x = static_cast<double>(x_resized);
  const double in = static_cast<double>(g.in);
  switch (mode) {
    case Coord::kHalfPixel:
      return (x + 0.5) / g.scale - 0.5;
    case Coord::kHalfPixelSymmetric: {
      // Centres the sampled window when out is the floor of a fractional target length.
      const double adjustment = static_cast<double>(g.out) / g.output_width;
      const double center = in / 2.0;
      const double offset = center * (1.0 - adjustment);
      return offset + (x + 0.5) / g.scale - 0.5;
    }
    case Coord::kPytorchHalfPixel:
      return g.out > 1 ? (x + 0.5) / g.scale - 0.5 : 0.0;
    case Coord::kAlignCorners:
      return g.out == 1 ? 0.0 : x * (in - 1.0) / static_cast<double>(g.out - 1);
    case Coord::kAsymmetric:
      return x / g.scale;
    case Coord::kTfCropAndResize:
      if (g.out > 1) {
        return x * (g.roi_end - g.roi_start) * (in - 1.0) / static_cast<double>(g.out - 1) +
               g.roi_start * (in - 1.0);
      }
      return 0.5 * (g.roi_start + g.roi_end) * (in - 1.0);
  }
  return 0.0;
}

// tf_crop_and_resize: a coordinate outside [0, length_original - 1] yields extrapolation_value.
// So does a NaN, which extreme roi values can produce (0 * inf).
UPS_HD bool is_outside(Coord mode, double x_original, std::int64_t in) {
  return mode == Coord::kTfCropAndResize &&
         !(x_original >= 0.0 && x_original <= static_cast<double>(in - 1));
}

// Splits x into the index left of it and the distance from there, in (0, 1]: an integer x counts
// as 1 past x - 1, so that windows prefer the left neighbour, as ONNX's reference does.
UPS_HD void split_coordinate(double x, std::int64_t* left, double* ratio) {
  const double f = floor(x);
  if (x == f) {
    *left = static_cast<std::int64_t>(f) - 1;
    *ratio = 1.0;
  } else {
    *left = static_cast<std::int64_t>(f);
    *ratio = x - f;
  }
}

UPS_HD std::int64_t clamp_index(std::int64_t i, std::int64_t in) {
  return i < 0 ? 0 : (i >= in ? in - 1 : i);
}

// nearest_mode: the source index of x_original, clamped to [0, in - 1]. An integer x is itself
// in every mode; otherwise round_prefer_floor takes the lower index up to and including the
// halfway point, round_prefer_ceil from the halfway point on.
UPS_HD std::int64_t nearest_index(Nearest mode, double x, std::int64_t in) {
  const double f = floor(x);
  std::int64_t i = static_cast<std::int64_t>(f);
  if (x != f) {
    const double ratio = x - f;
    bool up = false;
    switch (mode) {
      case Nearest::kRoundPreferFloor:
        up = ratio > 0.5;
        break;
      case Nearest::kRoundPreferCeil:
        up = ratio >= 0.5;
        break;
      case Nearest::kFloor:
        up = false;
        break;
      case Nearest::kCeil:
        up = true;
        break;
    }
    if (up) ++i;
  }
  return clamp_index(i, in);
}

// The filter's stretch: 1 without antialias or when upscaling, 1 / scale when downscaling. The
// weights are evaluated at distance * filter_scale.
UPS_HD double filter_scale(bool antialias, double scale) {
  return antialias && scale < 1.0 ? scale : 1.0;
}

// The window of a filter of half-width `support` (1 linear, 2 cubic) stretched by
// 1 / filter_scale: taps left + start .. left + start + taps - 1. Every tap with a non-zero
// weight lies inside it.
UPS_HD int window_start(int support, double fscale) {
  return static_cast<int>(floor(-static_cast<double>(support) / fscale)) + 1;
}
UPS_HD int window_taps(int support, double fscale) {
  return 2 - 2 * window_start(support, fscale);
}

// Keys' cubic convolution kernel with coefficient a at distance d.
UPS_HD double cubic_kernel(double d, double a) {
  d = d < 0.0 ? -d : d;
  const double d2 = d * d;
  const double d3 = d * d2;
  if (d <= 1.0) return (a + 2.0) * d3 - (a + 3.0) * d2 + 1.0;
  if (d < 2.0) return a * d3 - 5.0 * a * d2 + 8.0 * a * d - 4.0 * a;
  return 0.0;
}

// The triangle (linear) kernel at distance d.
UPS_HD double linear_kernel(double d) {
  d = d < 0.0 ? -d : d;
  return d < 1.0 ? 1.0 - d : 0.0;
}

// The weights of taps left + start + j (j < taps) for the distance `ratio` of x past `left`
// (split_coordinate), before exclude_outside. Without stretch the weights are the closed forms
// of the specification (two linear, four cubic, summing to 1 by construction); with antialias
// (fscale < 1 or not) the stretched kernel's values are normalised to sum to 1. Returns the
// number of taps written.
UPS_HD int filter_weights(bool cubic, double a, bool antialias, double fscale, double ratio,
                          double* w) {
  if (!antialias) {
    if (!cubic) {
      w[0] = 1.0 - ratio;
      w[1] = ratio;
      return 2;
    }
    const double r1 = ratio + 1.0, q = 1.0 - ratio, q1 = q + 1.0;
    w[0] = ((a * r1 - 5.0 * a) * r1 + 8.0 * a) * r1 - 4.0 * a;
    w[1] = ((a + 2.0) * ratio - (a + 3.0)) * ratio * ratio + 1.0;
    w[2] = ((a + 2.0) * q - (a + 3.0)) * q * q + 1.0;
    w[3] = ((a * q1 - 5.0 * a) * q1 + 8.0 * a) * q1 - 4.0 * a;
    return 4;
  }
  const int support = cubic ? 2 : 1;
  const int start = window_start(support, fscale);
  const int taps = 2 - 2 * start;
  double sum = 0.0;
  for (int j = 0; j < taps; ++j) {
    const double arg = (static_cast<double>(start + j) - ratio) * fscale;
    w[j] = cubic ? cubic_kernel(arg, a) : linear_kernel(arg);
    sum += w[j];
  }
  for (int j = 0; j < taps; ++j)
    w[j] /= sum;
  return taps;
}

// exclude_outside: taps outside [0, in) get weight 0 and the rest are scaled to sum to 1. A
// window entirely outside the input keeps all weights 0 (an output of 0, as ONNX's reference
// computes it); the coordinate transforms never produce one.
UPS_HD void exclude_outside(std::int64_t first, int taps, std::int64_t in, double* w) {
  double sum = 0.0;
  for (int j = 0; j < taps; ++j) {
    const std::int64_t i = first + j;
    if (i < 0 || i >= in) w[j] = 0.0;
    sum += w[j];
  }
  if (sum == 0.0) return;
  for (int j = 0; j < taps; ++j)
    w[j] /= sum;
}

}  // namespace onnx
}  // namespace kern
}  // namespace ups
