// The CPU backend of ups::interpolate_backward (src/cpu/interpolate_backward_cpu.cpp: SIMD row
// kernels along W and along C, blocks and runs planned per call, rings of W rows and H planes,
// row bands, streaming stores) against a per-element reference, bit for bit, on randomised cases:
// every mode that has a backward (anti-aliasing included), rank, dtype, odd sizes and channel
// counts (vector tails), upscaling by 2 and other factors, downscaling, align_corners, layouts
// (contiguous, channels-last, permuted strides, gapped rows and planes) and 1 to 3 threads.
// grad_output includes -0, infinities and NaNs (a NaN result must be NaN; its sign and payload are
// left to code generation). Nothing outside grad_input's view may be written.
//
// The reference is the formula of include/ups/interpolate.hpp, one grad_input element at a time:
// sum over the D list of wz * (sum over the H list of wy * (sum over the W list of wx *
// grad_output)), each sum from 0 in list order, in the accumulation type, a dim whose table is the
// identity passing its value through (what the CUDA kernel computes per thread). It uses the
// transposed tables of kernels/interpolate/interp_backward.hpp, which the goldens
// (test_interpolate_backward.cpp) check against PyTorch.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/hd.hpp"
#include "interpolate/interp_backward.hpp"
#include "resample_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::InterpMode;
using ups::Shape;
using ups_test::StridedTensor;
using ups_test::Strides;
namespace kern = ups::kern;

constexpr unsigned char kGuard = 0xA5;

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

// Strides of a view padded to (N, C, D, H, W): unit dims get stride 0.
void padded_strides(const StridedTensor& t, std::int64_t out[5]) {
  const int pad = 5 - t.ndim;
  for (int d = 0; d < 5; ++d)
    out[d] = d < 2 ? t.strides[d] : (d - pad >= 2 ? t.strides[d - pad] : 0);
}

// The reference grad_input, C order, element type T.
template <kern::InterpKind K, class T>
std::vector<T> reference_body(const kern::InterpGeometry& g, const double scale[3], bool ac,
                              const StridedTensor& go) {
  using Acc = kern::acc_t<T>;
  const auto p = kern::make_interp_params<Acc>(g, scale, ac);
  const auto tables = kern::make_backward_tables<K, Acc>(p);
  const kern::InvTable<Acc>& tz = tables.dim[0];
  const kern::InvTable<Acc>& ty = tables.dim[1];
  const kern::InvTable<Acc>& tx = tables.dim[2];
  std::int64_t gs[5];
  padded_strides(go, gs);
  const T* data = reinterpret_cast<const T*>(go.bytes.data());
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(g.n * g.c * g.in[0] * g.in[1] * g.in[2]));
  for (std::int64_t n = 0; n < g.n; ++n) {
    for (std::int64_t c = 0; c < g.c; ++c) {
      const T* plane = data + n * gs[0] + c * gs[1];
      for (std::int64_t z = 0; z < g.in[0]; ++z) {
        for (std::int64_t y = 0; y < g.in[1]; ++y) {
          for (std::int64_t x = 0; x < g.in[2]; ++x) {
            auto w_sum = [&](std::int64_t oz, std::int64_t oy) {
              Acc acc = Acc(0);
              for (auto e = tx.start[static_cast<std::size_t>(x)];
                   e < tx.start[static_cast<std::size_t>(x + 1)]; ++e) {
                const auto ue = static_cast<std::size_t>(e);
                acc = acc + tx.w[ue] * kern::to_acc<Acc>(
                                           plane[oz * gs[2] + oy * gs[3] + tx.out[ue] * gs[4]]);
              }
              return acc;
            };
            auto h_sum = [&](std::int64_t oz) {
              if (ty.identity) return w_sum(oz, y);
              Acc acc = Acc(0);
              for (auto e = ty.start[static_cast<std::size_t>(y)];
                   e < ty.start[static_cast<std::size_t>(y + 1)]; ++e) {
                const auto ue = static_cast<std::size_t>(e);
                acc = acc + ty.w[ue] * w_sum(oz, ty.out[ue]);
              }
              return acc;
            };
            Acc v;
            if (tz.identity) {
              v = h_sum(z);
            } else {
              v = Acc(0);
              for (auto e = tz.start[static_cast<std::size_t>(z)];
                   e < tz.start[static_cast<std::size_t>(z + 1)]; ++e) {
                const auto ue = static_cast<std::size_t>(e);
                v = v + tz.w[ue] * h_sum(tz.out[ue]);
              }
            }
            out.push_back(kern::from_acc<T>(v));
          }
        }
      }
    }
  }
  return out;
}

