#include "validate.hpp"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "check.hpp"

namespace ups {
namespace detail {

namespace {

template <class E>
[[noreturn]] void invalid_enum(E value, const char* what, const char* type) {
  fail(ErrorCode::kInvalidArgument,
       concat(what, " has the invalid value ", static_cast<unsigned>(value), ", which is not an ",
              type));
}

}  // namespace

void check_enum(DType value, const char* what) {
  switch (value) {
    case DType::kF32:
    case DType::kF64:
    case DType::kF16:
    case DType::kBF16:
    case DType::kU8:
    case DType::kI32:
    case DType::kI64:
      return;
  }
  invalid_enum(value, what, "ups::DType");
}

void check_enum(Device value, const char* what) {
  switch (value) {
    case Device::kAuto:
    case Device::kCPU:
    case Device::kCUDA:
      return;
  }
  invalid_enum(value, what, "ups::Device");
}

void check_enum(InterpMode value, const char* what) {
  switch (value) {
    case InterpMode::kNearest:
    case InterpMode::kNearestExact:
    case InterpMode::kLinear:
    case InterpMode::kBilinear:
    case InterpMode::kBicubic:
    case InterpMode::kTrilinear:
    case InterpMode::kArea:
    case InterpMode::kLanczos:
    case InterpMode::kTricubic:
      return;
  }
  invalid_enum(value, what, "ups::InterpMode");
}

void check_enum(ConvTransposeAlgo value, const char* what) {
  switch (value) {
    case ConvTransposeAlgo::kAuto:
    case ConvTransposeAlgo::kGemm:
    case ConvTransposeAlgo::kGather:
    case ConvTransposeAlgo::kScatter:
    case ConvTransposeAlgo::kCudnn:
    case ConvTransposeAlgo::kBenchmark:
    case ConvTransposeAlgo::kOnednn:
      return;
  }
  invalid_enum(value, what, "ups::ConvTransposeAlgo");
}

void check_enum(ShuffleKernel value, const char* what) {
  switch (value) {
    case ShuffleKernel::kAuto:
    case ShuffleKernel::kGeneric:
      return;
  }
  invalid_enum(value, what, "ups::ShuffleKernel");
}

std::int64_t checked_numel(const Shape& shape, const char* what) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) {
    UPS_CHECK(s >= 0, ErrorCode::kShapeMismatch, what, ": negative size in ",
              shape_to_string(shape));
  }
  for (std::int64_t s : shape) {
    if (s == 0) return 0;
    UPS_CHECK(n <= std::numeric_limits<std::int64_t>::max() / s, ErrorCode::kOutOfMemory, what,
              " of shape ", shape_to_string(shape), " would have more than 2^63 elements");
    n *= s;
  }
  return n;
}

void check_view(const TensorView& v, const char* name) {
  UPS_CHECK(v.ndim >= 0 && v.ndim <= kMaxDims, ErrorCode::kShapeMismatch, name, " has rank ",
            v.ndim, ", but a tensor view has at most ", kMaxDims, " dims");
  check_enum(v.dtype, concat(name, ".dtype").c_str());
  check_enum(v.device, concat(name, ".device").c_str());
  UPS_CHECK(v.device == Device::kCPU || v.device == Device::kCUDA, ErrorCode::kInvalidArgument,
            name, " must live on cpu or cuda, not '", to_string(v.device), "'");
  const std::int64_t n = checked_numel(v.shape(), name);
  UPS_CHECK(n == 0 || v.data != nullptr, ErrorCode::kInvalidArgument, name,
            " has a null data pointer but ", n, " elements");
  // Every addressed element must be reachable without overflowing a 64-bit byte offset.
  std::int64_t span = 0;
  for (int i = 0; i < v.ndim; ++i) {
    if (v.sizes[i] <= 1) continue;
    const std::int64_t s = v.strides[i] < 0 ? -v.strides[i] : v.strides[i];
    UPS_CHECK(s <= std::numeric_limits<std::int64_t>::max() / 16 / (v.sizes[i] - 1),
              ErrorCode::kOutOfMemory, name, ": stride ", v.strides[i], " in dim ", i,
              " overflows a 64-bit offset");
    span += s * (v.sizes[i] - 1);
    UPS_CHECK(span <= std::numeric_limits<std::int64_t>::max() / 16, ErrorCode::kOutOfMemory, name,
              ": strides overflow a 64-bit offset");
  }
}

void check_device(const Context& ctx, const TensorView& v, const char* name) {
  UPS_CHECK(v.device == ctx.device(), ErrorCode::kUnsupportedDevice, name, " is on ",
            to_string(v.device), " but the context runs on ", to_string(ctx.device()));
}

void check_no_self_overlap(const TensorView& v, const char* name) {
  // An empty view addresses nothing, whatever its strides (PyTorch accepts such outputs too).
  if (v.numel() == 0) return;
  // Sort the non-trivial dims by |stride|; each stride must step over the whole extent of the
  // dims inside it.
  std::vector<std::pair<std::int64_t, std::int64_t>> dims;  // |stride|, size
  for (int i = 0; i < v.ndim; ++i) {
    if (v.sizes[i] > 1)
      dims.emplace_back(v.strides[i] < 0 ? -v.strides[i] : v.strides[i], v.sizes[i]);
  }
  std::sort(dims.begin(), dims.end());
  std::int64_t extent = 1;
  for (const auto& d : dims) {
    UPS_CHECK(d.first >= extent, ErrorCode::kInvalidArgument, name,
              " has overlapping elements (strides ",
              shape_to_string(Shape(v.strides, v.strides + v.ndim)), " for sizes ",
              shape_to_string(v.shape()), "); an output must not alias itself");
    extent = d.first * d.second;
  }
}

namespace {
std::pair<const char*, const char*> byte_range(const TensorView& v) {
  const char* base = static_cast<const char*>(v.data);
  std::int64_t lo = 0, hi = 0;
  for (int i = 0; i < v.ndim; ++i) {
    const std::int64_t reach = v.strides[i] * (v.sizes[i] - 1);
    (reach < 0 ? lo : hi) += reach;
  }
  const auto es = static_cast<std::int64_t>(dtype_size(v.dtype));
  return {base + lo * es, base + (hi + 1) * es};
}
}  // namespace

void check_no_overlap(const TensorView& in, const TensorView& out) {
  if (in.numel() == 0 || out.numel() == 0 || in.device != out.device) return;
  const auto a = byte_range(in);
  const auto b = byte_range(out);
  UPS_CHECK(a.second <= b.first || b.second <= a.first, ErrorCode::kInvalidArgument,
            "the output overlaps the input in memory; ups ops are not in-place");
}

bool is_channels_last(const TensorView& v) {
  if (v.ndim < 3 || v.sizes[1] <= 1) return false;
  for (int i = 2; i < v.ndim; ++i) {
    if (v.sizes[i] > 1 && v.strides[i] <= v.strides[1]) return false;
  }
  return v.strides[1] == 1;
}

}  // namespace detail
}  // namespace ups
