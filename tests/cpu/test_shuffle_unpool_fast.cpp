// The CPU fast paths of ups::pixel_shuffle, ups::pixel_unshuffle and ups::max_unpool (SIMD row
// and channel interleaves, row-wise scatters with the zero-fill done on the way, bands of rows
// per thread) against the shared per-element bodies kern::shuffle_element and
// kern::unpool_element, run here over every index into a buffer laid out like the output. The
// comparison is of whole buffers, bit for bit: every element of the view must hold the
// reference's bits and every byte outside it the sentinel it was filled with; each case runs
// with two different sentinels, so that an element the op leaves unwritten cannot pass by
// holding the sentinel by chance.
//
// Randomised over shapes (ranks 3 to 5 for the shuffles, 1-D to 3-D unpooling, batched and
// not), factors 1 to 5, element sizes 1, 2, 4 and 8 bytes, layouts of src, indices and dst
// chosen independently (contiguous, channels-last, padded rows or pixels, padding between outer
// dims, W stride 2, H reversed: the last two take the fallback loops), and 1 to 4 threads. The
// unpool indices are those of ups::max_pool, random taps within each pooling window, uniform
// over the plane (many duplicates, and indices that leave a thread's band of rows), and any of
// those with invalid indices mixed in; the reported position and index must be the reference's
// (the largest C-order position with an invalid index).
//
// The bodies themselves are checked against PyTorch by the golden tests
// (test_pixel_shuffle.cpp, test_pool_golden.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pixel_shuffle/shuffle_math.hpp"
#include "pool/pool_math.hpp"
#include "simd_targets.hpp"
#include "ups/context.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"
#include "ups/pixel_shuffle.hpp"

namespace {

using ups::DType;
using ups::Shape;
namespace kern = ups::kern;

enum class Layout {
  kContiguous,
  kChannelsLast,
  kPadded,       // gaps after each run of the innermost dim
  kPaddedOuter,  // gaps after a run of an outer dim
  kStrideW2,     // every other element of the innermost dim (fallback loops)
  kFlippedH,     // the second-to-last logical dim reversed
};
constexpr Layout kLayouts[] = {Layout::kContiguous,  Layout::kChannelsLast, Layout::kPadded,
                               Layout::kPaddedOuter, Layout::kStrideW2,     Layout::kFlippedH};

const char* name(Layout l) {
  switch (l) {
    case Layout::kContiguous:
      return "contiguous";
    case Layout::kChannelsLast:
      return "channels-last";
    case Layout::kPadded:
      return "padded";
    case Layout::kPaddedOuter:
      return "padded-outer";
    case Layout::kStrideW2:
      return "stride-w2";
    case Layout::kFlippedH:
      return "flipped-h";
  }
  return "?";
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < s.size(); ++i)
    os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

// A view into a buffer with any strides; bytes outside the view are never touched by the op.
struct Strided {
  DType dtype = DType::kF32;
  Shape shape;
  std::vector<std::int64_t> strides;
  std::int64_t offset = 0;  // elements before element 0
  std::vector<unsigned char> buf;

