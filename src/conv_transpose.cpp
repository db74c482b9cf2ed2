// Validation and planning of ups::conv_transpose, following nn.ConvTranspose*d (the Python
// output_size / padding_mode checks) and ATen's _convolution, check_shape_forward and
// slow_conv_transpose{2,3}d_shape_check (messages included), then dispatch to a backend.
#include <algorithm>
#include <limits>
#include <sstream>

#include "check.hpp"
#include "conv_transpose_plan.hpp"
#include "ups/conv_transpose.hpp"
#include "validate.hpp"

namespace ups {

using detail::list_to_string;

using detail::concat;
using detail::fail;

const char* to_string(ConvTransposeAlgo algo) noexcept {
  switch (algo) {
    case ConvTransposeAlgo::kAuto:
      return "auto";
    case ConvTransposeAlgo::kGemm:
      return "gemm";
    case ConvTransposeAlgo::kGather:
      return "gather";
    case ConvTransposeAlgo::kScatter:
      return "scatter";
    case ConvTransposeAlgo::kCudnn:
      return "cudnn";
    case ConvTransposeAlgo::kBenchmark:
      return "benchmark";
    case ConvTransposeAlgo::kOnednn:
      return "onednn";
  }
  return "?";
}

namespace {
constexpr ConvTransposeAlgo kAllAlgos[] = {
    ConvTransposeAlgo::kAuto,    ConvTransposeAlgo::kGemm,  ConvTransposeAlgo::kGather,
    ConvTransposeAlgo::kScatter, ConvTransposeAlgo::kCudnn, ConvTransposeAlgo::kBenchmark,
    ConvTransposeAlgo::kOnednn};
}  // namespace

ConvTransposeAlgo parse_conv_transpose_algo(const std::string& name) {
  for (ConvTransposeAlgo a : kAllAlgos) {
    if (name == to_string(a)) return a;
  }
  fail(ErrorCode::kInvalidArgument,
       concat("unknown conv_transpose algorithm '", name,
              "' (expected auto, gemm, gather, scatter, cudnn, benchmark or onednn)"));
}

std::vector<ConvTransposeAlgoInfo> conv_transpose_algorithms() {
  const BuildInfo build = build_info();
  std::vector<ConvTransposeAlgoInfo> v;
  auto add = [&](ConvTransposeAlgo a, const char* devices, const char* det, bool available,
                 const char* description) {
    v.push_back({a, to_string(a), devices, det, available, description});
  };
  add(ConvTransposeAlgo::kAuto, "cpu, cuda", "follows the determinism flag", true,
      "gemm on the CPU; on CUDA cudnn for compute-heavy problems, else gather");
  add(ConvTransposeAlgo::kGemm, "cpu", "deterministic", true,
      "CPU backend: W^T X as a GEMM over C_in per channel block, then col2im, multi-threaded");
  add(ConvTransposeAlgo::kGather, "cpu, cuda", "deterministic", true,
      "one thread per output element, only the taps the stride lets through, fixed order");
  add(ConvTransposeAlgo::kScatter, "cuda", "nondeterministic", build.has_cuda,
      "one thread per input element, atomicAdd into the output (f32 accumulator for f16/bf16)");
  add(ConvTransposeAlgo::kCudnn, "cuda", "deterministic engines only when the flag is on",
      build.has_cudnn, "cuDNN 9 convolution backward-data through the graph API");
  add(ConvTransposeAlgo::kBenchmark, "cpu, cuda", "follows the determinism flag", true,
      "times the runnable candidates once per problem and caches the fastest");
  add(ConvTransposeAlgo::kOnednn, "cpu", "deterministic for a given thread count", build.has_onednn,
      "oneDNN's deconvolution primitives (forward, backward data and weights)");
  return v;
}

std::string to_string(const ConvTransposeResult& result) {
  std::ostringstream os;
  os << "algorithm: " << to_string(result.algorithm);
  if (!result.detail.empty()) os << " (" << result.detail << ")";
  if (result.from_cache) os << " [cached benchmark choice]";
  if (result.workspace_bytes > 0) {
    os << "; workspace " << result.workspace_bytes << " bytes"
       << (result.workspace_allocated ? " (allocated)" : " (caller's)");
  }
  for (const ConvTransposeAttempt& a : result.attempts) {
    os << "\n  " << to_string(a.algo) << ": " << (a.chosen ? "chosen" : "declined") << " - "
       << a.reason;
    if (a.time_ms >= 0) os << " [" << a.time_ms << " ms]";
  }
  return os.str();
}

namespace {

// The fully resolved parameters of a call, in the caller's spatial rank.
struct Resolved {
  int sp = 0;
  std::int64_t n = 0, cin = 0, cout = 0, groups = 1, cin_g = 0, cout_g = 0;
  std::int64_t in[3] = {}, k[3] = {}, stride[3] = {}, pad[3] = {}, opad[3] = {}, dil[3] = {},
               out[3] = {};
  Shape out_shape;
};

std::vector<std::int64_t> expand_param(const std::vector<std::int64_t>& v, const char* name,
                                       std::size_t sp, std::int64_t dflt) {
  if (v.empty()) return std::vector<std::int64_t>(sp, dflt);
  if (v.size() == 1) return std::vector<std::int64_t>(sp, v[0]);
  UPS_CHECK(v.size() == sp, ErrorCode::kInvalidArgument, "expected ", name,
            " to be a single integer value or a list of ", sp,
            " values to match the convolution dimensions, but got ", name, "=", list_to_string(v));
  return v;
}

// PyTorch's slow_conv_transpose shape checks name 1-D problems as 2-D ones with a unit height
// (conv1d runs as conv2d there); the names below reproduce its messages.
std::string dims_message(const char* what, const std::int64_t* v, int sp, std::int64_t unit,
                         const char* sep) {
  static const char* kNames[] = {"depth", "height", "width"};
  std::vector<std::int64_t> values(v, v + sp);
  if (sp == 1) values.insert(values.begin(), unit);
  const std::size_t shown = values.size();
  std::ostringstream os;
  for (std::size_t i = 0; i < shown; ++i) {
    os << (i ? sep : "") << what << "_" << kNames[3 - shown + i] << ": " << values[i];
  }
  return os.str();
}

std::string size_per_channel(const std::int64_t* v, int sp) {
  std::ostringstream os;
  os << "(";
  if (sp == 1) os << "1 x ";
  for (int i = 0; i < sp; ++i)
    os << (i ? " x " : "") << v[i];
  os << ")";
  return os.str();
}

bool mul_overflows(std::int64_t a, std::int64_t b, std::int64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

// out = (in - 1) * stride - 2 * pad + dil * (k - 1) + opad + 1, or false on int64 overflow.
bool output_extent(std::int64_t in, std::int64_t s, std::int64_t p, std::int64_t d, std::int64_t k,
                   std::int64_t op, std::int64_t* out) {
  std::int64_t a = 0, b = 0, c = 0;
  if (mul_overflows(in - 1, s, &a) || mul_overflows(d, k - 1, &b) || mul_overflows(2, p, &c)) {
    return false;
  }
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, c, &r) || __builtin_add_overflow(r, b, &r) ||
      __builtin_add_overflow(r, op + 1, &r)) {
    return false;
  }
  *out = r;
  return true;
}

Resolved resolve(const Shape& in, const Shape& w, const ConvTransposeOptions& opt) {
  detail::check_enum(opt.algorithm, "options.algorithm");
  const int rank = static_cast<int>(in.size());
  UPS_CHECK(rank >= 3 && rank <= 5, ErrorCode::kShapeMismatch,
            "conv_transpose: expected a 3-D, 4-D or 5-D input (N, C_in, *spatial), but got input "
            "of size: ",
            shape_to_string(in));
  const int sp = rank - 2;
  UPS_CHECK(opt.padding_mode == "zeros", ErrorCode::kInvalidArgument,
            "Only \"zeros\" padding mode is supported for ConvTranspose", sp, "d");
  const int wrank = static_cast<int>(w.size());
  UPS_CHECK(wrank == rank, ErrorCode::kShapeMismatch, "Expected ", wrank, "-dimensional input for ",
            wrank, "-dimensional weight ", shape_to_string(w), ", but got ", rank,
            "-dimensional input of size ", shape_to_string(in), " instead");
  for (std::int64_t s : in) {
    UPS_CHECK(s >= 0, ErrorCode::kShapeMismatch, "conv_transpose: negative size in input ",
              shape_to_string(in));
  }
  for (std::int64_t s : w) {
    UPS_CHECK(s >= 0, ErrorCode::kShapeMismatch, "conv_transpose: negative size in weight ",
              shape_to_string(w));
  }

  const std::size_t usp = static_cast<std::size_t>(sp);
  const auto stride = expand_param(opt.stride, "stride", usp, 1);
  const auto padding = expand_param(opt.padding, "padding", usp, 0);
  const auto dilation = expand_param(opt.dilation, "dilation", usp, 1);
  auto output_padding = expand_param(opt.output_padding, "output_padding", usp, 0);

  UPS_CHECK(opt.groups > 0, ErrorCode::kInvalidArgument, "non-positive groups is not supported");
  for (std::size_t i = 0; i < usp; ++i) {
    UPS_CHECK(padding[i] >= 0, ErrorCode::kInvalidArgument, "negative padding is not supported");
  }
  const bool has_output_size = !opt.output_size.empty();
  if (!has_output_size) {
    for (std::size_t i = 0; i < usp; ++i) {
      UPS_CHECK(output_padding[i] >= 0, ErrorCode::kInvalidArgument,
                "negative output_padding is not supported");
    }
  }
  for (std::size_t i = 0; i < usp; ++i) {
    UPS_CHECK(stride[i] > 0, ErrorCode::kInvalidArgument, "non-positive stride is not supported");
  }
  for (std::size_t i = 0; i < usp; ++i) {
    UPS_CHECK(dilation[i] >= 0, ErrorCode::kInvalidArgument,
              "dilation should be greater than zero");
  }
  // The tap arithmetic (deconv_math.hpp) squares the stride; cuDNN takes 32-bit values anyway.
  for (std::size_t i = 0; i < usp; ++i) {
    UPS_CHECK(stride[i] < (std::int64_t(1) << 31) && dilation[i] < (std::int64_t(1) << 31),
              ErrorCode::kInvalidArgument,
              "conv_transpose: stride and dilation must be below 2^31, but got stride=",
              list_to_string(stride), " and dilation=", list_to_string(dilation));
  }

  Resolved r;
  r.sp = sp;
  r.n = in[0];
  r.cin = in[1];
  r.groups = opt.groups;
  for (int i = 0; i < sp; ++i) {
    r.in[i] = in[static_cast<std::size_t>(2 + i)];
    r.k[i] = w[static_cast<std::size_t>(2 + i)];
    r.stride[i] = stride[static_cast<std::size_t>(i)];
    r.pad[i] = padding[static_cast<std::size_t>(i)];
    r.dil[i] = dilation[static_cast<std::size_t>(i)];
  }

  // nn.ConvTranspose*d.forward(input, output_size): derives output_padding.
  if (has_output_size) {
    std::vector<std::int64_t> size = opt.output_size;
    if (size.size() == usp + 2) size.erase(size.begin(), size.begin() + 2);
    UPS_CHECK(size.size() == usp, ErrorCode::kInvalidArgument, "ConvTranspose", sp, "D: for ", rank,
              "D input, output_size must have ", sp, " or ", sp + 2, " elements (got ",
              opt.output_size.size(), ")");
    std::vector<std::int64_t> min_sizes(usp), max_sizes(usp);
    for (std::size_t i = 0; i < usp; ++i) {
      std::int64_t m = 0;
      UPS_CHECK(output_extent(r.in[i], r.stride[i], r.pad[i], r.dil[i], r.k[i], 0, &m),
                ErrorCode::kOutOfMemory, "conv_transpose: output size overflows int64");
      min_sizes[i] = m;
      // Sizes beyond int64 are unreachable anyway: cap the range there.
      if (__builtin_add_overflow(m, r.stride[i] - 1, &max_sizes[i])) {
        max_sizes[i] = std::numeric_limits<std::int64_t>::max();
      }
    }
    for (std::size_t i = 0; i < usp; ++i) {
      UPS_CHECK(size[i] >= min_sizes[i] && size[i] <= max_sizes[i], ErrorCode::kInvalidArgument,
                "requested an output size of ", list_to_string(size),
                ", but valid sizes range from ", list_to_string(min_sizes), " to ",
                list_to_string(max_sizes), " (for an input of ",
                shape_to_string(Shape(in.begin() + 2, in.end())), ")");
    }
    for (std::size_t i = 0; i < usp; ++i)
      output_padding[i] = size[i] - min_sizes[i];
  }
  for (int i = 0; i < sp; ++i)
    r.opad[i] = output_padding[static_cast<std::size_t>(i)];

  // check_shape_forward (transposed).
  UPS_CHECK(w[0] >= r.groups, ErrorCode::kShapeMismatch, "Given groups=", r.groups,
            ", expected weight to be at least ", r.groups,
            " at dimension 0, but got weight of size ", shape_to_string(w), " instead");
  UPS_CHECK(w[0] % r.groups == 0, ErrorCode::kShapeMismatch, "Given groups=", r.groups,
            ", expected weight to be divisible by ", r.groups,
            " at dimension 0, but got weight of size [", shape_to_string(w), "] instead");
  UPS_CHECK(in[1] == w[0], ErrorCode::kShapeMismatch, "Given transposed=1, weight of size ",
            shape_to_string(w), ", expected input", shape_to_string(in), " to have ", w[0],
            " channels, but got ", in[1], " channels instead");
  r.cin_g = r.cin / r.groups;
  r.cout_g = w[1];
  UPS_CHECK(!mul_overflows(r.cout_g, r.groups, &r.cout), ErrorCode::kOutOfMemory,
            "conv_transpose: C_out overflows int64");

  bool spatial_empty = false;
  for (int i = 0; i < sp; ++i)
    spatial_empty = spatial_empty || r.in[i] == 0;
  if (spatial_empty) {
    Shape shown = in;
    if (sp == 1) shown.insert(shown.begin() + 2, 1);
    fail(ErrorCode::kShapeMismatch,
         concat("Only zero batch or zero channel inputs are supported, but got input shape: ",
                shape_to_string(shown)));
  }

  // slow_conv_transpose{2,3}d_shape_check.
  bool kernel_empty = false;
  for (int i = 0; i < sp; ++i)
    kernel_empty = kernel_empty || r.k[i] == 0;
  if (sp == 3) {
    UPS_CHECK(!kernel_empty && r.cout_g > 0, ErrorCode::kShapeMismatch,
              "non-empty 5D (n_output_plane x n_input_plane x kernel_depth x kernel_height x "
              "kernel_width) tensor expected for weight, but got: ",
              shape_to_string(w));
  }
  UPS_CHECK(!kernel_empty, ErrorCode::kShapeMismatch, "kernel size should be greater than zero, ",
            "but got ", dims_message("kernel", r.k, sp, 1, " "));
  bool dil_ok = true;
  for (int i = 0; i < sp; ++i)
    dil_ok = dil_ok && r.dil[i] > 0;
  UPS_CHECK(dil_ok, ErrorCode::kInvalidArgument, "dilation should be greater than zero, but got ",
            dims_message("dilation", r.dil, sp, 1, ", "));
  bool op_ok = true;
  for (int i = 0; i < sp; ++i)
    op_ok = op_ok && (r.opad[i] < r.stride[i] || r.opad[i] < r.dil[i]);
  UPS_CHECK(op_ok, ErrorCode::kInvalidArgument,
            "output padding must be smaller than either stride or dilation, but got ",
            dims_message("output_padding", r.opad, sp, 0, " "), " ",
            dims_message("stride", r.stride, sp, 1, " "), " ",
            dims_message("dilation", r.dil, sp, 1, " "));
  if (sp < 3 && r.cout_g == 0) {
    Shape shown = w;
    if (sp == 1) shown.insert(shown.begin() + 2, 1);
    fail(ErrorCode::kShapeMismatch,
         concat("non-empty 2D or 4D weight tensor expected, but got: ", shape_to_string(shown)));
  }
  bool out_ok = true;
  for (int i = 0; i < sp; ++i) {
    UPS_CHECK(output_extent(r.in[i], r.stride[i], r.pad[i], r.dil[i], r.k[i], r.opad[i], &r.out[i]),
              ErrorCode::kOutOfMemory, "conv_transpose: output size overflows int64");
    out_ok = out_ok && r.out[i] >= 1;
  }
  UPS_CHECK(out_ok, ErrorCode::kShapeMismatch,
            "Given input size per channel: ", size_per_channel(r.in, sp),
            ". Calculated output size per channel: ", size_per_channel(r.out, sp),
            ". Output size is too small");

  r.out_shape = {r.n, r.cout};
  for (int i = 0; i < sp; ++i)
    r.out_shape.push_back(r.out[i]);
  detail::checked_numel(r.out_shape, "conv_transpose output");
  return r;
}

// Rank, device and size checks of a view whose data may be null (workspace queries).
void check_meta(const TensorView& v, const char* name) {
  UPS_CHECK(v.ndim >= 0 && v.ndim <= kMaxDims, ErrorCode::kShapeMismatch, name, " has rank ",
            v.ndim, ", but a tensor view has at most ", kMaxDims, " dims");
  detail::check_enum(v.dtype, concat(name, ".dtype").c_str());
  detail::check_enum(v.device, concat(name, ".device").c_str());
  UPS_CHECK(v.device == Device::kCPU || v.device == Device::kCUDA, ErrorCode::kInvalidArgument,
            name, " must live on cpu or cuda, not '", to_string(v.device), "'");
  detail::checked_numel(v.shape(), name);
}

bool supported_dtype(DType d) {
  return d == DType::kF32 || d == DType::kF64 || d == DType::kF16 || d == DType::kBF16;
}

// Validates a call and builds the problem. With `need_data` the views must have data.
// The names a call's messages use: the forward's, or the backward's (dst is grad_output there,
// read rather than written).
struct Names {
  const char* op = "conv_transpose";
  const char* src = "src";
  const char* dst = "dst";
  bool dst_written = true;
};

detail::ConvTransposePlan prepare(const Context& ctx, const TensorView& src,
                                  const TensorView& weight, const TensorView* bias,
                                  const TensorView& dst, const ConvTransposeOptions& opt,
                                  bool need_data, const Names& nm = Names()) {
  detail::check_enum(opt.algorithm, "options.algorithm");
  if (need_data) {
    detail::check_view(src, nm.src);
    detail::check_view(weight, "weight");
    if (bias != nullptr) detail::check_view(*bias, "bias");
    detail::check_view(dst, nm.dst);
  } else {
    check_meta(src, nm.src);
    check_meta(weight, "weight");
    if (bias != nullptr) check_meta(*bias, "bias");
    check_meta(dst, nm.dst);
  }
  const Resolved r = resolve(src.shape(), weight.shape(), opt);
  if (bias != nullptr) {
    UPS_CHECK(bias->ndim == 1 && bias->sizes[0] == r.cout, ErrorCode::kShapeMismatch,
              "Given transposed=1, weight of size ", shape_to_string(weight.shape()),
              ", expected bias to be 1-dimensional with ", r.cout,
              " elements, but got bias of size ", shape_to_string(bias->shape()), " instead");
  }
  UPS_CHECK(supported_dtype(src.dtype), ErrorCode::kUnsupportedDType, nm.op,
            " does not support dtype ", to_string(src.dtype), " (supported: f32, f64, f16, bf16)");
  UPS_CHECK(weight.dtype == src.dtype, ErrorCode::kUnsupportedDType, nm.op, ": weight has ",
            "dtype ", to_string(weight.dtype), " but ", nm.src, " has dtype ",
            to_string(src.dtype));
  if (bias != nullptr) {
    UPS_CHECK(bias->dtype == src.dtype, ErrorCode::kUnsupportedDType, "conv_transpose: bias has ",
              "dtype ", to_string(bias->dtype), " but src has dtype ", to_string(src.dtype));
  }
  UPS_CHECK(dst.dtype == src.dtype, ErrorCode::kUnsupportedDType, nm.op, ": ", nm.dst,
            " has dtype ", to_string(dst.dtype), " but ", nm.src, " has dtype ",
            to_string(src.dtype));
  UPS_CHECK(dst.shape() == r.out_shape, ErrorCode::kShapeMismatch, nm.op, ": expected ", nm.dst,
            " of shape ", shape_to_string(r.out_shape), " but got ", shape_to_string(dst.shape()));
  detail::check_device(ctx, src, nm.src);
  detail::check_device(ctx, weight, "weight");
  if (bias != nullptr) detail::check_device(ctx, *bias, "bias");
  detail::check_device(ctx, dst, nm.dst);
  if (nm.dst_written) detail::check_no_self_overlap(dst, nm.dst);
  if (need_data && nm.dst_written) {
    detail::check_no_overlap(src, dst);
    detail::check_no_overlap(weight, dst);
    if (bias != nullptr) detail::check_no_overlap(*bias, dst);
  }

  detail::ConvTransposePlan p{};
  p.dtype = src.dtype;
  p.spatial = r.sp;
  p.src = src.data;
  p.weight = weight.data;
  p.bias = bias != nullptr ? bias->data : nullptr;
  p.dst = dst.data;
  p.src_view = src;
  p.weight_view = weight;
  p.dst_view = dst;
  p.src_numel = src.numel();
  p.dst_numel = dst.numel();
  for (int i = 0; i < 3; ++i) {
    p.stride[i] = i < r.sp ? r.stride[i] : 1;
    p.pad[i] = i < r.sp ? r.pad[i] : 0;
    p.output_padding[i] = i < r.sp ? r.opad[i] : 0;
    p.dil[i] = i < r.sp ? r.dil[i] : 1;
  }

  kern::DeconvGeometry& g = p.g;
  g.n = r.n;
  g.groups = r.groups;
  g.cin_g = r.cin_g;
  g.cout_g = r.cout_g;
  const int lead = 3 - r.sp;  // unit D (and H) dims for 1-D and 2-D problems
  for (int d = 0; d < 3; ++d) {
    const int i = d - lead;  // index among the caller's spatial dims, < 0 when padded
    const bool real = i >= 0;
    g.in[d] = real ? r.in[i] : 1;
    g.out[d] = real ? r.out[i] : 1;
    g.k[d] = real ? r.k[i] : 1;
    g.stride[d] = real ? r.stride[i] : 1;
    g.pad[d] = real ? r.pad[i] : 0;
    g.dil[d] = real ? r.dil[i] : 1;
    g.src_stride[2 + d] = real ? src.strides[2 + i] : 0;
    g.dst_stride[2 + d] = real ? dst.strides[2 + i] : 0;
    g.w_stride[2 + d] = real ? weight.strides[2 + i] : 0;
  }
  for (int d = 0; d < 2; ++d) {
    g.src_stride[d] = src.strides[d];
    g.dst_stride[d] = dst.strides[d];
    g.w_stride[d] = weight.strides[d];
  }
  g.has_bias = bias != nullptr;
  g.bias_stride = bias != nullptr ? bias->strides[0] : 0;
  g.dst_channels_last = detail::is_channels_last(dst);
  g.src_channels_last = detail::is_channels_last(src);
  kern::init_deconv_taps(g);
  return p;
}

ConvTransposeAttempt attempt(ConvTransposeAlgo a, bool chosen, std::string reason) {
  ConvTransposeAttempt t;
  t.algo = a;
  t.chosen = chosen;
  t.reason = std::move(reason);
  return t;
}

void check_algorithm_allowed(const Context& ctx, ConvTransposeAlgo algo) {
  UPS_CHECK(!(algo == ConvTransposeAlgo::kScatter && ctx.deterministic()),
            ErrorCode::kInvalidArgument,
            "conv_transpose: algorithm 'scatter' is nondeterministic (it accumulates with "
            "atomicAdd), but deterministic mode is on; use 'gather', 'cudnn', 'auto' or "
            "'benchmark', or turn determinism off");
  if (ctx.device() == Device::kCPU) {
    UPS_CHECK(algo != ConvTransposeAlgo::kScatter && algo != ConvTransposeAlgo::kCudnn,
              ErrorCode::kUnsupportedDevice, "conv_transpose: algorithm '", to_string(algo),
              "' runs only on CUDA; the CPU runs 'gemm', 'onednn' (or 'gather')");
  } else {
    UPS_CHECK(algo != ConvTransposeAlgo::kGemm && algo != ConvTransposeAlgo::kOnednn,
              ErrorCode::kUnsupportedDevice, "conv_transpose: algorithm '", to_string(algo),
              "' runs on the CPU; on CUDA use 'auto', 'gather', 'scatter', 'cudnn' or "
              "'benchmark'");
  }
}

}  // namespace

