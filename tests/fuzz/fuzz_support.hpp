// Shared pieces of the fuzz targets in tests/fuzz: a reader that turns fuzzer bytes into
// parameters, in-bounds strided tensors over exactly-sized buffers, and independent checks.
//
// The targets are plain functions (fuzz_targets.hpp) so that the same code runs under libFuzzer
// (clang, tests/fuzz/libfuzzer_entry.cpp) and inside the Catch2 suite, which replays the
// committed inputs with any compiler (tests/cpu/test_fuzz_regressions.cpp).
//
// Contract checked by every target: a call either succeeds or throws ups::Error. Anything else
// (another exception, a crash, a sanitizer report) is a finding; so is a violated invariant,
// which the targets report by throwing Finding.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ups/error.hpp"
#include "ups/tensor.hpp"

namespace ups_fuzz {

/// A violated invariant: the op succeeded where it must fail, or produced a wrong result.
class Finding : public std::logic_error {
 public:
  explicit Finding(const std::string& what) : std::logic_error("fuzz finding: " + what) {}
};

inline void expect(bool cond, const std::string& what) {
  if (!cond) throw Finding(what);
}

// Largest tensor (in elements, padding included) a target allocates, and the largest amount of
// work (multiply-adds) it runs. Keeps each input well under a millisecond or so.
constexpr std::int64_t kMaxElements = 100000;
constexpr std::int64_t kMaxWork = 400000;

/// Reads parameters from the fuzzer's bytes, front to back. Past the end every read yields 0,
/// so that any input, including the empty one, is a valid program of calls.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  bool flag() { return (byte() & 1) != 0; }
  std::size_t remaining() const { return size_ - pos_; }

  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= std::uint64_t(byte()) << (8 * i);
    return v;
  }

  /// A value in [lo, hi] (inclusive), lo <= hi, from one byte when the range allows.
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    const std::uint64_t raw = span < 256 ? byte() : u64();
    const std::uint64_t off =
        span == std::numeric_limits<std::uint64_t>::max() ? raw : raw % (span + 1);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + off);
  }

  /// An integer argument: mostly small (where the interesting validation happens), sometimes
  /// a boundary value of int32/int64, sometimes any 64-bit value.
  std::int64_t int_arg() {
    const std::uint8_t sel = byte();
    if (sel < 160) return static_cast<std::int64_t>(sel % 12) - 2;  // -2 .. 9
    if (sel < 230) {
      static constexpr std::int64_t kSpecial[] = {
          0,
          -1,
          16,
          17,
          64,
          255,
          1000,
          65536,
          std::int64_t(1) << 31,
          (std::int64_t(1) << 31) - 1,
          -(std::int64_t(1) << 31),
          std::int64_t(1) << 32,
          3037000499,  // floor(sqrt(2^63 - 1))
          3037000500,
          std::int64_t(1) << 62,
          std::numeric_limits<std::int64_t>::max(),
          std::numeric_limits<std::int64_t>::max() - 1,
          std::numeric_limits<std::int64_t>::max() / 2,
          std::numeric_limits<std::int64_t>::min(),
          std::numeric_limits<std::int64_t>::min() + 1,
          std::numeric_limits<std::int64_t>::min() / 2,
      };
      return kSpecial[(sel - 160) % (sizeof(kSpecial) / sizeof(kSpecial[0]))];
    }
    return static_cast<std::int64_t>(u64());
  }

  /// A size: mostly 0..6, sometimes an int_arg().
  std::int64_t size_arg() {
    const std::uint8_t sel = byte();
    if (sel < 224) return sel % 7;
    return int_arg();
  }

  /// A list of 0..4 int_arg() values.
  std::vector<std::int64_t> int_list() {
    std::vector<std::int64_t> v(static_cast<std::size_t>(range(0, 4)));
    for (auto& x : v)
      x = int_arg();
    return v;
  }

  /// A floating-point argument: common scales, boundary values, NaN, infinities, raw bits.
  double real_arg() {
    const std::uint8_t sel = byte();
    static constexpr double kCommon[] = {0.5, 1.0, 1.5, 2.0, 3.0, 0.25, 0.3, 1.0 / 3, 2.5, 0.75};
    if (sel < 150) return kCommon[sel % (sizeof(kCommon) / sizeof(kCommon[0]))];
    if (sel < 230) {
      static const double kSpecial[] = {
          0.0,
          -0.0,
          -1.0,
          -2.5,
          1e-300,
          4.9e-324,
          1e300,
          1e10,
          1e18,
          9.2233720368547758e18,
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(),
          std::numeric_limits<double>::quiet_NaN(),
          std::numeric_limits<double>::max(),
          std::numeric_limits<double>::epsilon(),
          1.0 + std::numeric_limits<double>::epsilon(),
          0.999999,
          100.0,
          1e6,
      };
      return kSpecial[(sel - 150) % (sizeof(kSpecial) / sizeof(kSpecial[0]))];
    }
    const std::uint64_t bits = u64();
    double d = 0;
    std::memcpy(&d, &bits, sizeof(d));
    return d;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// ---- shapes ----------------------------------------------------------------------------------

/// Product of @p shape, or -1 when a size is negative or the product exceeds @p limit.
inline std::int64_t bounded_numel(const ups::Shape& shape, std::int64_t limit = kMaxElements) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) {
    if (s < 0) return -1;
  }
  for (std::int64_t s : shape) {
    if (s == 0) return 0;
  }
  for (std::int64_t s : shape) {
    if (__builtin_mul_overflow(n, s, &n) || n > limit) return -1;
  }
  return n;
}