  std::size_t esize() const { return ups::dtype_size(dtype); }
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto s : shape)
      n *= s;
    return n;
  }
  // Element offset (from element 0) of the element at logical C-order position i.
  std::int64_t elem(std::int64_t i) const {
    std::int64_t off = 0;
    for (std::size_t d = shape.size(); d-- > 0;) {
      off += (i % shape[d]) * strides[d];
      i /= shape[d];
    }
    return off;
  }
  unsigned char* origin() { return buf.data() + static_cast<std::size_t>(offset) * esize(); }
  ups::TensorView view() {
    ups::TensorView v;
    v.data = origin();
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

// A tensor of `shape` in `layout`; `cdim` is the channel dim (moved innermost by channels-last).
// The buffer is filled with `fill`.
Strided make_strided(DType dtype, const Shape& shape, int cdim, Layout layout, std::mt19937_64& rng,
                     unsigned char fill) {
  Strided t;
  t.dtype = dtype;
  t.shape = shape;
  const int rank = static_cast<int>(shape.size());
  std::vector<int> order;  // outermost first
  for (int d = 0; d < rank; ++d) {
    if (layout != Layout::kChannelsLast || d != cdim) order.push_back(d);
  }
  if (layout == Layout::kChannelsLast) order.push_back(cdim);
  t.strides.assign(static_cast<std::size_t>(rank), 0);
  const int pad_at = layout == Layout::kPadded ? rank - 1
                     : layout == Layout::kPaddedOuter
                         ? static_cast<int>(rng() % std::max(rank - 1, 1))
                         : -1;
  std::int64_t s = layout == Layout::kStrideW2 ? 2 : 1;
  for (int i = rank - 1; i >= 0; --i) {
    const int dim = order[static_cast<std::size_t>(i)];
    t.strides[static_cast<std::size_t>(dim)] = s;
    s *= shape[static_cast<std::size_t>(dim)];
    if (i == pad_at) s += 1 + static_cast<std::int64_t>(rng() % 5);
  }
  if (layout == Layout::kFlippedH && rank >= 2) t.strides[static_cast<std::size_t>(rank - 2)] *= -1;
  std::int64_t lo = 0, hi = 0;
  for (int d = 0; d < rank; ++d) {
    const std::int64_t ext =
        (shape[static_cast<std::size_t>(d)] - 1) * t.strides[static_cast<std::size_t>(d)];
    (ext < 0 ? lo : hi) += ext;
  }
  t.offset = -lo + static_cast<std::int64_t>(rng() % 7);
  t.buf.assign(static_cast<std::size_t>(t.offset + hi + 1 + 8) * t.esize(), fill);
  return t;
}

// Random bits in every element of the view.
void fill_random(Strided& t, std::mt19937_64& rng) {
  const std::size_t es = t.esize();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const std::uint64_t bits = rng();
    std::memcpy(t.origin() + t.elem(i) * static_cast<std::int64_t>(es), &bits, es);
  }
}

// Where two buffers first differ, or "".
std::string first_difference(const Strided& got, const Strided& want) {
  if (got.buf == want.buf) return "";
  const std::size_t es = got.esize();
  for (std::size_t b = 0; b < got.buf.size(); ++b) {
    if (got.buf[b] != want.buf[b]) {
      const std::int64_t e = static_cast<std::int64_t>(b / es) - got.offset;
      std::ostringstream os;
      os << "first difference at byte " << b << " (element offset " << e << " from element 0): got "
         << int(got.buf[b]) << ", want " << int(want.buf[b]);
      return os.str();
    }
  }
  return "buffers differ in size";
}

template <class F>
void by_size(std::size_t size, F&& f) {
  switch (size) {
    case 1:
      return f(std::uint8_t{});
    case 2:
      return f(std::uint16_t{});
    case 4:
      return f(std::uint32_t{});
    default:
      return f(std::uint64_t{});
  }
}

std::int64_t pick(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
}

// Sizes mostly small, sometimes past the longest SIMD vector (64 one-byte lanes).
std::int64_t pick_extent(std::mt19937_64& rng, std::int64_t small, std::int64_t large) {
  return rng() % 4 == 0 ? pick(rng, large / 2, large) : pick(rng, 1, small);
}

// ---- pixel_shuffle / pixel_unshuffle -------------------------------------------------------

// The reference: kern::shuffle_element at every output index, with the geometry built here
// from the views (leading dims unmerged, iteration in logical order).
void shuffle_reference(bool unshuffle, std::int64_t r, Strided& src, Strided& dst) {
  kern::ShuffleGeometry g{};
  const int rank = static_cast<int>(dst.shape.size());
  const int lead = rank - 3;
  for (int d = 0; d < 2; ++d) {
    const int axis = d - (2 - lead);  // the unit dims pad the front
    const bool real = axis >= 0;
    const auto a = static_cast<std::size_t>(real ? axis : 0);
    g.out_size[d] = real ? dst.shape[a] : 1;
    g.dst_stride[d] = real ? dst.strides[a] : 0;
    g.src_stride[d] = real ? src.strides[a] : 0;
  }
  for (int d = 2; d < 5; ++d) {
    const auto a = static_cast<std::size_t>(rank - 5 + d);
    g.out_size[d] = dst.shape[a];
    g.dst_stride[d] = dst.strides[a];
    g.src_stride[d] = src.strides[a];
  }
  g.r = r;
  g.unshuffle = unshuffle;
  g.narrow = false;
  for (int d = 0; d < 5; ++d)
    g.order[d] = d;
  by_size(dst.esize(), [&](auto tag) {
    using U = decltype(tag);
    const U* s = reinterpret_cast<const U*>(src.origin());
    U* o = reinterpret_cast<U*>(dst.origin());
    for (std::int64_t i = 0; i < dst.numel(); ++i)
      kern::shuffle_element<U>(g, s, o, i);
  });
}