template <class T>
std::vector<unsigned char> reference_kind(kern::InterpKind k, const kern::InterpGeometry& g,
                                          const double s[3], bool ac, const StridedTensor& go) {
  using K = kern::InterpKind;
  std::vector<T> r;
  switch (k) {
    case K::kNearest:
      r = reference_body<K::kNearest, T>(g, s, ac, go);
      break;
    case K::kNearestExact:
      r = reference_body<K::kNearestExact, T>(g, s, ac, go);
      break;
    case K::kLinear:
      r = reference_body<K::kLinear, T>(g, s, ac, go);
      break;
    case K::kBilinear:
      r = reference_body<K::kBilinear, T>(g, s, ac, go);
      break;
    case K::kTrilinear:
      r = reference_body<K::kTrilinear, T>(g, s, ac, go);
      break;
    case K::kBicubic:
      r = reference_body<K::kBicubic, T>(g, s, ac, go);
      break;
    case K::kArea:
      r = reference_body<K::kArea, T>(g, s, ac, go);
      break;
    case K::kAaBilinear:
      r = reference_body<K::kAaBilinear, T>(g, s, ac, go);
      break;
    case K::kAaBicubic:
      r = reference_body<K::kAaBicubic, T>(g, s, ac, go);
      break;
  }
  std::vector<unsigned char> bytes(r.size() * sizeof(T));
  std::memcpy(bytes.data(), r.data(), bytes.size());
  return bytes;
}

// The reference grad_input (C order) of grad_output `go` for grad_input shape `in`: the geometry
// from the shapes, and the scale that drives the index math per dim as PyTorch passes it to its
// kernels (the scale factor unless recompute_scale_factor or a size is given, else 0), which is
// what the front end computes (docs/semantics.md).
std::vector<unsigned char> reference(const ups::InterpolateOptions& opt, const Shape& in,
                                     const StridedTensor& go) {
  kern::InterpGeometry g{};
  const int rank = static_cast<int>(in.size()), pad = 5 - rank;
  g.n = in[0];
  g.c = in[1];
  double scale[3] = {0, 0, 0};
  for (int d = 0; d < 3; ++d) {
    const int axis = d - pad + 2;
    const bool real = axis >= 2;
    g.in[d] = real ? in[static_cast<std::size_t>(axis)] : 1;
    g.out[d] = real ? go.sizes[axis] : 1;
    if (real && !opt.scale_factor.empty() && !opt.recompute_scale_factor) {
      const auto i = static_cast<std::size_t>(axis - 2);
      scale[d] = opt.scale_factor.size() == 1 ? opt.scale_factor[0] : opt.scale_factor[i];
    }
  }
  g.spatial_dims = rank - 2;
  const bool ac = opt.align_corners.value_or(false);
  const kern::InterpKind k = kind_of(opt.mode, opt.antialias);
  switch (go.dtype) {
    case DType::kF32:
      return reference_kind<float>(k, g, scale, ac, go);
    case DType::kF64:
      return reference_kind<double>(k, g, scale, ac, go);
    case DType::kF16:
      return reference_kind<kern::half_t>(k, g, scale, ac, go);
    default:
      return reference_kind<kern::bf16_t>(k, g, scale, ac, go);
  }
}

// NaNs compare equal whatever their sign and payload (see test_interpolate_fast.cpp).
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
    default: {
      std::uint16_t b;
      std::memcpy(&b, p, 2);
      return (b & 0x7fffu) > 0x7f80u;
    }
  }
}

