// Helpers shared by the test suites: owning host tensors in any dtype and layout, random data,
// and element-wise comparison.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ups/tensor.hpp"

namespace ups_test {

enum class Layout { kContiguous, kChannelsLast };

// An owning host tensor. Elements are addressed in logical (C) order through get/set, whatever
// the memory layout.
class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(ups::DType dtype, const ups::Shape& shape, Layout layout = Layout::kContiguous);

  ups::TensorView view();
  ups::TensorView view() const { return const_cast<HostTensor*>(this)->view(); }
  const ups::Shape& shape() const { return shape_; }
  ups::DType dtype() const { return dtype_; }
  Layout layout() const { return layout_; }
  std::int64_t numel() const { return numel_; }
  std::size_t nbytes() const { return bytes_.size(); }
  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }

  // Element i in logical C order, converted to / from double (f16 and bf16 round to nearest
  // even).
  double get(std::int64_t i) const;
  void set(std::int64_t i, double v);
  // The same values in another layout.
  HostTensor to_layout(Layout layout) const;

 private:
  std::int64_t offset(std::int64_t logical) const;  // element offset in memory
  ups::DType dtype_ = ups::DType::kF32;
  ups::Shape shape_;
  Layout layout_ = Layout::kContiguous;
  std::int64_t numel_ = 0;
  std::vector<std::int64_t> strides_;
  std::vector<unsigned char> bytes_;
};

// Uniform values in [lo, hi) (integers for integer dtypes), reproducible from `seed`.
void fill_random(HostTensor& t, std::uint64_t seed, double lo = -1.0, double hi = 1.0);

// Returns an empty string when every |a - b| <= atol + rtol * |b| (NaNs must match), else a
// description of the first mismatch and the number of mismatches.
std::string compare(const HostTensor& actual, const HostTensor& expected, double rtol, double atol);
// Bit-for-bit comparison in logical order.
std::string compare_bitwise(const HostTensor& actual, const HostTensor& expected);

std::string to_string(Layout layout);

}  // namespace ups_test
