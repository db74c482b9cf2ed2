// Validation and planning of ups::max_pool and ups::max_unpool, following ATen's
// max_pool{1,2,3}d_with_indices checks (Pool.h, PoolingChecks.h) and torch.nn.functional's
// _unpool_output_size plus ATen's max_unpooling_shape_check, messages included; then dispatch to
// a backend.
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "max_pool_plan.hpp"
#include "max_unpool_plan.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"
#include "validate.hpp"

namespace ups {

using detail::concat;
using detail::fail;

namespace {

const char* count_word(int k) {
  return k == 1 ? "one" : k == 2 ? "two" : "three";
}

// PyTorch's names of scalar types, for the messages that print them.
const char* torch_type_name(DType t) {
  switch (t) {
    case DType::kF32:
      return "Float";
    case DType::kF64:
      return "Double";
    case DType::kF16:
      return "Half";
    case DType::kBF16:
      return "BFloat16";
    case DType::kU8:
      return "Byte";
    case DType::kI32:
      return "Int";
    case DType::kI64:
      return "Long";
  }
  return "?";
}

// Picks the pooling dimensionality: spatial_dims, or rank - 2 for a batched input.
int pooling_dims(const char* op, int spatial_dims, std::size_t rank) {
  UPS_CHECK(spatial_dims >= 0 && spatial_dims <= 3, ErrorCode::kInvalidArgument, op,
            ": spatial_dims must be 0 (batched input), 1, 2 or 3, but got ", spatial_dims);
  if (spatial_dims != 0) return spatial_dims;
  UPS_CHECK(rank >= 3 && rank <= 5, ErrorCode::kShapeMismatch, op,
            ": expected a batched (N, C, *spatial) input of rank 3, 4 or 5, but got rank ", rank,
            "; set spatial_dims to pass an unbatched (C, *spatial) input");
  return static_cast<int>(rank) - 2;
}

// One value per spatial dim (D, H, W slots; the unused leading slots get `unit`).
struct Triple {
  std::int64_t v[3];
};

Triple expand(const std::vector<std::int64_t>& list, int k, std::int64_t unit) {
  Triple t{{unit, unit, unit}};
  for (int j = 0; j < k; ++j) {
    t.v[3 - k + j] = list.size() == 1 ? list[0] : list[static_cast<std::size_t>(j)];
  }
  return t;
}

// floor(a / b) for b != 0 (ATen's div_rtn).
std::int64_t div_rtn(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t add_checked(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r = 0;
  UPS_CHECK(!__builtin_add_overflow(a, b, &r), ErrorCode::kOutOfMemory, what, " overflows int64");
  return r;
}
std::int64_t sub_checked(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r = 0;
  UPS_CHECK(!__builtin_sub_overflow(a, b, &r), ErrorCode::kOutOfMemory, what, " overflows int64");
  return r;
}
std::int64_t mul_checked(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r = 0;
  UPS_CHECK(!__builtin_mul_overflow(a, b, &r), ErrorCode::kOutOfMemory, what, " overflows int64");
  return r;
}

// ---- max_pool ----------------------------------------------------------------------------------

struct PoolResolved {
  int k;
  bool batched;
  Triple kernel, stride, pad, dilation;
  Triple in, out;  // D, H, W (unit slots are 1)
  Shape out_shape;
};

void check_pool_list_sizes(int k, const MaxPoolOptions& o) {
  const std::size_t kk = static_cast<std::size_t>(k);
  if (k == 1) {
    // ATen's check_max_pool1d.
    UPS_CHECK(o.kernel_size.size() == 1, ErrorCode::kInvalidArgument,
              "max_pool1d() kernel_size must be an int, list of ints or tuple of ints of size 1 "
              "but got size ",
              o.kernel_size.size());
    UPS_CHECK(o.stride.size() <= 1, ErrorCode::kInvalidArgument,
              "max_pool1d() stride must be None, an int, list of ints, or tuple of ints of size 1 "
              "but got size ",
              o.stride.size());
    UPS_CHECK(o.padding.size() == 1, ErrorCode::kInvalidArgument,
              "max_pool1d() padding must be an int, list of ints, or tuple of ints of size 1 but "
              "got size ",
              o.padding.size());
    UPS_CHECK(o.dilation.size() == 1, ErrorCode::kInvalidArgument,
              "max_pool1d() dilation must be an int, list of ints or tuple of ints of size 1 but "
              "got size ",
              o.dilation.size());
    return;
  }
  const char* n = count_word(k);
  UPS_CHECK(o.kernel_size.size() == 1 || o.kernel_size.size() == kk, ErrorCode::kInvalidArgument,
            "max_pool", k, "d: kernel_size must either be a single int, or a tuple of ", n,
            " ints");
  UPS_CHECK(o.stride.empty() || o.stride.size() == 1 || o.stride.size() == kk,
            ErrorCode::kInvalidArgument, "max_pool", k,
            "d: stride must either be omitted, a single int, or a tuple of ", n, " ints");
  UPS_CHECK(o.padding.size() == 1 || o.padding.size() == kk, ErrorCode::kInvalidArgument,
            "max_pool", k, "d: padding must either be a single int, or a tuple of ", n, " ints");
  UPS_CHECK(o.dilation.size() == 1 || o.dilation.size() == kk, ErrorCode::kInvalidArgument,
            "max_pool", k, "d: dilation must be either a single int, or a tuple of ", n, " ints");
}

// ATen's effective_kernel_size + pooling_output_shape checks for one dim, then the size itself
// (pooling_output_shape_pad_lr). The size is only meaningful for positive kernel, stride and
// dilation; other values are rejected by the shape check that follows, before the size is used.
std::int64_t pool_output_size(std::int64_t in, std::int64_t k, std::int64_t pad, std::int64_t s,
                              std::int64_t d, bool ceil_mode) {
  UPS_CHECK(s != 0, ErrorCode::kInvalidArgument, "stride should not be zero");
  UPS_CHECK(pad >= 0, ErrorCode::kInvalidArgument, "pad must be non-negative, but got pad: ", pad);
  std::int64_t eff = 0;
  const bool overflow = __builtin_add_overflow(k, std::int64_t(-1), &eff) ||
                        __builtin_mul_overflow(eff, d, &eff) ||
                        __builtin_add_overflow(eff, std::int64_t(1), &eff);
  UPS_CHECK(!overflow, ErrorCode::kInvalidArgument,
            "effective kernel size overflows, but got kernel_size=", k, " and dilation=", d);
  UPS_CHECK(pad <= eff / 2, ErrorCode::kInvalidArgument,
            "pad should be at most half of effective kernel size, but got pad=", pad,
            ", kernel_size=", k, " and dilation=", d);
  // A negative input size (no PyTorch tensor has one) also yields 0: "Output size is too small".
  if (k <= 0 || s <= 0 || d <= 0 || in < 0) return 0;
  std::int64_t num = add_checked(in, add_checked(pad, pad, "pooling size"), "pooling size");
  num -= eff;  // eff >= 1 and num >= 0, so no overflow
  if (ceil_mode) num = add_checked(num, s - 1, "pooling size");
  std::int64_t out = div_rtn(num, s) + 1;
  // Ceil mode: the last window must start inside the input or the left padding.
  if (ceil_mode && (out - 1) * s >= in + pad) --out;
  return out;
}

PoolResolved resolve_pool(const Shape& in, const MaxPoolOptions& o) {
  PoolResolved r;
  const std::size_t rank = in.size();
  r.k = pooling_dims("max_pool", o.spatial_dims, rank);
  const int k = r.k;
  check_pool_list_sizes(k, o);
  // The rank checks of F.max_pool1d and of ATen's max_pool2d/3d_with_indices.
  const bool rank_ok =
      rank == static_cast<std::size_t>(k + 1) || rank == static_cast<std::size_t>(k + 2);
  if (k == 1) {
    UPS_CHECK(rank_ok, ErrorCode::kShapeMismatch, "Expected 2 to 3 dimensions, but got ", rank,
              "-dimensional tensor for argument #1 'self' (while checking arguments for "
              "max_pool1d)");
  } else {
    UPS_CHECK(rank_ok, ErrorCode::kShapeMismatch, "non-empty ", k + 1, "D or ", k + 2,
              "D (batch mode) tensor expected for input");
  }
  r.batched = rank == static_cast<std::size_t>(k + 2);
  const std::size_t first_spatial = rank - static_cast<std::size_t>(k);
  const std::int64_t channels = in[first_spatial - 1];

  r.kernel = expand(o.kernel_size, k, 1);
  r.stride = expand(o.stride.empty() ? o.kernel_size : o.stride, k, 1);
  r.pad = expand(o.padding, k, 0);
  r.dilation = expand(o.dilation, k, 1);
  r.in = Triple{{1, 1, 1}};
  for (int j = 0; j < k; ++j)
    r.in.v[3 - k + j] = in[first_spatial + static_cast<std::size_t>(j)];
  // PyTorch computes the sizes in D (T), H, W order.
  r.out = Triple{{1, 1, 1}};
  for (int d = 3 - k; d < 3; ++d) {
    r.out.v[d] = pool_output_size(r.in.v[d], r.kernel.v[d], r.pad.v[d], r.stride.v[d],
                                  r.dilation.v[d], o.ceil_mode);
  }
  const std::int64_t* K = r.kernel.v;
  const std::int64_t* S = r.stride.v;
  const std::int64_t* P = r.pad.v;
  const std::int64_t* D = r.dilation.v;
  const std::int64_t* I = r.in.v;
  const std::int64_t* O = r.out.v;
  if (k <= 2) {
    // pool2d_shape_check (1-D pooling is 2-D pooling with a unit H dim).
    UPS_CHECK(K[1] > 0 && K[2] > 0, ErrorCode::kInvalidArgument,
              "kernel size should be greater than zero, but got kH: ", K[1], " kW: ", K[2]);
    UPS_CHECK(S[1] > 0 && S[2] > 0, ErrorCode::kInvalidArgument,
              "stride should be greater than zero, but got dH: ", S[1], " dW: ", S[2]);
    UPS_CHECK(D[1] > 0 && D[2] > 0, ErrorCode::kInvalidArgument,
              "dilation should be greater than zero, but got dilationH: ", D[1],
              " dilationW: ", D[2]);
    const bool dims_ok = channels != 0 && I[1] != 0 && I[2] != 0;
    Shape shown = in;  // PyTorch prints the 2-D view of a 1-D input
    if (k == 1) shown.insert(shown.end() - 1, 1);
    UPS_CHECK(dims_ok, ErrorCode::kShapeMismatch,
              "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
              "but got:",
              shape_to_string(shown));
    UPS_CHECK(K[2] / 2 >= P[2] && K[1] / 2 >= P[1], ErrorCode::kInvalidArgument,
              "pad should be smaller than or equal to half of kernel size, but got padW = ", P[2],
              ", padH = ", P[1], ", kW = ", K[2], ", kH = ", K[1]);
    UPS_CHECK(O[1] >= 1 && O[2] >= 1, ErrorCode::kShapeMismatch, "Given input size: (", channels,
              "x", I[1], "x", I[2], "). Calculated output size: (", channels, "x", O[1], "x", O[2],
              "). Output size is too small");
  } else {
    // pool3d_shape_check.
    UPS_CHECK(K[0] > 0 && K[1] > 0 && K[2] > 0, ErrorCode::kInvalidArgument,
              "kernel size should be greater than zero, but got kT: ", K[0], " kH: ", K[1],
              " kW: ", K[2]);
    UPS_CHECK(S[0] > 0 && S[1] > 0 && S[2] > 0, ErrorCode::kInvalidArgument,
              "stride should be greater than zero, but got dT: ", S[0], " dH: ", S[1],
              " dW: ", S[2]);
    UPS_CHECK(D[0] > 0 && D[1] > 0 && D[2] > 0, ErrorCode::kInvalidArgument,
              "dilation should be greater than zero, but got dilationT: ", D[0],
              " dilationH: ", D[1], " dilationW: ", D[2]);
    for (std::size_t i = r.batched ? 1 : 0; i < rank; ++i) {
      UPS_CHECK(in[i] > 0, ErrorCode::kShapeMismatch,
                "max_pool3d(): Expected input to have non-zero size for non-batch dimensions, but "
                "input has sizes ",
                shape_to_string(in), " with dimension ", i, " being empty");
    }
    UPS_CHECK(K[0] / 2 >= P[0] && K[2] / 2 >= P[2] && K[1] / 2 >= P[1], ErrorCode::kInvalidArgument,
              "pad should be smaller than or equal to half of kernel size, but got kT: ", K[0],
              " kW: ", K[2], " kH: ", K[1], " padT: ", P[0], " padW: ", P[2], " padH: ", P[1]);
    UPS_CHECK(O[0] >= 1 && O[1] >= 1 && O[2] >= 1, ErrorCode::kShapeMismatch, "Given input size: (",
              channels, "x", I[0], "x", I[1], "x", I[2], "). Calculated output size: (", channels,
              "x", O[0], "x", O[1], "x", O[2], "). Output size is too small");
  }
  r.out_shape.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(first_spatial));
  for (int j = 0; j < k; ++j)
    r.out_shape.push_back(O[3 - k + j]);
  detail::checked_numel(r.out_shape, "max_pool output");
  return r;
}

// A view as five logical dims (N, C, D, H, W): a missing batch dim and missing spatial dims
// become unit dims of stride 0.
struct View5 {
  std::int64_t size[5];
  std::int64_t stride[5];
};

View5 to_view5(const TensorView& v, int k, bool batched) {
  View5 r{{1, 1, 1, 1, 1}, {0, 0, 0, 0, 0}};
  const int b = batched ? 1 : 0;
  if (batched) {
    r.size[0] = v.sizes[0];
    r.stride[0] = v.strides[0];
  }
  r.size[1] = v.sizes[b];
  r.stride[1] = v.strides[b];
  for (int j = 0; j < k; ++j) {
    r.size[5 - k + j] = v.sizes[b + 1 + j];
    r.stride[5 - k + j] = v.strides[b + 1 + j];
  }
  return r;
}

// The channel dim has unit stride and every other non-trivial dim a larger one (PyTorch's
// channels_last formats, also for unbatched views): iterate channels innermost.
bool channels_innermost(const View5& v) {
  if (v.size[1] <= 1 || v.stride[1] != 1) return false;
  for (int d = 2; d < 5; ++d) {
    if (v.size[d] > 1 && v.stride[d] <= 1) return false;
  }
  return true;
}

// ---- max_unpool --------------------------------------------------------------------------------

struct UnpoolResolved {
  int k;
  bool batched;
  Triple in, out;  // D, H, W (unit slots are 1)
  Shape out_shape;
};

std::string tuple_string(const std::vector<std::int64_t>& v) {
  std::ostringstream os;
  os << "(";
  for (std::size_t i = 0; i < v.size(); ++i)
    os << (i ? ", " : "") << v[i];
  os << (v.size() == 1 ? ",)" : ")");
  return os.str();
}

// F.max_unpool{k}d's _unpool_output_size, then ATen's max_unpooling_shape_check. `indices` is
// null for the shape-only query.
UnpoolResolved resolve_unpool(const Shape& in, const MaxUnpoolOptions& o,
                              const TensorView* indices) {
  UnpoolResolved r;
  const std::size_t rank = in.size();
  r.k = pooling_dims("max_unpool", o.spatial_dims, rank);
  const int k = r.k;
  const std::size_t kk = static_cast<std::size_t>(k);
  UPS_CHECK(rank == kk + 1 || rank == kk + 2, ErrorCode::kShapeMismatch, "Input to max_unpooling",
            k, "d should be a ", k + 1, "d or ", k + 2, "d Tensor, but got a tensor with ", rank,
            " dimensions.");
  r.batched = rank == kk + 2;
  const std::size_t first_spatial = rank - kk;

  // _unpool_output_size (Python). PyTorch's _single/_pair/_triple take any length; ups accepts
  // one value or one per dim.
  UPS_CHECK(o.kernel_size.size() == 1 || o.kernel_size.size() == kk, ErrorCode::kInvalidArgument,
            "max_unpool", k, "d: kernel_size must be a single int or ", count_word(k),
            " ints, but got ", o.kernel_size.size(), " values");
  UPS_CHECK(o.stride.empty() || o.stride.size() == 1 || o.stride.size() == kk,
            ErrorCode::kInvalidArgument, "max_unpool", k,
            "d: stride must be omitted, a single int or ", count_word(k), " ints, but got ",
            o.stride.size(), " values");
  UPS_CHECK(o.padding.size() == 1 || o.padding.size() == kk, ErrorCode::kInvalidArgument,
            "max_unpool", k, "d: padding must be a single int or ", count_word(k),
            " ints, but got ", o.padding.size(), " values");
  const Triple kernel = expand(o.kernel_size, k, 1);
  const Triple stride = expand(o.stride.empty() ? o.kernel_size : o.stride, k, 1);
  const Triple pad = expand(o.padding, k, 0);
  std::vector<std::int64_t> def(kk), out(kk);
  for (std::size_t j = 0; j < kk; ++j) {
    const std::size_t s = 3 - kk + j;
    const std::int64_t a = mul_checked(sub_checked(in[first_spatial + j], 1, "unpool size"),
                                       stride.v[s], "unpool size");
    def[j] = sub_checked(add_checked(a, kernel.v[s], "unpool size"),
                         mul_checked(2, pad.v[s], "unpool size"), "unpool size");
  }
  if (o.output_size.empty()) {
    out = def;
  } else {
    std::vector<std::int64_t> os = o.output_size;
    if (os.size() == kk + 2) os.erase(os.begin(), os.begin() + 2);
    UPS_CHECK(os.size() == kk, ErrorCode::kInvalidArgument,
              "output_size should be a sequence containing ", k, " or ", k + 2,
              " elements, but it has a length of '", o.output_size.size(), "'");
    for (std::size_t j = 0; j < kk; ++j) {
      const std::int64_t st = stride.v[3 - kk + j];
      const std::int64_t lo = sub_checked(def[j], st, "unpool size");
      const std::int64_t hi = add_checked(def[j], st, "unpool size");
      UPS_CHECK(lo < os[j] && os[j] < hi, ErrorCode::kInvalidArgument, "invalid output_size \"",
                tuple_string(os), "\" (dim ", j, " must be between ", lo, " and ", hi, ")");
    }
    out = os;
  }
  for (std::size_t j = 0; j < kk; ++j) {
    UPS_CHECK(out[j] >= 0, ErrorCode::kInvalidArgument,
              "max_unpooling: output_size must contain non-negative spatial dimensions, but got "
              "output_size[",
              j, "]=", out[j]);
  }

  // max_unpooling_shape_check (ATen).
  if (indices != nullptr) {
    UPS_CHECK(
        indices->dtype == DType::kI64, ErrorCode::kUnsupportedDType,
        "elements in indices should be type int64 but got: ", torch_type_name(indices->dtype));
    UPS_CHECK(indices->shape() == in, ErrorCode::kShapeMismatch,
              "Expected shape of indices to be same as that of the input tensor (",
              shape_to_string(in),
              ") but got indices tensor with shape: ", shape_to_string(indices->shape()));
  }
  for (std::size_t i = 1; i < rank; ++i) {
    UPS_CHECK(in[i] > 0, ErrorCode::kShapeMismatch, "max_unpooling", k,
              "d(): Expected input to have non-zero size for non-batch dimensions, but input has "
              "sizes ",
              shape_to_string(in), " with dimension ", i, " being empty");
  }
  if (k == 3) {
    UPS_CHECK(stride.v[0] > 0 && stride.v[1] > 0 && stride.v[2] > 0, ErrorCode::kInvalidArgument,
              "strides should be greater than zero, but got stride: ",
              shape_to_string(Shape(stride.v, stride.v + 3)));
  }

  r.in = Triple{{1, 1, 1}};
  r.out = Triple{{1, 1, 1}};
  for (std::size_t j = 0; j < kk; ++j) {
    r.in.v[3 - kk + j] = in[first_spatial + j];
    r.out.v[3 - kk + j] = out[j];
  }
  r.out_shape.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(first_spatial));
  r.out_shape.insert(r.out_shape.end(), out.begin(), out.end());
  detail::checked_numel(r.out_shape, "max_unpool output");
  return r;
}

// The byte range [offset, offset + bytes) that a dense view fills exactly, or bytes = 0 when the
// view has gaps (a non-overlapping view is dense when its span equals its element count).
void dense_range(const TensorView& v, std::int64_t numel, std::int64_t* offset,
                 std::int64_t* bytes) {
  std::int64_t lo = 0, hi = 0;
  for (int i = 0; i < v.ndim; ++i) {
    if (v.sizes[i] <= 1) continue;
    const std::int64_t reach = v.strides[i] * (v.sizes[i] - 1);
    (reach < 0 ? lo : hi) += reach;
  }
  const auto es = static_cast<std::int64_t>(dtype_size(v.dtype));
  const bool dense = hi - lo + 1 == numel;
  *offset = dense ? lo * es : 0;
  *bytes = dense ? numel * es : 0;
}

// The plan of an unpooling whose input view is `in` (max_unpool's src, or grad_input for the
// backward), with `indices`, and whose output view is `out` (dst, or grad_output).
detail::MaxUnpoolPlan make_unpool_plan(const TensorView& in, const TensorView& indices,
                                       const TensorView& out, const UnpoolResolved& r,
                                       const char* in_what, const char* out_what) {
  detail::MaxUnpoolPlan plan{};
  plan.dtype = in.dtype;
  plan.total_in = detail::checked_numel(in.shape(), in_what);
  plan.total_out = detail::checked_numel(r.out_shape, out_what);
  kern::UnpoolGeometry& g = plan.geometry;
  const View5 s5 = to_view5(in, r.k, r.batched);
  const View5 i5 = to_view5(indices, r.k, r.batched);
  const View5 d5 = to_view5(out, r.k, r.batched);
  g.n = s5.size[0];
  g.c = s5.size[1];
  for (int d = 0; d < 3; ++d) {
    g.in[d] = r.in.v[d];
    g.out[d] = r.out.v[d];
  }
  g.plane_in = g.in[0] * g.in[1] * g.in[2];
  g.plane_out = g.out[0] * g.out[1] * g.out[2];
  for (int d = 0; d < 5; ++d) {
    g.src_stride[d] = s5.stride[d];
    g.idx_stride[d] = i5.stride[d];
    g.dst_stride[d] = d5.stride[d];
    plan.dst_sizes[d] = d5.size[d];
  }
  g.channels_last = channels_innermost(s5);
  // Dividends are input indices, coordinates and output-plane indices (< total_out).
  g.narrow = plan.total_in < (std::int64_t(1) << 32) && plan.total_out < (std::int64_t(1) << 32);
  // The plane sizes as PyTorch's message prints them: 1-D unpooling runs as 2-D with a unit W.
  plan.volume[0] = plan.volume[1] = plan.volume[2] = 0;
  if (r.k == 1) {
    plan.volume[0] = r.out.v[2];
    plan.volume[1] = 1;
    plan.volume_dims = 2;
  } else {
    for (int j = 0; j < r.k; ++j)
      plan.volume[j] = r.out.v[3 - r.k + j];
    plan.volume_dims = r.k;
  }
  return plan;
}

}  // namespace