Shape conv_transpose_output_shape(const Shape& input_shape, const Shape& weight_shape,
                                  const ConvTransposeOptions& options) {
  return resolve(input_shape, weight_shape, options).out_shape;
}

std::size_t conv_transpose_workspace_size(const Context& ctx, const TensorView& src,
                                          const TensorView& weight, const TensorView* bias,
                                          const TensorView& dst,
                                          const ConvTransposeOptions& options) {
  const detail::ConvTransposePlan p = prepare(ctx, src, weight, bias, dst, options, false);
  check_algorithm_allowed(ctx, options.algorithm);
  if (ctx.device() == Device::kCPU || p.dst_numel == 0) return 0;
  const detail::CudaDeviceScope scope(
      ctx, {{"src", &src}, {"weight", &weight}, {"bias", bias}, {"dst", &dst}});
  return detail::conv_transpose_cuda_workspace(ctx, p, options.algorithm);
}

ConvTransposeResult conv_transpose(const Context& ctx, const TensorView& src,
                                   const TensorView& weight, const TensorView* bias,
                                   const TensorView& dst, const ConvTransposeOptions& options) {
  const detail::ConvTransposePlan p = prepare(ctx, src, weight, bias, dst, options, true);
  const ConvTransposeAlgo algo = options.algorithm;
  check_algorithm_allowed(ctx, algo);

  ConvTransposeResult result;
  if (p.dst_numel == 0) {  // N == 0: every other empty dim was rejected above
    result.attempts.push_back(attempt(algo, false, "empty batch: nothing to compute"));
    return result;
  }
  if (ctx.device() == Device::kCPU) return detail::conv_transpose_cpu(ctx, p, algo);
  const detail::CudaDeviceScope scope(
      ctx, {{"src", &src}, {"weight", &weight}, {"bias", bias}, {"dst", &dst}});
  return detail::conv_transpose_cuda(ctx, p, algo);
}

