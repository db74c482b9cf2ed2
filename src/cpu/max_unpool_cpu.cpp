// CPU backend of ups::max_unpool.
//
// The result is always that of the shared per-element body kern::unpool_element
// (kernels/pool/pool_math.hpp) run over the inputs of each plane in C order, after a zero-fill:
// every input with a valid index is copied to the position it names, a later position of the
// plane overwriting an earlier one, and the largest logical position with an invalid index is
// reported. That loop stays as the fallback.
//
// The fast path applies when the output's spatial dims are flat, so that the element an index v
// names lies v * step elements after its plane's origin (step 1 for contiguous planes, C for
// channels-last): no division per element. It walks the input a row at a time, in one of two
// orders:
//  - by plane: one (n, c) plane after another (contiguous inputs and most others);
//  - by pixel: for each n, the pixels in C order and, at each pixel, its C channels (for
//    channels-innermost inputs, read in memory order, and for channels-last outputs). Each
//    plane still sees its inputs in C order, and planes never share an output element, so the
//    result is the same.
// When the output of a unit (one plane, or all channels of one n) is one dense run, the
// zero-fill is done on the way: a separate fill would write the whole output to memory and the
// scatter would then read it back, where zeroing just ahead of the writes keeps the lines in the
// cache between the two. By plane, the unit keeps a watermark (everything below it is zero) and
// zeroes up to the end of the output row of an index beyond it. By pixel, the writes of a pixel
// go to a few output pixels spread over several rows, so the unit keeps one bit per block of a
// few hundred bytes and zeroes a block just before its first write. The channels of a pixel are
// then moved with SIMD (Highway, dispatched at run time): one masked store per group of channels
// per distinct target pixel.
//
// Threads: units run in parallel. With too few units for the threads, a unit's input is cut into
// bands of its outermost spatial dim, each owning the proportional share of the output (the
// windows of a pooling whose kernel equals its stride stay inside it). A band that meets a valid
// index outside its share stops the parallel pass, and everything is done again without bands:
// zero-fill, then one task per unit.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "cpu/parallel.hpp"
#include "max_unpool_plan.hpp"