// ---- public API ---------------------------------------------------------------------------------

Shape max_pool_output_shape(const Shape& input_shape, const MaxPoolOptions& options) {
  return resolve_pool(input_shape, options).out_shape;
}

void max_pool(const Context& ctx, const TensorView& src, const TensorView& dst,
              const TensorView& indices, const MaxPoolOptions& options) {
  detail::check_view(src, "src");
  detail::check_view(dst, "dst");
  detail::check_view(indices, "indices");
  const PoolResolved r = resolve_pool(src.shape(), options);
  UPS_CHECK(dst.dtype == src.dtype, ErrorCode::kUnsupportedDType, "max_pool: dst has dtype ",
            to_string(dst.dtype), " but src has dtype ", to_string(src.dtype));
  UPS_CHECK(indices.dtype == DType::kI64, ErrorCode::kUnsupportedDType,
            "max_pool: indices must have dtype i64, but got ", to_string(indices.dtype));
  UPS_CHECK(dst.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "max_pool: expected dst of shape ", shape_to_string(r.out_shape), " but got ",
            shape_to_string(dst.shape()));
  UPS_CHECK(indices.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "max_pool: expected indices of shape ", shape_to_string(r.out_shape), " but got ",
            shape_to_string(indices.shape()));
  detail::check_device(ctx, src, "src");
  detail::check_device(ctx, dst, "dst");
  detail::check_device(ctx, indices, "indices");
  detail::check_no_self_overlap(dst, "dst");
  detail::check_no_self_overlap(indices, "indices");
  detail::check_no_overlap(src, dst);
  detail::check_no_overlap(src, indices);
  detail::check_no_overlap(dst, indices);

  detail::MaxPoolPlan plan{};
  plan.dtype = src.dtype;
  plan.total = detail::checked_numel(r.out_shape, "max_pool output");
  if (plan.total == 0) return;  // N == 0
  kern::PoolGeometry& g = plan.geometry;
  const View5 s5 = to_view5(src, r.k, r.batched);
  const View5 d5 = to_view5(dst, r.k, r.batched);
  const View5 i5 = to_view5(indices, r.k, r.batched);
  g.n = s5.size[0];
  g.c = s5.size[1];
  for (int d = 0; d < 3; ++d) {
    g.in[d] = r.in.v[d];
    g.out[d] = r.out.v[d];
    g.kernel[d] = r.kernel.v[d];
    g.stride[d] = r.stride.v[d];
    g.pad[d] = r.pad.v[d];
    g.dilation[d] = r.dilation.v[d];
  }
  for (int d = 0; d < 5; ++d) {
    g.src_stride[d] = s5.stride[d];
    g.dst_stride[d] = d5.stride[d];
    g.idx_stride[d] = i5.stride[d];
  }
  g.channels_last = channels_innermost(d5);
  g.narrow = plan.total < (std::int64_t(1) << 32);  // dividends are output indices and coordinates

  if (ctx.device() == Device::kCPU) {
    detail::max_pool_cpu(plan, src.data, dst.data, static_cast<std::int64_t*>(indices.data),
                         ctx.num_threads());
  } else {
    const detail::CudaDeviceScope scope(ctx, {{"src", &src}, {"dst", &dst}, {"indices", &indices}});
    detail::max_pool_cuda(plan, src.data, dst.data, static_cast<std::int64_t*>(indices.data),
                          ctx.stream());
  }
}

