// ups::resize: validation of ONNX Resize's attributes and inputs, the output shape rules, and the
// per-dim tap tables (kernels/interpolate/onnx_math.hpp) handed to the resampling engine
// (resample_plan.hpp) of the context's device.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "resample_plan.hpp"
#include "resize_plan.hpp"
#include "ups/resize.hpp"
#include "validate.hpp"

namespace ups {

using detail::list_to_string;

using detail::concat;
using detail::fail;
namespace onnx = kern::onnx;

namespace {

struct Names {
  const char* const* names;
  std::size_t count;
};

constexpr const char* kModeNames[] = {"nearest", "linear", "cubic"};
constexpr const char* kCoordNames[] = {"half_pixel",         "half_pixel_symmetric",
                                       "pytorch_half_pixel", "align_corners",
                                       "asymmetric",         "tf_crop_and_resize"};
constexpr const char* kNearestNames[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"};
constexpr const char* kPolicyNames[] = {"stretch", "not_larger", "not_smaller"};

template <class E, std::size_t N>
const char* name_of(E value, const char* const (&names)[N]) noexcept {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : "?";
}

template <class E, std::size_t N>
E parse_name(const std::string& name, const char* const (&names)[N], const char* what) {
  std::string expected;
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<E>(i);
    if (i > 0) expected += i + 1 == N ? " or " : ", ";
    expected += names[i];
  }
  fail(ErrorCode::kInvalidArgument,
       concat("unknown ", what, " '", name, "' (expected ", expected, ")"));
}

// Values outside the enumerators (an integer cast to the enum type) are rejected by name.
template <class E, std::size_t N>
void check_enum_value(E value, const char* const (&)[N], const char* what, const char* type) {
  UPS_CHECK(static_cast<std::size_t>(value) < N, ErrorCode::kInvalidArgument, what,
            " has the invalid value ", static_cast<unsigned>(value), ", which is not an ", type);
}

// The public enums and the kernel's mirror of them share their values.
static_assert(static_cast<int>(CoordinateMode::kHalfPixel) ==
                      static_cast<int>(onnx::Coord::kHalfPixel) &&
                  static_cast<int>(CoordinateMode::kHalfPixelSymmetric) ==
                      static_cast<int>(onnx::Coord::kHalfPixelSymmetric) &&
                  static_cast<int>(CoordinateMode::kPytorchHalfPixel) ==
                      static_cast<int>(onnx::Coord::kPytorchHalfPixel) &&
                  static_cast<int>(CoordinateMode::kAlignCorners) ==
                      static_cast<int>(onnx::Coord::kAlignCorners) &&
                  static_cast<int>(CoordinateMode::kAsymmetric) ==
                      static_cast<int>(onnx::Coord::kAsymmetric) &&
                  static_cast<int>(CoordinateMode::kTfCropAndResize) ==
                      static_cast<int>(onnx::Coord::kTfCropAndResize),
              "onnx::Coord must mirror ups::CoordinateMode");
static_assert(static_cast<int>(NearestMode::kRoundPreferFloor) ==
                      static_cast<int>(onnx::Nearest::kRoundPreferFloor) &&
                  static_cast<int>(NearestMode::kRoundPreferCeil) ==
                      static_cast<int>(onnx::Nearest::kRoundPreferCeil) &&
                  static_cast<int>(NearestMode::kFloor) ==
                      static_cast<int>(onnx::Nearest::kFloor) &&
                  static_cast<int>(NearestMode::kCeil) == static_cast<int>(onnx::Nearest::kCeil),
              "onnx::Nearest must mirror ups::NearestMode");

// The largest filter stretch (1 / scale) antialias accepts: windows of up to 4 * 2^22 taps.
constexpr double kMaxAntialiasStretch = 4194304.0;

// Output lengths must fit int64 (and the element count is checked on the whole shape).
std::int64_t to_length(double v, std::int64_t in, const char* how) {
  UPS_CHECK(v < 9.2233720368547758e18, ErrorCode::kOutOfMemory, "resize: output size ", v,
            " (input size ", in, " ", how, ") overflows int64");
  return static_cast<std::int64_t>(v);
}

}  // namespace

const char* to_string(ResizeMode mode) noexcept {
  return name_of(mode, kModeNames);
}
const char* to_string(CoordinateMode mode) noexcept {
  return name_of(mode, kCoordNames);
}
const char* to_string(NearestMode mode) noexcept {
  return name_of(mode, kNearestNames);
}
const char* to_string(AspectRatioPolicy policy) noexcept {
  return name_of(policy, kPolicyNames);
}

ResizeMode parse_resize_mode(const std::string& name) {
  return parse_name<ResizeMode>(name, kModeNames, "resize mode");
}
CoordinateMode parse_coordinate_mode(const std::string& name) {
  return parse_name<CoordinateMode>(name, kCoordNames, "coordinate_transformation_mode");
}
NearestMode parse_nearest_mode(const std::string& name) {
  return parse_name<NearestMode>(name, kNearestNames, "nearest_mode");
}
AspectRatioPolicy parse_aspect_ratio_policy(const std::string& name) {
  return parse_name<AspectRatioPolicy>(name, kPolicyNames, "keep_aspect_ratio_policy");
}

namespace detail {

namespace {

// The coordinate transforms give finite coordinates for valid options (tf_crop_and_resize's
// non-finite ones are outside); checked so that no window index comes from a non-finite value.
double finite_coordinate(double x, std::int64_t length) {
  UPS_CHECK(std::isfinite(x), ErrorCode::kInvalidArgument,
            "resize: the coordinate transform gives the non-finite input coordinate ", x,
            " in a dim of length ", length);
  return x;
}

}  // namespace

ResolvedResize resolve_resize(const Shape& in, const ResizeOptions& opt) {
  check_enum_value(opt.mode, kModeNames, "options.mode", "ups::ResizeMode");
  check_enum_value(opt.coordinate_mode, kCoordNames, "options.coordinate_mode",
                   "ups::CoordinateMode");
  if (opt.nearest_mode) {
    check_enum_value(*opt.nearest_mode, kNearestNames, "options.nearest_mode", "ups::NearestMode");
  }
  check_enum_value(opt.keep_aspect_ratio_policy, kPolicyNames, "options.keep_aspect_ratio_policy",
                   "ups::AspectRatioPolicy");

  const int rank = static_cast<int>(in.size());
  UPS_CHECK(rank >= 1 && rank <= kMaxDims, ErrorCode::kShapeMismatch,
            "resize: the input must have rank 1 to ", kMaxDims, ", but has rank ", rank, " (shape ",
            shape_to_string(in), ")");
  for (int d = 0; d < rank; ++d) {
    UPS_CHECK(in[d] >= 0, ErrorCode::kShapeMismatch, "resize: negative size in input shape ",
              shape_to_string(in));
  }
  // The same bound as a view of this shape has (detail::check_view), so that the shape query
  // rejects what the op would.
  checked_numel(in, "resize input");

  // The attributes that only some modes take.
  const bool tf = opt.coordinate_mode == CoordinateMode::kTfCropAndResize;
  const char* mode = to_string(opt.mode);
  UPS_CHECK(!opt.nearest_mode || opt.mode == ResizeMode::kNearest, ErrorCode::kInvalidArgument,
            "resize: nearest_mode applies to mode nearest only, not to mode ", mode);
  UPS_CHECK(!opt.cubic_coeff_a || opt.mode == ResizeMode::kCubic, ErrorCode::kInvalidArgument,
            "resize: cubic_coeff_a applies to mode cubic only, not to mode ", mode);
  if (opt.cubic_coeff_a) {
    UPS_CHECK(std::isfinite(*opt.cubic_coeff_a), ErrorCode::kInvalidArgument,
              "resize: cubic_coeff_a must be a finite number, but is ", *opt.cubic_coeff_a);
  }
  UPS_CHECK(!opt.antialias || opt.mode != ResizeMode::kNearest, ErrorCode::kInvalidArgument,
            "resize: antialias applies to modes linear and cubic only, not to mode nearest");
  UPS_CHECK(!opt.exclude_outside || opt.mode != ResizeMode::kNearest, ErrorCode::kInvalidArgument,
            "resize: exclude_outside applies to modes linear and cubic only, not to mode nearest");
  UPS_CHECK(opt.roi.empty() || tf, ErrorCode::kInvalidArgument,
            "resize: roi applies to coordinate mode tf_crop_and_resize only, not to ",
            to_string(opt.coordinate_mode));
  UPS_CHECK(opt.extrapolation_value == 0.0 || tf, ErrorCode::kInvalidArgument,
            "resize: extrapolation_value applies to coordinate mode tf_crop_and_resize only, not "
            "to ",
            to_string(opt.coordinate_mode));

  // sizes or scales, and the axes they refer to.
  const bool has_sizes = !opt.sizes.empty();
  const bool has_scales = !opt.scales.empty();
  UPS_CHECK(!(has_sizes && has_scales), ErrorCode::kInvalidArgument,
            "resize: give either sizes or scales, not both");
  UPS_CHECK(has_sizes || has_scales, ErrorCode::kInvalidArgument,
            "resize: either sizes or scales must be given");
  UPS_CHECK(opt.keep_aspect_ratio_policy == AspectRatioPolicy::kStretch || has_sizes,
            ErrorCode::kInvalidArgument, "resize: keep_aspect_ratio_policy ",
            to_string(opt.keep_aspect_ratio_policy),
            " applies to sizes only; with scales it must be stretch");

  std::vector<int> axes;
  if (opt.axes.empty()) {
    for (int d = 0; d < rank; ++d)
      axes.push_back(d);
  } else {
    UPS_CHECK(opt.axes.size() <= static_cast<std::size_t>(rank), ErrorCode::kShapeMismatch,
              "resize: ", opt.axes.size(), " axes ", list_to_string(opt.axes),
              " for an input of rank ", rank);
    bool seen[kMaxDims] = {};
    for (std::int64_t a : opt.axes) {
      UPS_CHECK(a >= -rank && a < rank, ErrorCode::kInvalidArgument, "resize: axis ", a,
                " is out of range for an input of rank ", rank, " (expected ", -rank, " to ",
                rank - 1, ")");
      const int d = static_cast<int>(a < 0 ? a + rank : a);
      UPS_CHECK(!seen[d], ErrorCode::kInvalidArgument, "resize: axes ", list_to_string(opt.axes),
                " name dim ", d, " more than once");
      seen[d] = true;
      axes.push_back(d);
    }
  }
  const std::size_t n = axes.size();
  const char* given = has_sizes ? "sizes" : "scales";
  const std::size_t given_count = has_sizes ? opt.sizes.size() : opt.scales.size();
  const std::string refer = opt.axes.empty() ? concat("the input's rank ", rank)
                                             : concat(n, " axes ", list_to_string(opt.axes));
  UPS_CHECK(given_count == n, ErrorCode::kShapeMismatch, "resize: ", given, " has ", given_count,
            " entries, but ", refer, " need ", n);
  if (tf) {
    UPS_CHECK(!opt.roi.empty(), ErrorCode::kInvalidArgument,
              "resize: coordinate mode tf_crop_and_resize needs roi (", 2 * n,
              " values: the starts, then the ends, of ", refer, ")");
    UPS_CHECK(opt.roi.size() == 2 * n, ErrorCode::kShapeMismatch, "resize: roi has ",
              opt.roi.size(), " entries, but ", refer, " need ", 2 * n,
              " (the starts, then the ends)");
    for (double v : opt.roi) {
      UPS_CHECK(std::isfinite(v), ErrorCode::kInvalidArgument,
                "resize: roi values must be finite, but roi is ", list_to_string(opt.roi));
    }
  }
  for (double s : opt.scales) {
    UPS_CHECK(std::isfinite(s) && s > 0.0, ErrorCode::kInvalidArgument,
              "resize: scales must be finite and greater than 0, but scales is ",
              list_to_string(opt.scales));
  }
  for (std::int64_t s : opt.sizes) {
    UPS_CHECK(s >= 0, ErrorCode::kInvalidArgument,
              "resize: sizes must not be negative, but sizes is ", list_to_string(opt.sizes));
  }

  ResolvedResize r;
  r.rank = rank;
  r.out_shape = in;
  for (int d = 0; d < rank; ++d) {
    onnx::DimGeometry& g = r.dim[d].g;
    g.in = g.out = in[d];
    g.scale = 1.0;
    g.output_width = static_cast<double>(in[d]);
    g.roi_start = 0.0;
    g.roi_end = 1.0;
  }
  // The single scale of keep_aspect_ratio_policy not_larger / not_smaller.
  double policy_scale = 0.0;
  if (has_sizes && opt.keep_aspect_ratio_policy != AspectRatioPolicy::kStretch) {
    const bool larger = opt.keep_aspect_ratio_policy == AspectRatioPolicy::kNotSmaller;
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t len = in[axes[i]];
      UPS_CHECK(len > 0, ErrorCode::kShapeMismatch, "resize: keep_aspect_ratio_policy ",
                to_string(opt.keep_aspect_ratio_policy), " needs non-empty resized dims, but dim ",
                axes[i], " of input shape ", shape_to_string(in), " is empty");
      const double s = static_cast<double>(opt.sizes[i]) / static_cast<double>(len);
      if (i == 0 || (larger ? s > policy_scale : s < policy_scale)) policy_scale = s;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const int d = axes[i];
    ResizeDim& dim = r.dim[d];
    onnx::DimGeometry& g = dim.g;
    dim.resized = true;
    const double len = static_cast<double>(in[d]);
    if (tf) {
      g.roi_start = opt.roi[i];
      g.roi_end = opt.roi[n + i];
    }
    if (has_scales) {
      const double s = opt.scales[i];
      // floor(length_in * scale), as ONNX's shape inference, its reference implementation and
      // ONNX Runtime compute it. The operator's text writes floor(in * (roi_end - roi_start) *
      // scale), which only differs with tf_crop_and_resize; docs/semantics.md explains the
      // choice.
      const double o = std::floor(len * s);
      g.out = to_length(o, in[d], "times its scale");
      g.scale = s;
      g.output_width = len * s;
    } else if (opt.keep_aspect_ratio_policy == AspectRatioPolicy::kStretch) {
      g.out = opt.sizes[i];
      g.scale = static_cast<double>(g.out) / len;
      g.output_width = static_cast<double>(g.out);
    } else {
      // round_int of the specification: halves round up.
      g.out = to_length(std::floor(policy_scale * len + 0.5), in[d], "times the policy's scale");
      g.scale = policy_scale;
      g.output_width = policy_scale * len;
    }
    r.out_shape[d] = g.out;
  }
  // Antialias stretches the filter by 1 / scale: its window, 2 * support / scale taps, is
  // bounded here so that no table (and no window index) can grow without limit.
  if (opt.antialias) {
    for (int d = 0; d < rank; ++d) {
      const onnx::DimGeometry& g = r.dim[d].g;
      if (!r.dim[d].resized || g.out == 0 || g.scale >= 1.0) continue;
      UPS_CHECK(1.0 / g.scale <= kMaxAntialiasStretch, ErrorCode::kInvalidArgument,
                "resize: antialias with scale ", g.scale, " in dim ", d,
                " would stretch the filter by ", 1.0 / g.scale, "; ups supports at most ",
                kMaxAntialiasStretch);
    }
  }
  for (int d = 0; d < rank; ++d) {
    UPS_CHECK(in[d] > 0 || r.out_shape[d] == 0, ErrorCode::kShapeMismatch, "resize: dim ", d,
              " of input shape ", shape_to_string(in), " is empty but its output size is ",
              r.out_shape[d], "; an empty dim can only be resized to 0");
  }
  checked_numel(r.out_shape, "resize output");
  return r;
}

ResampleAxis make_resize_axis(const onnx::DimGeometry& g, const ResizeOptions& opt) {
  const auto coord = static_cast<onnx::Coord>(opt.coordinate_mode);
  const bool tf = opt.coordinate_mode == CoordinateMode::kTfCropAndResize;
  ResampleAxis ax;
  ax.in = g.in;
  ax.out = g.out;
  const auto out = static_cast<std::size_t>(g.out);
  if (tf) ax.outside.assign(out, 0);
  bool outside_any = false;

  if (opt.mode == ResizeMode::kNearest) {
    const auto nm =
        static_cast<onnx::Nearest>(opt.nearest_mode.value_or(NearestMode::kRoundPreferFloor));
    ax.k = 1;
    ax.idx.resize(out);
    ax.w.assign(out, 1.0);
    for (std::int64_t o = 0; o < g.out; ++o) {
      const double x = onnx::source_coordinate(coord, o, g);
      if (onnx::is_outside(coord, x, g.in)) {
        ax.outside[o] = 1;
        ax.idx[o] = 0;
        outside_any = true;
        continue;
      }
      ax.idx[o] = onnx::nearest_index(nm, finite_coordinate(x, g.in), g.in);
    }
  } else {
    const bool cubic = opt.mode == ResizeMode::kCubic;
    const double a = opt.cubic_coeff_a.value_or(-0.75);
    const double fscale = onnx::filter_scale(opt.antialias, g.scale);
    const int start = onnx::window_start(cubic ? 2 : 1, fscale);
    const int taps = 2 - 2 * start;
    // Taps left of 0 or right of in - 1 read the border element (unless excluded): each row's
    // clamped window is the contiguous range [lo, hi], at most min(taps, in) long, which bounds
    // the table for strong downscales.
    std::vector<double> w(static_cast<std::size_t>(taps));
    std::vector<std::int64_t> lo(out), hi(out);
    std::vector<double> row_w;  // out rows of (hi - lo + 1) weights, packed
    std::vector<std::size_t> row_at(out + 1, 0);
    int k = 1;
    for (std::int64_t o = 0; o < g.out; ++o) {
      const double x = onnx::source_coordinate(coord, o, g);
      row_at[o + 1] = row_at[o];
      if (onnx::is_outside(coord, x, g.in)) {
        ax.outside[o] = 1;
        outside_any = true;
        lo[o] = hi[o] = 0;
        row_w.push_back(0.0);
        ++row_at[o + 1];
        continue;
      }
      std::int64_t left = 0;
      double ratio = 0.0;
      onnx::split_coordinate(finite_coordinate(x, g.in), &left, &ratio);
      onnx::filter_weights(cubic, a, opt.antialias, fscale, ratio, w.data());
      const std::int64_t first = left + start;
      if (opt.exclude_outside) onnx::exclude_outside(first, taps, g.in, w.data());
      lo[o] = onnx::clamp_index(first, g.in);
      hi[o] = onnx::clamp_index(first + taps - 1, g.in);
      const std::size_t base = row_w.size();
      row_w.resize(base + static_cast<std::size_t>(hi[o] - lo[o] + 1), 0.0);
      for (int j = 0; j < taps; ++j)
        row_w[base + static_cast<std::size_t>(onnx::clamp_index(first + j, g.in) - lo[o])] += w[j];
      row_at[o + 1] = row_w.size();
      k = std::max(k, static_cast<int>(hi[o] - lo[o] + 1));
    }
    ax.k = k;
    ax.idx.assign(out * static_cast<std::size_t>(k), 0);
    ax.w.assign(out * static_cast<std::size_t>(k), 0.0);
    for (std::size_t o = 0; o < out; ++o) {
      const std::size_t len = row_at[o + 1] - row_at[o];
      for (std::size_t j = 0; j < static_cast<std::size_t>(k); ++j) {
        // Padding taps repeat the window's first index with weight 0.
        ax.idx[o * k + j] = j < len ? lo[o] + static_cast<std::int64_t>(j) : lo[o];
        ax.w[o * k + j] = j < len ? row_w[row_at[o] + j] : 0.0;
      }
    }
  }
  if (!outside_any) ax.outside.clear();

  // A dim whose taps copy element o to o (same length, one weight 1 per row) is left alone, so
  // that the backends skip it.
  if (g.out == g.in && !outside_any) {
    bool identity = true;
    for (std::size_t o = 0; o < out && identity; ++o) {
      int ones = 0;
      for (int j = 0; j < ax.k && identity; ++j) {
        const double wj = ax.w[o * ax.k + j];
        const std::int64_t ij = ax.idx[o * ax.k + j];
        ones += wj == 1.0;
        identity = wj == 0.0 || (wj == 1.0 && ij == static_cast<std::int64_t>(o));
      }
      identity = identity && ones == 1;
    }
    if (identity) return ResampleAxis::identity(g.in);
  }
  return ax;
}

ResamplePlan make_resize_plan(const ResolvedResize& r, DType dtype, const ResizeOptions& opt) {
  ResamplePlan plan;
  plan.dtype = dtype;
  plan.rank = r.rank;
  plan.weighted = opt.mode != ResizeMode::kNearest;
  plan.extrapolation_value = opt.extrapolation_value;
  for (int d = 0; d < r.rank; ++d) {
    const ResizeDim& dim = r.dim[d];
    plan.axis[d] = dim.resized ? make_resize_axis(dim.g, opt) : ResampleAxis::identity(dim.g.in);
  }
  return plan;
}

}  // namespace detail

namespace {

void check_dtype(DType dtype, ResizeMode mode, const char* what) {
  detail::check_enum(dtype, what);
  const bool is_float =
      dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kF16 || dtype == DType::kBF16;
  const bool ok = is_float || (dtype == DType::kU8 && mode == ResizeMode::kNearest);
  UPS_CHECK(ok, ErrorCode::kUnsupportedDType, "resize: mode ", to_string(mode),
            " does not support dtype ", to_string(dtype), " (supported: f32, f64, f16, bf16",
            mode == ResizeMode::kNearest ? ", u8)" : ")");
}

}  // namespace

Shape resize_output_shape(const Shape& input_shape, const ResizeOptions& options) {
  return detail::resolve_resize(input_shape, options).out_shape;
}

void resize(const Context& ctx, const TensorView& src, const TensorView& dst,
            const ResizeOptions& options) {
  detail::check_view(src, "src");
  detail::check_view(dst, "dst");
  const detail::ResolvedResize r = detail::resolve_resize(src.shape(), options);
  check_dtype(src.dtype, options.mode, "src.dtype");
  UPS_CHECK(dst.dtype == src.dtype, ErrorCode::kUnsupportedDType, "resize: dst has dtype ",
            to_string(dst.dtype), " but src has dtype ", to_string(src.dtype));
  UPS_CHECK(dst.shape() == r.out_shape, ErrorCode::kShapeMismatch, "resize: expected dst of shape ",
            shape_to_string(r.out_shape), " but got ", shape_to_string(dst.shape()));
  detail::check_device(ctx, src, "src");
  detail::check_device(ctx, dst, "dst");
  detail::check_no_self_overlap(dst, "dst");
  detail::check_no_overlap(src, dst);
  if (dst.numel() == 0) return;

  const detail::ResamplePlan plan = detail::make_resize_plan(r, src.dtype, options);
  if (ctx.device() == Device::kCPU) {
    detail::resample_cpu(plan, src, dst, ctx.num_threads());
  } else {
    const detail::CudaDeviceScope scope(ctx, {{"src", &src}, {"dst", &dst}});
    detail::resample_cuda(ctx, plan, src, dst);
  }
}

std::size_t resize_workspace_size(const Context& ctx, const Shape& input_shape, DType dtype,
                                  const ResizeOptions& options) {
  const detail::ResolvedResize r = detail::resolve_resize(input_shape, options);
  check_dtype(dtype, options.mode, "dtype");
  if (ctx.device() == Device::kCPU || detail::checked_numel(r.out_shape, "resize output") == 0)
    return 0;
  return detail::resample_cuda_workspace(detail::make_resize_plan(r, dtype, options));
}

}  // namespace ups