// ---- the part that does not depend on the SIMD target (compiled once) ------------------------
#ifndef UPS_CPU_MAX_UNPOOL_SHARED_
#define UPS_CPU_MAX_UNPOOL_SHARED_
namespace ups {
namespace detail {
namespace unpool {

// How a unit's output is zero-filled.
enum class Zeroing {
  kSeparate,   // beforehand, all of it (the output has gaps)
  kWatermark,  // by plane, as the scatter advances
  kBlocks,     // by pixel, block by block
};

// A task of the fast path: the input positions [q_lo, q_hi) of one unit, which may write the
// output positions [lo, hi) of that unit.
struct Band {
  std::int64_t q_lo, q_hi, lo, hi;
};

// How the fast path walks the input and addresses the output.
struct Walk {
  bool by_pixel;       // units are n (all channels at each pixel); else (n, c) planes
  Zeroing zeroing;     // how the output is zero-filled
  bool vector;         // by pixel, with the channels of src, indices and dst contiguous
  std::int64_t step;   // elements between consecutive flat output positions of a plane
  std::int64_t units;  // N * C planes, or N
  int outer;           // the outermost spatial dim with an input extent above 1 (bands)
  std::int64_t inner_in, inner_out;  // positions per step of that dim, input and output
  std::int64_t bands;                // per unit
  int shift;                         // kBlocks: a block holds 2^shift positions
  std::int64_t blocks;               // kBlocks: blocks of a plane
  // How the input is walked: rows of row_len positions, rows_h rows per step of D, and the
  // element steps of src and indices along a row, between rows and between steps of D. When
  // the spatial dims of both are flat, a plane is one row.
  std::int64_t row_len, rows_h;
  std::int64_t s_w, s_h, s_d, i_w, i_h, i_d;
};

// kBlocks: the size of a block, small enough to be still in the L1 cache when the scatter
// writes to it. kWatermark: the least that is zeroed at once.
constexpr std::int64_t kZeroBlockBytes = 256;
constexpr std::int64_t kWatermarkBytes = 4096;
// Below these sizes the fill goes first after all (measured): with pixels of a few channels the
// block checks cost more per element than the second pass over the output, and with planes of a
// few lines the fused fill's set-up per plane does.
constexpr std::int64_t kSmallPixelBytes = 128;
constexpr std::int64_t kSmallPlaneBytes = 512;

// Whether spatial dims of `sizes` (D, H, W) with strides `st` (D, H, W) are flat with the given
// step: position (d * H + h) * W + w lies at that position times the step.
inline bool flat_dims(const std::int64_t sizes[3], const std::int64_t st[3], std::int64_t step) {
  return (sizes[2] == 1 || st[2] == step) && (sizes[1] == 1 || st[1] == step * sizes[2]) &&
         (sizes[0] == 1 || st[0] == step * sizes[1] * sizes[2]);
}

// The step of flat spatial dims: the stride of the innermost one with more than one element.
inline std::int64_t flat_step_of(const std::int64_t sizes[3], const std::int64_t st[3]) {
  for (int d = 2; d >= 0; --d) {
    if (sizes[d] > 1) return st[d];
  }
  return 1;
}

// Whether the output's spatial dims are flat with the given step: position v = (d * OH + h) *
// OW + w lies v * step elements after the plane's origin.
inline bool flat_with(const kern::UnpoolGeometry& g, std::int64_t step) {
  const std::int64_t* s = g.dst_stride;
  return (g.out[2] == 1 || s[4] == step) && (g.out[1] == 1 || s[3] == step * g.out[2]) &&
         (g.out[0] == 1 || s[2] == step * g.out[1] * g.out[2]);
}

// The step of a flat output: the stride of the innermost spatial dim with more than one element.
inline std::int64_t flat_step(const kern::UnpoolGeometry& g) {
  for (int d = 2; d >= 0; --d) {
    if (g.out[d] > 1) return g.dst_stride[2 + d];
  }
  return 1;
}

// Plans the fast path; false when the output is not flat.
inline bool plan_walk(const MaxUnpoolPlan& plan, int threads, std::int64_t elem_size, Walk* w) {
  const kern::UnpoolGeometry& g = plan.geometry;
  if (g.c > 1 && g.dst_stride[1] == 1 && flat_with(g, g.c)) {
    // Channels-last output: the output of one n is one dense run.
    w->by_pixel = true;
    w->zeroing = g.c * elem_size <= kSmallPixelBytes ? Zeroing::kSeparate : Zeroing::kBlocks;
    w->step = g.c;
  } else if (flat_with(g, 1)) {
    w->by_pixel = false;
    w->zeroing =
        g.plane_out * elem_size <= kSmallPlaneBytes ? Zeroing::kSeparate : Zeroing::kWatermark;
    w->step = 1;
  } else {
    w->step = flat_step(g);
    if (!flat_with(g, w->step)) return false;
    w->by_pixel = g.channels_last;
    w->zeroing = Zeroing::kSeparate;
  }
  w->units = w->by_pixel ? g.n : g.n * g.c;
  w->shift = 0;
  w->blocks = 0;
  if (w->zeroing == Zeroing::kBlocks) {  // step is C here
    while (w->shift < 20 && (w->step * elem_size << w->shift) < kZeroBlockBytes)
      ++w->shift;
    w->blocks = ((g.plane_out - 1) >> w->shift) + 1;
    // The block maps take a bit per block; beyond a few MiB of them a separate fill does as well.
    if (w->blocks > (std::int64_t(1) << 24)) w->zeroing = Zeroing::kSeparate;
  }
  w->vector = w->zeroing == Zeroing::kBlocks && g.src_stride[1] == 1 && g.idx_stride[1] == 1;

  const std::int64_t* ss = g.src_stride + 2;
  const std::int64_t* is = g.idx_stride + 2;
  const std::int64_t s_step = flat_step_of(g.in, ss), i_step = flat_step_of(g.in, is);
  if (flat_dims(g.in, ss, s_step) && flat_dims(g.in, is, i_step)) {
    w->row_len = g.plane_in;
    w->rows_h = 1;
    w->s_w = s_step;
    w->i_w = i_step;
    w->s_h = w->s_d = w->i_h = w->i_d = 0;
  } else {
    w->row_len = g.in[2];
    w->rows_h = g.in[1];
    w->s_w = ss[2];
    w->s_h = ss[1];
    w->s_d = ss[0];
    w->i_w = is[2];
    w->i_h = is[1];
    w->i_d = is[0];
  }

  w->outer = 0;
  while (w->outer < 2 && g.in[w->outer] == 1)
    ++w->outer;
  w->inner_in = 1;
  w->inner_out = 1;
  for (int d = w->outer + 1; d < 3; ++d) {
    w->inner_in *= g.in[d];
    w->inner_out *= g.out[d];
  }
  // About four tasks per thread; bands only when the units alone give fewer, and only where the
  // proportional split of the output cannot overflow.
  const std::int64_t want = 4 * static_cast<std::int64_t>(std::max(threads, 1));
  w->bands = 1;
  const std::int64_t t_in = g.in[w->outer], t_out = g.out[w->outer];
  if (threads > 1 && w->units < want && t_in > 1 && t_in < (std::int64_t(1) << 31) &&
      t_out < (std::int64_t(1) << 31)) {
    w->bands = std::min(t_in, (want + w->units - 1) / w->units);
  }
  return true;
}

inline Band band_of(const kern::UnpoolGeometry& g, const Walk& w, std::int64_t k) {
  const std::int64_t t_in = g.in[w.outer], t_out = g.out[w.outer];
  const std::int64_t t_lo = k * t_in / w.bands, t_hi = (k + 1) * t_in / w.bands;
  Band b;
  b.q_lo = t_lo * w.inner_in;
  b.q_hi = t_hi * w.inner_in;
  b.lo = k == 0 ? 0 : t_lo * t_out / t_in * w.inner_out;
  b.hi = k + 1 == w.bands ? g.plane_out : t_hi * t_out / t_in * w.inner_out;
  return b;
}

// Units per task: about eight tasks per thread, so that uneven units balance out.
inline std::int64_t units_per_task(std::int64_t units, int threads) {
  return std::max<std::int64_t>(1, units / (8 * static_cast<std::int64_t>(std::max(threads, 1))));
}

// The largest logical position with an invalid index seen so far, shared by the tasks.
class LastBad {
 public:
  void add(std::int64_t pos) {
    std::int64_t cur = value_.load(std::memory_order_relaxed);
    while (pos > cur && !value_.compare_exchange_weak(cur, pos, std::memory_order_relaxed)) {
    }
  }
  std::int64_t get() const { return value_.load(); }

