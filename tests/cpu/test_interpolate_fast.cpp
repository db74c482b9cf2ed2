// The CPU backend's fast paths (separable row passes over tap tables, SIMD, threads) against the
// per-element reference body kern::interp_element, bit for bit, on randomised cases: every mode
// (anti-aliasing included), rank, dtype, size and scale kind, align_corners, recompute, layouts
// (contiguous, channels-last, padded rows, non-unit W strides that take the reference loop) and
// thread counts. Inputs include -0, infinities and NaNs (a NaN output must be NaN; its sign and
// payload are left to code generation, see is_nan). Nothing outside the output view may be
// written.
//
// The reference is built here from the public call: the geometry from the views, and the scale
// that drives the index math per dim as PyTorch passes it to its kernels (the scale factor unless
// recompute_scale_factor or a size is given, else 0 for in/out), which is what the front end
// computes (docs/semantics.md). The goldens (test_interpolate_golden.cpp) check the body itself
// against PyTorch.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/hd.hpp"
#include "interpolate/interp_math.hpp"
#include "simd_targets.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::InterpMode;
using ups::Shape;
namespace kern = ups::kern;

constexpr unsigned char kGuard = 0xA5;

// A tensor view into a buffer with any strides and an offset; bytes outside the view keep kGuard.
struct Strided {
  DType dtype;
  Shape shape;
  std::vector<std::int64_t> strides;
  std::int64_t offset = 0;  // elements before the first
  std::vector<unsigned char> buf;

  std::size_t esize() const { return ups::dtype_size(dtype); }
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto s : shape)
      n *= s;
    return n;
  }
  std::int64_t elem_offset(std::int64_t logical) const {
    std::int64_t off = offset;
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
      const auto sd = static_cast<std::size_t>(d);
      off += (logical % shape[sd]) * strides[sd];
      logical /= shape[sd];
    }
    return off;
  }
  unsigned char* at(std::int64_t logical) {
    return buf.data() + static_cast<std::size_t>(elem_offset(logical)) * esize();
  }
  ups::TensorView view() {
    ups::TensorView v;
    v.data = buf.data() + static_cast<std::size_t>(offset) * esize();
    v.dtype = dtype;
    v.device = ups::Device::kCPU;
    v.ndim = static_cast<int>(shape.size());
    for (int d = 0; d < v.ndim; ++d) {
      v.sizes[d] = shape[static_cast<std::size_t>(d)];
      v.strides[d] = strides[static_cast<std::size_t>(d)];
    }
    return v;
  }
};

enum class Layout { kContiguous, kChannelsLast, kPadded, kStrideW2 };

// Strides of a dense layout whose memory order is `order` (outermost first), each dim padded by
// `pad` elements in the row (W) stride when asked.
Strided make_strided(DType dtype, const Shape& shape, Layout layout, std::mt19937_64& rng) {
  Strided t;
  t.dtype = dtype;
  t.shape = shape;
  const int rank = static_cast<int>(shape.size());
  std::vector<int> order(static_cast<std::size_t>(rank));
  for (int i = 0; i < rank; ++i)
    order[static_cast<std::size_t>(i)] = i;
  if (layout == Layout::kChannelsLast) {  // N, spatial..., C
    order.erase(order.begin() + 1);
    order.push_back(1);
  }
  t.strides.assign(static_cast<std::size_t>(rank), 0);
  std::int64_t s = layout == Layout::kStrideW2 ? 2 : 1;
  for (int i = rank - 1; i >= 0; --i) {
    const int dim = order[static_cast<std::size_t>(i)];
    t.strides[static_cast<std::size_t>(dim)] = s;
    s *= shape[static_cast<std::size_t>(dim)];
    if (layout == Layout::kPadded && i == rank - 1) s += 1 + static_cast<std::int64_t>(rng() % 5);
  }
  t.offset = static_cast<std::int64_t>(rng() % 7);
  const std::int64_t span = t.offset + s + 8;
  t.buf.assign(static_cast<std::size_t>(span) * t.esize(), kGuard);
  return t;
}