struct ShuffleCase {
  bool unshuffle;
  DType dtype;
  Shape in_shape;
  std::int64_t r;
  Layout src_layout, dst_layout;
  int threads;
};

std::string describe(const ShuffleCase& c) {
  std::ostringstream os;
  os << (c.unshuffle ? "pixel_unshuffle " : "pixel_shuffle ") << ups::to_string(c.dtype) << " "
     << shape_str(c.in_shape) << " r=" << c.r << " src " << name(c.src_layout) << " dst "
     << name(c.dst_layout) << " threads " << c.threads;
  return os.str();
}

void check_shuffle(const ShuffleCase& c, std::uint64_t seed) {
  const Shape out_shape = c.unshuffle ? ups::pixel_unshuffle_output_shape(c.in_shape, c.r)
                                      : ups::pixel_shuffle_output_shape(c.in_shape, c.r);
  const int cdim = static_cast<int>(c.in_shape.size()) - 3;
  for (unsigned char sentinel : {0xA5, 0x5A}) {
    std::mt19937_64 rng(seed);
    Strided src = make_strided(c.dtype, c.in_shape, cdim, c.src_layout, rng, 0);
    fill_random(src, rng);
    Strided got = make_strided(c.dtype, out_shape, cdim, c.dst_layout, rng, sentinel);
    Strided want = got;
    ups::Context ctx(ups::Device::kCPU);
    ctx.set_num_threads(c.threads);
    if (c.unshuffle) {
      ups::pixel_unshuffle(ctx, src.view(), got.view(), c.r);
    } else {
      ups::pixel_shuffle(ctx, src.view(), got.view(), c.r);
    }
    shuffle_reference(c.unshuffle, c.r, src, want);
    INFO(describe(c) << ", sentinel " << int(sentinel));
    REQUIRE(first_difference(got, want) == "");
  }
}

ShuffleCase random_shuffle_case_once(std::mt19937_64& rng) {
  static const DType kDtypes[] = {DType::kU8,  DType::kF16, DType::kBF16, DType::kF32,
                                  DType::kF64, DType::kI32, DType::kI64};
  ShuffleCase c;
  c.unshuffle = rng() % 2 == 0;
  c.dtype = kDtypes[rng() % 7];
  c.r = rng() % 8 == 0 ? 5 : pick(rng, 1, 4);
  const int rank = static_cast<int>(pick(rng, 3, 5));
  for (int d = 0; d < rank - 3; ++d)
    c.in_shape.push_back(pick(rng, 1, 3));
  // Channels: enough for the channel SIMD (64 one-byte lanes) now and then.
  const std::int64_t ch = pick_extent(rng, 6, 90);
  const std::int64_t h = pick(rng, 1, 5), w = pick_extent(rng, 9, 140);
  if (c.unshuffle) {
    c.in_shape.insert(c.in_shape.end(), {ch, h * c.r, w * c.r});
  } else {
    c.in_shape.insert(c.in_shape.end(), {ch * c.r * c.r, h, w});
  }
  const bool same = rng() % 2 == 0;
  c.src_layout = kLayouts[rng() % 6];
  c.dst_layout = same ? c.src_layout : kLayouts[rng() % 6];
  c.threads = static_cast<int>(pick(rng, 1, 4));
  return c;
}

// A random case of at most 200000 input elements.
ShuffleCase random_shuffle_case(std::mt19937_64& rng) {
  for (;;) {
    ShuffleCase c = random_shuffle_case_once(rng);
    std::int64_t n = 1;
    for (auto s : c.in_shape)
      n *= s;
    if (n <= 200000) return c;
  }
}