 private:
  std::atomic<std::int64_t> value_{-1};
};

// Zero-fills the whole output.
template <class T>
void zero_fill(const MaxUnpoolPlan& plan, void* dst, int threads) {
  if (plan.dense_bytes > 0) {
    unsigned char* base = static_cast<unsigned char*>(dst) + plan.dense_offset;
    parallel_for(plan.dense_bytes, threads, std::int64_t(1) << 20,
                 [&](std::int64_t begin, std::int64_t end) {
                   std::memset(base + begin, 0, static_cast<std::size_t>(end - begin));
                 });
    return;
  }
  const kern::UnpoolGeometry& g = plan.geometry;
  T* d = static_cast<T*>(dst);
  parallel_for(plan.total_out, threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      d[kern::strided_offset5(i, plan.dst_sizes, g.dst_stride, g.narrow)] = T(0);
    }
  });
}

}  // namespace unpool
}  // namespace detail
}  // namespace ups
#endif  // UPS_CPU_MAX_UNPOOL_SHARED_

// ---- the part compiled for every SIMD target ---------------------------------------------------
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/max_unpool_cpu.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace ups {
namespace detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using unpool::Band;
using unpool::LastBad;
using unpool::units_per_task;
using unpool::Walk;
using unpool::Zeroing;

// The output side of a task: its unit's origin, the positions [lo, hi) it owns and the progress
// of its zero-fill.
template <class T>
struct Share {
  T* out;
  std::int64_t step;
  std::int64_t lo, hi;
  std::uint64_t span;       // hi - lo
  std::uint64_t plane_out;  // positions of a plane
  // kWatermark: [lo, z) is zero; an advance zeroes up to the end of an output row of `row`
  // positions, and at least `least` positions.
  std::int64_t z, row, least;
  // kBlocks: one bit per block of 2^shift positions, set once the block is zero.
  std::uint64_t* zeroed;
  int shift;

  // Zeroes the positions [from, to), with ordinary stores that leave the lines in the cache for
  // the scatter that follows (memset may use `rep stosb`, which some CPUs run with stores that
  // bypass the cache).
  void zero(std::int64_t from, std::int64_t to) const {
    auto* p = reinterpret_cast<unsigned char*>(out + from * step);
    const auto bytes = static_cast<std::size_t>((to - from) * step) * sizeof(T);
    std::size_t i = 0;
#if HWY_TARGET != HWY_SCALAR
    const hn::ScalableTag<std::uint8_t> d8;
    const std::size_t n = hn::Lanes(d8);
    for (; i + n <= bytes; i += n)
      hn::StoreU(hn::Zero(d8), d8, p + i);
#endif
    if (i < bytes) std::memset(p + i, 0, bytes - i);
  }
  // Zeroes the positions [from, to) that no index named, which the scatter does not revisit.
  void zero_uncached(std::int64_t from, std::int64_t to) const {
    if (from < to) {
      std::memset(out + from * step, 0, static_cast<std::size_t>((to - from) * step) * sizeof(T));
    }
  }

  // kWatermark: makes position v zero (v >= z).
  HWY_NOINLINE void advance(std::int64_t v) {
    const std::int64_t end = std::min(hi, std::max((v / row + 1) * row, z + least));
    zero(z, end);
    z = end;
  }

  // kBlocks: makes position v, in [lo, hi), zero unless its block is.
  HWY_INLINE void touch(std::int64_t v) const {
    const std::uint64_t block = static_cast<std::uint64_t>(v - lo) >> shift;
    const std::uint64_t word = zeroed[block >> 6];
    const std::uint64_t bit = std::uint64_t(1) << (block & 63);
    if (__builtin_expect(!(word & bit), 0)) {
      zeroed[block >> 6] = word | bit;
      zero_block(block);
    }
  }
  // Zeroes a block, and prefetches for writing the block four further on: the next pixels of a
  // row pooled with stride 2 write there, and the prefetch overlaps the read-for-ownership of
  // its lines with the work on this one.
  HWY_NOINLINE void zero_block(std::uint64_t block) const {
    const std::int64_t size = std::int64_t(1) << shift;
    const std::int64_t from = lo + static_cast<std::int64_t>(block << shift);
    const std::int64_t ahead = from + 4 * size;
    if (ahead + size <= hi) {
      const auto* p = reinterpret_cast<const char*>(out + ahead * step);
      const auto bytes = static_cast<std::size_t>(size * step) * sizeof(T);
      for (std::size_t i = 0; i < bytes; i += 64)
        __builtin_prefetch(p + i, 1);
    }
    zero(from, std::min(hi, from + size));
  }
  std::int64_t block_count() const {
    return ((hi - lo) + (std::int64_t(1) << shift) - 1) >> shift;
  }

  // Zeroes what no index named.
  void finish(Zeroing zeroing) const {
    if (zeroing == Zeroing::kWatermark) zero_uncached(z, hi);
    if (zeroing != Zeroing::kBlocks) return;
    const std::int64_t blocks = block_count();
    const auto done = [&](std::int64_t b) { return (zeroed[b >> 6] >> (b & 63)) & 1; };
    for (std::int64_t b = 0; b < blocks;) {
      if ((b & 63) == 0 && zeroed[b >> 6] == ~std::uint64_t(0)) {
        b += 64;
      } else if (done(b)) {
        ++b;
      } else {
        std::int64_t e = b + 1;
        while (e < blocks && !done(e))
          ++e;
        zero_uncached(lo + (b << shift), std::min(hi, lo + (e << shift)));
        b = e;
      }
    }
  }
};

// What a run of inputs returns besides its last invalid position.
constexpr std::int64_t kEscaped = -2;

// `count` inputs and indices with the given steps; the k-th goes to out[v * sh.step + k *
// d_step], where `out` is the unit's output origin plus the offset of the first input's channel
// (d_step is 0 along a row of a plane, the channel stride across the channels of a pixel). Returns
// the last k whose index is invalid, -1 when there is none, or kEscaped when an index is valid but
// outside the share.
template <Zeroing Z, class T>
std::int64_t scatter_run(Share<T>& sh, const T* HWY_RESTRICT s, std::int64_t s_step,
                         const std::int64_t* HWY_RESTRICT ix, std::int64_t i_step,
                         T* HWY_RESTRICT out, std::int64_t d_step, std::int64_t count) {
  // Locals, so that the compiler knows the stores do not change them.
  const std::int64_t step = sh.step;
  const std::uint64_t lo = static_cast<std::uint64_t>(sh.lo), span = sh.span;
  std::int64_t z = sh.z;
  std::int64_t bad = -1;
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t v = ix[k * i_step];
    if (__builtin_expect(static_cast<std::uint64_t>(v) - lo >= span, 0)) {
      if (static_cast<std::uint64_t>(v) < sh.plane_out) return kEscaped;
      bad = k;
      continue;
    }
    if constexpr (Z == Zeroing::kWatermark) {
      if (__builtin_expect(v >= z, 0)) {
        sh.advance(v);
        z = sh.z;
      }
    } else if constexpr (Z == Zeroing::kBlocks) {
      sh.touch(v);
    }
    out[v * step + k * d_step] = s[k * s_step];
  }
  return bad;
}