inline std::string describe(const ups::Shape& s) {
  return ups::shape_to_string(s);
}

// ---- tensors ---------------------------------------------------------------------------------

/// A strided tensor over a buffer of exactly the bytes its view spans, so that AddressSanitizer
/// reports any access outside the view's extent. The buffer starts filled with kCanary; the bytes
/// the view does not address (gaps between rows, ...) must keep it (padding_untouched).
struct Tensor {
  std::unique_ptr<unsigned char[]> storage;
  std::size_t bytes = 0;
  ups::TensorView view;
  std::vector<std::int64_t> offsets;  // element offset (from view.data) of each element, C order
  std::int64_t base = 0;              // element offset of view.data in storage

  std::int64_t numel() const { return static_cast<std::int64_t>(offsets.size()); }
  unsigned char* at(std::int64_t i) const {
    return static_cast<unsigned char*>(view.data) +
           offsets[static_cast<std::size_t>(i)] *
               static_cast<std::int64_t>(ups::dtype_size(view.dtype));
  }
};

inline constexpr unsigned char kCanary = 0xA7;

/// Builds a tensor of @p shape and @p dtype with a layout chosen by @p in: a permutation of the
/// dims, optional gaps, optional negative strides and (for inputs) zero strides. Returns false
/// when its buffer would exceed kMaxElements elements.
inline bool make_tensor(ByteReader& in, ups::DType dtype, const ups::Shape& shape, bool output,
                        Tensor* t) {
  const int rank = static_cast<int>(shape.size());
  if (rank > ups::kMaxDims) return false;
  const std::int64_t n = bounded_numel(shape);
  if (n < 0) return false;
  t->view = ups::TensorView{};
  t->view.dtype = dtype;
  t->view.device = ups::Device::kCPU;
  t->view.ndim = rank;
  for (int i = 0; i < rank; ++i)
    t->view.sizes[i] = shape[static_cast<std::size_t>(i)];

  // Dim order in memory (layout bits 0-1): 0 C order, 1 channels-last (dim 1 innermost), 2 and
  // 3 a fuzz-chosen permutation. Bit 2 adds gaps after dims, bit 3 negates some strides, bit 4
  // zeroes some strides of an input (a broadcast view).
  const std::uint8_t layout = in.byte();
  int order[ups::kMaxDims];  // order[0] is the innermost dim
  for (int i = 0; i < rank; ++i)
    order[i] = rank - 1 - i;
  if ((layout & 3) == 1 && rank >= 3) {
    // N, *spatial, C in memory: C innermost, then the spatial dims from the last, then N.
    int k = 0;
    order[k++] = 1;
    for (int i = rank - 1; i >= 2; --i)
      order[k++] = i;
    order[k++] = 0;
  } else if ((layout & 3) >= 2) {
    for (int i = rank - 1; i > 0; --i) {
      const int j = static_cast<int>(in.range(0, i));
      std::swap(order[i], order[j]);
    }
  }
  const bool gaps = (layout & 4) != 0;
  const bool negative = (layout & 8) != 0;
  const bool zero = !output && (layout & 16) != 0;
  std::int64_t stride = 1;
  for (int k = 0; k < rank; ++k) {
    const int d = order[k];
    const std::int64_t size = std::max<std::int64_t>(shape[static_cast<std::size_t>(d)], 1);
    t->view.strides[d] = stride;
    const std::int64_t gap = gaps ? in.range(0, 3) : 0;
    if (size > kMaxElements || __builtin_mul_overflow(stride, size + gap, &stride) ||
        stride > kMaxElements) {
      // Only an empty tensor can have such a dim; its strides address nothing.
      if (n > 0) return false;
      stride = 1;
    }
  }
  const std::uint8_t mods = in.byte();
  for (int d = 0; d < rank; ++d) {
    if (negative && ((mods >> d) & 1)) t->view.strides[d] = -t->view.strides[d];
    if (zero && ((mods >> (d + 3)) & 1) && d != 0) t->view.strides[d] = 0;
  }

  // Extent of the view in elements, relative to its first element.
  std::int64_t lo = 0, hi = 0;
  if (n > 0) {
    for (int d = 0; d < rank; ++d) {
      const std::int64_t reach = t->view.strides[d] * (t->view.sizes[d] - 1);
      (reach < 0 ? lo : hi) += reach;
    }
  }
  const std::int64_t span = n > 0 ? hi - lo + 1 : 0;
  if (span > kMaxElements) return false;
  const std::size_t es = ups::dtype_size(dtype);
  t->bytes = static_cast<std::size_t>(span) * es;
  t->base = -lo;
  // An empty tensor gets a null pointer or a one-byte buffer (both are valid views).
  if (t->bytes == 0 && in.flag()) t->bytes = 1;
  t->storage.reset(t->bytes > 0 ? new unsigned char[t->bytes] : nullptr);
  if (t->bytes > 0) std::memset(t->storage.get(), kCanary, t->bytes);
  t->view.data = t->storage ? t->storage.get() + static_cast<std::size_t>(t->base) * es : nullptr;

  t->offsets.clear();
  t->offsets.reserve(static_cast<std::size_t>(n));
  std::int64_t idx[ups::kMaxDims] = {};
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t off = 0;
    for (int d = 0; d < rank; ++d)
      off += idx[d] * t->view.strides[d];
    t->offsets.push_back(off);
    for (int d = rank - 1; d >= 0; --d) {
      if (++idx[d] < t->view.sizes[d]) break;
      idx[d] = 0;
    }
  }
  return true;
}

