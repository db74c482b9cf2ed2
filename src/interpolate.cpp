// Validation and planning of ups::interpolate, following torch.nn.functional.interpolate and
// ATen's upsample_*d_common_check (messages included), then dispatch to a backend.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "interpolate_plan.hpp"
#include "ups/interpolate.hpp"
#include "validate.hpp"

namespace ups {

using detail::concat;
using detail::fail;

const char* to_string(InterpMode mode) noexcept {
  switch (mode) {
    case InterpMode::kNearest:
      return "nearest";
    case InterpMode::kNearestExact:
      return "nearest-exact";
    case InterpMode::kLinear:
      return "linear";
    case InterpMode::kBilinear:
      return "bilinear";
    case InterpMode::kBicubic:
      return "bicubic";
    case InterpMode::kTrilinear:
      return "trilinear";
    case InterpMode::kArea:
      return "area";
  }
  return "?";
}

InterpMode parse_interp_mode(const std::string& name) {
  for (InterpMode m :
       {InterpMode::kNearest, InterpMode::kNearestExact, InterpMode::kLinear, InterpMode::kBilinear,
        InterpMode::kBicubic, InterpMode::kTrilinear, InterpMode::kArea}) {
    if (name == to_string(m)) return m;
  }
  fail(ErrorCode::kInvalidArgument,
       concat("unknown interpolation mode '", name,
              "' (expected nearest, nearest-exact, linear, bilinear, bicubic, trilinear or "
              "area)"));
}

namespace {

bool is_interpolating(InterpMode m) {
  return m == InterpMode::kLinear || m == InterpMode::kBilinear || m == InterpMode::kBicubic ||
         m == InterpMode::kTrilinear;
}

int required_rank(InterpMode m) {
  switch (m) {
    case InterpMode::kLinear:
      return 3;
    case InterpMode::kBilinear:
      return 4;
    case InterpMode::kBicubic:
      return 4;
    case InterpMode::kTrilinear:
      return 5;
    default:
      return 0;
  }
}

template <class V>
std::string list_to_string(const V& v) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

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
  detail::check_enum(opt.mode, "options.mode");
  const int rank = static_cast<int>(in.size());
  if (opt.align_corners.has_value()) {
    UPS_CHECK(is_interpolating(opt.mode), ErrorCode::kInvalidArgument,
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
    UPS_CHECK((opt.mode == InterpMode::kBilinear || opt.mode == InterpMode::kBicubic) && rank == 4,
              ErrorCode::kInvalidArgument,
              "Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D "
              "tensor as input");
  }
  UPS_CHECK(rank >= 3 && rank <= 5, ErrorCode::kShapeMismatch,
            "Input Error: Only 3D, 4D and 5D input Tensors supported (got ", rank,
            "D) for the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            "nearest-exact (got ",
            to_string(opt.mode), ")");
  const int need = required_rank(opt.mode);
  UPS_CHECK(need == 0 || need == rank, ErrorCode::kShapeMismatch, "Got ", rank, "D input, but ",
            to_string(opt.mode), " mode needs ", need, "D input");
  const std::size_t spatial = static_cast<std::size_t>(rank - 2);

  Resolved r;
  r.index_scale.assign(spatial, 0.0);
  Shape out_sp(spatial);
  if (has_size) {
    for (std::size_t i = 0; i < spatial; ++i)
      out_sp[i] = opt.size.size() == 1 ? opt.size[0] : opt.size[i];
  } else {
    // area always recomputes (F.interpolate sets recompute_scale_factor for it).
    const bool recompute = opt.recompute_scale_factor || opt.mode == InterpMode::kArea;
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

kern::InterpKind kind_of(const InterpolateOptions& opt) {
  switch (opt.mode) {
    case InterpMode::kNearest:
      return kern::InterpKind::kNearest;
    case InterpMode::kNearestExact:
      return kern::InterpKind::kNearestExact;
    case InterpMode::kLinear:
      return kern::InterpKind::kLinear;
    case InterpMode::kBilinear:
      return opt.antialias ? kern::InterpKind::kAaBilinear : kern::InterpKind::kBilinear;
    case InterpMode::kBicubic:
      return opt.antialias ? kern::InterpKind::kAaBicubic : kern::InterpKind::kBicubic;
    case InterpMode::kTrilinear:
      return kern::InterpKind::kTrilinear;
    case InterpMode::kArea:
      return kern::InterpKind::kArea;
  }
  return kern::InterpKind::kNearest;
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
  const bool nearest =
      options.mode == InterpMode::kNearest || options.mode == InterpMode::kNearestExact;
  const bool dtype_ok = src.dtype == DType::kF32 || src.dtype == DType::kF64 ||
                        src.dtype == DType::kF16 || src.dtype == DType::kBF16 ||
                        (nearest && src.dtype == DType::kU8);
  UPS_CHECK(dtype_ok, ErrorCode::kUnsupportedDType, "interpolate: mode '", to_string(options.mode),
            "' does not support dtype ", to_string(src.dtype), " (supported: f32, f64, f16, bf16",
            nearest ? ", u8)" : ")");
  UPS_CHECK(dst.dtype == src.dtype, ErrorCode::kUnsupportedDType, "interpolate: dst has dtype ",
            to_string(dst.dtype), " but src has dtype ", to_string(src.dtype));
  UPS_CHECK(dst.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "interpolate: expected dst of shape ", shape_to_string(r.out_shape), " but got ",
            shape_to_string(dst.shape()));
  detail::check_device(ctx, src, "src");
  detail::check_device(ctx, dst, "dst");
  detail::check_no_self_overlap(dst, "dst");
  detail::check_no_overlap(src, dst);

  detail::InterpolatePlan plan{};
  plan.kind = kind_of(options);
  plan.align_corners = options.align_corners.value_or(false);
  plan.dtype = src.dtype;
  plan.total = detail::checked_numel(r.out_shape, "interpolate output");
  if (plan.total == 0) return;  // N == 0

  kern::InterpGeometry& g = plan.geometry;
  const int rank = src.ndim;
  const int pad = 5 - rank;  // unit D (and H) dims for 1-D and 2-D inputs
  g.n = src.sizes[0];
  g.c = src.sizes[1];
  for (int d = 0; d < 3; ++d) {
    const int axis = d - pad + 2;  // axis in the caller's view, < 2 when the dim is padded
    const bool real = axis >= 2;
    g.in[d] = real ? src.sizes[axis] : 1;
    g.out[d] = real ? dst.sizes[axis] : 1;
    g.src_stride[2 + d] = real ? src.strides[axis] : 0;
    g.dst_stride[2 + d] = real ? dst.strides[axis] : 0;
    plan.user_scale[d] = real ? r.index_scale[static_cast<std::size_t>(axis - 2)] : 0.0;
  }
  for (int d = 0; d < 2; ++d) {
    g.src_stride[d] = src.strides[d];
    g.dst_stride[d] = dst.strides[d];
  }
  g.dst_channels_last = detail::is_channels_last(dst);
  g.spatial_dims = rank - 2;

  if (ctx.device() == Device::kCPU) {
    detail::interpolate_cpu(plan, src.data, dst.data, ctx.num_threads());
  } else {
    const detail::CudaDeviceScope scope(ctx, {{"src", &src}, {"dst", &dst}});
    detail::interpolate_cuda(plan, src.data, dst.data, ctx.stream());
  }
}

}  // namespace ups