#if HWY_TARGET != HWY_SCALAR
// The channels pixel_vector moves at once.
inline std::int64_t vector_lanes() {
  return static_cast<std::int64_t>(hn::Lanes(hn::ScalableTag<std::int64_t>()));
}

// The `full` channels of a pixel (a multiple of the lanes of an int64 vector; src, indices and
// dst contiguous across channels), by target: each round takes the index of the first channel
// not yet written and writes, with one masked store per group of channels, every channel with
// that index, so a pixel of pooled indices takes as many rounds as its window has positions.
// After kRounds rounds the rest goes one channel at a time. Channels are distinct planes, so
// the order among them does not matter. Returns false when it meets an index outside the
// share; the scalar loop then does the whole pixel again (rewriting the same values) and sorts
// out which indices are invalid.
template <class T>
bool pixel_vector(Share<T>& sh, const T* HWY_RESTRICT s, const std::int64_t* HWY_RESTRICT ix,
                  std::int64_t full) {
  constexpr int kRounds = 16;
  constexpr std::int64_t kGroups = 64;  // groups per pass over the channels
  const hn::ScalableTag<std::int64_t> d64;
  const hn::Rebind<T, decltype(d64)> dv;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d64));
  // Lanes not yet written, one bit per lane (at most 64 lanes), per group.
  std::uint64_t left[kGroups];
  const std::uint64_t all = lanes == 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << lanes) - 1;
  const std::int64_t mask_bytes = (lanes + 7) / 8;
  for (std::int64_t c0 = 0; c0 < full; c0 += kGroups * lanes) {
    const std::int64_t groups = std::min(kGroups, (full - c0) / lanes);
    const T* HWY_RESTRICT sc = s + c0;
    const std::int64_t* HWY_RESTRICT ic = ix + c0;
    std::fill(left, left + groups, all);
    std::int64_t first = 0;  // groups before it are done
    for (int round = 0;; ++round) {
      while (first < groups && left[first] == 0)
        ++first;
      if (first == groups) break;
      const std::int64_t t = ic[first * lanes + __builtin_ctzll(left[first])];
      if (t < sh.lo || t >= sh.hi) return false;
      sh.touch(t);
      T* HWY_RESTRICT o = sh.out + t * sh.step + c0;
      if (round == kRounds) {
        // Many distinct targets: one channel at a time.
        for (std::int64_t gi = first; gi < groups; ++gi) {
          for (std::uint64_t m = left[gi]; m != 0; m &= m - 1) {
            const std::int64_t c = gi * lanes + __builtin_ctzll(m);
            const std::int64_t v = ic[c];
            if (v < sh.lo || v >= sh.hi) return false;
            sh.touch(v);
            sh.out[v * sh.step + c0 + c] = sc[c];
          }
        }
        break;
      }
      const auto target = hn::Set(d64, t);
      for (std::int64_t gi = first; gi < groups; ++gi) {
        const auto hit = hn::Eq(hn::LoadU(d64, ic + gi * lanes), target);
        // The mask in the element's lane type: same lane count, another lane size.
        alignas(16) std::uint8_t bits[16] = {};
        hn::StoreMaskBits(d64, hit, bits);
        std::uint64_t m = 0;
        for (std::int64_t b = 0; b < mask_bytes; ++b)
          m |= std::uint64_t(bits[b]) << (8 * b);
        m &= left[gi];
        left[gi] &= ~m;
        for (std::int64_t b = 0; b < mask_bytes; ++b)
          bits[b] = static_cast<std::uint8_t>(m >> (8 * b));
        hn::BlendedStore(hn::LoadU(dv, sc + gi * lanes), hn::LoadMaskBits(dv, bits), dv,
                         o + gi * lanes);
      }
    }
  }
  return true;
}
#else
// One lane: nothing to gain over the scalar loop.
inline std::int64_t vector_lanes() {
  return 0;
}
template <class T>
bool pixel_vector(Share<T>&, const T*, const std::int64_t*, std::int64_t) {
  return false;
}
#endif