namespace {

const Names kBackwardNames{"conv_transpose_backward", "input", "grad_output", false};

// One gradient's checks: the shape it must have, the dtype and device of the input, no
// overlap with itself or with any operand.
void check_gradient(const Context& ctx, const TensorView& g, const char* name, const Shape& want,
                    const char* shape_of, const TensorView& input, bool need_data,
                    std::initializer_list<const TensorView*> operands) {
  if (need_data) {
    detail::check_view(g, name);
  } else {
    check_meta(g, name);
  }
  UPS_CHECK(g.dtype == input.dtype, ErrorCode::kUnsupportedDType, "conv_transpose_backward: ", name,
            " has dtype ", to_string(g.dtype), " but input has dtype ", to_string(input.dtype));
  UPS_CHECK(g.shape() == want, ErrorCode::kShapeMismatch, "conv_transpose_backward: expected ",
            name, " of shape ", shape_to_string(want), " (", shape_of, ") but got ",
            shape_to_string(g.shape()));
  detail::check_device(ctx, g, name);
  detail::check_no_self_overlap(g, name);
  if (need_data) {
    for (const TensorView* o : operands) {
      if (o != nullptr) detail::check_no_overlap(*o, g);
    }
  }
}

detail::ConvTransposeBackwardPlan prepare_backward(
    const Context& ctx, const TensorView& grad_output, const TensorView& input,
    const TensorView& weight, const TensorView* grad_input, const TensorView* grad_weight,
    const TensorView* grad_bias, const ConvTransposeOptions& opt, bool need_data) {
  detail::ConvTransposeBackwardPlan b{};
  b.fwd = prepare(ctx, input, weight, nullptr, grad_output, opt, need_data, kBackwardNames);
  const std::int64_t cout = b.fwd.g.groups * b.fwd.g.cout_g;
  if (grad_input != nullptr) {
    check_gradient(ctx, *grad_input, "grad_input", input.shape(), "the shape of input", input,
                   need_data, {&grad_output, &input, &weight});
  }
  if (grad_weight != nullptr) {
    check_gradient(ctx, *grad_weight, "grad_weight", weight.shape(), "the shape of weight", input,
                   need_data, {&grad_output, &input, &weight, grad_input});
  }
  if (grad_bias != nullptr) {
    check_gradient(ctx, *grad_bias, "grad_bias", Shape{cout}, "(C_out)", input, need_data,
                   {&grad_output, &input, &weight, grad_input, grad_weight});
  }
  const int sp = b.fwd.spatial;
  const int lead = 3 - sp;
  if (grad_input != nullptr) {
    b.grad_input = grad_input->data;
    b.gx_view = *grad_input;
    b.gx_stride[0] = grad_input->strides[0];
    b.gx_stride[1] = grad_input->strides[1];
    for (int d = 0; d < 3; ++d)
      b.gx_stride[2 + d] = d >= lead ? grad_input->strides[2 + d - lead] : 0;
    b.gx_channels_last = detail::is_channels_last(*grad_input);
  }
  if (grad_weight != nullptr) {
    b.grad_weight = grad_weight->data;
    b.gw_view = *grad_weight;
    b.gw_stride[0] = grad_weight->strides[0];
    b.gw_stride[1] = grad_weight->strides[1];
    for (int d = 0; d < 3; ++d)
      b.gw_stride[2 + d] = d >= lead ? grad_weight->strides[2 + d - lead] : 0;
  }
  if (grad_bias != nullptr) {
    b.grad_bias = grad_bias->data;
    b.gb_stride = grad_bias->strides[0];
  }
  return b;
}

void check_backward_algorithm(const Context& ctx, ConvTransposeAlgo algo) {
  UPS_CHECK(algo != ConvTransposeAlgo::kScatter, ErrorCode::kInvalidArgument,
            "conv_transpose_backward: algorithm 'scatter' has no backward form; use 'auto', "
            "'gemm', 'gather', 'cudnn' or 'benchmark'");
  if (ctx.device() == Device::kCPU) {
    UPS_CHECK(algo != ConvTransposeAlgo::kCudnn, ErrorCode::kUnsupportedDevice,
              "conv_transpose_backward: algorithm 'cudnn' runs only on CUDA; the CPU runs "
              "'gemm', 'onednn' (or 'gather')");
  } else {
    UPS_CHECK(algo != ConvTransposeAlgo::kGemm && algo != ConvTransposeAlgo::kOnednn,
              ErrorCode::kUnsupportedDevice, "conv_transpose_backward: algorithm '",
              to_string(algo),
              "' runs on the CPU; on CUDA use 'auto', 'gather', 'cudnn' or "
              "'benchmark'");
  }
}

ConvTransposeResult not_requested(const char* name) {
  ConvTransposeResult r;
  r.attempts.push_back(attempt(ConvTransposeAlgo::kAuto, false, concat(name, " not requested")));
  return r;
}

}  // namespace