struct Case {
  ups::InterpolateOptions opt;
  DType dtype;
  Shape in;
  Strides gi_layout, go_layout;
  int threads;
  bool specials;
  std::uint64_t seed;
};

std::string describe(const Case& c) {
  std::ostringstream os;
  os << ups::to_string(c.opt.mode) << (c.opt.antialias ? "+aa" : "") << " "
     << ups::to_string(c.dtype) << " " << ups::shape_to_string(c.in);
  if (!c.opt.size.empty()) os << " size=" << ups::shape_to_string(c.opt.size);
  if (!c.opt.scale_factor.empty()) {
    os << " scale=[";
    for (double s : c.opt.scale_factor)
      os << s << ",";
    os << "]" << (c.opt.recompute_scale_factor ? " recompute" : "");
  }
  if (c.opt.align_corners) os << " align_corners=" << *c.opt.align_corners;
  os << " grad_input " << ups_test::to_string(c.gi_layout) << ", grad_output "
     << ups_test::to_string(c.go_layout) << " threads=" << c.threads << " seed=" << c.seed;
  return os.str();
}

// Runs one case; "" when grad_input equals the reference bit for bit and nothing outside its
// view changed, "skip" for a combination the op rejects.
std::string run_case(const Case& c) {
  std::mt19937_64 rng(c.seed);
  Shape out_shape;
  try {
    out_shape = ups::interpolate_output_shape(c.in, c.opt);
  } catch (const ups::Error&) {
    return "skip";
  }
  const int rank = static_cast<int>(c.in.size());
  StridedTensor go(c.dtype, rank, out_shape.data(), c.go_layout, rng);
  go.fill(rng);
  if (c.specials) {
    for (std::int64_t i = 0; i < go.numel; ++i) {
      switch (rng() % 48) {
        case 0:
          go.set(i, -0.0);
          break;
        case 1:
          go.set(i, std::numeric_limits<double>::infinity());
          break;
        case 2:
          go.set(i, -std::numeric_limits<double>::infinity());
          break;
        case 3:
          go.set(i, std::numeric_limits<double>::quiet_NaN());
          break;
        case 4:
          go.set(i, 1e-42);  // subnormal in f32, zero in f16
          break;
        default:
          break;
      }
    }
  }
  StridedTensor gi(c.dtype, rank, c.in.data(), c.gi_layout, rng);
  const std::size_t es = ups::dtype_size(c.dtype);
  std::fill(gi.bytes.begin(), gi.bytes.end(), kGuard);
  for (std::int64_t i = 0; i < gi.numel; ++i)
    std::memset(gi.bytes.data() + gi.offset(i) * static_cast<std::int64_t>(es), 0xFF, es);
  ups::Context cpu(ups::Device::kCPU);
  cpu.set_num_threads(c.threads);
  try {
    ups::interpolate_backward(cpu, go.view(), gi.view(), c.opt);
  } catch (const ups::Error&) {
    return "skip";
  }
  const std::vector<unsigned char> ref = reference(c.opt, c.in, go);
  std::int64_t bad = 0, first = -1;
  for (std::int64_t i = 0; i < gi.numel; ++i) {
    const unsigned char* got = gi.bytes.data() + gi.offset(i) * static_cast<std::int64_t>(es);
    const unsigned char* want = ref.data() + i * static_cast<std::int64_t>(es);
    if (std::memcmp(got, want, es) != 0 && !(is_nan(c.dtype, got) && is_nan(c.dtype, want))) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  std::ostringstream err;
  if (bad > 0) {
    std::uint64_t a = 0, b = 0;
    std::memcpy(&a, gi.bytes.data() + gi.offset(first) * static_cast<std::int64_t>(es), es);
    std::memcpy(&b, ref.data() + first * static_cast<std::int64_t>(es), es);
    err << bad << " of " << gi.numel << " grad_input elements differ; first at " << first << ": 0x"
        << std::hex << a << " vs reference 0x" << b;
  }
  std::vector<unsigned char> in_view(gi.bytes.size(), 0);
  for (std::int64_t i = 0; i < gi.numel; ++i)
    std::memset(in_view.data() + gi.offset(i) * static_cast<std::int64_t>(es), 1, es);
  for (std::size_t j = 0; j < gi.bytes.size(); ++j) {
    if (!in_view[j] && gi.bytes[j] != kGuard) {
      err << (err.str().empty() ? "" : "; ") << "byte " << j << " outside grad_input changed";
      break;
    }
  }
  return err.str();
}

Case random_case(std::mt19937_64& rng, std::uint64_t seed) {
  // The modes with a backward: not the ones on the resampling engine (lanczos, tricubic,
  // anti-aliased trilinear).
  const auto& modes = ups::interp_modes();
  const ups::InterpModeTraits* pick = &modes[rng() % modes.size()];
  while (pick->mode == InterpMode::kLanczos || pick->mode == InterpMode::kTricubic)
    pick = &modes[rng() % modes.size()];
  const ups::InterpModeTraits& t = *pick;
  Case c{};
  c.seed = seed;
  c.opt.mode = t.mode;
  c.opt.antialias = t.antialias && t.max_rank == 4 && rng() % 3 == 0;
  const int rank =
      t.min_rank + static_cast<int>(rng() % static_cast<unsigned>(t.max_rank - t.min_rank + 1));
  static const DType types[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};
  c.dtype = types[rng() % 4];
  // Channel counts below and above a vector of every target (channels-last runs along C from
  // one vector of channels on).
  const std::int64_t channels = rng() % 3 == 0 ? 16 + static_cast<std::int64_t>(rng() % 25)
                                               : 1 + static_cast<std::int64_t>(rng() % 19);
  c.in = {1 + static_cast<std::int64_t>(rng() % 3), channels};
  // Mostly small; sometimes rows of several vector blocks (runs of blocks, row tails).
  const bool wide = rng() % 4 == 0;
  const int max_sp = rank == 5 ? (wide ? 14 : 8) : (rank == 4 ? (wide ? 70 : 24) : 150);
  for (int d = 2; d < rank; ++d) {
    const bool last = d == rank - 1;
    const int m = last || rank == 3 ? max_sp : std::min(max_sp, 24);
    c.in.push_back(1 + static_cast<std::int64_t>(rng() % static_cast<unsigned>(m)));
  }
  static const double scales[] = {0.25, 0.4, 0.5, 0.75, 1.0, 1.3, 1.5,
                                  2.0,  2.0, 2.0, 2.5,  3.0, 4.0};
  if (rng() % 3 == 0) {
    for (int d = 2; d < rank; ++d)
      c.opt.size.push_back(
          1 + static_cast<std::int64_t>(
                  rng() % static_cast<unsigned>(2 * c.in[static_cast<std::size_t>(d)])));
  } else {
    for (int d = 2; d < rank; ++d)
      c.opt.scale_factor.push_back(scales[rng() % 13]);
    c.opt.recompute_scale_factor = rng() % 4 == 0;
  }
  if (t.align_corners && rng() % 3 == 0) c.opt.align_corners = true;
  static const Strides layouts[] = {Strides::kContiguous, Strides::kChannelsLast,
                                    Strides::kPermuted, Strides::kGapped};
  c.gi_layout = layouts[rng() % 4];
  // Mostly matching layouts (the fast paths), sometimes mixed.
  c.go_layout = rng() % 4 != 0 ? c.gi_layout : layouts[rng() % 4];
  c.threads = 1 + static_cast<int>(rng() % 3);
  c.specials = rng() % 4 == 0;
  return c;
}

}  // namespace