template <class T>
struct Scatter {
  const kern::UnpoolGeometry& g;
  const Walk& w;
  const T* src;
  const std::int64_t* idx;
  T* dst;
  std::atomic<bool>* escaped;  // a band met a valid index outside its share
  LastBad* last_bad;

  // The units [u0, u1): the input positions [b.q_lo, b.q_hi) of each; `zeroed` is the task's
  // block map (kBlocks).
  template <Zeroing Z>
  void run(std::int64_t u0, std::int64_t u1, const Band& b, std::uint64_t* zeroed) const {
    // The unit's (n, c), stepped rather than divided out for every unit.
    std::int64_t n = w.by_pixel ? u0 : u0 / g.c;
    std::int64_t c0 = w.by_pixel ? 0 : u0 % g.c;
    if constexpr (Z == Zeroing::kSeparate) {
      if (!w.by_pixel && w.row_len == g.plane_in && w.bands == 1) {
        return run_planes(u0, u1, n, c0);
      }
    }
    for (std::int64_t u = u0; u < u1; ++u) {
      run_unit<Z>(n, c0, b, zeroed);
      if (w.by_pixel || ++c0 == g.c) {
        c0 = 0;
        ++n;
      }
    }
  }

  // Whole planes [u0, u1), the first one (n, c0), each one row of flat input, into a zero-filled
  // output: the loop of run_unit without its per-unit set-up, for many small planes.
  void run_planes(std::int64_t u0, std::int64_t u1, std::int64_t n, std::int64_t c0) const {
    const std::int64_t* ss = g.src_stride;
    const std::int64_t* is = g.idx_stride;
    const std::int64_t* ds = g.dst_stride;
    const std::int64_t s_w = w.s_w, i_w = w.i_w, step = w.step, len = g.plane_in;
    const auto plane_out = static_cast<std::uint64_t>(g.plane_out);
    std::int64_t bad = -1;
    for (std::int64_t u = u0; u < u1; ++u) {
      const T* HWY_RESTRICT s = src + n * ss[0] + c0 * ss[1];
      const std::int64_t* HWY_RESTRICT ix = idx + n * is[0] + c0 * is[1];
      T* HWY_RESTRICT out = dst + n * ds[0] + c0 * ds[1];
      for (std::int64_t k = 0; k < len; ++k) {
        const std::int64_t v = ix[k * i_w];
        if (__builtin_expect(static_cast<std::uint64_t>(v) >= plane_out, 0)) {
          bad = u * len + k;  // the logical position: planes are in C order
          continue;
        }
        out[v * step] = s[k * s_w];
      }
      if (++c0 == g.c) {
        c0 = 0;
        ++n;
      }
    }
    if (bad >= 0) last_bad->add(bad);
  }

