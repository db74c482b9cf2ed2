// Reader of the max_pool / max_unpool / pixel shuffle golden data (tests/golden/pool.{txt,bin}
// and tests/golden/pixel_shuffle.{txt,bin}, written by scripts/gen_golden_pool.py, and
// tests/golden/backward_pool.{txt,bin}, written by scripts/gen_golden_backward_pool.py; the
// scripts' docstrings describe the format), plus small helpers shared by the pooling-family
// tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"
#include "ups/tensor.hpp"

namespace ups_pool_test {

struct BlobRef {
  std::size_t offset = 0, bytes = 0;
  bool present = false;
};

struct GoldenCase {
  std::string line;  // the manifest line, for failure messages
  std::string id, op;
  ups::DType dtype = ups::DType::kF32;
  int dims = 0;
  bool unbatched = false;
  ups::Shape in_shape, out_shape;
  std::vector<std::int64_t> kernel, stride, padding, dilation, output_size;
  bool ceil_mode = false;
  std::int64_t factor = 0;
  BlobRef in, out, idx;
  BlobRef grad_out, grad_in;  // the backward goldens (backward_pool.{txt,bin})
  bool multi = false;         // max_pool_backward: some element sums several windows' gradients
  std::string error;          // expected message of an invalid-index case
};

inline std::vector<std::int64_t> parse_list(const std::string& s) {
  std::vector<std::int64_t> v;
  if (s == "-") return v;
  std::istringstream is(s);
  std::string item;
  while (std::getline(is, item, ','))
    v.push_back(std::stoll(item));
  return v;
}

inline BlobRef parse_ref(const std::string& s) {
  BlobRef r;
  if (s == "-") return r;
  const auto colon = s.find(':');
  if (colon == std::string::npos) throw std::runtime_error("bad tensor reference " + s);
  r.offset = std::stoull(s.substr(0, colon));
  r.bytes = std::stoull(s.substr(colon + 1));
  r.present = true;
  return r;
}

inline std::string golden_path(const std::string& file) {
  return std::string(UPS_TEST_DATA_DIR) + "/" + file;
}

inline std::vector<GoldenCase> load_cases(const std::string& name) {
  std::ifstream f(golden_path(name + ".txt"));
  if (!f) throw std::runtime_error("cannot open " + golden_path(name + ".txt"));
  std::vector<GoldenCase> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    GoldenCase c;
    c.line = line;
    std::string rest = line;
    const auto err = rest.find(" error=");
    if (err != std::string::npos) {
      c.error = rest.substr(err + 7);
      rest = rest.substr(0, err);
    }
    std::istringstream is(rest);
    std::string field;
    while (is >> field) {
      const auto eq = field.find('=');
      if (eq == std::string::npos) throw std::runtime_error("bad field " + field + " in " + line);
      const std::string key = field.substr(0, eq), value = field.substr(eq + 1);
      if (key == "id")
        c.id = value;
      else if (key == "op")
        c.op = value;
      else if (key == "dtype")
        c.dtype = ups::parse_dtype(value);
      else if (key == "dims")
        c.dims = std::stoi(value);
      else if (key == "unbatched")
        c.unbatched = value == "1";
      else if (key == "in_shape")
        c.in_shape = parse_list(value);
      else if (key == "out_shape")
        c.out_shape = parse_list(value);
      else if (key == "kernel")
        c.kernel = parse_list(value);
      else if (key == "stride")
        c.stride = parse_list(value);
      else if (key == "padding")
        c.padding = parse_list(value);
      else if (key == "dilation")
        c.dilation = parse_list(value);
      else if (key == "output_size")
        c.output_size = parse_list(value);
      else if (key == "ceil_mode")
        c.ceil_mode = value == "1";
      else if (key == "factor")
        c.factor = std::stoll(value);
      else if (key == "in")
        c.in = parse_ref(value);
      else if (key == "out")
        c.out = parse_ref(value);
      else if (key == "idx")
        c.idx = parse_ref(value);
      else if (key == "grad_out")
        c.grad_out = parse_ref(value);
      else if (key == "grad_in")
        c.grad_in = parse_ref(value);
      else if (key == "multi")
        c.multi = value == "1";
      // expected_by is informational.
    }
    cases.push_back(c);
  }
  return cases;
}

