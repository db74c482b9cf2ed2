#include "test_support.hpp"

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "common/hd.hpp"

namespace ups_test {

using ups::DType;

HostTensor::HostTensor(DType dtype, const ups::Shape& shape, Layout layout)
    : dtype_(dtype), shape_(shape), layout_(layout) {
  numel_ = 1;
  for (auto s : shape_)
    numel_ *= s;
  const ups::TensorView v =
      layout == Layout::kContiguous
          ? ups::TensorView::contiguous(nullptr, dtype, ups::Device::kCPU, shape)
          : ups::TensorView::channels_last(nullptr, dtype, ups::Device::kCPU, shape);
  strides_.assign(v.strides, v.strides + v.ndim);
  bytes_.assign(static_cast<std::size_t>(numel_) * ups::dtype_size(dtype), 0);
}

ups::TensorView HostTensor::view() {
  ups::TensorView v =
      layout_ == Layout::kContiguous
          ? ups::TensorView::contiguous(data(), dtype_, ups::Device::kCPU, shape_)
          : ups::TensorView::channels_last(data(), dtype_, ups::Device::kCPU, shape_);
  return v;
}

std::int64_t HostTensor::offset(std::int64_t logical) const {
  std::int64_t off = 0;
  for (int d = static_cast<int>(shape_.size()) - 1; d >= 0; --d) {
    off += (logical % shape_[d]) * strides_[d];
    logical /= shape_[d];
  }
  return off;
}

double HostTensor::get(std::int64_t i) const {
  const unsigned char* p =
      bytes_.data() + offset(i) * static_cast<std::int64_t>(ups::dtype_size(dtype_));
  switch (dtype_) {
    case DType::kF32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DType::kF64: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case DType::kF16: {
      ups::kern::half_t v;
      std::memcpy(&v, p, 2);
      return ups::kern::half_to_float(v);
    }
    case DType::kBF16: {
      ups::kern::bf16_t v;
      std::memcpy(&v, p, 2);
      return ups::kern::bf16_to_float(v);
    }
    case DType::kU8:
      return *p;
    case DType::kI32: {
      std::int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DType::kI64: {
      std::int64_t v;
      std::memcpy(&v, p, 8);
      return static_cast<double>(v);
    }
  }
  return 0;
}

void HostTensor::set(std::int64_t i, double x) {
  unsigned char* p = bytes_.data() + offset(i) * static_cast<std::int64_t>(ups::dtype_size(dtype_));
  switch (dtype_) {
    case DType::kF32: {
      float v = static_cast<float>(x);
      std::memcpy(p, &v, 4);
      break;
    }
    case DType::kF64: {
      std::memcpy(p, &x, 8);
      break;
    }
    case DType::kF16: {
      auto v = ups::kern::float_to_half(static_cast<float>(x));
      std::memcpy(p, &v, 2);
      break;
    }
    case DType::kBF16: {
      auto v = ups::kern::float_to_bf16(static_cast<float>(x));
      std::memcpy(p, &v, 2);
      break;
    }
    case DType::kU8:
      *p = static_cast<unsigned char>(x);
      break;
    case DType::kI32: {
      auto v = static_cast<std::int32_t>(x);
      std::memcpy(p, &v, 4);
      break;
    }
    case DType::kI64: {
      auto v = static_cast<std::int64_t>(x);
      std::memcpy(p, &v, 8);
      break;
    }
  }
}

HostTensor HostTensor::to_layout(Layout layout) const {
  HostTensor out(dtype_, shape_, layout);
  const auto es = static_cast<std::int64_t>(ups::dtype_size(dtype_));
  for (std::int64_t i = 0; i < numel_; ++i) {
    std::memcpy(out.bytes_.data() + out.offset(i) * es, bytes_.data() + offset(i) * es,
                static_cast<std::size_t>(es));
  }
  return out;
}

void fill_random(HostTensor& t, std::uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  const bool integer =
      t.dtype() == DType::kU8 || t.dtype() == DType::kI32 || t.dtype() == DType::kI64;
  std::uniform_real_distribution<double> dist(lo, hi);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const double v = dist(rng);
    t.set(i, integer ? std::floor(v) : v);
  }
}

std::string compare(const HostTensor& actual, const HostTensor& expected, double rtol,
                    double atol) {
  if (actual.shape() != expected.shape()) {
    return "shape " + ups::shape_to_string(actual.shape()) + " != expected " +
           ups::shape_to_string(expected.shape());
  }
  std::int64_t bad = 0, first = -1;
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual.get(i), b = expected.get(i);
    const bool ok = (std::isnan(a) && std::isnan(b)) || a == b ||
                    std::fabs(a - b) <= atol + rtol * std::fabs(b);
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return "";
  std::ostringstream os;
  os.precision(9);
  os << bad << " of " << actual.numel() << " elements differ; first at " << first << ": got "
     << actual.get(first) << ", expected " << expected.get(first);
  return os.str();
}

std::string compare_bitwise(const HostTensor& actual, const HostTensor& expected) {
  if (actual.shape() != expected.shape() || actual.dtype() != expected.dtype())
    return "shape or dtype differ";
  const HostTensor a = actual.to_layout(Layout::kContiguous);
  const HostTensor b = expected.to_layout(Layout::kContiguous);
  const std::size_t es = ups::dtype_size(a.dtype());
  std::int64_t bad = 0, first = -1;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    if (std::memcmp(static_cast<const unsigned char*>(a.data()) + i * static_cast<std::int64_t>(es),
                    static_cast<const unsigned char*>(b.data()) + i * static_cast<std::int64_t>(es),
                    es) != 0) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return "";
  std::ostringstream os;
  os.precision(9);
  os << bad << " of " << a.numel() << " elements differ bitwise; first at " << first << ": got "
     << a.get(first) << ", expected " << b.get(first);
  return os.str();
}

std::string to_string(Layout layout) {
  return layout == Layout::kContiguous ? "contiguous" : "channels-last";
}

}  // namespace ups_test