  // The input positions [b.q_lo, b.q_hi) of unit (n, c0) (c0 = 0 by pixel).
  template <Zeroing Z>
  void run_unit(std::int64_t n, std::int64_t c0, const Band& b, std::uint64_t* zeroed) const {
    const std::int64_t* ss = g.src_stride;
    const std::int64_t* is = g.idx_stride;
    const std::int64_t* ds = g.dst_stride;
    const T* s_unit = src + n * ss[0] + c0 * ss[1];
    const std::int64_t* i_unit = idx + n * is[0] + c0 * is[1];
    Share<T> sh{dst + n * ds[0] + c0 * ds[1],
                w.step,
                b.lo,
                b.hi,
                static_cast<std::uint64_t>(b.hi - b.lo),
                static_cast<std::uint64_t>(g.plane_out),
                b.lo,
                g.out[2],
                std::max<std::int64_t>(
                    1, unpool::kWatermarkBytes / static_cast<std::int64_t>(sizeof(T) * w.step)),
                zeroed,
                w.shift};
    if constexpr (Z == Zeroing::kBlocks) {
      std::fill(zeroed, zeroed + (sh.block_count() + 63) / 64, std::uint64_t(0));
    }
    // Channels a pixel moves with SIMD.
    const std::int64_t lanes = vector_lanes();
    const std::int64_t full = Z == Zeroing::kBlocks && w.vector && lanes > 0 && g.c >= 4 * lanes
                                  ? g.c / lanes * lanes
                                  : 0;
    if constexpr (Z == Zeroing::kWatermark) {
      // A share of a few KiB at most (small planes) is zeroed at once.
      if (b.hi - b.lo <= sh.least) {
        sh.zero(b.lo, b.hi);
        sh.z = b.hi;
      }
    }
    std::int64_t bad = -1;  // largest logical position with an invalid index
    // The input row of position q, counted rather than divided out at every row.
    std::int64_t w0 = 0, h = 0, d = 0;
    if (b.q_lo > 0) {
      w0 = b.q_lo % w.row_len;
      h = b.q_lo / w.row_len % w.rows_h;
      d = b.q_lo / w.row_len / w.rows_h;
    }
    for (std::int64_t q = b.q_lo; q < b.q_hi;) {
      if (w.bands > 1 && escaped->load(std::memory_order_relaxed)) return;
      const std::int64_t len = std::min(w.row_len - w0, b.q_hi - q);
      const T* s_row = s_unit + d * w.s_d + h * w.s_h + w0 * w.s_w;
      const std::int64_t* i_row = i_unit + d * w.i_d + h * w.i_h + w0 * w.i_w;
      if (w.by_pixel) {
        for (std::int64_t k = 0; k < len; ++k) {
          const T* s_px = s_row + k * w.s_w;
          const std::int64_t* i_px = i_row + k * w.i_w;
          // The channels left to the scalar loop.
          const std::int64_t from = full > 0 && pixel_vector(sh, s_px, i_px, full) ? full : 0;
          const std::int64_t c = scatter_run<Z>(sh, s_px + from * ss[1], ss[1], i_px + from * is[1],
                                                is[1], sh.out + from * ds[1], ds[1], g.c - from);
          if (c == kEscaped) return fail();
          if (c >= 0) bad = std::max(bad, (n * g.c + from + c) * g.plane_in + q + k);
        }
      } else {
        const std::int64_t k = scatter_run<Z>(sh, s_row, w.s_w, i_row, w.i_w, sh.out, 0, len);
        if (k == kEscaped) return fail();
        if (k >= 0) bad = (n * g.c + c0) * g.plane_in + q + k;
      }
      q += len;
      w0 = 0;
      if (++h == w.rows_h) {
        h = 0;
        ++d;
      }
    }
    sh.finish(Z);
    if (bad >= 0) last_bad->add(bad);
  }