void put(Strided& t, std::int64_t i, double v) {
  unsigned char* p = t.at(i);
  switch (t.dtype) {
    case DType::kF32: {
      const float f = static_cast<float>(v);
      std::memcpy(p, &f, 4);
      break;
    }
    case DType::kF64:
      std::memcpy(p, &v, 8);
      break;
    case DType::kF16: {
      const kern::half_t h = kern::float_to_half(static_cast<float>(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::kBF16: {
      const kern::bf16_t b = kern::float_to_bf16(static_cast<float>(v));
      std::memcpy(p, &b, 2);
      break;
    }
    case DType::kU8: {
      const auto u = static_cast<std::uint8_t>(static_cast<int>(std::fabs(v) * 255.0) & 0xff);
      *p = u;
      break;
    }
    default:
      break;
  }
}

void fill_random(Strided& t, std::mt19937_64& rng, bool specials) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    double v = u(rng);
    if (specials) {
      switch (rng() % 64) {
        case 0:
          v = -0.0;
          break;
        case 1:
          v = std::numeric_limits<double>::infinity();
          break;
        case 2:
          v = -std::numeric_limits<double>::infinity();
          break;
        case 3:
          v = std::numeric_limits<double>::quiet_NaN();
          break;
        case 4:
          v = 1e-42;  // subnormal in f32, zero in f16
          break;
        default:
          break;
      }
    }
    put(t, i, v);
  }
}

// NaNs compare equal whatever their sign and payload: x86 makes a default NaN negative and keeps
// the first operand's NaN when both are NaN, and a compiler may swap the operands of a
// commutative addition, so those bits depend on code generation, not on the arithmetic.
bool is_nan(DType dtype, const unsigned char* p) {
  switch (dtype) {
    case DType::kF32: {
      std::uint32_t b;
      std::memcpy(&b, p, 4);
      return (b & 0x7fffffffu) > 0x7f800000u;
    }
    case DType::kF64: {
      std::uint64_t b;
      std::memcpy(&b, p, 8);
      return (b & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
    }
    case DType::kF16: {
      std::uint16_t b;
      std::memcpy(&b, p, 2);
      return (b & 0x7fffu) > 0x7c00u;
    }
    case DType::kBF16: {
      std::uint16_t b;
      std::memcpy(&b, p, 2);
      return (b & 0x7fffu) > 0x7f80u;
    }
    default:
      return false;
  }
}

kern::InterpKind kind_of(InterpMode mode, bool antialias) {
  switch (mode) {
    case InterpMode::kNearest:
      return kern::InterpKind::kNearest;
    case InterpMode::kNearestExact:
      return kern::InterpKind::kNearestExact;
    case InterpMode::kLinear:
      return kern::InterpKind::kLinear;
    case InterpMode::kBilinear:
      return antialias ? kern::InterpKind::kAaBilinear : kern::InterpKind::kBilinear;
    case InterpMode::kTrilinear:
      return kern::InterpKind::kTrilinear;
    case InterpMode::kBicubic:
      return antialias ? kern::InterpKind::kAaBicubic : kern::InterpKind::kBicubic;
    default:
      return kern::InterpKind::kArea;
  }
}

template <kern::InterpKind K, class T>
void reference_body(const kern::InterpGeometry& g, const double scale[3], bool align_corners,
                    const void* src, void* dst, std::int64_t total) {
  const auto p = kern::make_interp_params<kern::acc_t<T>>(g, scale, align_corners);
  for (std::int64_t i = 0; i < total; ++i)
    kern::interp_element<K, T>(p, static_cast<const T*>(src), static_cast<T*>(dst), i);
}

template <class T>
void reference_kind(kern::InterpKind k, const kern::InterpGeometry& g, const double s[3], bool ac,
                    const void* src, void* dst, std::int64_t total) {
  using K = kern::InterpKind;
  switch (k) {
    case K::kNearest:
      return reference_body<K::kNearest, T>(g, s, ac, src, dst, total);
    case K::kNearestExact:
      return reference_body<K::kNearestExact, T>(g, s, ac, src, dst, total);
    default:
      break;
  }
  if constexpr (!std::is_same_v<T, std::uint8_t>) {
    switch (k) {
      case K::kLinear:
        return reference_body<K::kLinear, T>(g, s, ac, src, dst, total);
      case K::kBilinear:
        return reference_body<K::kBilinear, T>(g, s, ac, src, dst, total);
      case K::kTrilinear:
        return reference_body<K::kTrilinear, T>(g, s, ac, src, dst, total);
      case K::kBicubic:
        return reference_body<K::kBicubic, T>(g, s, ac, src, dst, total);
      case K::kArea:
        return reference_body<K::kArea, T>(g, s, ac, src, dst, total);
      case K::kAaBilinear:
        return reference_body<K::kAaBilinear, T>(g, s, ac, src, dst, total);
      case K::kAaBicubic:
        return reference_body<K::kAaBicubic, T>(g, s, ac, src, dst, total);
      default:
        break;
    }
  }
}

// The reference output of `opt` on src, into ref (a contiguous or channels-last tensor whose
// layout decides the body's iteration order, which does not change any value).
void reference(const ups::InterpolateOptions& opt, const ups::TensorView& src,
               const ups::TensorView& ref) {
  kern::InterpGeometry g{};
  const int rank = src.ndim, pad = 5 - rank;
  g.n = src.sizes[0];
  g.c = src.sizes[1];
  double scale[3] = {0, 0, 0};
  for (int d = 0; d < 3; ++d) {
    const int axis = d - pad + 2;
    const bool real = axis >= 2;
    g.in[d] = real ? src.sizes[axis] : 1;
    g.out[d] = real ? ref.sizes[axis] : 1;
    g.src_stride[2 + d] = real ? src.strides[axis] : 0;
    g.dst_stride[2 + d] = real ? ref.strides[axis] : 0;
    if (real && !opt.scale_factor.empty() && !opt.recompute_scale_factor) {
      const std::size_t i = static_cast<std::size_t>(axis - 2);
      scale[d] = opt.scale_factor.size() == 1 ? opt.scale_factor[0] : opt.scale_factor[i];
    }
  }
  for (int d = 0; d < 2; ++d) {
    g.src_stride[d] = src.strides[d];
    g.dst_stride[d] = ref.strides[d];
  }
  g.dst_channels_last = false;
  g.spatial_dims = rank - 2;
  std::int64_t total = 1;
  for (int d = 0; d < ref.ndim; ++d)
    total *= ref.sizes[d];
  const bool ac = opt.align_corners.value_or(false);
  const kern::InterpKind k = kind_of(opt.mode, opt.antialias);
  switch (src.dtype) {
    case DType::kF32:
      return reference_kind<float>(k, g, scale, ac, src.data, ref.data, total);
    case DType::kF64:
      return reference_kind<double>(k, g, scale, ac, src.data, ref.data, total);
    case DType::kF16:
      return reference_kind<kern::half_t>(k, g, scale, ac, src.data, ref.data, total);
    case DType::kBF16:
      return reference_kind<kern::bf16_t>(k, g, scale, ac, src.data, ref.data, total);
    default:
      return reference_kind<std::uint8_t>(k, g, scale, ac, src.data, ref.data, total);
  }
}

struct Case {
  InterpMode mode;
  bool antialias;
  DType dtype;
  Shape in;
  ups::InterpolateOptions opt;
  Layout src_layout, dst_layout;
  int threads;
  bool specials;
  std::uint64_t seed;
};

std::string describe(const Case& c) {
  std::ostringstream os;
  os << ups::to_string(c.mode) << (c.antialias ? "+aa" : "") << " " << ups::to_string(c.dtype)
     << " " << ups::shape_to_string(c.in);
  if (!c.opt.size.empty()) os << " size=" << ups::shape_to_string(c.opt.size);
  if (!c.opt.scale_factor.empty()) {
    os << " scale=[";
    for (double s : c.opt.scale_factor)
      os << s << ",";
    os << "]" << (c.opt.recompute_scale_factor ? " recompute" : "");
  }
  if (c.opt.align_corners) os << " align_corners=" << *c.opt.align_corners;
  os << " layouts=" << static_cast<int>(c.src_layout) << "->" << static_cast<int>(c.dst_layout)
     << " threads=" << c.threads << " seed=" << c.seed;
  return os.str();
}

// Runs one case; "" when the library's output equals the reference bit for bit and nothing
// outside the output view changed.
std::string run_case(const Case& c) {
  std::mt19937_64 rng(c.seed);
  Shape out_shape;
  try {
    out_shape = ups::interpolate_output_shape(c.in, c.opt);
  } catch (const ups::Error&) {
    return "skip";
  }
  Strided src = make_strided(c.dtype, c.in, c.src_layout, rng);
  fill_random(src, rng, c.specials);
  Strided dst = make_strided(c.dtype, out_shape, c.dst_layout, rng);
  for (std::int64_t i = 0; i < dst.numel(); ++i)
    std::memset(dst.at(i), 0xFF, dst.esize());  // NaN in every float type
  ups::Context cpu(ups::Device::kCPU);
  cpu.set_num_threads(c.threads);
  try {
    ups::interpolate(cpu, src.view(), dst.view(), c.opt);
  } catch (const ups::Error& e) {
    return "skip";  // a combination the op rejects (e.g. channels-last of a 3-D tensor)
  }
  // The reference into a contiguous tensor.
  Strided ref;
  ref.dtype = c.dtype;
  ref.shape = out_shape;
  ref.strides.assign(out_shape.size(), 1);
  for (int d = static_cast<int>(out_shape.size()) - 2; d >= 0; --d)
    ref.strides[static_cast<std::size_t>(d)] =
        ref.strides[static_cast<std::size_t>(d + 1)] * out_shape[static_cast<std::size_t>(d + 1)];
  ref.buf.assign(static_cast<std::size_t>(ref.numel()) * ref.esize(), 0);
  reference(c.opt, src.view(), ref.view());

  std::int64_t bad = 0, first = -1;
  for (std::int64_t i = 0; i < dst.numel(); ++i) {
    if (std::memcmp(dst.at(i), ref.at(i), dst.esize()) != 0 &&
        !(is_nan(c.dtype, dst.at(i)) && is_nan(c.dtype, ref.at(i)))) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  std::ostringstream err;
  if (bad > 0) {
    std::uint64_t a = 0, b = 0;
    std::memcpy(&a, dst.at(first), dst.esize());
    std::memcpy(&b, ref.at(first), ref.esize());
    err << bad << " of " << dst.numel() << " outputs differ; first at " << first << ": 0x"
        << std::hex << a << " vs reference 0x" << b;
  }
  // Bytes outside the view: mark the view's bytes, then every other byte must be kGuard.
  std::vector<unsigned char> in_view(dst.buf.size(), 0);
  for (std::int64_t i = 0; i < dst.numel(); ++i)
    std::memset(in_view.data() + (dst.at(i) - dst.buf.data()), 1, dst.esize());
  for (std::size_t j = 0; j < dst.buf.size(); ++j) {
    if (!in_view[j] && dst.buf[j] != kGuard) {
      err << (err.str().empty() ? "" : "; ") << "byte " << j << " outside the output changed";
      break;
    }
  }
  return err.str();
}

Case random_case(std::mt19937_64& rng, std::uint64_t seed) {
  // Modes, ranks, dtypes and the align_corners / antialias rules from the mode table.
  // The modes on the resampling engine (lanczos, tricubic, anti-aliased trilinear) have no
  // per-element body; tests/cpu/test_resample.cpp holds the engine to its reference.
  const auto& modes = ups::interp_modes();
  const ups::InterpModeTraits* pick = &modes[rng() % modes.size()];
  while (pick->mode == ups::InterpMode::kLanczos || pick->mode == ups::InterpMode::kTricubic)
    pick = &modes[rng() % modes.size()];
  const ups::InterpModeTraits& t = *pick;
  Case c{};
  c.seed = seed;
  c.mode = t.mode;
  c.antialias = t.antialias && t.max_rank == 4 && rng() % 3 == 0;
  const int rank =
      t.min_rank + static_cast<int>(rng() % static_cast<unsigned>(t.max_rank - t.min_rank + 1));
  std::vector<DType> types;
  for (DType dt : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16, DType::kU8}) {
    if (t.supports(dt)) types.push_back(dt);
  }
  c.dtype = types[rng() % types.size()];
  c.in = {1 + static_cast<std::int64_t>(rng() % 3), 1 + static_cast<std::int64_t>(rng() % 19)};
  const int max_sp = rank == 5 ? 9 : (rank == 4 ? 26 : 70);
  for (int d = 2; d < rank; ++d)
    c.in.push_back(1 + static_cast<std::int64_t>(rng() % static_cast<unsigned>(max_sp)));
  static const double scales[] = {0.25, 0.4, 0.5, 0.75, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0, 4.0};
  if (rng() % 2 == 0) {
    for (int d = 2; d < rank; ++d)
      c.opt.size.push_back(1 +
                           static_cast<std::int64_t>(rng() % static_cast<unsigned>(2 * max_sp)));
  } else {
    for (int d = 2; d < rank; ++d)
      c.opt.scale_factor.push_back(scales[rng() % 11]);
    c.opt.recompute_scale_factor = rng() % 4 == 0;
  }
  c.opt.mode = c.mode;
  c.opt.antialias = c.antialias;
  if (t.align_corners && rng() % 3 == 0) c.opt.align_corners = true;
  static const Layout layouts[] = {Layout::kContiguous, Layout::kChannelsLast, Layout::kPadded,
                                   Layout::kStrideW2};
  c.src_layout = layouts[rng() % 4];
  c.dst_layout = layouts[rng() % 3];
  if (rank == 3) {
    if (c.src_layout == Layout::kChannelsLast) c.src_layout = Layout::kContiguous;
    if (c.dst_layout == Layout::kChannelsLast) c.dst_layout = Layout::kContiguous;
  }
  // Mostly matching layouts (the fast paths), sometimes mixed (the reference loop).
  if (rng() % 4 != 0)
    c.dst_layout = c.src_layout == Layout::kStrideW2 ? Layout::kPadded : c.src_layout;
  static const int threads[] = {1, 2, 3, 8};
  c.threads = threads[rng() % 4];
  c.specials = rng() % 4 == 0;
  return c;
}

}  // namespace

TEST_CASE("interpolate fast paths equal the per-element reference bit for bit",
          "[interpolate][fast]") {
  std::mt19937_64 rng(20261130);
  int ran = 0, failures = 0;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    const Case c = random_case(rng, 1000 + i);
    const std::string err = run_case(c);
    if (err == "skip") continue;
    ++ran;
    if (!err.empty() && ++failures <= 20) FAIL_CHECK(describe(c) << ": " << err);
  }
  INFO(failures << " failures in " << ran << " cases");
  CHECK(failures == 0);
  CHECK(ran > 2000);
}

