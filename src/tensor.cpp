#include <algorithm>
#include <limits>

#include "check.hpp"
#include "ups/tensor.hpp"
#include "validate.hpp"

namespace ups {

std::size_t dtype_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::kF32:
      return 4;
    case DType::kF64:
      return 8;
    case DType::kF16:
      return 2;
    case DType::kBF16:
      return 2;
    case DType::kU8:
      return 1;
    case DType::kI32:
      return 4;
    case DType::kI64:
      return 8;
  }
  return 0;
}

const char* to_string(DType dtype) noexcept {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kF64:
      return "f64";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
    case DType::kU8:
      return "u8";
    case DType::kI32:
      return "i32";
    case DType::kI64:
      return "i64";
  }
  return "?";
}

const char* to_string(Device device) noexcept {
  switch (device) {
    case Device::kAuto:
      return "auto";
    case Device::kCPU:
      return "cpu";
    case Device::kCUDA:
      return "cuda";
  }
  return "?";
}

DType parse_dtype(const std::string& name) {
  for (DType d : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16, DType::kU8, DType::kI32,
                  DType::kI64}) {
    if (name == to_string(d)) return d;
  }
  detail::fail(ErrorCode::kInvalidArgument,
               "unknown dtype '" + name + "' (expected f32, f64, f16, bf16, u8, i32 or i64)");
}

Device parse_device(const std::string& name) {
  for (Device d : {Device::kAuto, Device::kCPU, Device::kCUDA}) {
    if (name == to_string(d)) return d;
  }
  detail::fail(ErrorCode::kInvalidArgument,
               "unknown device '" + name + "' (expected auto, cpu or cuda)");
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < ndim; ++i) {
    UPS_CHECK(sizes[i] >= 0, ErrorCode::kShapeMismatch, "negative size ", sizes[i], " in dim ", i);
    if (sizes[i] == 0) return 0;
  }
  for (int i = 0; i < ndim; ++i) {
    UPS_CHECK(n <= std::numeric_limits<std::int64_t>::max() / sizes[i], ErrorCode::kOutOfMemory,
              "tensor of shape ", shape_to_string(shape()), " has more than 2^63 elements");
    n *= sizes[i];
  }
  return n;
}

Shape TensorView::shape() const {
  return Shape(sizes, sizes + std::max(0, std::min(ndim, kMaxDims)));
}

bool TensorView::is_contiguous() const {
  // An empty view addresses nothing, so any strides describe it (PyTorch says the same).
  for (int i = 0; i < ndim; ++i) {
    if (sizes[i] == 0) return true;
  }
  std::int64_t expected = 1;
  bool overflow = false;  // the C-order stride of the dims further out exceeds int64
  for (int i = ndim - 1; i >= 0; --i) {
    if (sizes[i] != 1 && (overflow || strides[i] != expected)) return false;
    overflow = overflow || __builtin_mul_overflow(expected, sizes[i], &expected);
  }
  return true;
}

namespace {
TensorView make_view(void* data, DType dtype, Device device, const Shape& sizes) {
  UPS_CHECK(sizes.size() <= static_cast<std::size_t>(kMaxDims), ErrorCode::kShapeMismatch,
            "a tensor view has at most ", kMaxDims, " dims, but got ", sizes.size());
  detail::check_enum(dtype, "dtype");
  detail::check_enum(device, "device");
  UPS_CHECK(device != Device::kAuto, ErrorCode::kInvalidArgument,
            "a tensor lives on cpu or cuda, not 'auto'");
  TensorView v;
  v.data = data;
  v.dtype = dtype;
  v.device = device;
  v.ndim = static_cast<int>(sizes.size());
  for (int i = 0; i < v.ndim; ++i) {
    UPS_CHECK(sizes[i] >= 0, ErrorCode::kShapeMismatch, "negative size in ",
              shape_to_string(sizes));
    v.sizes[i] = sizes[i];
  }
  return v;
}

// stride * max(size, 1): the stride of the next outer dim.
std::int64_t next_stride(std::int64_t stride, std::int64_t size, const Shape& sizes) {
  std::int64_t next = 0;
  UPS_CHECK(!__builtin_mul_overflow(stride, std::max<std::int64_t>(size, 1), &next),
            ErrorCode::kOutOfMemory, "the strides of a tensor of shape ", shape_to_string(sizes),
            " overflow int64");
  return next;
}
}  // namespace

TensorView TensorView::contiguous(void* data, DType dtype, Device device, const Shape& sizes) {
  TensorView v = make_view(data, dtype, device, sizes);
  std::int64_t stride = 1;
  for (int i = v.ndim - 1; i >= 0; --i) {
    v.strides[i] = stride;
    if (i > 0) stride = next_stride(stride, v.sizes[i], sizes);
  }
  return v;
}

TensorView TensorView::channels_last(void* data, DType dtype, Device device, const Shape& sizes) {
  UPS_CHECK(sizes.size() >= 3 && sizes.size() <= 5, ErrorCode::kShapeMismatch,
            "channels-last needs a rank-3, -4 or -5 shape, but got ", shape_to_string(sizes));
  TensorView v = make_view(data, dtype, device, sizes);
  // Memory order N, *spatial, C.
  std::int64_t stride = 1;
  v.strides[1] = stride;
  stride = next_stride(stride, v.sizes[1], sizes);
  for (int i = v.ndim - 1; i >= 2; --i) {
    v.strides[i] = stride;
    stride = next_stride(stride, v.sizes[i], sizes);
  }
  v.strides[0] = stride;
  return v;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace ups
