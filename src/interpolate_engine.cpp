// The interpolate modes that run on the separable resampling engine (src/resample_plan.hpp):
// lanczos, tricubic and anti-aliased trilinear / tricubic. Each spatial dim's taps come from the
// shared per-dim math of kernels/interpolate/interp_math.hpp, evaluated once per output
// coordinate in the accumulation type (f32 for f32, f16 and bf16; f64 for f64) as PyTorch
// evaluates its weight tables, and stored exactly in the plan's double tables.
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "interpolate/interp_math.hpp"
#include "interpolate_plan.hpp"
#include "resample_plan.hpp"

namespace ups {
namespace detail {
namespace {

// Anti-aliased taps of one dim for the filter `filter` of half-width `half`. PyTorch's separable
// anti-aliasing skips a dim whose size does not change (even when a scale factor other than 1
// was given), so that dim is the identity.
template <class Acc, class Filter>
ResampleAxis aa_axis(std::int64_t in, std::int64_t out, double user_scale, bool align_corners,
                     Acc half, Filter filter) {
  if (in == out) return ResampleAxis::identity(in);
  const Acc scale = kern::area_pixel_compute_scale<Acc>(in, out, align_corners, user_scale);
  const std::int64_t k = kern::aa_max_taps(scale, half);
  // The tables hold out * k taps, about interp_size * in for a downscale (k grows with the
  // scale), so any downscale fits; only the counts themselves must stay representable.
  UPS_CHECK(k <= INT32_MAX && out <= INT64_MAX / 16 / k, ErrorCode::kOutOfMemory,
            "interpolate: an anti-aliasing window of ", k, " taps for ", out,
            " outputs is too large");
  ResampleAxis a;
  a.in = in;
  a.out = out;
  a.k = static_cast<int>(k);
  a.idx.assign(static_cast<std::size_t>(out * k), 0);
  a.w.assign(static_cast<std::size_t>(out * k), 0.0);
  std::vector<Acc> w(static_cast<std::size_t>(k));
  for (std::int64_t o = 0; o < out; ++o) {
    std::int64_t xmin = 0;
    const std::int64_t n = kern::aa_taps(scale, half, o, in, filter, &xmin, w.data());
    const auto base = static_cast<std::size_t>(o * k);
    for (std::int64_t j = 0; j < k; ++j) {
      // Taps past the window read a valid element with weight 0.
      const bool used = j < n;
      a.idx[base + static_cast<std::size_t>(j)] = used ? xmin + j : kern::min_hd(xmin, in - 1);
      a.w[base + static_cast<std::size_t>(j)] =
          used ? static_cast<double>(w[static_cast<std::size_t>(j)]) : 0.0;
    }
  }
  return a;
}

// Bicubic's four taps per output (kern::cubic_taps), clamped to the border.
template <class Acc>
ResampleAxis cubic_axis(std::int64_t in, std::int64_t out, double user_scale, bool align_corners) {
  const Acc scale = kern::area_pixel_compute_scale<Acc>(in, out, align_corners, user_scale);
  ResampleAxis a;
  a.in = in;
  a.out = out;
  a.k = 4;
  a.idx.resize(static_cast<std::size_t>(out * 4));
  a.w.resize(static_cast<std::size_t>(out * 4));
  for (std::int64_t o = 0; o < out; ++o) {
    const kern::CubicTaps<Acc> t = kern::cubic_taps(scale, o, in, align_corners);
    for (int j = 0; j < 4; ++j) {
      a.idx[static_cast<std::size_t>(o * 4 + j)] = t.i[j];
      a.w[static_cast<std::size_t>(o * 4 + j)] = static_cast<double>(t.w[j]);
    }
  }
  return a;
}

template <class Acc>
ResampleAxis engine_axis(InterpEngine rule, std::int64_t in, std::int64_t out, double user_scale,
                         bool align_corners) {
  switch (rule) {
    case InterpEngine::kLanczos:
      return aa_axis<Acc>(in, out, user_scale, align_corners, Acc(3),
                          [](Acc x) { return kern::lanczos3_filter(x); });
    case InterpEngine::kAaLinear:
      return aa_axis<Acc>(in, out, user_scale, align_corners, Acc(1),
                          [](Acc x) { return kern::aa_filter(x, false); });
    case InterpEngine::kAaCubic:
      return aa_axis<Acc>(in, out, user_scale, align_corners, Acc(2),
                          [](Acc x) { return kern::aa_filter(x, true); });
    case InterpEngine::kCubic:
      return cubic_axis<Acc>(in, out, user_scale, align_corners);
    case InterpEngine::kNone:
      break;
  }
  fail(ErrorCode::kInternal, "interpolate: no engine rule");
}

}  // namespace

ResamplePlan make_interp_engine_plan(InterpEngine rule, const TensorView& in, const TensorView& out,
                                     const double* user_scale, bool align_corners) {
  ResamplePlan plan;
  plan.dtype = in.dtype;
  plan.rank = in.ndim;
  plan.weighted = true;
  for (int d = 0; d < in.ndim; ++d) {
    if (d < 2) {
      plan.axis[d] = ResampleAxis::identity(in.sizes[d]);  // N and C
    } else if (in.dtype == DType::kF64) {
      plan.axis[d] =
          engine_axis<double>(rule, in.sizes[d], out.sizes[d], user_scale[d - 2], align_corners);
    } else {
      plan.axis[d] =
          engine_axis<float>(rule, in.sizes[d], out.sizes[d], user_scale[d - 2], align_corners);
    }
  }
  return plan;
}

}  // namespace detail
}  // namespace ups