TEST_CASE("interpolate_backward CPU paths equal the per-element reference bit for bit",
          "[interpolate][backward][fast]") {
  std::mt19937_64 rng(20261207);
  int ran = 0, failures = 0;
  for (std::uint64_t i = 0; i < 1500; ++i) {
    const Case c = random_case(rng, 5000 + i);
    const std::string err = run_case(c);
    if (err == "skip") continue;
    ++ran;
    if (!err.empty() && ++failures <= 20) FAIL_CHECK(describe(c) << ": " << err);
  }
  INFO(failures << " failures in " << ran << " cases");
  CHECK(failures == 0);
  CHECK(ran > 1000);
}

TEST_CASE("interpolate_backward CPU paths on larger tensors", "[interpolate][backward][fast]") {
  // Rows of many vector blocks (runs, row ends one at a time), channels-last pixels of several
  // vectors with a tail, grad_input large enough for streaming stores, few images (row bands).
  struct Big {
    InterpMode mode;
    bool aa;
    Shape in;
    std::vector<double> scale;
  };
  const std::vector<Big> cases = {
      {InterpMode::kBilinear, false, {2, 37, 41, 77}, {2.0, 2.0}},
      {InterpMode::kBilinear, false, {1, 3, 70, 131}, {2.0, 2.0}},
      {InterpMode::kBilinear, false, {1, 67, 20, 23}, {2.0, 2.0}},
      {InterpMode::kNearest, false, {2, 19, 33, 67}, {2.0, 2.0}},
      {InterpMode::kNearestExact, false, {1, 17, 30, 50}, {0.5, 3.0}},
      {InterpMode::kBicubic, false, {1, 21, 35, 66}, {2.0, 2.0}},
      {InterpMode::kBicubic, false, {1, 5, 40, 61}, {1.5, 1.7}},
      {InterpMode::kBilinear, true, {1, 20, 64, 90}, {0.5, 0.3}},
      {InterpMode::kBicubic, true, {1, 3, 90, 128}, {0.25, 0.6}},
      {InterpMode::kArea, false, {2, 18, 64, 96}, {0.5, 0.5}},
      {InterpMode::kArea, false, {1, 3, 40, 37}, {2.0, 3.0}},
      {InterpMode::kLinear, false, {2, 4, 517}, {2.0}},
      {InterpMode::kLinear, false, {1, 3, 300}, {0.7}},
      {InterpMode::kTrilinear, false, {1, 17, 9, 21, 35}, {2.0, 2.0, 2.0}},
      {InterpMode::kTrilinear, false, {1, 2, 9, 33, 41}, {0.6, 1.5, 0.5}},
      {InterpMode::kNearest, false, {1, 3, 6, 20, 37}, {2.0, 1.0, 2.0}},
      {InterpMode::kTrilinear, false, {1, 3, 5, 12, 32}, {2.0, 1.5, 2.0}},  // rows of 64
      {InterpMode::kArea, false, {2, 2, 6, 10, 64}, {0.5, 2.0, 0.5}},
  };
  int failures = 0;
  std::uint64_t seed = 1;
  for (const Big& b : cases) {
    for (DType dt : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16}) {
      for (Strides lay : {Strides::kContiguous, Strides::kChannelsLast, Strides::kGapped}) {
        {
          Case c{};
          c.opt.mode = b.mode;
          c.opt.antialias = b.aa;
          c.opt.scale_factor = b.scale;
          c.dtype = dt;
          c.in = b.in;
          c.gi_layout = c.go_layout = lay;
          c.threads = seed % 2 == 0 ? 1 : 3;
          c.specials = true;
          c.seed = seed++;
          const std::string err = run_case(c);
          REQUIRE(err != "skip");
          if (!err.empty() && ++failures <= 20) FAIL_CHECK(describe(c) << ": " << err);
        }
      }
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("interpolate_backward streams a large grad_input and matches the reference",
          "[interpolate][backward][fast]") {
  // 16 MiB and more of grad_input take the streaming stores; a grad_input view that does not
  // start on a vector boundary makes the rows begin and end with single elements.
  for (Strides lay : {Strides::kContiguous, Strides::kChannelsLast}) {
    Case c{};
    c.opt.mode = InterpMode::kBilinear;
    c.opt.scale_factor = {2.0, 2.0};
    c.dtype = DType::kF32;
    c.in = {1, 64, 256, 257};
    c.gi_layout = c.go_layout = lay;
    c.threads = 2;
    c.specials = false;
    c.seed = 77;
    INFO(describe(c));
    CHECK(run_case(c).empty());
  }
}