  void fail() const { escaped->store(true, std::memory_order_relaxed); }
};

template <class T>
std::int64_t run_fast(const MaxUnpoolPlan& plan, const Walk& walk, const T* src,
                      const std::int64_t* indices, T* dst, int threads) {
  const kern::UnpoolGeometry& g = plan.geometry;
  std::atomic<bool> escaped{false};
  LastBad last_bad;
  const Scatter<T> scatter{g, walk, src, indices, dst, &escaped, &last_bad};
  if (walk.zeroing == Zeroing::kSeparate) unpool::zero_fill<T>(plan, dst, threads);
  // Each worker's block map, sized for the largest share (a whole plane).
  std::vector<std::vector<std::uint64_t>> maps(static_cast<std::size_t>(std::max(threads, 1)));
  // Tasks of several whole units when there are many (small ones): one atomic step per task.
  const std::int64_t per = walk.bands > 1 ? 1 : units_per_task(walk.units, threads);
  const std::int64_t groups = (walk.units + per - 1) / per;
  run_tasks(groups * walk.bands, threads, [&](int worker, std::int64_t task) {
    const Band b = unpool::band_of(g, walk, task % walk.bands);
    const std::int64_t u0 = task / walk.bands * per, u1 = std::min(walk.units, u0 + per);
    switch (walk.zeroing) {
      case Zeroing::kSeparate:
        return scatter.template run<Zeroing::kSeparate>(u0, u1, b, nullptr);
      case Zeroing::kWatermark:
        return scatter.template run<Zeroing::kWatermark>(u0, u1, b, nullptr);
      case Zeroing::kBlocks: {
        std::vector<std::uint64_t>& map = maps[static_cast<std::size_t>(worker)];
        map.resize(static_cast<std::size_t>((walk.blocks + 63) / 64));
        return scatter.template run<Zeroing::kBlocks>(u0, u1, b, map.data());
      }
    }
  });
  if (!escaped.load()) return last_bad.get();

  // A band's indices left its share of the output: start again without bands.
  Walk whole = walk;
  whole.bands = 1;
  whole.zeroing = Zeroing::kSeparate;
  escaped.store(false);
  LastBad again;
  const Scatter<T> plain{g, whole, src, indices, dst, &escaped, &again};
  unpool::zero_fill<T>(plan, dst, threads);
  const std::int64_t whole_per = units_per_task(whole.units, threads);
  run_tasks((whole.units + whole_per - 1) / whole_per, threads, [&](int, std::int64_t task) {
    const std::int64_t u0 = task * whole_per, u1 = std::min(whole.units, u0 + whole_per);
    plain.template run<Zeroing::kSeparate>(u0, u1, unpool::band_of(g, whole, 0), nullptr);
  });
  return again.get();
}