inline std::vector<unsigned char> load_blob(const std::string& name) {
  std::ifstream f(golden_path(name + ".bin"), std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + golden_path(name + ".bin"));
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

// A contiguous host tensor holding the referenced bytes.
inline ups_test::HostTensor golden_tensor(const std::vector<unsigned char>& blob, const BlobRef& r,
                                          ups::DType dtype, const ups::Shape& shape) {
  ups_test::HostTensor t(dtype, shape);
  if (!r.present || r.bytes != t.nbytes() || r.offset + r.bytes > blob.size()) {
    throw std::runtime_error("golden tensor reference does not match its shape and dtype");
  }
  if (r.bytes > 0) std::memcpy(t.data(), blob.data() + r.offset, r.bytes);
  return t;
}

// `t` (contiguous) repeated `times` times along dim 0.
inline ups_test::HostTensor repeat_batch(const ups_test::HostTensor& t, std::int64_t times) {
  ups::Shape shape = t.shape();
  shape[0] *= times;
  ups_test::HostTensor out(t.dtype(), shape);
  for (std::int64_t k = 0; k < times; ++k) {
    std::memcpy(static_cast<unsigned char*>(out.data()) + static_cast<std::size_t>(k) * t.nbytes(),
                t.data(), t.nbytes());
  }
  return out;
}

// A tensor whose elements lie two apart in memory (every stride doubled, C order), so that the
// view is neither contiguous nor dense. Holds its own bytes.
class GappedTensor {
 public:
  GappedTensor(ups::DType dtype, const ups::Shape& shape, unsigned char fill = 0)
      : dtype_(dtype), shape_(shape) {
    std::int64_t n = 1;
    for (auto s : shape)
      n *= s;
    bytes_.assign(static_cast<std::size_t>(2 * n + 1) * ups::dtype_size(dtype), fill);
    view_ = ups::TensorView::contiguous(bytes_.data(), dtype, ups::Device::kCPU, shape);
    for (int i = 0; i < view_.ndim; ++i)
      view_.strides[i] *= 2;
  }
  const ups::TensorView& view() const { return view_; }
  // Copies the values of a HostTensor of the same shape (any layout) in.
  void assign(const ups_test::HostTensor& t) {
    const ups_test::HostTensor c = t.to_layout(ups_test::Layout::kContiguous);
    const std::size_t es = ups::dtype_size(dtype_);
    for (std::int64_t i = 0; i < c.numel(); ++i) {
      std::memcpy(bytes_.data() + static_cast<std::size_t>(2 * i) * es,
                  static_cast<const unsigned char*>(c.data()) + static_cast<std::size_t>(i) * es,
                  es);
    }
  }
  // The values as a contiguous HostTensor.
  ups_test::HostTensor values() const {
    ups_test::HostTensor c(dtype_, shape_);
    const std::size_t es = ups::dtype_size(dtype_);
    for (std::int64_t i = 0; i < c.numel(); ++i) {
      std::memcpy(static_cast<unsigned char*>(c.data()) + static_cast<std::size_t>(i) * es,
                  bytes_.data() + static_cast<std::size_t>(2 * i) * es, es);
    }
    return c;
  }
  // True when no byte between the elements differs from `fill`.
  bool gaps_hold(unsigned char fill) const {
    const std::size_t es = ups::dtype_size(dtype_);
    for (std::size_t e = 1; e * es < bytes_.size(); e += 2) {
      for (std::size_t b = 0; b < es && e * es + b < bytes_.size(); ++b) {
        if (bytes_[e * es + b] != fill) return false;
      }
    }
    return true;
  }

 private:
  ups::DType dtype_;
  ups::Shape shape_;
  std::vector<unsigned char> bytes_;
  ups::TensorView view_;
};

// Fills every byte of a host tensor with `byte` (0xFF makes float elements NaN and integers -1,
// so an element an op forgets to write cannot match a golden value by accident... except 0xFF
// itself in u8; the goldens are checked with two different fills for that reason).
inline void fill_bytes(ups_test::HostTensor& t, unsigned char byte) {
  if (t.nbytes() > 0) std::memset(t.data(), byte, t.nbytes());
}

// The options of a golden case, as passed to torch.
inline ups::MaxPoolOptions pool_options(const GoldenCase& c) {
  ups::MaxPoolOptions o;
  o.kernel_size = c.kernel;
  o.stride = c.stride;
  o.padding = c.padding;
  o.dilation = c.dilation;
  o.ceil_mode = c.ceil_mode;
  o.spatial_dims = c.unbatched ? c.dims : 0;
  return o;
}

inline ups::MaxUnpoolOptions unpool_options(const GoldenCase& c) {
  ups::MaxUnpoolOptions o;
  o.kernel_size = c.kernel;
  o.stride = c.stride;
  o.padding = c.padding;
  o.output_size = c.output_size;
  o.spatial_dims = c.unbatched ? c.dims : 0;
  return o;
}

// Whether a tensor of shape s can take layout l (channels-last needs rank 3 to 5).
inline bool layout_ok(const ups::Shape& s, ups_test::Layout l) {
  return l == ups_test::Layout::kContiguous || (s.size() >= 3 && s.size() <= 5);
}
}  // namespace ups_pool_test