/// splitmix64: a deterministic stream for tensor contents that costs no fuzzer bytes.
inline std::uint64_t mix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Stores the double @p v (an integer or a multiple of 1/4, well within range) as @p dtype.
inline void store_value(ups::DType dtype, unsigned char* p, double v) {
  switch (dtype) {
    case ups::DType::kF32: {
      const float f = static_cast<float>(v);
      std::memcpy(p, &f, 4);
      break;
    }
    case ups::DType::kF64:
      std::memcpy(p, &v, 8);
      break;
    case ups::DType::kF16:
    case ups::DType::kBF16: {
      // The values used are small multiples of 1/4, exact in both formats; build the bits.
      const float f = static_cast<float>(v);
      std::uint32_t bits = 0;
      std::memcpy(&bits, &f, 4);
      std::uint16_t h = 0;
      if (dtype == ups::DType::kBF16) {
        h = static_cast<std::uint16_t>(bits >> 16);
      } else if (f != 0.0f) {
        const std::uint32_t sign = (bits >> 16) & 0x8000u;
        const std::int32_t exp = static_cast<std::int32_t>((bits >> 23) & 0xff) - 127 + 15;
        const std::uint32_t mant = (bits >> 13) & 0x3ffu;
        h = static_cast<std::uint16_t>(sign | (static_cast<std::uint32_t>(exp) << 10) | mant);
      } else {
        h = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
      }
      std::memcpy(p, &h, 2);
      break;
    }
    case ups::DType::kU8: {
      const auto u = static_cast<std::uint8_t>(v < 0 ? -v : v);
      std::memcpy(p, &u, 1);
      break;
    }
    case ups::DType::kI32: {
      const auto x = static_cast<std::int32_t>(v);
      std::memcpy(p, &x, 4);
      break;
    }
    case ups::DType::kI64: {
      const auto x = static_cast<std::int64_t>(v);
      std::memcpy(p, &x, 8);
      break;
    }
  }
}