// The fast path; false when it does not apply.
bool MaxUnpoolFast(const MaxUnpoolPlan& plan, const void* src, const std::int64_t* indices,
                   void* dst, int threads, std::int64_t* last_bad) {
  bool done = false;
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    Walk walk;
    if (!unpool::plan_walk(plan, threads, sizeof(T), &walk)) return;
    *last_bad =
        run_fast<T>(plan, walk, static_cast<const T*>(src), indices, static_cast<T*>(dst), threads);
    done = true;
  });
  return done;
}

}  // namespace HWY_NAMESPACE
}  // namespace detail
}  // namespace ups
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ups {
namespace detail {

HWY_EXPORT(MaxUnpoolFast);

namespace {

// The per-element body over every input, planes in parallel.
template <class T>
std::int64_t run_reference(const MaxUnpoolPlan& plan, const T* s, const std::int64_t* indices, T* d,
                           int threads) {
  unpool::zero_fill<T>(plan, d, threads);
  // The CPU visits inputs in C order, so that within a plane later positions overwrite earlier
  // ones (the documented duplicate rule).
  kern::UnpoolGeometry g = plan.geometry;
  g.channels_last = false;
  // Each plane is handled by exactly one thread: the chunk that contains its first element.
  const std::int64_t plane = g.plane_in;
  std::mutex mutex;
  std::int64_t last_bad = -1;  // the largest position with an invalid index
  parallel_for(plan.total_in, threads, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t local_bad = -1;
    for (std::int64_t p = (begin + plane - 1) / plane; p * plane < end; ++p) {
      for (std::int64_t i = p * plane; i < (p + 1) * plane; ++i) {
        const std::int64_t bad = kern::unpool_element<T>(g, s, indices, d, i);
        local_bad = std::max(local_bad, bad);
      }
    }
    if (local_bad >= 0) {
      const std::lock_guard<std::mutex> lock(mutex);
      last_bad = std::max(last_bad, local_bad);
    }
  });
  return last_bad;
}

}  // namespace

void max_unpool_cpu(const MaxUnpoolPlan& plan, const void* src, const std::int64_t* indices,
                    void* dst, int threads, MaxUnpoolStatus* status) {
  status->position = -1;
  status->index = 0;
  for (int i = 0; i < 3; ++i)
    status->volume[i] = plan.volume[i];
  status->volume_dims = plan.volume_dims;
  if (plan.total_in == 0 || plan.total_out == 0) return;

  std::int64_t last_bad = -1;
  if (!HWY_DYNAMIC_DISPATCH(MaxUnpoolFast)(plan, src, indices, dst, threads, &last_bad)) {
    dispatch_by_size(plan.dtype, [&](auto type_tag) {
      using T = typename decltype(type_tag)::type;
      last_bad = run_reference<T>(plan, static_cast<const T*>(src), indices, static_cast<T*>(dst),
                                  threads);
    });
  }
  if (last_bad >= 0) {
    kern::UnpoolGeometry g = plan.geometry;
    g.channels_last = false;
    status->position = last_bad;
    status->index = indices[kern::unpool_source(g, last_bad).idx_off];
  }
}

}  // namespace detail
}  // namespace ups
#endif  // HWY_ONCE