std::size_t conv_transpose_backward_workspace_size(
    const Context& ctx, const TensorView& grad_output, const TensorView& input,
    const TensorView& weight, const TensorView* grad_input, const TensorView* grad_weight,
    const TensorView* grad_bias, const ConvTransposeOptions& options) {
  const detail::ConvTransposeBackwardPlan b = prepare_backward(
      ctx, grad_output, input, weight, grad_input, grad_weight, grad_bias, options, false);
  check_backward_algorithm(ctx, options.algorithm);
  if (ctx.device() == Device::kCPU || b.fwd.dst_numel == 0) return 0;
  const detail::CudaDeviceScope scope(ctx, {{"grad_output", &grad_output},
                                            {"input", &input},
                                            {"weight", &weight},
                                            {"grad_input", grad_input},
                                            {"grad_weight", grad_weight},
                                            {"grad_bias", grad_bias}});
  std::size_t need = 0;
  if (grad_input != nullptr) {
    need = std::max(need, detail::conv_transpose_backward_cuda_workspace(
                              ctx, b, detail::DeconvPass::kGradInput, options.algorithm));
  }
  if (grad_weight != nullptr) {
    need = std::max(need, detail::conv_transpose_backward_cuda_workspace(
                              ctx, b, detail::DeconvPass::kGradWeight, options.algorithm));
  }
  return need;
}