/// Reads an element of @p dtype as a double (f16/bf16 decoded exactly).
inline double load_value(ups::DType dtype, const unsigned char* p) {
  switch (dtype) {
    case ups::DType::kF32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case ups::DType::kF64: {
      double d;
      std::memcpy(&d, p, 8);
      return d;
    }
    case ups::DType::kBF16: {
      std::uint16_t h;
      std::memcpy(&h, p, 2);
      const std::uint32_t bits = std::uint32_t(h) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case ups::DType::kF16: {
      std::uint16_t h;
      std::memcpy(&h, p, 2);
      const int exp = (h >> 10) & 0x1f;
      const int mant = h & 0x3ff;
      double mag;
      if (exp == 0) {
        mag = std::ldexp(mant, -24);
      } else if (exp == 31) {
        mag = mant ? std::numeric_limits<double>::quiet_NaN()
                   : std::numeric_limits<double>::infinity();
      } else {
        mag = std::ldexp(1024 + mant, exp - 25);
      }
      return (h & 0x8000) ? -mag : mag;
    }
    case ups::DType::kU8:
      return *p;
    case ups::DType::kI32: {
      std::int32_t x;
      std::memcpy(&x, p, 4);
      return x;
    }
    case ups::DType::kI64: {
      std::int64_t x;
      std::memcpy(&x, p, 8);
      return static_cast<double>(x);
    }
  }
  return 0;
}

/// Fills the elements of @p t: with @p exact, small multiples of 1/4 in [-2, 2] (0..8 for
/// unsigned), whose products and sums are exact in f32 and f64 at the sizes used here; otherwise
/// any bit patterns (NaN, infinities, subnormals).
inline void fill(Tensor& t, std::uint64_t seed, bool exact) {
  const std::size_t es = ups::dtype_size(t.view.dtype);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    unsigned char* p = t.at(i);
    const std::uint64_t r = mix(seed);
    if (exact) {
      store_value(t.view.dtype, p, static_cast<double>(static_cast<int>(r % 17) - 8) / 4.0);
    } else {
      std::memcpy(p, &r, es);
    }
  }
}

/// True when the bytes of @p t outside its view still hold the canary.
inline bool padding_untouched(const Tensor& t) {
  if (!t.storage || t.bytes == 0) return true;
  const std::size_t es = ups::dtype_size(t.view.dtype);
  std::vector<unsigned char> covered(t.bytes, 0);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const std::size_t at =
        static_cast<std::size_t>(t.base + t.offsets[static_cast<std::size_t>(i)]) * es;
    std::memset(covered.data() + at, 1, es);
  }
  for (std::size_t b = 0; b < t.bytes; ++b) {
    if (!covered[b] && t.storage[b] != kCanary) return false;
  }
  return true;
}

/// A copy of a tensor's buffer, to check that inputs are not modified.
inline std::vector<unsigned char> snapshot(const Tensor& t) {
  return t.storage ? std::vector<unsigned char>(t.storage.get(), t.storage.get() + t.bytes)
                   : std::vector<unsigned char>();
}

inline bool unchanged(const Tensor& t, const std::vector<unsigned char>& before) {
  return snapshot(t) == before;
}

/// True when two elements of the view share an address (computed independently of ups).
inline bool self_overlaps(const Tensor& t) {
  std::vector<std::int64_t> offs = t.offsets;
  std::sort(offs.begin(), offs.end());
  return std::adjacent_find(offs.begin(), offs.end()) != offs.end();
}

/// Makes @p victim's view point into the start of @p host's buffer, so that the two overlap;
/// returns false when @p victim's extent does not fit there.
inline bool alias_into(Tensor& victim, const Tensor& host) {
  if (!host.storage || host.bytes == 0 || victim.numel() == 0) return false;
  const std::size_t es = ups::dtype_size(victim.view.dtype);
  if (victim.bytes > host.bytes) return false;
  victim.storage.reset();
  victim.view.data = host.storage.get() + static_cast<std::size_t>(victim.base) * es;
  return true;
}

/// Byte ranges [lo, hi) of two views intersect.
inline bool ranges_overlap(const Tensor& a, const Tensor& b) {
  if (a.numel() == 0 || b.numel() == 0) return false;
  auto range = [](const Tensor& t, const unsigned char** lo, const unsigned char** hi) {
    const std::size_t es = ups::dtype_size(t.view.dtype);
    const auto* first = static_cast<const unsigned char*>(t.view.data);
    std::int64_t mn = 0, mx = 0;
    for (std::int64_t off : t.offsets) {
      mn = std::min(mn, off);
      mx = std::max(mx, off);
    }
    *lo = first + mn * static_cast<std::int64_t>(es);
    *hi = first + (mx + 1) * static_cast<std::int64_t>(es);
  };
  const unsigned char *alo, *ahi, *blo, *bhi;
  range(a, &alo, &ahi);
  range(b, &blo, &bhi);
  return alo < bhi && blo < ahi;
}