Shape max_unpool_output_shape(const Shape& input_shape, const MaxUnpoolOptions& options) {
  return resolve_unpool(input_shape, options, nullptr).out_shape;
}

std::size_t max_unpool_workspace_size(const Context& ctx, const Shape& input_shape,
                                      const MaxUnpoolOptions& options, bool has_status) {
  const UnpoolResolved r = resolve_unpool(input_shape, options, nullptr);
  if (ctx.device() != Device::kCUDA) return 0;
  const std::int64_t total_in = detail::checked_numel(input_shape, "max_unpool input");
  const std::int64_t total_out = detail::checked_numel(r.out_shape, "max_unpool output");
  if (total_in == 0 || total_out == 0) return 0;  // a no-op
  return detail::scratch_footprint(detail::unpool_scratch_layout(total_out,
                                                                 r.in.v[0] * r.in.v[1] * r.in.v[2],
                                                                 ctx.deterministic(), has_status)
                                       .payload);
}

void max_unpool(const Context& ctx, const TensorView& src, const TensorView& indices,
                const TensorView& dst, const MaxUnpoolOptions& options, MaxUnpoolStatus* status) {
  detail::check_view(src, "src");
  detail::check_view(indices, "indices");
  detail::check_view(dst, "dst");
  const UnpoolResolved r = resolve_unpool(src.shape(), options, &indices);
  UPS_CHECK(dst.dtype == src.dtype, ErrorCode::kUnsupportedDType, "max_unpool: dst has dtype ",
            to_string(dst.dtype), " but src has dtype ", to_string(src.dtype));
  UPS_CHECK(dst.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "max_unpool: expected dst of shape ", shape_to_string(r.out_shape), " but got ",
            shape_to_string(dst.shape()));
  detail::check_device(ctx, src, "src");
  detail::check_device(ctx, indices, "indices");
  detail::check_device(ctx, dst, "dst");
  detail::check_no_self_overlap(dst, "dst");
  detail::check_no_overlap(src, dst);
  detail::check_no_overlap(indices, dst);

  detail::MaxUnpoolPlan plan =
      make_unpool_plan(src, indices, dst, r, "max_unpool input", "max_unpool output");
  dense_range(dst, plan.total_out, &plan.dense_offset, &plan.dense_bytes);

  if (ctx.device() == Device::kCPU) {
    MaxUnpoolStatus st{};
    detail::max_unpool_cpu(plan, src.data, static_cast<const std::int64_t*>(indices.data), dst.data,
                           ctx.num_threads(), &st);
    if (status != nullptr) {
      *status = st;
    } else if (st.position >= 0) {
      detail::throw_invalid_max_index(st);
    }
  } else {
    const detail::CudaDeviceScope scope(ctx, {{"src", &src}, {"indices", &indices}, {"dst", &dst}});
    detail::max_unpool_cuda(plan, src.data, static_cast<const std::int64_t*>(indices.data),
                            dst.data, ctx, status);
  }
}

