// Validation and planning of ups::interpolate, following torch.nn.functional.interpolate and
// ATen's upsample_*d_common_check (messages included), then dispatch to a backend.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "interpolate_plan.hpp"
#include "ups/interpolate.hpp"
#include "validate.hpp"

namespace ups {

using detail::list_to_string;

using detail::concat;
using detail::fail;

namespace {

constexpr std::uint32_t dtype_bit(DType t) {
  return std::uint32_t(1) << static_cast<unsigned>(t);
}
constexpr std::uint32_t kFloatTypes = dtype_bit(DType::kF32) | dtype_bit(DType::kF64) |
                                      dtype_bit(DType::kF16) | dtype_bit(DType::kBF16);

using kern::InterpKind;

// One row per mode: the public traits plus what only the library needs.
struct ModeRow {
  InterpModeTraits traits;
  InterpKind kind;     // the body the plan runs
  InterpKind aa_kind;  // the body with antialias; `kind` where antialias is not allowed
  // The index math always uses in / out: F.interpolate sets recompute_scale_factor for area.
  bool always_recompute;
  // Rules that run on the resampling engine instead of `kind` / `aa_kind` (kNone: the kernel).
  detail::InterpEngine engine = detail::InterpEngine::kNone;
  detail::InterpEngine aa_engine = detail::InterpEngine::kNone;
};

// PyTorch's rules (torch.nn.functional.interpolate): align_corners only for the interpolating
// modes, antialias only for bilinear, bicubic and lanczos (and here for trilinear and tricubic),
// linear / bilinear, bicubic and lanczos / trilinear and tricubic only for 1-D / 2-D / 3-D
// inputs. lanczos requires antialias (its kind columns are unused) and runs on the engine, as do
// tricubic and anti-aliased trilinear. u8 only for the copying modes, the ones the backends
// instantiate for it (dispatch_interp). Rows follow InterpMode's enumerators; the static_assert
// below and tests/cpu/test_interpolate_modes.cpp hold the table to that.
constexpr std::uint32_t kCopyTypes = kFloatTypes | dtype_bit(DType::kU8);
using M = InterpMode;
using K = InterpKind;
using E = detail::InterpEngine;
constexpr std::uint32_t kF32F64 = dtype_bit(DType::kF32) | dtype_bit(DType::kF64);
// clang-format off
constexpr ModeRow kModes[] = {
  // {mode, name, min_rank, max_rank, align_corners, antialias, copies, dtypes},
  //  kind, aa_kind, always_recompute, engine, aa_engine
  {{M::kNearest,      "nearest",       3, 5, false, false, true,  kCopyTypes},
    K::kNearest,      K::kNearest,      false},
  {{M::kNearestExact, "nearest-exact", 3, 5, false, false, true,  kCopyTypes},
    K::kNearestExact, K::kNearestExact, false},
  {{M::kLinear,       "linear",        3, 3, true,  false, false, kFloatTypes},
    K::kLinear,       K::kLinear,       false},
  {{M::kBilinear,     "bilinear",      4, 4, true,  true,  false, kFloatTypes},
    K::kBilinear,     K::kAaBilinear,   false},
  {{M::kBicubic,      "bicubic",       4, 4, true,  true,  false, kFloatTypes},
    K::kBicubic,      K::kAaBicubic,    false},
  {{M::kTrilinear,    "trilinear",     5, 5, true,  true,  false, kFloatTypes},
    K::kTrilinear,    K::kTrilinear,    false, E::kNone,    E::kAaLinear},
  {{M::kArea,         "area",          3, 5, false, false, false, kFloatTypes},
    K::kArea,         K::kArea,         true},
  // PyTorch's lanczos runs on f32 and f64 only (its weight tables are not instantiated for the
  // 16-bit types); its u8 path (integer weights) has no counterpart here.
  {{M::kLanczos,      "lanczos",       4, 4, true,  true,  false, kF32F64},
    K::kBilinear,     K::kBilinear,     false, E::kLanczos, E::kLanczos},
  {{M::kTricubic,     "tricubic",      5, 5, true,  true,  false, kFloatTypes},
    K::kBicubic,      K::kBicubic,      false, E::kCubic,   E::kAaCubic},
};
// clang-format on
constexpr std::size_t kModeCount = sizeof(kModes) / sizeof(kModes[0]);

constexpr bool rows_are_consistent() {
  for (std::size_t i = 0; i < kModeCount; ++i) {
    const ModeRow& r = kModes[i];
    const InterpModeTraits& t = r.traits;
    // Indexing by the enumerator's value needs the enumerator order.
    if (static_cast<std::size_t>(t.mode) != i) return false;
    if (t.min_rank < 3 || t.max_rank > 5 || t.min_rank > t.max_rank) return false;
    const bool aa_differs = r.aa_kind != r.kind || r.aa_engine != r.engine;
    if (t.antialias != aa_differs && r.engine != detail::InterpEngine::kLanczos) return false;
    // dispatch_interp instantiates u8 exactly for the nearest kinds.
    const bool nearest_kind = r.kind == InterpKind::kNearest || r.kind == InterpKind::kNearestExact;
    if (t.supports(DType::kU8) != nearest_kind || t.copies != nearest_kind) return false;
  }
  return true;
}
static_assert(rows_are_consistent(), "kModes: a row is out of enumerator order or inconsistent");

// Null for a value that is none of InterpMode's enumerators. detail::check_enum, whose switch
// -Wswitch checks, is what says which values are enumerators; the tests check that it and this
// table agree.
const ModeRow* find_row(InterpMode mode) noexcept {
  const auto i = static_cast<std::size_t>(mode);
  return i < kModeCount ? &kModes[i] : nullptr;
}

const ModeRow& row_of(InterpMode mode, const char* what) {
  detail::check_enum(mode, what);
  const ModeRow* row = find_row(mode);
  UPS_CHECK(row != nullptr, ErrorCode::kInternal, "interpolate mode ", static_cast<unsigned>(mode),
            " has no row in the mode table");
  return *row;
}

// "a, b or c": every mode's name.
std::string mode_names() {
  std::string out;
  for (std::size_t i = 0; i < kModeCount; ++i) {
    if (i > 0) out += i + 1 == kModeCount ? " or " : ", ";
    out += kModes[i].traits.name;
  }
  return out;
}

}  // namespace

const std::vector<InterpModeTraits>& interp_modes() {
  static const std::vector<InterpModeTraits> rows = [] {
    std::vector<InterpModeTraits> v;
    for (const ModeRow& r : kModes)
      v.push_back(r.traits);
    return v;
  }();
  return rows;
}

const InterpModeTraits& interp_mode_traits(InterpMode mode) {
  row_of(mode, "mode");  // throws for a value without a row
  return interp_modes()[static_cast<std::size_t>(mode)];
}

const char* to_string(InterpMode mode) noexcept {
  const ModeRow* row = find_row(mode);
  return row != nullptr ? row->traits.name : "?";
}

InterpMode parse_interp_mode(const std::string& name) {
  for (const ModeRow& r : kModes) {
    if (name == r.traits.name) return r.traits.mode;
  }
  fail(ErrorCode::kInvalidArgument,
       concat("unknown interpolation mode '", name, "' (expected ", mode_names(), ")"));
}

namespace {

// ATen's upsample_{1,2,3}d_common_check message; the 1-D variant words it "... and output".
std::string sizes_message(const Shape& in, const Shape& out, std::size_t spatial) {
  static const char* kNames3[] = {"D", "H", "W"};
  const char* const* names = kNames3 + (3 - spatial);
  std::ostringstream os;
  os << "Input and output sizes should be greater than 0, but got input (";
  for (std::size_t i = 0; i < spatial; ++i)
    os << (i ? ", " : "") << names[i] << ": " << in[2 + i];
  os << (spatial == 1 ? ") and output (" : ") output (");
  for (std::size_t i = 0; i < spatial; ++i)
    os << (i ? ", " : "") << names[i] << ": " << out[i];
  os << ")";
  return os.str();
}

// The resolved call: output shape plus the scale that drives the index math per spatial dim.
struct Resolved {
  Shape out_shape;
  std::vector<double> index_scale;  // per spatial dim; 0 = use in/out
};

// Checks run in F.interpolate's order (align_corners, size / scale_factor, antialias, rank and
// mode, then ATen's size checks), so that a call with several problems reports the one PyTorch
// reports.
Resolved resolve(const Shape& in, const InterpolateOptions& opt) {
  const ModeRow& row = row_of(opt.mode, "options.mode");
  const InterpModeTraits& traits = row.traits;
  const int rank = static_cast<int>(in.size());
  // The messages are PyTorch's text, fixed in its source, so they stay literal rather than
  // being assembled from the table's names.
  if (opt.align_corners.has_value()) {
    UPS_CHECK(traits.align_corners, ErrorCode::kInvalidArgument,
              "align_corners option can only be set with the interpolating modes: linear | "
              "bilinear | bicubic | trilinear");
  }
  const bool has_size = !opt.size.empty();
  const bool has_scale = !opt.scale_factor.empty();
  UPS_CHECK(!(has_size && has_scale), ErrorCode::kInvalidArgument,
            "only one of size or scale_factor should be defined");
  // The spatial dims as F.interpolate sees them (input.shape[2:]), whatever the rank; a single
  // size or scale is broadcast and so fits any rank.
  const Shape spatial_in(in.begin() + std::min(rank, 2), in.end());
  const std::size_t n_spatial = spatial_in.size();
  if (has_size) {
    UPS_CHECK(opt.size.size() == 1 || opt.size.size() == n_spatial, ErrorCode::kInvalidArgument,
              "Input and output must have the same number of spatial dimensions, but got input "
              "with spatial dimensions of ",
              list_to_string(spatial_in), " and output size of ", list_to_string(opt.size),
              ". Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
              "(o1, o2, ...,oK) format.");
  } else if (has_scale) {
    UPS_CHECK(opt.scale_factor.size() == 1 || opt.scale_factor.size() == n_spatial,
              ErrorCode::kInvalidArgument,
              "Input and scale_factor must have the same number of spatial dimensions, but got "
              "input with spatial dimensions of ",
              list_to_string(spatial_in), " and scale_factor of shape ",
              list_to_string(opt.scale_factor),
              ". Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
              "(s1, s2, ...,sK) format.");
  } else {
    fail(ErrorCode::kInvalidArgument, "either size or scale_factor should be defined");
  }
  UPS_CHECK(!(has_size && opt.recompute_scale_factor), ErrorCode::kInvalidArgument,
            "recompute_scale_factor is not meaningful with an explicit size.");
  if (opt.antialias) {
    // PyTorch's 2-D anti-aliasing modes need a 4-D input (its message); the 3-D ones
    // (trilinear, tricubic) are left to the rank check below.
    UPS_CHECK(traits.antialias && (rank == 4 || traits.max_rank != 4), ErrorCode::kInvalidArgument,
              "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
              "requires a 4-D tensor as input");
  }
  UPS_CHECK(rank >= 3 && rank <= 5, ErrorCode::kShapeMismatch,
            "Input Error: Only 3D, 4D and 5D input Tensors supported (got ", rank,
            "D) for the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area "
            "| nearest-exact (got ",
            traits.name, ")");
  // F.interpolate's "Got 3D input, but bilinear mode needs 4D input", for every mode whose
  // ranks are narrower than 3..5 (PyTorch has no such message for bicubic and falls through to
  // the one above; ups words it like the others).
  if (rank < traits.min_rank || rank > traits.max_rank) {
    const std::string need = traits.min_rank == traits.max_rank
                                 ? concat(traits.min_rank, "D")
                                 : concat(traits.min_rank, "D to ", traits.max_rank, "D");
    fail(ErrorCode::kShapeMismatch,
         concat("Got ", rank, "D input, but ", traits.name, " mode needs ", need, " input"));
  }
  if (opt.mode == InterpMode::kLanczos) {
    UPS_CHECK(!opt.align_corners.value_or(false), ErrorCode::kInvalidArgument,
              "Lanczos mode does not support align_corners=True");
    UPS_CHECK(opt.antialias, ErrorCode::kInvalidArgument, "Lanczos mode requires antialias=True");
  }
  const std::size_t spatial = static_cast<std::size_t>(rank - 2);

  Resolved r;
  r.index_scale.assign(spatial, 0.0);
  Shape out_sp(spatial);
  if (has_size) {
    for (std::size_t i = 0; i < spatial; ++i)
      out_sp[i] = opt.size.size() == 1 ? opt.size[0] : opt.size[i];
  } else {
    const bool recompute = opt.recompute_scale_factor || row.always_recompute;
    for (std::size_t i = 0; i < spatial; ++i) {
      const double s = opt.scale_factor.size() == 1 ? opt.scale_factor[0] : opt.scale_factor[i];
      UPS_CHECK(std::isfinite(s), ErrorCode::kInvalidArgument,
                "scale_factor must be a finite number, but got ", s);
      // in * scale in f64, truncated to an integer as PyTorch's compute_output_size does (the
      // floor for any valid, i.e. positive, scale). A negative result is reported by the size
      // check below, as in PyTorch.
      const double o = std::trunc(static_cast<double>(spatial_in[i]) * s);
      UPS_CHECK(o < 9.2233720368547758e18 && o > -9.2233720368547758e18, ErrorCode::kOutOfMemory,
                "output size ", o, " (input size ", spatial_in[i], " times scale_factor ", s,
                ") overflows int64");
      out_sp[i] = static_cast<std::int64_t>(o);
      r.index_scale[i] = recompute ? 0.0 : s;
    }
  }
  // ATen's upsample_*d_common_check. A batch of 0 is fine; an empty C or spatial dim is not.
  bool spatial_ok = true;
  for (std::size_t i = 0; i < spatial; ++i)
    spatial_ok = spatial_ok && spatial_in[i] > 0 && out_sp[i] > 0;
  UPS_CHECK(spatial_ok, ErrorCode::kShapeMismatch, sizes_message(in, out_sp, spatial));
  UPS_CHECK(in[0] >= 0 && in[1] > 0, ErrorCode::kShapeMismatch, "Non-empty ", rank,
            "D data tensor expected but got a tensor with sizes ", shape_to_string(in));
  r.out_shape = {in[0], in[1]};
  r.out_shape.insert(r.out_shape.end(), out_sp.begin(), out_sp.end());
  detail::checked_numel(r.out_shape, "interpolate output");
  return r;
}

// "f32, f64, f16, bf16", in DType's order.
std::string supported_dtypes(const InterpModeTraits& t) {
  std::string out;
  for (unsigned bit = 0; bit < 32; ++bit) {
    const auto d = static_cast<DType>(bit);
    if (t.supports(d)) out += std::string(out.empty() ? "" : ", ") + to_string(d);
  }
  return out;
}

// The plan of a call whose input view is `in` and output view `out` (for the backward:
// grad_input and grad_output).
detail::InterpolatePlan make_plan(const TensorView& in, const TensorView& out, const Resolved& r,
                                  const ModeRow& row, const InterpolateOptions& options) {
  detail::InterpolatePlan plan{};
  plan.kind = options.antialias ? row.aa_kind : row.kind;
  plan.align_corners = options.align_corners.value_or(false);
  plan.dtype = in.dtype;
  plan.total = detail::checked_numel(r.out_shape, "interpolate output");
  kern::InterpGeometry& g = plan.geometry;
  const int rank = in.ndim;
  const int pad = 5 - rank;  // unit D (and H) dims for 1-D and 2-D inputs
  g.n = in.sizes[0];
  g.c = in.sizes[1];
  for (int d = 0; d < 3; ++d) {
    const int axis = d - pad + 2;  // axis in the caller's view, < 2 when the dim is padded
    const bool real = axis >= 2;
    g.in[d] = real ? in.sizes[axis] : 1;
    g.out[d] = real ? out.sizes[axis] : 1;
    g.src_stride[2 + d] = real ? in.strides[axis] : 0;
    g.dst_stride[2 + d] = real ? out.strides[axis] : 0;
    plan.user_scale[d] = real ? r.index_scale[static_cast<std::size_t>(axis - 2)] : 0.0;
  }
  for (int d = 0; d < 2; ++d) {
    g.src_stride[d] = in.strides[d];
    g.dst_stride[d] = out.strides[d];
  }
  g.dst_channels_last = detail::is_channels_last(out);
  g.spatial_dims = rank - 2;
  return plan;
}

// The engine rule of a call (kNone for the dedicated kernels).
detail::InterpEngine engine_of(const ModeRow& row, const InterpolateOptions& options) {
  return options.antialias ? row.aa_engine : row.engine;
}

// The engine plan of a call from view `in` to view `out`.
detail::ResamplePlan engine_plan(detail::InterpEngine rule, const TensorView& in,
                                 const TensorView& out, const Resolved& r,
                                 const InterpolateOptions& options) {
  return detail::make_interp_engine_plan(rule, in, out, r.index_scale.data(),
                                         options.align_corners.value_or(false));
}

}  // namespace

Shape interpolate_output_shape(const Shape& input_shape, const InterpolateOptions& options) {
  return resolve(input_shape, options).out_shape;
}

void interpolate(const Context& ctx, const TensorView& src, const TensorView& dst,
                 const InterpolateOptions& options) {
  detail::check_enum(options.mode, "options.mode");
  detail::check_view(src, "src");
  detail::check_view(dst, "dst");
  const Resolved r = resolve(src.shape(), options);
  const ModeRow& row = row_of(options.mode, "options.mode");
  UPS_CHECK(row.traits.supports(src.dtype), ErrorCode::kUnsupportedDType, "interpolate: mode '",
            row.traits.name, "' does not support dtype ", to_string(src.dtype),
            " (supported: ", supported_dtypes(row.traits), ")");
  UPS_CHECK(dst.dtype == src.dtype, ErrorCode::kUnsupportedDType, "interpolate: dst has dtype ",
            to_string(dst.dtype), " but src has dtype ", to_string(src.dtype));
  UPS_CHECK(dst.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "interpolate: expected dst of shape ", shape_to_string(r.out_shape), " but got ",
            shape_to_string(dst.shape()));
  detail::check_device(ctx, src, "src");
  detail::check_device(ctx, dst, "dst");
  detail::check_no_self_overlap(dst, "dst");
  detail::check_no_overlap(src, dst);

  const detail::InterpEngine rule = engine_of(row, options);
  if (rule != detail::InterpEngine::kNone) {
    if (dst.numel() == 0) return;  // N == 0
    const detail::ResamplePlan plan = engine_plan(rule, src, dst, r, options);
    if (ctx.device() == Device::kCPU) {
      detail::resample_cpu(plan, src, dst, ctx.num_threads());
    } else {
      const detail::CudaDeviceScope scope(ctx, {{"src", &src}, {"dst", &dst}});
      detail::resample_cuda(ctx, plan, src, dst);
    }
    return;
  }

  const detail::InterpolatePlan plan = make_plan(src, dst, r, row, options);
  if (plan.total == 0) return;  // N == 0

  if (ctx.device() == Device::kCPU) {
    detail::interpolate_cpu(plan, src.data, dst.data, ctx.num_threads());
  } else {
    const detail::CudaDeviceScope scope(ctx, {{"src", &src}, {"dst", &dst}});
    detail::interpolate_cuda(plan, src.data, dst.data, ctx.stream());
  }
}

void interpolate_backward(const Context& ctx, const TensorView& grad_output,
                          const TensorView& grad_input, const InterpolateOptions& options) {
  detail::check_enum(options.mode, "options.mode");
  detail::check_view(grad_output, "grad_output");
  detail::check_view(grad_input, "grad_input");
  const Resolved r = resolve(grad_input.shape(), options);
  const ModeRow& row = row_of(options.mode, "options.mode");
  UPS_CHECK(engine_of(row, options) == detail::InterpEngine::kNone, ErrorCode::kInvalidArgument,
            "interpolate_backward: mode '", row.traits.name, "'",
            options.antialias ? " with antialias" : "", " has no backward");
  UPS_CHECK(row.traits.supports(grad_input.dtype) && grad_input.dtype != DType::kU8,
            ErrorCode::kUnsupportedDType, "interpolate_backward: mode '", row.traits.name,
            "' has no gradient for dtype ", to_string(grad_input.dtype),
            " (supported: f32, f64, f16, bf16)");
  UPS_CHECK(grad_output.dtype == grad_input.dtype, ErrorCode::kUnsupportedDType,
            "interpolate_backward: grad_output has dtype ", to_string(grad_output.dtype),
            " but grad_input has dtype ", to_string(grad_input.dtype));
  UPS_CHECK(grad_output.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "interpolate_backward: expected grad_output of shape ", shape_to_string(r.out_shape),
            " (the output of interpolate for an input of shape ",
            shape_to_string(grad_input.shape()), ") but got ",
            shape_to_string(grad_output.shape()));
  detail::check_device(ctx, grad_output, "grad_output");
  detail::check_device(ctx, grad_input, "grad_input");
  detail::check_no_self_overlap(grad_input, "grad_input");
  detail::check_no_overlap(grad_output, grad_input);

  const detail::InterpolatePlan plan = make_plan(grad_input, grad_output, r, row, options);
  if (plan.total == 0) return;  // N == 0
  if (ctx.device() == Device::kCPU) {
    detail::interpolate_backward_cpu(plan, grad_output.data, grad_input.data, ctx.num_threads());
  } else {
    const detail::CudaDeviceScope scope(
        ctx, {{"grad_output", &grad_output}, {"grad_input", &grad_input}});
    detail::interpolate_backward_cuda(ctx, plan, grad_output.data, grad_input.data);
  }
}

std::size_t interpolate_workspace_size(const Context& ctx, const Shape& input_shape, DType dtype,
                                       const InterpolateOptions& options) {
  detail::check_enum(options.mode, "options.mode");
  detail::check_enum(dtype, "dtype");
  const Resolved r = resolve(input_shape, options);
  const ModeRow& row = row_of(options.mode, "options.mode");
  const detail::InterpEngine rule = engine_of(row, options);
  if (ctx.device() == Device::kCPU || rule == detail::InterpEngine::kNone) return 0;
  UPS_CHECK(row.traits.supports(dtype), ErrorCode::kUnsupportedDType, "interpolate: mode '",
            row.traits.name, "' does not support dtype ", to_string(dtype),
            " (supported: ", supported_dtypes(row.traits), ")");
  // The tables depend on the shapes and options only: views without data stand in for the
  // tensors.
  const TensorView in = TensorView::contiguous(nullptr, dtype, Device::kCUDA, input_shape);
  const TensorView out = TensorView::contiguous(nullptr, dtype, Device::kCUDA, r.out_shape);
  return detail::resample_cuda_workspace(engine_plan(rule, in, out, r, options));
}

std::size_t interpolate_backward_workspace_size(const Context& ctx, const Shape& input_shape,
                                                DType dtype, const InterpolateOptions& options) {
  detail::check_enum(options.mode, "options.mode");
  const Resolved r = resolve(input_shape, options);
  const ModeRow& row = row_of(options.mode, "options.mode");
  UPS_CHECK(engine_of(row, options) == detail::InterpEngine::kNone, ErrorCode::kInvalidArgument,
            "interpolate_backward: mode '", row.traits.name, "'",
            options.antialias ? " with antialias" : "", " has no backward");
  if (ctx.device() == Device::kCPU) return 0;
  // The tables depend on the shapes and options only: views without data stand in for the
  // tensors.
  detail::check_enum(dtype, "dtype");
  UPS_CHECK(
      dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kF16 || dtype == DType::kBF16,
      ErrorCode::kUnsupportedDType, "interpolate_backward: no gradient for dtype ",
      to_string(dtype), " (supported: f32, f64, f16, bf16)");
  const TensorView in = TensorView::contiguous(nullptr, dtype, Device::kCUDA, input_shape);
  const TensorView out = TensorView::contiguous(nullptr, dtype, Device::kCUDA, r.out_shape);
  return detail::interpolate_backward_cuda_workspace(make_plan(in, out, r, row, options));
}

}  // namespace ups