TEST_CASE("pixel_shuffle fast paths equal the per-element body", "[pixel_shuffle][fast]") {
  std::mt19937_64 rng(20240611);
  for (int n = 0; n < 400; ++n) {
    const ShuffleCase c = random_shuffle_case(rng);
    check_shuffle(c, rng());
  }
}

namespace {

// Rows of exactly one vector and one past it, for every element size, both directions and both
// layouts that have fast paths.
void shuffle_vector_edges() {
  std::mt19937_64 rng(7);
  for (DType dtype : {DType::kU8, DType::kF16, DType::kF32, DType::kF64}) {
    for (std::int64_t r : {1, 2, 3, 4, 5}) {
      for (std::int64_t extent : {1, 7, 8, 16, 17, 32, 33, 64, 65, 129}) {
        for (Layout l : {Layout::kContiguous, Layout::kChannelsLast}) {
          for (bool unshuffle : {false, true}) {
            ShuffleCase c;
            c.unshuffle = unshuffle;
            c.dtype = dtype;
            c.r = r;
            // The extent is W for rows and the output channels for channels-last.
            const std::int64_t ch = l == Layout::kChannelsLast ? extent : 2;
            const std::int64_t w = l == Layout::kChannelsLast ? 3 : extent;
            c.in_shape = unshuffle ? Shape{2, ch, 2 * r, w * r} : Shape{2, ch * r * r, 2, w};
            c.src_layout = c.dst_layout = l;
            c.threads = 2;
            check_shuffle(c, rng());
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("pixel_shuffle fast paths: every factor, size and layout of the SIMD paths",
          "[pixel_shuffle][fast]") {
  shuffle_vector_edges();
}

TEST_CASE("pixel_shuffle fast paths: outputs large enough for streaming stores",
          "[pixel_shuffle][fast]") {
  // 16 MiB and more of output are written with streaming stores where a vector's destination is
  // aligned; rows of an odd width mix aligned and unaligned ones.
  std::mt19937_64 rng(17);
  for (bool unshuffle : {false, true}) {
    for (Layout l : {Layout::kContiguous, Layout::kChannelsLast}) {
      for (std::int64_t w : {512, 509}) {
        ShuffleCase c;
        c.unshuffle = unshuffle;
        c.dtype = DType::kF64;
        c.r = 2;
        c.in_shape = unshuffle ? Shape{1, 16, 132, 2 * w} : Shape{1, 64, 66, w};
        c.src_layout = c.dst_layout = l;
        c.threads = 2;
        check_shuffle(c, rng());
      }
    }
  }
}

// ---- max_unpool ------------------------------------------------------------------------------

enum class Indices { kPooled, kWindow, kUniform, kWithInvalid };

const char* name(Indices i) {
  switch (i) {
    case Indices::kPooled:
      return "max_pool indices";
    case Indices::kWindow:
      return "window indices";
    case Indices::kUniform:
      return "uniform indices";
    case Indices::kWithInvalid:
      return "with invalid indices";
  }
  return "?";
}

struct UnpoolCase {
  DType dtype;
  Shape in_shape;
  bool batched;
  int k;  // spatial dims
  std::vector<std::int64_t> kernel, stride, padding;
  Layout src_layout, idx_layout, dst_layout;
  Indices indices;
  int threads;
};

std::string describe(const UnpoolCase& c) {
  std::ostringstream os;
  os << "max_unpool" << c.k << "d " << ups::to_string(c.dtype) << " " << shape_str(c.in_shape)
     << (c.batched ? "" : " unbatched") << " kernel " << shape_str(c.kernel) << " stride "
     << shape_str(c.stride) << " padding " << shape_str(c.padding) << " src " << name(c.src_layout)
     << " indices " << name(c.idx_layout) << " dst " << name(c.dst_layout) << ", "
     << name(c.indices) << ", threads " << c.threads;
  return os.str();
}

// The reference: zeros, then kern::unpool_element at every input in C order; returns the
// largest position with an invalid index, or -1.
std::int64_t unpool_reference(const UnpoolCase& c, Strided& src, Strided& idx, Strided& dst) {
  kern::UnpoolGeometry g{};
  const int b = c.batched ? 1 : 0;
  g.n = c.batched ? src.shape[0] : 1;
  g.c = src.shape[static_cast<std::size_t>(b)];
  g.src_stride[0] = c.batched ? src.strides[0] : 0;
  g.idx_stride[0] = c.batched ? idx.strides[0] : 0;
  g.dst_stride[0] = c.batched ? dst.strides[0] : 0;
  g.src_stride[1] = src.strides[static_cast<std::size_t>(b)];
  g.idx_stride[1] = idx.strides[static_cast<std::size_t>(b)];
  g.dst_stride[1] = dst.strides[static_cast<std::size_t>(b)];
  for (int d = 0; d < 3; ++d) {
    const int axis = b + 1 + d - (3 - c.k);  // unit dims pad the front
    const bool real = axis > b;
    const auto a = static_cast<std::size_t>(real ? axis : 0);
    g.in[d] = real ? src.shape[a] : 1;
    g.out[d] = real ? dst.shape[a] : 1;
    g.src_stride[2 + d] = real ? src.strides[a] : 0;
    g.idx_stride[2 + d] = real ? idx.strides[a] : 0;
    g.dst_stride[2 + d] = real ? dst.strides[a] : 0;
  }
  g.plane_in = g.in[0] * g.in[1] * g.in[2];
  g.plane_out = g.out[0] * g.out[1] * g.out[2];
  g.channels_last = false;
  g.narrow = false;
  std::int64_t last_bad = -1;
  by_size(dst.esize(), [&](auto tag) {
    using U = decltype(tag);
    U* o = reinterpret_cast<U*>(dst.origin());
    for (std::int64_t i = 0; i < dst.numel(); ++i)
      o[dst.elem(i)] = U(0);
    const U* s = reinterpret_cast<const U*>(src.origin());
    const auto* ix = reinterpret_cast<const std::int64_t*>(idx.origin());
    for (std::int64_t i = 0; i < src.numel(); ++i)
      last_bad = std::max(last_bad, kern::unpool_element<U>(g, s, ix, o, i));
  });
  return last_bad;
}

std::int64_t get_index(Strided& idx, std::int64_t i) {
  std::int64_t v;
  std::memcpy(&v, idx.origin() + idx.elem(i) * 8, 8);
  return v;
}
void set_index(Strided& idx, std::int64_t i, std::int64_t v) {
  std::memcpy(idx.origin() + idx.elem(i) * 8, &v, 8);
}

// Indices of kind c.indices for every input (kPooled is filled by the caller).
void fill_indices(const UnpoolCase& c, const Shape& out_shape, Strided& idx, std::mt19937_64& rng) {
  const std::size_t rank = c.in_shape.size();
  std::int64_t plane_out = 1;
  for (int d = 0; d < c.k; ++d)
    plane_out *= out_shape[rank - static_cast<std::size_t>(c.k) + static_cast<std::size_t>(d)];
  const std::int64_t kBad[] = {-1,
                               plane_out,
                               plane_out + 7,
                               (std::int64_t(1) << 32) + 1,
                               std::numeric_limits<std::int64_t>::min(),
                               std::numeric_limits<std::int64_t>::max()};
  for (std::int64_t i = 0; i < idx.numel(); ++i) {
    std::int64_t v = 0;
    if (c.indices == Indices::kUniform || (c.indices == Indices::kWithInvalid && rng() % 2)) {
      v = pick(rng, 0, plane_out - 1);
    } else {
      // A random tap of the pooling window of input position i, clipped to the output.
      std::int64_t rest = i;
      std::int64_t pos = 0, scale = 1;
      for (int d = c.k - 1; d >= 0; --d) {
        const std::size_t a = rank - static_cast<std::size_t>(c.k) + static_cast<std::size_t>(d);
        const std::int64_t o = rest % c.in_shape[a];
        rest /= c.in_shape[a];
        const auto sd = static_cast<std::size_t>(d);
        const std::int64_t lo = std::max<std::int64_t>(0, o * c.stride[sd] - c.padding[sd]);
        const std::int64_t hi = std::min<std::int64_t>(
            out_shape[a] - 1, o * c.stride[sd] - c.padding[sd] + c.kernel[sd] - 1);
        const std::int64_t x = lo <= hi ? pick(rng, lo, hi) : std::min(lo, out_shape[a] - 1);
        pos += x * scale;
        scale *= out_shape[a];
      }
      v = pos;
    }
    if (c.indices == Indices::kWithInvalid && rng() % 16 == 0) v = kBad[rng() % 6];
    set_index(idx, i, v);
  }
}

void check_unpool(const UnpoolCase& c, std::uint64_t seed) {
  ups::MaxUnpoolOptions opt;
  opt.kernel_size = c.kernel;
  opt.stride = c.stride;
  opt.padding = c.padding;
  opt.spatial_dims = c.batched ? 0 : c.k;
  const Shape out_shape = ups::max_unpool_output_shape(c.in_shape, opt);
  for (unsigned char sentinel : {0xA5, 0x5A}) {
    std::mt19937_64 rng(seed);
    Strided src = make_strided(c.dtype, c.in_shape, c.batched ? 1 : 0, c.src_layout, rng, 0);
    Strided idx = make_strided(DType::kI64, c.in_shape, c.batched ? 1 : 0, c.idx_layout, rng, 0);
    Strided got = make_strided(c.dtype, out_shape, c.batched ? 1 : 0, c.dst_layout, rng, sentinel);
    if (c.indices == Indices::kPooled) {
      // Values and indices of ups::max_pool over random data of the output's shape.
      ups::MaxPoolOptions pool;
      pool.kernel_size = c.kernel;
      pool.stride = c.stride;
      pool.padding = c.padding;
      pool.spatial_dims = opt.spatial_dims;
      Strided pooled =
          make_strided(c.dtype, out_shape, c.batched ? 1 : 0, Layout::kContiguous, rng, 0);
      fill_random(pooled, rng);
      ups::max_pool(ups::Context(ups::Device::kCPU), pooled.view(), src.view(), idx.view(), pool);
    } else {
      fill_random(src, rng);
      fill_indices(c, out_shape, idx, rng);
    }
    Strided want = got;
    ups::Context ctx(ups::Device::kCPU);
    ctx.set_num_threads(c.threads);
    ups::MaxUnpoolStatus status{};
    ups::max_unpool(ctx, src.view(), idx.view(), got.view(), opt, &status);
    const std::int64_t bad = unpool_reference(c, src, idx, want);
    INFO(describe(c) << ", sentinel " << int(sentinel));
    REQUIRE(first_difference(got, want) == "");
    REQUIRE(status.position == bad);
    if (bad >= 0) {
      REQUIRE(status.index == get_index(idx, bad));
    }
  }
}

UnpoolCase random_unpool_case(std::mt19937_64& rng) {
  static const DType kDtypes[] = {DType::kU8,  DType::kF16, DType::kBF16, DType::kF32,
                                  DType::kF64, DType::kI32, DType::kI64};
  static const std::int64_t kChannels[] = {1, 2, 3, 4, 5, 8, 13, 16, 19, 64, 67, 530};
  UnpoolCase c;
  c.dtype = kDtypes[rng() % 7];
  c.k = static_cast<int>(pick(rng, 1, 3));
  c.batched = rng() % 5 != 0;
  c.indices = static_cast<Indices>(rng() % 4);
  if (c.batched) c.in_shape.push_back(pick(rng, 1, 3));
  const std::int64_t ch = kChannels[rng() % 12];
  c.in_shape.push_back(ch);
  // Keep the output small: fewer spatial elements with many channels.
  const std::int64_t most = ch > 100 ? 3 : (c.k == 3 ? 4 : (c.k == 2 ? 9 : 40));
  for (int d = 0; d < c.k; ++d) {
    const std::int64_t kernel = pick(rng, 1, 3);
    c.kernel.push_back(kernel);
    c.stride.push_back(rng() % 3 == 0 ? pick(rng, 1, 3) : kernel);
    c.padding.push_back(pick(rng, 0, kernel / 2));
    c.in_shape.push_back(pick(rng, 1, most));
  }
  // The shape must give a non-empty output (the default size can be 0 with padding).
  ups::MaxUnpoolOptions opt;
  opt.kernel_size = c.kernel;
  opt.stride = c.stride;
  opt.padding = c.padding;
  opt.spatial_dims = c.batched ? 0 : c.k;
  for (int d = 0; d < c.k; ++d) {
    const auto a = c.in_shape.size() - static_cast<std::size_t>(c.k) + static_cast<std::size_t>(d);
    const auto sd = static_cast<std::size_t>(d);
    while ((c.in_shape[a] - 1) * c.stride[sd] - 2 * c.padding[sd] + c.kernel[sd] < 1)
      ++c.in_shape[a];
  }
  const bool same = rng() % 2 == 0;
  c.src_layout = kLayouts[rng() % 6];
  c.idx_layout = same ? c.src_layout : kLayouts[rng() % 6];
  c.dst_layout = same ? c.src_layout : kLayouts[rng() % 6];
  c.threads = static_cast<int>(pick(rng, 1, 4));
  return c;
}

TEST_CASE("max_unpool fast paths equal the per-element body", "[max_unpool][fast]") {
  std::mt19937_64 rng(20240612);
  for (int n = 0; n < 500; ++n) {
    const UnpoolCase c = random_unpool_case(rng);
    check_unpool(c, rng());
  }
}

TEST_CASE("max_unpool fast paths: few planes split into bands, and indices that leave a band",
          "[max_unpool][fast]") {
  // One image (or one plane) and several threads: the rows of a plane are split among the
  // threads. Window indices stay in their band; uniform ones leave it, and the op must then
  // redo the call without bands.
  std::mt19937_64 rng(11);
  for (Indices kind :
       {Indices::kPooled, Indices::kWindow, Indices::kUniform, Indices::kWithInvalid}) {
    for (Layout l : {Layout::kContiguous, Layout::kChannelsLast}) {
      for (std::int64_t ch : {1, 16, 35}) {
        for (int threads : {2, 3, 4}) {
          UnpoolCase c;
          c.dtype = DType::kF32;
          c.k = 2;
          c.batched = true;
          c.in_shape = {1, ch, 13, 6};
          c.kernel = {2, 2};
          c.stride = {2, 2};
          c.padding = {0, 0};
          c.src_layout = c.idx_layout = c.dst_layout = l;
          c.indices = kind;
          c.threads = threads;
          check_unpool(c, rng());
          // Overlapping windows: indices cross the band edges.
          c.kernel = {3, 3};
          c.padding = {1, 1};
          check_unpool(c, rng());
        }
      }
    }
  }
}

TEST_CASE("max_unpool fast paths: channels-last pixels with many distinct targets",
          "[max_unpool][fast]") {
  // More distinct targets per pixel than the SIMD path takes rounds for, and channel counts
  // around the vector lengths and the group block (64 vectors).
  std::mt19937_64 rng(13);
  for (DType dtype : {DType::kU8, DType::kF16, DType::kF32, DType::kF64}) {
    for (std::int64_t ch : {4, 7, 8, 9, 24, 33, 512, 520, 1030}) {
      for (Indices kind : {Indices::kWindow, Indices::kUniform, Indices::kWithInvalid}) {
        UnpoolCase c;
        c.dtype = dtype;
        c.k = 2;
        c.batched = true;
        c.in_shape = {2, ch, 3, 2};
        c.kernel = {2, 2};
        c.stride = {2, 2};
        c.padding = {0, 0};
        c.src_layout = c.idx_layout = c.dst_layout = Layout::kChannelsLast;
        c.indices = kind;
        c.threads = static_cast<int>(pick(rng, 1, 3));
        check_unpool(c, rng());
      }
    }
  }
}

}  // namespace

TEST_CASE("pixel_shuffle and max_unpool fast paths on every SIMD target", "[fast][simd]") {
  // The narrower targets' vector widths and tails (AVX2, SSE4, the emulated and scalar ones),
  // held to the same per-element bodies as the best target.
  ups_test::for_each_simd_target([&](const std::string& target) {
    INFO("SIMD target " << target);
    shuffle_vector_edges();
    std::mt19937_64 rng(20261201);
    for (int n = 0; n < 60; ++n)
      check_shuffle(random_shuffle_case(rng), rng());
    for (int n = 0; n < 80; ++n)
      check_unpool(random_unpool_case(rng), rng());
  });
}