void max_unpool_check(const Context& ctx, const MaxUnpoolStatus* status) {
  UPS_CHECK(status != nullptr, ErrorCode::kInvalidArgument,
            "max_unpool_check: status must not be null");
  MaxUnpoolStatus st{};
  if (ctx.device() == Device::kCPU) {
    std::memcpy(&st, status, sizeof(st));
  } else {
    const detail::CudaDeviceScope scope(ctx, {});
    detail::max_unpool_read_status_cuda(status, &st, ctx.stream());
  }
  if (st.position >= 0) detail::throw_invalid_max_index(st);
}

// ---- backward passes ----------------------------------------------------------------------------

namespace {

std::int64_t gcd64(std::int64_t a, std::int64_t b) {
  while (b != 0) {
    const std::int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

}  // namespace

void max_pool_backward(const Context& ctx, const TensorView& grad_output, const TensorView& indices,
                       const TensorView& grad_input, const MaxPoolOptions& options,
                       MaxPoolStatus* status) {
  detail::check_view(grad_output, "grad_output");
  detail::check_view(indices, "indices");
  detail::check_view(grad_input, "grad_input");
  // grad_input has the forward input's shape: the forward's rules apply to it.
  const PoolResolved r = resolve_pool(grad_input.shape(), options);
  UPS_CHECK(grad_output.dtype == grad_input.dtype, ErrorCode::kUnsupportedDType,
            "max_pool_backward: grad_output has dtype ", to_string(grad_output.dtype),
            " but grad_input has dtype ", to_string(grad_input.dtype));
  UPS_CHECK(indices.dtype == DType::kI64, ErrorCode::kUnsupportedDType,
            "max_pool_backward: indices must have dtype i64, but got ", to_string(indices.dtype));
  UPS_CHECK(grad_output.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "max_pool_backward: expected grad_output of shape ", shape_to_string(r.out_shape),
            " (the max_pool output shape for grad_input of shape ",
            shape_to_string(grad_input.shape()), ") but got ",
            shape_to_string(grad_output.shape()));
  UPS_CHECK(indices.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "max_pool_backward: expected indices of shape ", shape_to_string(r.out_shape),
            " (the shape of grad_output) but got ", shape_to_string(indices.shape()));
  detail::check_device(ctx, grad_output, "grad_output");
  detail::check_device(ctx, indices, "indices");
  detail::check_device(ctx, grad_input, "grad_input");
  detail::check_no_self_overlap(grad_input, "grad_input");
  detail::check_no_overlap(grad_output, grad_input);
  detail::check_no_overlap(indices, grad_input);

  detail::MaxPoolBackwardPlan plan{};
  plan.dtype = grad_input.dtype;
  plan.dims = r.k;
  plan.total_in = detail::checked_numel(grad_input.shape(), "max_pool_backward grad_input");
  plan.total_out = detail::checked_numel(r.out_shape, "max_pool_backward grad_output");
  // N == 0 writes no tensor, but a caller's status is still initialised (by the backends).
  if (plan.total_in == 0 && status == nullptr) return;
  kern::PoolBackwardGeometry& g = plan.geometry;
  const View5 gi5 = to_view5(grad_input, r.k, r.batched);
  const View5 go5 = to_view5(grad_output, r.k, r.batched);
  const View5 i5 = to_view5(indices, r.k, r.batched);
  g.n = gi5.size[0];
  g.c = gi5.size[1];
  for (int d = 0; d < 3; ++d) {
    g.in[d] = r.in.v[d];
    g.out[d] = r.out.v[d];
    g.kernel[d] = r.kernel.v[d];
    g.stride[d] = r.stride.v[d];
    g.pad[d] = r.pad.v[d];
    g.dilation[d] = r.dilation.v[d];
    g.cover_step[d] = g.dilation[d] / gcd64(g.stride[d], g.dilation[d]);
  }
  for (int d = 0; d < 5; ++d) {
    g.gin_stride[d] = gi5.stride[d];
    g.gout_stride[d] = go5.stride[d];
    g.idx_stride[d] = i5.stride[d];
  }
  g.channels_last = channels_innermost(gi5);
  g.narrow = plan.total_in < (std::int64_t(1) << 32) && plan.total_out < (std::int64_t(1) << 32);

  if (ctx.device() == Device::kCPU) {
    // The deferred check writes grad_input whatever it finds, as the CUDA backend does; the
    // synchronous one throws before grad_input is written.
    MaxPoolStatus st{};
    detail::max_pool_backward_cpu(plan, grad_output.data,
                                  static_cast<const std::int64_t*>(indices.data), grad_input.data,
                                  ctx.num_threads(), &st, status != nullptr);
    if (status != nullptr) {
      *status = st;
    } else if (st.position >= 0) {
      detail::throw_invalid_pool_index(st);
    }
  } else {
    const detail::CudaDeviceScope scope(
        ctx, {{"grad_output", &grad_output}, {"indices", &indices}, {"grad_input", &grad_input}});
    detail::max_pool_backward_cuda(plan, grad_output.data,
                                   static_cast<const std::int64_t*>(indices.data), grad_input.data,
                                   ctx, status);
  }
}

void max_pool_check(const Context& ctx, const MaxPoolStatus* status) {
  UPS_CHECK(status != nullptr, ErrorCode::kInvalidArgument,
            "max_pool_check: status must not be null");
  MaxPoolStatus st{};
  if (ctx.device() == Device::kCPU) {
    std::memcpy(&st, status, sizeof(st));
  } else {
    const detail::CudaDeviceScope scope(ctx, {});
    detail::max_pool_read_status_cuda(status, &st, ctx.stream());
  }
  if (st.position >= 0) detail::throw_invalid_pool_index(st);
}

void max_unpool_backward(const Context& ctx, const TensorView& grad_output,
                         const TensorView& indices, const TensorView& grad_input,
                         const MaxUnpoolOptions& options, MaxUnpoolStatus* status) {
  detail::check_view(grad_output, "grad_output");
  detail::check_view(indices, "indices");
  detail::check_view(grad_input, "grad_input");
  // grad_input and indices have the forward input's shape: the forward's rules apply to it.
  const UnpoolResolved r = resolve_unpool(grad_input.shape(), options, &indices);
  UPS_CHECK(grad_output.dtype == grad_input.dtype, ErrorCode::kUnsupportedDType,
            "max_unpool_backward: grad_output has dtype ", to_string(grad_output.dtype),
            " but grad_input has dtype ", to_string(grad_input.dtype));
  UPS_CHECK(grad_output.shape() == r.out_shape, ErrorCode::kShapeMismatch,
            "max_unpool_backward: expected grad_output of shape ", shape_to_string(r.out_shape),
            " (the max_unpool output shape for grad_input of shape ",
            shape_to_string(grad_input.shape()), ") but got ",
            shape_to_string(grad_output.shape()));
  detail::check_device(ctx, grad_output, "grad_output");
  detail::check_device(ctx, indices, "indices");
  detail::check_device(ctx, grad_input, "grad_input");
  detail::check_no_self_overlap(grad_input, "grad_input");
  detail::check_no_overlap(grad_output, grad_input);
  detail::check_no_overlap(indices, grad_input);

  const detail::MaxUnpoolPlan plan =
      make_unpool_plan(grad_input, indices, grad_output, r, "max_unpool_backward grad_input",
                       "max_unpool_backward grad_output");
  // An empty grad_output with a non-empty grad_input: every index is invalid (PyTorch's forward
  // is a no-op there, but its gradient would gather from nothing).
  if (ctx.device() == Device::kCPU) {
    MaxUnpoolStatus st{};
    if (plan.total_in > 0) {
      detail::max_unpool_backward_cpu(plan, grad_output.data,
                                      static_cast<const std::int64_t*>(indices.data),
                                      grad_input.data, ctx.num_threads(), &st);
    } else {
      st.position = -1;
    }
    if (status != nullptr) {
      *status = st;
    } else if (st.position >= 0) {
      detail::throw_invalid_max_index(st);
    }
  } else {
    const detail::CudaDeviceScope scope(
        ctx, {{"grad_output", &grad_output}, {"indices", &indices}, {"grad_input", &grad_input}});
    detail::max_unpool_backward_cuda(plan, grad_output.data,
                                     static_cast<const std::int64_t*>(indices.data),
                                     grad_input.data, ctx, status);
  }
}

namespace detail {

void throw_invalid_pool_index(const MaxPoolStatus& status) {
  // The record may come from the caller's memory: a dims count outside [1, 3] prints no sizes, and
  // sizes whose product is not a positive int64 are printed as they are, never multiplied past
  // overflow (such a record reads "outside the input plane").
  const std::int64_t dims =
      status.plane_dims >= 1 && status.plane_dims <= 3 ? status.plane_dims : 0;
  std::int64_t plane = 1;
  bool plane_ok = dims > 0;
  for (std::int64_t i = 0; i < dims; ++i) {
    plane_ok =
        plane_ok && status.plane[i] >= 1 && !__builtin_mul_overflow(plane, status.plane[i], &plane);
  }
  std::ostringstream os;
  os << "max_pool_backward: invalid max index " << status.index << " at position "
     << status.position << " of indices (C order): ";
  if (!plane_ok || status.index < 0 || status.index >= plane) {
    os << "outside the input plane of size ";
    for (std::int64_t i = 0; i < dims; ++i)
      os << (i ? "x" : "") << status.plane[i];
  } else {
    os << "not an element of its pooling window";
  }
  fail(ErrorCode::kInvalidArgument, os.str());
}

void throw_invalid_max_index(const MaxUnpoolStatus& status) {
  std::ostringstream os;
  os << "Found an invalid max index: " << status.index << " (output volumes are of size ";
  const std::int64_t dims =
      status.volume_dims >= 1 && status.volume_dims <= 3 ? status.volume_dims : 0;
  for (std::int64_t i = 0; i < dims; ++i)
    os << (i ? "x" : "") << status.volume[i];
  os << ")";
  fail(ErrorCode::kInvalidArgument, os.str());
}

}  // namespace detail
}  // namespace ups