/// Any dtype.
inline ups::DType pick_dtype(ByteReader& in) {
  static constexpr ups::DType kAll[] = {ups::DType::kF32,  ups::DType::kF64, ups::DType::kF16,
                                        ups::DType::kBF16, ups::DType::kU8,  ups::DType::kI32,
                                        ups::DType::kI64};
  return kAll[in.byte() % 7];
}

/// Runs @p fn, which calls ups; returns true when it succeeded, false when it threw ups::Error
/// (whose message goes to @p message when given). Any other exception propagates (a finding).
template <class Fn>
bool succeeds(Fn&& fn, std::string* message = nullptr) {
  try {
    fn();
    return true;
  } catch (const ups::Error& e) {
    if (message != nullptr) *message = e.what();
    return false;
  }
}

/// What a call must do: succeed unless a reason to fail was noted. check() compares with what
/// the call did.
class Expectation {
 public:
  void must_fail(bool cond, const char* reason) {
    if (cond && reason_.empty()) reason_ = reason;
  }
  /// The call may fail (or succeed) when @p cond holds: ups may reject an empty view whose
  /// sizes times strides overflow a 64-bit offset, though it addresses nothing.
  void may_fail(bool cond) { either_ = either_ || cond; }
  bool fails() const { return !reason_.empty(); }
  /// @p op names the call, @p context describes the arguments.
  void check(const char* op, bool ok, const std::string& error, const std::string& context) const {
    if (ok) expect(!fails(), std::string(op) + " succeeded although " + reason_ + "; " + context);
    if (!ok && !either_) {
      expect(fails(), std::string(op) + " failed on a valid call: \"" + error + "\"; " + context);
    }
  }

 private:
  std::string reason_;
  bool either_ = false;
};

/// True when the offsets a view's sizes and strides describe exceed 2^63 / 16 (the bound
/// ups::TensorView checks), which only an empty tensor of this suite can have.
inline bool huge_span(const ups::TensorView& v) {
  std::int64_t span = 0;
  for (int d = 0; d < v.ndim; ++d) {
    if (v.sizes[d] <= 1) continue;
    const std::int64_t s = v.strides[d] < 0 ? -v.strides[d] : v.strides[d];
    std::int64_t reach = 0;
    if (__builtin_mul_overflow(s, v.sizes[d] - 1, &reach) ||
        __builtin_add_overflow(span, reach, &span) ||
        span > std::numeric_limits<std::int64_t>::max() / 16) {
      return true;
    }
  }
  return false;
}

/// A size next to @p s (above it when @p up and possible), never equal to it.
inline std::int64_t other_size(std::int64_t s, bool up) {
  if (s == std::numeric_limits<std::int64_t>::max()) return s - 1;
  if (s == std::numeric_limits<std::int64_t>::min()) return s + 1;
  return up ? s + 1 : s - 1;
}

/// Builds the output tensor of a call whose correct output is @p shape of @p dtype, sometimes
/// with one fuzz-chosen mistake: a wrong shape, a wrong dtype, a layout whose elements overlap,
/// or memory that overlaps @p input. Notes in @p e why the call must then fail. Returns false
/// when the tensor would be too large.
inline bool make_output(ByteReader& in, ups::Shape shape, ups::DType dtype, const Tensor& input,
                        Tensor* out, Expectation& e) {
  const std::uint8_t sel = in.byte();
  const int mistake = sel < 192 ? 0 : 1 + sel % 4;
  if (mistake == 1 && !shape.empty()) {
    const std::size_t d = in.byte() % shape.size();
    shape[d] = other_size(shape[d], in.flag());
    e.must_fail(true, "dst has the wrong shape");
  }
  if (mistake == 2) {
    const ups::DType other = pick_dtype(in);
    e.must_fail(other != dtype, "dst has the wrong dtype");
    dtype = other;
  }
  if (!make_tensor(in, dtype, shape, mistake != 3, out)) return false;
  e.may_fail(huge_span(out->view));
  if (mistake == 3) e.must_fail(self_overlaps(*out), "dst overlaps itself");
  if (mistake == 4 && alias_into(*out, input)) {
    e.must_fail(ranges_overlap(input, *out), "dst overlaps an input");
  }
  return true;
}

}  // namespace ups_fuzz