ConvTransposeBackwardResult conv_transpose_backward(
    const Context& ctx, const TensorView& grad_output, const TensorView& input,
    const TensorView& weight, const TensorView* grad_input, const TensorView* grad_weight,
    const TensorView* grad_bias, const ConvTransposeOptions& options) {
  const detail::ConvTransposeBackwardPlan b = prepare_backward(
      ctx, grad_output, input, weight, grad_input, grad_weight, grad_bias, options, true);
  const ConvTransposeAlgo algo = options.algorithm;
  check_backward_algorithm(ctx, algo);

  ConvTransposeBackwardResult result;
  result.grad_input = not_requested("grad_input");
  result.grad_weight = not_requested("grad_weight");
  result.grad_bias = not_requested("grad_bias");
  if (ctx.device() == Device::kCPU) {
    detail::conv_transpose_backward_cpu_dispatch(ctx, b, algo, &result);
    return result;
  }
  const detail::CudaDeviceScope scope(ctx, {{"grad_output", &grad_output},
                                            {"input", &input},
                                            {"weight", &weight},
                                            {"grad_input", grad_input},
                                            {"grad_weight", grad_weight},
                                            {"grad_bias", grad_bias}});
  if (grad_input != nullptr) {
    result.grad_input =
        detail::conv_transpose_backward_cuda(ctx, b, detail::DeconvPass::kGradInput, algo);
  }
  if (grad_weight != nullptr) {
    result.grad_weight =
        detail::conv_transpose_backward_cuda(ctx, b, detail::DeconvPass::kGradWeight, algo);
  }
  if (grad_bias != nullptr) {
    result.grad_bias =
        detail::conv_transpose_backward_cuda(ctx, b, detail::DeconvPass::kGradBias, algo);
  }
  return result;
}

}  // namespace ups