TEST_CASE("interpolate fast paths on every SIMD target", "[interpolate][fast][simd]") {
  // The narrower targets' vector widths and tails (AVX2, SSE4, the emulated and scalar ones),
  // held to the per-element reference as the best target is above.
  ups_test::for_each_simd_target([&](const std::string& target) {
    std::mt19937_64 rng(20261201);
    int ran = 0, failures = 0;
    for (std::uint64_t i = 0; i < 300; ++i) {
      const Case c = random_case(rng, 7000 + i);
      const std::string err = run_case(c);
      if (err == "skip") continue;
      ++ran;
      if (!err.empty() && ++failures <= 10)
        FAIL_CHECK(target << ": " << describe(c) << ": " << err);
    }
    INFO(target << ": " << failures << " failures in " << ran << " cases");
    CHECK(failures == 0);
    CHECK(ran > 150);
  });
}

TEST_CASE("interpolate fast paths on larger planes and many threads", "[interpolate][fast]") {
  // Big enough for full SIMD blocks, several row bands per plane and cache reuse in every pass.
  std::mt19937_64 rng(7);
  struct Big {
    InterpMode mode;
    bool aa;
    Shape in;
    std::vector<double> scale;
  };
  const std::vector<Big> cases = {
      {InterpMode::kNearest, false, {1, 3, 67, 131}, {2.0, 2.0}},
      {InterpMode::kNearest, false, {2, 5, 40, 50}, {1.5, 0.75}},
      {InterpMode::kBilinear, false, {1, 2, 70, 90}, {2.0, 2.0}},
      {InterpMode::kBilinear, false, {1, 2, 70, 90}, {0.5, 0.3}},
      {InterpMode::kBicubic, false, {1, 2, 50, 77}, {1.7, 2.0}},
      {InterpMode::kBilinear, true, {1, 3, 128, 100}, {0.5, 0.3}},
      {InterpMode::kBicubic, true, {1, 3, 100, 128}, {0.25, 0.6}},
      {InterpMode::kArea, false, {2, 3, 64, 96}, {0.5, 0.5}},
      {InterpMode::kArea, false, {2, 3, 64, 96}, {0.4, 2.0}},
      {InterpMode::kArea, false, {2, 3, 40, 37}, {2.0, 3.0}},  // single-element windows
      {InterpMode::kLinear, false, {2, 4, 517}, {1.9}},
      {InterpMode::kTrilinear, false, {1, 2, 9, 33, 41}, {2.0, 2.0, 2.0}},
      {InterpMode::kTrilinear, false, {1, 2, 9, 33, 41}, {0.6, 1.5, 0.5}},
  };
  int failures = 0;
  std::uint64_t seed = 1;
  for (const Big& b : cases) {
    for (DType dt : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16}) {
      for (Layout lay : {Layout::kContiguous, Layout::kChannelsLast, Layout::kPadded}) {
        if (lay == Layout::kChannelsLast && b.in.size() == 3) continue;
        for (int threads : {1, 5}) {
          ups::InterpolateOptions opt;
          opt.mode = b.mode;
          opt.antialias = b.aa;
          opt.scale_factor = b.scale;
          const Case c{b.mode, b.aa, dt, b.in, opt, lay, lay, threads, true, seed++};
          const std::string err = run_case(c);
          REQUIRE(err != "skip");
          if (!err.empty() && ++failures <= 20) FAIL_CHECK(describe(c) << ": " << err);
        }
      }
    }
  }
  CHECK(failures == 0);
}
