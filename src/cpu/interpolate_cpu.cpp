// CPU backend of ups::interpolate: separable row passes over per-dim tap tables, with SIMD
// (Highway, dispatched at run time to the best target the CPU supports).
//
// Every output is computed with exactly the operations, in exactly the order, of the per-element
// body kern::interp_element_at (kernels/interpolate/interp_math.hpp), which stays the reference:
//  - the taps and weights of each dim come from tap tables built with the same functions
//    (kernels/interpolate/interp_taps.hpp);
//  - a weighted sum is always x0 * w0 first, then + xj * wj in tap order (no fused multiply-add:
//    the CPU sources are compiled with -ffp-contract=off, and the vector code multiplies and adds
//    separately);
//  - the separable kinds (linear, generic bilinear, trilinear, bicubic, anti-aliasing) form each
//    output from row results (a W pass over a source row), then combine rows (H), then planes
//    (D), which is the reference's own nesting. A row result is computed once and reused by
//    every output row that needs it;
//  - 16-bit types convert to and from f32 with the integer-exact conversions of hd.hpp.
// So the fast paths equal the reference bit for bit (tests/cpu/test_interpolate_fast.cpp).
//
// Layouts: the W pass vectorises along W when W is the innermost dim of both tensors (NCHW),
// and along C when C is (channels-last). Anything else runs the reference loop.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu/parallel.hpp"
#include "interpolate/interp_taps.hpp"
#include "interpolate_plan.hpp"

namespace ups {
namespace detail {
// The per-element loop over the output (defined once, below).
void interpolate_cpu_reference(const InterpolatePlan& plan, const void* src, void* dst,
                               int threads);
}  // namespace detail
}  // namespace ups

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/interpolate_cpu.cpp"
#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "cpu/simd_convert-inl.h"

HWY_BEFORE_NAMESPACE();
namespace ups {
namespace detail {
namespace HWY_NAMESPACE {

using kern::InterpKind;
using kern::TapTable;

template <class Acc>
using IndexOf = std::conditional_t<sizeof(Acc) == 4, std::int32_t, std::int64_t>;

// ---- the W dim of an NCHW pass, in blocks of one vector --------------------------------------

// How one tap of one block of N consecutive outputs reads its N source elements.
enum Access : std::uint8_t {
  kContiguous,  // base + lane
  kStride2,     // base + 2 * lane (downscaling by 2)
  kPermute,     // a permutation of the N elements from base (upscaling)
  kGather,      // any indices (f32 and f64 elements only)
  // kPermute of a row shorter than a vector: a masked load of the `valid` elements from base
  // (AVX2 and AVX-512 masked loads do not touch the masked-off memory; f32 and f64 only).
  kPermuteMasked,
};

// Whether this target's masked loads of 4- and 8-byte lanes leave masked-off memory alone.
constexpr bool kSafeMaskedLoad = HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2;

template <class Acc>
struct XBlocks {
  std::size_t lanes = 0;
  int k = 0;
  std::int64_t blocks = 0;            // blocks of `lanes` outputs; the last holds `tail` of them
  std::size_t tail = 0;               // full blocks; outputs past blocks * lanes run scalar
  std::vector<std::uint8_t> vector;   // per block: vectorised, else scalar
  std::vector<std::uint8_t> uniform;  // per block: every lane uses all k taps
  std::vector<std::uint8_t> access;   // per (block, tap)
  std::vector<std::int64_t> base;     // per (block, tap)
  std::vector<std::int64_t> valid;    // per (block, tap): elements readable from base
  std::vector<IndexOf<Acc>> index;    // per (block, tap): lane indices (permute or gather)
  std::vector<Acc> weight;            // per (block, tap): lane weights (weighted kinds)
  std::vector<Acc> active;            // per (block, tap): 1 where the lane uses the tap
};

// Arranges a tap table for vector loads along a contiguous source row of `in` elements. The last
// block may be partial (tail < lanes outputs): its other lanes repeat the last output's taps and
// are not stored. `lane_type` says that the element type is the accumulation type (masked loads
// and gathers work on it).
template <class Acc>
XBlocks<Acc> make_blocks(const TapTable<Acc>& t, std::int64_t in, std::size_t n, bool lane_type) {
  const bool gather = lane_type;
  XBlocks<Acc> x;
  x.lanes = n;
  x.k = t.k;
  x.blocks = (t.out + static_cast<std::int64_t>(n) - 1) / static_cast<std::int64_t>(n);
  x.tail = static_cast<std::size_t>(t.out - (x.blocks - 1) * static_cast<std::int64_t>(n));
  const auto nb = static_cast<std::size_t>(x.blocks), k = static_cast<std::size_t>(t.k);
  x.vector.assign(nb, 1);
  x.uniform.assign(nb, 1);
  x.access.assign(nb * k, kGather);
  x.base.assign(nb * k, 0);
  x.valid.assign(nb * k, 0);
  x.index.assign(nb * k * n, 0);
  if (!t.w.empty()) x.weight.assign(nb * k * n, Acc(0));
  x.active.assign(nb * k * n, Acc(1));
  const auto sn = static_cast<std::int64_t>(n);
  // Gather indices are 32-bit for f32 lanes.
  const bool gather_ok = gather && (sizeof(Acc) == 8 || in <= INT32_MAX);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::int64_t o0 = static_cast<std::int64_t>(b) * sn;
    // Output of lane l (lanes past the end repeat the last output).
    auto at = [&](std::int64_t l) { return std::min(o0 + l, t.out - 1); };
    for (std::int64_t l = 0; l < sn; ++l) {
      if (t.count[static_cast<std::size_t>(at(l))] != t.k) x.uniform[b] = 0;
    }
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t bj = b * k + j;
      std::int64_t lo = INT64_MAX, hi = INT64_MIN;
      bool contiguous = true, stride2 = true;
      const std::int64_t first = t.index(o0, static_cast<int>(j));
      for (std::int64_t l = 0; l < sn; ++l) {
        const std::int64_t i = t.index(at(l), static_cast<int>(j));
        lo = std::min(lo, i);
        hi = std::max(hi, i);
        contiguous = contiguous && i == first + l;
        stride2 = stride2 && i == first + 2 * l;
        if (!t.w.empty())
          x.weight[bj * n + static_cast<std::size_t>(l)] = t.weight(at(l), static_cast<int>(j));
        x.active[bj * n + static_cast<std::size_t>(l)] =
            static_cast<int>(j) < t.count[static_cast<std::size_t>(at(l))] ? Acc(1) : Acc(0);
      }
      x.base[bj] = lo;
      x.valid[bj] = in - lo;
      if (contiguous && first + sn <= in) {
        x.access[bj] = kContiguous;
      } else if (stride2 && first + 2 * sn <= in) {
        x.access[bj] = kStride2;
      } else if (hi - lo < sn && lo + sn <= in) {
        x.access[bj] = kPermute;
        for (std::int64_t l = 0; l < sn; ++l)
          x.index[bj * n + static_cast<std::size_t>(l)] =
              static_cast<IndexOf<Acc>>(t.index(at(l), static_cast<int>(j)) - lo);
      } else if (hi - lo < sn && gather && kSafeMaskedLoad) {
        x.access[bj] = kPermuteMasked;
        for (std::int64_t l = 0; l < sn; ++l)
          x.index[bj * n + static_cast<std::size_t>(l)] =
              static_cast<IndexOf<Acc>>(t.index(at(l), static_cast<int>(j)) - lo);
      } else if (gather_ok) {
        x.access[bj] = kGather;
        for (std::int64_t l = 0; l < sn; ++l)
          x.index[bj * n + static_cast<std::size_t>(l)] =
              static_cast<IndexOf<Acc>>(t.index(at(l), static_cast<int>(j)));
      } else {
        x.vector[b] = 0;
      }
    }
  }
  return x;
}

// The N source elements tap (block, j) reads from `row`, as accumulation lanes.
template <class T, class D>
HWY_INLINE hn::Vec<D> load_tap(D d, const T* HWY_RESTRICT row, const XBlocks<hn::TFromD<D>>& x,
                               std::size_t bj) {
  const std::int64_t base = x.base[bj];
  switch (x.access[bj]) {
    case kContiguous:
      return LoadAcc(d, row + base);
#if HWY_TARGET != HWY_SCALAR  // one lane: every tap is contiguous
    case kStride2: {
      const auto lo = LoadAcc(d, row + base);
      const auto hi = LoadAcc(d, row + base + static_cast<std::int64_t>(x.lanes));
      return hn::ConcatEven(d, hi, lo);
    }
#endif
    case kPermute: {
      const auto v = LoadAcc(d, row + base);
      return hn::TableLookupLanes(v, hn::SetTableIndices(d, &x.index[bj * x.lanes]));
    }
    case kPermuteMasked:
      if constexpr (std::is_same_v<T, hn::TFromD<D>> && kSafeMaskedLoad) {
        const auto v =
            hn::MaskedLoad(hn::FirstN(d, static_cast<std::size_t>(x.valid[bj])), d, row + base);
        return hn::TableLookupLanes(v, hn::SetTableIndices(d, &x.index[bj * x.lanes]));
      } else {
        HWY_ASSERT(false);  // make_blocks chooses it only for T == lane type on safe targets
        return hn::Zero(d);
      }
    default:
      if constexpr (std::is_same_v<T, hn::TFromD<D>>) {
        const hn::RebindToSigned<D> di;
        return hn::GatherIndex(d, row, hn::LoadU(di, &x.index[bj * x.lanes]));
      } else {
        HWY_ASSERT(false);  // make_blocks allows gathers only when T is the lane type
        return hn::Zero(d);
      }
  }
}

// One output of a weighted tap table, one element at a time: x0 * w0, then + xj * wj.
template <class T, class Acc>
HWY_INLINE Acc weighted_scalar(const TapTable<Acc>& t, std::int64_t o, const T* row,
                               std::int64_t stride) {
  const int n = t.count[static_cast<std::size_t>(o)];
  Acc acc = kern::to_acc<Acc>(row[t.index(o, 0) * stride]) * t.weight(o, 0);
  for (int j = 1; j < n; ++j)
    acc = acc + kern::to_acc<Acc>(row[t.index(o, j) * stride]) * t.weight(o, j);
  return acc;
}

// The W pass of a weighted kind over one contiguous source row: out[o] for every output o, in
// the accumulation type (a row result) or converted to the element type (a 1-D output).
template <bool kStream = false, class T, class Acc, class TOut>
void weighted_row(const XBlocks<Acc>& x, const TapTable<Acc>& t, const T* HWY_RESTRICT row,
                  TOut* HWY_RESTRICT out) {
  const hn::ScalableTag<Acc> d;
  const std::size_t n = x.lanes, k = static_cast<std::size_t>(x.k);
  for (std::int64_t b = 0; b < x.blocks; ++b) {
    const auto ub = static_cast<std::size_t>(b);
    const std::size_t m = b + 1 == x.blocks ? x.tail : n;  // outputs in this block
    if (!x.vector[ub]) {
      for (std::size_t l = 0; l < m; ++l) {
        const std::int64_t o = b * static_cast<std::int64_t>(n) + static_cast<std::int64_t>(l);
        out[o] = kern::from_acc<TOut>(weighted_scalar(t, o, row, 1));
      }
      continue;
    }
    const std::size_t b0 = ub * k;
    auto acc = hn::Mul(load_tap(d, row, x, b0), hn::LoadU(d, &x.weight[b0 * n]));
    for (std::size_t j = 1; j < k; ++j) {
      const auto prod = hn::Mul(load_tap(d, row, x, b0 + j), hn::LoadU(d, &x.weight[(b0 + j) * n]));
      if (x.uniform[ub]) {
        acc = hn::Add(acc, prod);
      } else {
        const auto on = hn::Ne(hn::LoadU(d, &x.active[(b0 + j) * n]), hn::Zero(d));
        acc = hn::IfThenElse(on, hn::Add(acc, prod), acc);
      }
    }
    if (m == n) {
      StoreAcc<kStream>(d, acc, out + b * static_cast<std::int64_t>(n));
    } else {
      StoreAccN(d, acc, out + b * static_cast<std::int64_t>(n), m);
    }
  }
}

// ---- flat runs ---------------------------------------------------------------------------------

// out[i] = rows[0][i] * w[0], then + rows[j][i] * w[j] for j < count (kCount when it is not 0),
// for i < n; out is the accumulation type (an intermediate) or the element type (converted as
// from_acc does).
template <int kCount, bool kStream, class TIn, class Acc, class TOut>
void combine_n(const TIn* const* rows, const Acc* w, int count, std::size_t n,
               TOut* HWY_RESTRICT out) {
  if constexpr (kCount > 0) count = kCount;
  const hn::ScalableTag<Acc> d;
  const std::size_t lanes = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    auto acc = hn::Mul(LoadAcc(d, rows[0] + i), hn::Set(d, w[0]));
    for (int j = 1; j < count; ++j)
      acc = hn::Add(acc, hn::Mul(LoadAcc(d, rows[j] + i), hn::Set(d, w[j])));
    StoreAcc<kStream>(d, acc, out + i);
  }
  for (; i < n; ++i) {
    Acc acc = kern::to_acc<Acc>(rows[0][i]) * w[0];
    for (int j = 1; j < count; ++j)
      acc = acc + kern::to_acc<Acc>(rows[j][i]) * w[j];
    out[i] = kern::from_acc<TOut>(acc);
  }
}

template <bool kStream = false, class TIn, class Acc, class TOut>
void combine(const TIn* const* rows, const Acc* w, int count, std::size_t n,
             TOut* HWY_RESTRICT out) {
  switch (count) {
    case 1:
      return combine_n<1, kStream>(rows, w, count, n, out);
    case 2:
      return combine_n<2, kStream>(rows, w, count, n, out);
    case 4:
      return combine_n<4, kStream>(rows, w, count, n, out);
    default:
      return combine_n<0, kStream>(rows, w, count, n, out);
  }
}

// out[i] = from_acc<T>(in[i]) for i < n.
template <bool kStream = false, class T, class Acc>
void store_run(const Acc* HWY_RESTRICT in, std::size_t n, T* HWY_RESTRICT out) {
  const hn::ScalableTag<Acc> d;
  const std::size_t lanes = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    StoreAcc<kStream>(d, hn::LoadU(d, in + i), out + i);
  for (; i < n; ++i)
    out[i] = kern::from_acc<T>(in[i]);
}

// ---- work partition ----------------------------------------------------------------------------

// Splits `units` independent units of `rows` output rows each into tasks: runs of whole units
// when there are many units, else bands of whole rows of one unit, so that every thread gets
// several tasks and none is shorter than a few rows (a band recomputes the source rows at its
// edges).
struct Tasks {
  std::int64_t units, rows;
  std::int64_t units_per_task = 1;  // > 1 only with whole units
  std::int64_t band, per_unit = 1;  // rows per task and tasks per unit
  std::int64_t count() const { return (units + units_per_task - 1) / units_per_task * per_unit; }
  void range(std::int64_t task, std::int64_t* u0, std::int64_t* u1, std::int64_t* r0,
             std::int64_t* r1) const {
    *u0 = task / per_unit * units_per_task;
    *u1 = std::min(units, *u0 + units_per_task);
    *r0 = (task % per_unit) * band;
    *r1 = std::min(rows, *r0 + band);
  }
};

inline Tasks make_tasks(std::int64_t units, std::int64_t rows, int threads) {
  Tasks t{units, rows, 1, rows, 1};
  const std::int64_t want = 4 * static_cast<std::int64_t>(std::max(threads, 1));
  if (units >= want) {
    t.units_per_task = std::max<std::int64_t>(1, units / (2 * want));
  } else if (threads > 1 && rows > 1) {
    const std::int64_t per = std::min(rows, (want + units - 1) / units);
    t.band = std::max<std::int64_t>(std::min<std::int64_t>(8, rows), (rows + per - 1) / per);
    t.per_unit = (rows + t.band - 1) / t.band;
  }
  return t;
}

// Runs fn(worker, unit, r0, r1) for every unit and row band of `tasks` on up to `threads`
// threads; worker indexes per-thread scratch.
template <class Fn>
void for_each_task(const Tasks& tasks, int threads, Fn&& fn) {
  run_tasks(tasks.count(), threads, [&](int worker, std::int64_t task) {
    std::int64_t u0, u1, r0, r1;
    tasks.range(task, &u0, &u1, &r0, &r1);
    for (std::int64_t u = u0; u < u1; ++u)
      fn(worker, u, r0, r1);
    // Streaming stores are weakly ordered: make them visible before the task counts as done.
    hwy::FlushStream();
  });
}

// A small cache of row results keyed by source row, for rows used by consecutive output rows.
template <class Acc>
class RowCache {
 public:
  RowCache(int slots, std::size_t row_len)
      : key_(static_cast<std::size_t>(slots), -1),
        data_(static_cast<std::size_t>(slots) * row_len),
        row_len_(row_len) {}
  void clear() { std::fill(key_.begin(), key_.end(), std::int64_t(-1)); }
  // The slot holding `key`, or nullptr.
  const Acc* find(std::int64_t key) const {
    for (std::size_t s = 0; s < key_.size(); ++s) {
      if (key_[s] == key) return &data_[s * row_len_];
    }
    return nullptr;
  }
  // A slot for `key`, evicting the smallest key not in keep[0, nkeep) (row indices grow with
  // the output row, so the smallest is the one no later output needs).
  Acc* insert(std::int64_t key, const std::int64_t* keep, int nkeep) {
    std::size_t best = key_.size();
    for (std::size_t s = 0; s < key_.size(); ++s) {
      if (key_[s] < 0) {
        best = s;
        break;
      }
      bool kept = false;
      for (int j = 0; j < nkeep; ++j)
        kept = kept || keep[j] == key_[s];
      if (!kept && (best == key_.size() || key_[s] < key_[best])) best = s;
    }
    HWY_ASSERT(best < key_.size());
    key_[best] = key;
    return &data_[best * row_len_];
  }

 private:
  std::vector<std::int64_t> key_;
  std::vector<Acc> data_;
  std::size_t row_len_;
};

// ---- the weighted kinds ------------------------------------------------------------------------

template <class T>
struct Job {
  const kern::InterpGeometry* g;
  const T* src;
  T* dst;
  int dims;  // dims combined: 1 (W), 2 (H, W) or 3 (D, H, W)
  int threads;
  bool stream;  // the output is far larger than the caches: write it with streaming stores
};

// Outputs of at least this many bytes are written with streaming stores.
constexpr std::size_t kStreamBytes = std::size_t(16) << 20;

// A source row's W pass into `out` (out_W results, or out_W * C for channels-last).
template <class T, class Acc>
struct RowPass {
  const kern::InterpGeometry& g;
  const TapTable<Acc>& xt;
  const XBlocks<Acc>* xb;  // NCHW only
  bool channels_last;

  // Writes output pixel o at out + o * pixel_stride (channels-last), or the row at out (NCHW).
  template <bool kStream = false, class TOut>
  void operator()(const T* row, TOut* out, std::int64_t pixel_stride) const {
    if (!channels_last) {
      weighted_row<kStream>(*xb, xt, row, out);
      return;
    }
    const std::int64_t c = g.c, ss_w = g.src_stride[4];
    const T* px[64];
    for (std::int64_t o = 0; o < xt.out; ++o) {
      const int n = xt.count[static_cast<std::size_t>(o)];
      for (int j = 0; j < n; ++j)
        px[j] = row + xt.index(o, j) * ss_w;
      combine<kStream>(px, &xt.w[static_cast<std::size_t>(o * xt.k)], n,
                       static_cast<std::size_t>(c), out + o * pixel_stride);
    }
  }
};

// One output row of a channels-last 2-D kind with at most two taps per dim (bilinear), each
// pixel straight from its source pixels: row_j = x[y_j, x_0] * w_0 (+ x[y_j, x_1] * w_1), then
// out = row_0 * h_0 (+ row_1 * h_1), the reference's operations in its order. Without row
// results in between, the source pixels stay in L1 and nothing but the output is written; a row
// result would cost a store and a reload per element, more than the second W pass it saves.
template <bool kStream, class T, class Acc>
void cl_two_tap_row(const kern::InterpGeometry& g, const TapTable<Acc>& xt, const T* const* rows,
                    const Acc* h, int cy, T* HWY_RESTRICT out) {
  const hn::ScalableTag<Acc> d;
  const std::size_t lanes = hn::Lanes(d);
  const auto c = static_cast<std::size_t>(g.c);
  const std::int64_t ss_w = g.src_stride[4], ds_w = g.dst_stride[4];
  const auto h0 = hn::Set(d, h[0]);
  const auto h1 = hn::Set(d, cy == 2 ? h[1] : Acc(0));
  for (std::int64_t o = 0; o < xt.out; ++o) {
    const int cx = xt.count[static_cast<std::size_t>(o)];
    const std::int64_t i0 = xt.index(o, 0) * ss_w, i1 = xt.index(o, cx == 2 ? 1 : 0) * ss_w;
    const Acc w0 = xt.weight(o, 0), w1 = cx == 2 ? xt.weight(o, 1) : Acc(0);
    const auto vw0 = hn::Set(d, w0), vw1 = hn::Set(d, w1);
    const T *a0 = rows[0] + i0, *a1 = rows[0] + i1;
    const T *b0 = rows[cy == 2 ? 1 : 0] + i0, *b1 = rows[cy == 2 ? 1 : 0] + i1;
    T* dst = out + o * ds_w;
    auto row_of = [&](const T* p0, const T* p1, std::size_t i) {
      auto r = hn::Mul(LoadAcc(d, p0 + i), vw0);
      return cx == 2 ? hn::Add(r, hn::Mul(LoadAcc(d, p1 + i), vw1)) : r;
    };
    std::size_t i = 0;
    for (; i + lanes <= c; i += lanes) {
      auto acc = hn::Mul(row_of(a0, a1, i), h0);
      if (cy == 2) acc = hn::Add(acc, hn::Mul(row_of(b0, b1, i), h1));
      StoreAcc<kStream>(d, acc, dst + i);
    }
    for (; i < c; ++i) {
      auto row_s = [&](const T* p0, const T* p1) {
        Acc r = kern::to_acc<Acc>(p0[i]) * w0;
        return cx == 2 ? r + kern::to_acc<Acc>(p1[i]) * w1 : r;
      };
      Acc acc = row_s(a0, a1) * h[0];
      if (cy == 2) acc = acc + row_s(b0, b1) * h[1];
      dst[i] = kern::from_acc<T>(acc);
    }
  }
}

// Weighted kinds, NCHW (W innermost in both tensors) or channels-last (C innermost in both).
template <class T>
void run_weighted(const Job<T>& job, const TapTable<kern::acc_t<T>>& zt,
                  const TapTable<kern::acc_t<T>>& yt, const TapTable<kern::acc_t<T>>& xt,
                  bool channels_last) {
  using Acc = kern::acc_t<T>;
  const kern::InterpGeometry& g = *job.g;
  const hn::ScalableTag<Acc> d;
  XBlocks<Acc> xb;
  if (!channels_last) {
    xb = make_blocks(xt, g.in[2], hn::Lanes(d), std::is_same_v<T, Acc>);
  }
  const RowPass<T, Acc> pass{g, xt, &xb, channels_last};
  // Row length of every buffer: out_W results, times C for channels-last.
  const std::int64_t unit_c = channels_last ? g.c : 1;
  const auto row_len = static_cast<std::size_t>(g.out[2] * unit_c);
  // Units: NCHW planes (n, c); channels-last images (n). Rows: output rows of a unit (H for 1-D
  // and 2-D kinds, D for 3-D kinds, whose tasks each cover whole D planes).
  const std::int64_t units = channels_last ? g.n : g.n * g.c;
  const std::int64_t rows = job.dims == 3 ? g.out[0] : g.out[1];
  const Tasks tasks = make_tasks(units, rows, job.threads);
  const int yslots = yt.k + 1, zslots = zt.k + 1;
  const bool two_tap_cl = channels_last && job.dims == 2 && xt.k <= 2 && yt.k <= 2;

  struct Scratch {
    RowCache<Acc> hcache;  // W-pass results by source row (2-D) or (z, y) (3-D)
    RowCache<Acc> vcache;  // 3-D: H-combined planes by source z
  };
  std::vector<std::unique_ptr<Scratch>> scratch(static_cast<std::size_t>(std::max(job.threads, 1)));
  const std::size_t vplane = job.dims == 3 ? row_len * static_cast<std::size_t>(g.out[1]) : 0;

  for_each_task(
      tasks, job.threads, [&](int worker, std::int64_t unit, std::int64_t r0, std::int64_t r1) {
        auto& s = scratch[static_cast<std::size_t>(worker)];
        if (!s) {
          s.reset(new Scratch{RowCache<Acc>(yslots, row_len),
                              RowCache<Acc>(job.dims == 3 ? zslots : 0, vplane)});
        }
        const std::int64_t n = channels_last ? unit : unit / g.c;
        const std::int64_t c = channels_last ? 0 : unit % g.c;
        const T* plane = job.src + n * g.src_stride[0] + c * g.src_stride[1];
        T* out_plane = job.dst + n * g.dst_stride[0] + c * g.dst_stride[1];

        const bool dense_out = !channels_last || g.dst_stride[4] == g.c;
        // Output row (od, oh): rows[0] * w[0] + ... of Acc rows (row_len each), converted into dst.
        auto emit = [&](std::int64_t od, std::int64_t oh, const Acc* const* rows_in, const Acc* w,
                        int count) {
          T* o = out_plane + od * g.dst_stride[2] + oh * g.dst_stride[3];
          if (dense_out) {
            if (job.stream) {
              combine<true>(rows_in, w, count, row_len, o);
            } else {
              combine(rows_in, w, count, row_len, o);
            }
            return;
          }
          const Acc* at[64];
          for (std::int64_t x = 0; x < g.out[2]; ++x) {
            for (int j = 0; j < count; ++j)
              at[j] = rows_in[j] + x * g.c;
            combine(at, w, count, static_cast<std::size_t>(g.c), o + x * g.dst_stride[4]);
          }
        };
        // The W pass of source row (z, y), through the cache. keep: rows the current output needs.
        auto hrow = [&](std::int64_t z, std::int64_t y, const std::int64_t* keep, int nkeep) {
          const std::int64_t key = z * g.in[1] + y;
          if (const Acc* hit = s->hcache.find(key)) return hit;
          Acc* slot = s->hcache.insert(key, keep, nkeep);
          pass(plane + z * g.src_stride[2] + y * g.src_stride[3], slot, unit_c);
          return static_cast<const Acc*>(slot);
        };
        // The W-pass rows that output row oh of source plane z combines; returns their count.
        auto hrows = [&](std::int64_t z, std::int64_t oh, const Acc** rows_out) {
          const int cy = yt.count[static_cast<std::size_t>(oh)];
          std::int64_t keys[64];
          for (int j = 0; j < cy; ++j)
            keys[j] = z * g.in[1] + yt.index(oh, j);
          for (int j = 0; j < cy; ++j)
            rows_out[j] = hrow(z, yt.index(oh, j), keys, cy);
          return cy;
        };

        s->hcache.clear();
        const Acc* rv[64];
        if (two_tap_cl) {
          for (std::int64_t oh = r0; oh < r1; ++oh) {
            const int cy = yt.count[static_cast<std::size_t>(oh)];
            const T* src_rows[2];
            for (int j = 0; j < cy; ++j)
              src_rows[j] = plane + yt.index(oh, j) * g.src_stride[3];
            const Acc* h = &yt.w[static_cast<std::size_t>(oh * yt.k)];
            T* o = out_plane + oh * g.dst_stride[3];
            if (job.stream) {
              cl_two_tap_row<true>(g, xt, src_rows, h, cy, o);
            } else {
              cl_two_tap_row<false>(g, xt, src_rows, h, cy, o);
            }
          }
        } else if (job.dims == 1) {
          for (std::int64_t oh = r0; oh < r1; ++oh)  // unit dims: a single row
            if (job.stream) {
              pass.template operator()<true>(plane, out_plane, g.dst_stride[4]);
            } else {
              pass(plane, out_plane, g.dst_stride[4]);
            }
        } else if (job.dims == 2) {
          for (std::int64_t oh = r0; oh < r1; ++oh) {
            const int cy = hrows(0, oh, rv);
            emit(0, oh, rv, &yt.w[static_cast<std::size_t>(oh * yt.k)], cy);
          }
        } else {
          s->vcache.clear();
          for (std::int64_t od = r0; od < r1; ++od) {
            const int cz = zt.count[static_cast<std::size_t>(od)];
            std::int64_t zkeys[64];
            const Acc* planes[64];
            for (int j = 0; j < cz; ++j)
              zkeys[j] = zt.index(od, j);
            for (int j = 0; j < cz; ++j) {
              const std::int64_t z = zt.index(od, j);
              const Acc* hit = s->vcache.find(z);
              if (hit == nullptr) {
                Acc* slot = s->vcache.insert(z, zkeys, cz);
                s->hcache.clear();
                for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
                  const int cy = hrows(z, oh, rv);
                  combine(rv, &yt.w[static_cast<std::size_t>(oh * yt.k)], cy, row_len,
                          slot + static_cast<std::size_t>(oh) * row_len);
                }
                hit = slot;
              }
              planes[j] = hit;
            }
            for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
              const Acc* at[64];
              for (int j = 0; j < cz; ++j)
                at[j] = planes[j] + static_cast<std::size_t>(oh) * row_len;
              emit(od, oh, at, &zt.w[static_cast<std::size_t>(od * zt.k)], cz);
            }
          }
        }
      });
}

// PyTorch's small-output 2-D bilinear kernel: x00 * w00 + x01 * w01 + x10 * w10 + x11 * w11
// with wab = wy_a * wx_b, which does not separate into row passes.
template <class T>
void run_bilinear_small(const Job<T>& job, const TapTable<kern::acc_t<T>>& yt,
                        const TapTable<kern::acc_t<T>>& xt, bool channels_last) {
  using Acc = kern::acc_t<T>;
  const kern::InterpGeometry& g = *job.g;
  const hn::ScalableTag<Acc> d;
  const std::size_t lanes = hn::Lanes(d);
  XBlocks<Acc> xb;
  if (!channels_last) xb = make_blocks(xt, g.in[2], lanes, std::is_same_v<T, Acc>);
  const std::int64_t units = channels_last ? g.n : g.n * g.c;
  const Tasks tasks = make_tasks(units, g.out[1], job.threads);
  // One output row, written straight into dst (streaming when kStream).
  auto row = [&](auto stream_tag, const T* plane, T* out_plane, std::int64_t oh) {
    constexpr bool kStream = decltype(stream_tag)::value;
    const T* r[2] = {plane + yt.index(oh, 0) * g.src_stride[3],
                     plane + yt.index(oh, 1) * g.src_stride[3]};
    const Acc wy[2] = {yt.weight(oh, 0), yt.weight(oh, 1)};
    T* o = out_plane + oh * g.dst_stride[3];
    auto scalar = [&](std::int64_t w) {
      Acc v = kern::to_acc<Acc>(r[0][xt.index(w, 0)]) * (wy[0] * xt.weight(w, 0));
      v += kern::to_acc<Acc>(r[0][xt.index(w, 1)]) * (wy[0] * xt.weight(w, 1));
      v += kern::to_acc<Acc>(r[1][xt.index(w, 0)]) * (wy[1] * xt.weight(w, 0));
      v += kern::to_acc<Acc>(r[1][xt.index(w, 1)]) * (wy[1] * xt.weight(w, 1));
      o[w] = kern::from_acc<T>(v);
    };
    if (channels_last) {
      for (std::int64_t w = 0; w < g.out[2]; ++w) {
        const T* px[4] = {
            r[0] + xt.index(w, 0) * g.src_stride[4], r[0] + xt.index(w, 1) * g.src_stride[4],
            r[1] + xt.index(w, 0) * g.src_stride[4], r[1] + xt.index(w, 1) * g.src_stride[4]};
        const Acc wx[4] = {wy[0] * xt.weight(w, 0), wy[0] * xt.weight(w, 1),
                           wy[1] * xt.weight(w, 0), wy[1] * xt.weight(w, 1)};
        combine<kStream>(px, wx, 4, static_cast<std::size_t>(g.c), o + w * g.dst_stride[4]);
      }
      return;
    }
    const std::size_t k = 2;
    for (std::int64_t b = 0; b < xb.blocks; ++b) {
      const auto ub = static_cast<std::size_t>(b);
      const std::int64_t o0 = b * static_cast<std::int64_t>(lanes);
      const std::size_t m = b + 1 == xb.blocks ? xb.tail : lanes;
      if (!xb.vector[ub]) {
        for (std::size_t l = 0; l < m; ++l)
          scalar(o0 + static_cast<std::int64_t>(l));
        continue;
      }
      const auto wx0 = hn::LoadU(d, &xb.weight[(ub * k) * lanes]);
      const auto wx1 = hn::LoadU(d, &xb.weight[(ub * k + 1) * lanes]);
      const auto wy0 = hn::Set(d, wy[0]), wy1 = hn::Set(d, wy[1]);
      auto v = hn::Mul(load_tap(d, r[0], xb, ub * k), hn::Mul(wy0, wx0));
      v = hn::Add(v, hn::Mul(load_tap(d, r[0], xb, ub * k + 1), hn::Mul(wy0, wx1)));
      v = hn::Add(v, hn::Mul(load_tap(d, r[1], xb, ub * k), hn::Mul(wy1, wx0)));
      v = hn::Add(v, hn::Mul(load_tap(d, r[1], xb, ub * k + 1), hn::Mul(wy1, wx1)));
      if (m == lanes) {
        StoreAcc<kStream>(d, v, o + o0);
      } else {
        StoreAccN(d, v, o + o0, m);
      }
    }
  };
  for_each_task(tasks, job.threads, [&](int, std::int64_t unit, std::int64_t r0, std::int64_t r1) {
    const std::int64_t n = channels_last ? unit : unit / g.c;
    const std::int64_t c = channels_last ? 0 : unit % g.c;
    const T* plane = job.src + n * g.src_stride[0] + c * g.src_stride[1];
    T* out_plane = job.dst + n * g.dst_stride[0] + c * g.dst_stride[1];
    for (std::int64_t oh = r0; oh < r1; ++oh) {
      if (job.stream) {
        row(std::true_type(), plane, out_plane, oh);
      } else {
        row(std::false_type(), plane, out_plane, oh);
      }
    }
  });
}

// ---- area --------------------------------------------------------------------------------------

// v / count. Dividing by 1 changes nothing and dividing by a power of two equals multiplying by
// its (exact) reciprocal, both correctly rounded to the same value; only other counts need the
// slower division.
template <class D>
HWY_INLINE hn::Vec<D> divide(D d, hn::Vec<D> v, hn::TFromD<D> count) {
  using Acc = hn::TFromD<D>;
  if (count == Acc(1)) return v;
  const auto c = static_cast<std::uint64_t>(count);
  if ((c & (c - 1)) == 0) return hn::Mul(v, hn::Set(d, Acc(1) / count));
  return hn::Div(v, hn::Set(d, count));
}

// Sums every window in (d, h, w) order from 0, then divides by the D, H and W counts in turn.
template <class T>
void run_area(const Job<T>& job, const TapTable<kern::acc_t<T>>& zt,
              const TapTable<kern::acc_t<T>>& yt, const TapTable<kern::acc_t<T>>& xt,
              bool channels_last) {
  using Acc = kern::acc_t<T>;
  const kern::InterpGeometry& g = *job.g;
  const hn::ScalableTag<Acc> d;
  const std::size_t lanes = hn::Lanes(d);
  XBlocks<Acc> xb;
  if (!channels_last) xb = make_blocks(xt, g.in[2], lanes, std::is_same_v<T, Acc>);
  const std::int64_t units = channels_last ? g.n : g.n * g.c;
  const std::int64_t rows = g.out[0] * g.out[1];
  const Tasks tasks = make_tasks(units, rows, job.threads);
  const std::int64_t cc = channels_last ? g.c : 1;  // elements per output pixel
  const auto row_len = static_cast<std::size_t>(g.out[2] * cc);
  const bool dense_out = !channels_last || g.dst_stride[4] == g.c;
  struct Scratch {
    std::vector<Acc> buf;  // one output row
    std::vector<const T*> srows;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(std::max(job.threads, 1)));
  // The source rows of output row r: its D window times its H window, in summation order.
  auto source_rows = [&](const T* plane, std::int64_t r, std::vector<const T*>* srows) {
    const std::int64_t od = r / g.out[1], oh = r % g.out[1];
    srows->clear();
    for (int a = 0; a < zt.count[static_cast<std::size_t>(od)]; ++a) {
      for (int b = 0; b < yt.count[static_cast<std::size_t>(oh)]; ++b)
        srows->push_back(plane + zt.index(od, a) * g.src_stride[2] +
                         yt.index(oh, b) * g.src_stride[3]);
    }
  };
  // Output rows whose D and H windows are the same hold the same values.
  auto same_windows = [&](std::int64_t r, std::int64_t q) {
    const auto od = static_cast<std::size_t>(r / g.out[1]),
               oh = static_cast<std::size_t>(r % g.out[1]);
    const auto qd = static_cast<std::size_t>(q / g.out[1]),
               qh = static_cast<std::size_t>(q % g.out[1]);
    return zt.count[od] == zt.count[qd] &&
           zt.idx[od * static_cast<std::size_t>(zt.k)] ==
               zt.idx[qd * static_cast<std::size_t>(zt.k)] &&
           yt.count[oh] == yt.count[qh] &&
           yt.idx[oh * static_cast<std::size_t>(yt.k)] ==
               yt.idx[qh * static_cast<std::size_t>(yt.k)];
  };
  for_each_task(
      tasks, job.threads, [&](int worker, std::int64_t unit, std::int64_t r0, std::int64_t r1) {
        Scratch& sc = scratch[static_cast<std::size_t>(worker)];
        sc.buf.resize(row_len);
        std::vector<Acc>& buf = sc.buf;
        std::vector<const T*>& srows = sc.srows;
        const std::int64_t n = channels_last ? unit : unit / g.c;
        const std::int64_t c = channels_last ? 0 : unit % g.c;
        const T* plane = job.src + n * g.src_stride[0] + c * g.src_stride[1];
        T* out_plane = job.dst + n * g.dst_stride[0] + c * g.dst_stride[1];
        for (std::int64_t r = r0; r < r1;) {
          source_rows(plane, r, &srows);
          const std::int64_t od = r / g.out[1], oh = r % g.out[1];
          const Acc cd = static_cast<Acc>(zt.count[static_cast<std::size_t>(od)]);
          const Acc ch = static_cast<Acc>(yt.count[static_cast<std::size_t>(oh)]);
          if (channels_last) {
            const auto run = static_cast<std::size_t>(g.c);
            for (std::int64_t w = 0; w < g.out[2]; ++w) {
              const int cw = xt.count[static_cast<std::size_t>(w)];
              Acc* px = &buf[static_cast<std::size_t>(w * g.c)];
              std::size_t i = 0;
              for (; i + lanes <= run; i += lanes) {
                auto sum = hn::Zero(d);
                for (const T* sr : srows) {
                  for (int j = 0; j < cw; ++j)
                    sum = hn::Add(sum, LoadAcc(d, sr + xt.index(w, j) * g.src_stride[4] + i));
                }
                sum = divide(d, divide(d, divide(d, sum, cd), ch), static_cast<Acc>(cw));
                hn::StoreU(sum, d, px + i);
              }
              for (; i < run; ++i) {
                Acc sum = Acc(0);
                for (const T* sr : srows) {
                  for (int j = 0; j < cw; ++j)
                    sum += kern::to_acc<Acc>(
                        sr[xt.index(w, j) * g.src_stride[4] + static_cast<std::int64_t>(i)]);
                }
                px[i] = sum / cd / ch / static_cast<Acc>(cw);
              }
            }
          } else {
            const std::size_t k = static_cast<std::size_t>(xb.k);
            for (std::int64_t b = 0; b < xb.blocks; ++b) {
              const auto ub = static_cast<std::size_t>(b);
              const std::int64_t o0 = b * static_cast<std::int64_t>(lanes);
              const std::size_t m = b + 1 == xb.blocks ? xb.tail : lanes;
              if (!xb.vector[ub]) {
                for (std::size_t l = 0; l < m; ++l) {
                  const std::int64_t w = o0 + static_cast<std::int64_t>(l);
                  const int cw = xt.count[static_cast<std::size_t>(w)];
                  Acc sum = Acc(0);
                  for (const T* sr : srows) {
                    for (int j = 0; j < cw; ++j)
                      sum += kern::to_acc<Acc>(sr[xt.index(w, j)]);
                  }
                  buf[static_cast<std::size_t>(w)] = sum / cd / ch / static_cast<Acc>(cw);
                }
                continue;
              }
              auto sum = hn::Zero(d);
              for (const T* sr : srows) {
                for (std::size_t j = 0; j < k; ++j) {
                  const auto x = load_tap(d, sr, xb, ub * k + j);
                  if (xb.uniform[ub]) {
                    sum = hn::Add(sum, x);
                  } else {
                    const auto on =
                        hn::Ne(hn::LoadU(d, &xb.active[(ub * k + j) * lanes]), hn::Zero(d));
                    sum = hn::IfThenElse(on, hn::Add(sum, x), sum);
                  }
                }
              }
              sum = divide(d, divide(d, sum, cd), ch);
              if (xb.uniform[ub]) {
                sum = divide(d, sum, static_cast<Acc>(k));
              } else {
                // The W count of every lane: the number of taps it uses.
                auto cw = hn::Zero(d);
                for (std::size_t j = 0; j < k; ++j)
                  cw = hn::Add(cw, hn::LoadU(d, &xb.active[(ub * k + j) * lanes]));
                sum = hn::Div(sum, cw);
              }
              if (m == lanes) {
                hn::StoreU(sum, d, &buf[static_cast<std::size_t>(o0)]);
              } else {
                StoreAccN(d, sum, &buf[static_cast<std::size_t>(o0)], m);
              }
            }
          }
          // Store the row to r and to every following row of the task with the same windows.
          const std::int64_t first = r;
          for (; r < r1 && (r == first || same_windows(first, r)); ++r) {
            T* o = out_plane + (r / g.out[1]) * g.dst_stride[2] + (r % g.out[1]) * g.dst_stride[3];
            if (dense_out) {
              if (job.stream) {
                store_run<true>(buf.data(), row_len, o);
              } else {
                store_run(buf.data(), row_len, o);
              }
            } else {
              for (std::int64_t w = 0; w < g.out[2]; ++w)
                store_run(&buf[static_cast<std::size_t>(w * g.c)], static_cast<std::size_t>(g.c),
                          o + w * g.dst_stride[4]);
            }
          }
        }
      });
}

// ---- nearest -----------------------------------------------------------------------------------

// The unsigned lanes x, or the bits of x + 0 in their float view when kAddZero.
template <bool kAddZero, class DU>
HWY_INLINE hn::Vec<DU> add_zero(DU du, hn::Vec<DU> x) {
  if constexpr (kAddZero && sizeof(hn::TFromD<DU>) >= 4) {
    const hn::RebindToFloat<DU> df;
    return hn::BitCast(du, hn::Add(hn::BitCast(df, x), hn::Zero(df)));
  } else {
    return x;
  }
}

// Copies n elements of U, with streaming stores when kStream (see StoreVec).
template <bool kStream, class U>
void copy_run(const U* HWY_RESTRICT src, U* HWY_RESTRICT dst, std::int64_t n) {
  if constexpr (!kStream) {
    std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(U));
  } else {
    const hn::ScalableTag<U> du;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(du));
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes)
      StoreVec<true>(du, hn::LoadU(du, src + i), dst + i);
    for (; i < n; ++i)
      dst[i] = src[i];
  }
}

// dst[w] = src[idx[w]] along a contiguous row, for every destination row in dsts[0, ndst) (output
// rows that read the same source row), for elements moved as U (an unsigned type of the
// element's size). Each vector is made once and stored to every destination. Copies, doubling
// rows (idx[w] == w / 2) and, for 4- and 8-byte elements, any upscaling pattern (lane
// permutations of one load, `blocks`) are vectorised.
//
// kAddZero (4- and 8-byte floats) stores x + 0 instead of x: the single-element windows of area
// (adaptive average) sum from +0, which turns -0 into +0 and quiets signalling NaNs.
template <bool kStream, bool kAddZero, class U>
void nearest_rows(const TapTable<float>& xt, bool dup2, bool copy,
                  const XBlocks<hwy::FloatFromSize<(sizeof(U) >= 4 ? sizeof(U) : 4)>>* blocks,
                  const U* HWY_RESTRICT src, U* const* dsts, int ndst) {
  const std::int64_t out = xt.out;
  const std::int64_t* idx = xt.idx.data();
  std::int64_t w = 0;
  if (copy) {
    const hn::ScalableTag<U> du;
    const auto n = static_cast<std::int64_t>(hn::Lanes(du));
    for (; w + n <= out; w += n) {
      const auto x = add_zero<kAddZero>(du, hn::LoadU(du, src + w));
      for (int k = 0; k < ndst; ++k)
        StoreVec<kStream>(du, x, dsts[k] + w);
    }
  } else if (dup2) {
    if constexpr (sizeof(U) <= 4) {
      // Each element becomes a lane of twice the width holding it twice.
      using W = hwy::UnsignedFromSize<2 * sizeof(U)>;
      const hn::ScalableTag<W> dw;
      const hn::Rebind<U, decltype(dw)> du;
      const auto n = static_cast<std::int64_t>(hn::Lanes(dw));
      for (; w + 2 * n <= out; w += 2 * n) {
        const auto x = hn::PromoteTo(dw, add_zero<kAddZero>(du, hn::LoadU(du, src + w / 2)));
        const auto y = hn::Or(x, hn::ShiftLeft<8 * sizeof(U)>(x));
        for (int k = 0; k < ndst; ++k)
          StoreVec<kStream>(dw, y, reinterpret_cast<W*>(dsts[k] + w));
      }
    }
  } else if constexpr (sizeof(U) >= 4) {
    // Permutes and gathers move bits; the float view of the lanes does no arithmetic.
    using F = hwy::FloatFromSize<sizeof(U)>;
    const hn::ScalableTag<F> df;
    const auto n = static_cast<std::int64_t>(hn::Lanes(df));
    const F* fsrc = reinterpret_cast<const F*>(src);
    for (std::int64_t b = 0; b < blocks->blocks; ++b) {
      if (!blocks->vector[static_cast<std::size_t>(b)]) break;
      auto x = load_tap(df, fsrc, *blocks, static_cast<std::size_t>(b));
      if constexpr (kAddZero) x = hn::Add(x, hn::Zero(df));
      const auto m =
          static_cast<std::int64_t>(b + 1 == blocks->blocks ? blocks->tail : hn::Lanes(df));
      for (int k = 0; k < ndst; ++k) {
        if (m == n) {
          StoreVec<kStream>(df, x, reinterpret_cast<F*>(dsts[k] + w));
        } else {
          StoreAccN(df, x, reinterpret_cast<F*>(dsts[k] + w), static_cast<std::size_t>(m));
        }
      }
      w += m;
    }
  }
  for (; w < out; ++w) {
    U v = src[idx[w]];
    if constexpr (kAddZero) {
      using F = hwy::FloatFromSize<sizeof(U)>;
      F f;
      std::memcpy(&f, &v, sizeof(U));
      f = f + F(0);
      std::memcpy(&v, &f, sizeof(U));
    }
    for (int k = 0; k < ndst; ++k)
      dsts[k][w] = v;
  }
}

template <class U, bool kAddZero = false>
void run_nearest(const kern::InterpGeometry& g, const U* src, U* dst, int threads,
                 const TapTable<float>& zt, const TapTable<float>& yt, const TapTable<float>& xt,
                 bool channels_last) {
  bool dup2 = xt.out > 0, copy = g.in[2] == g.out[2];
  for (std::int64_t w = 0; w < xt.out; ++w) {
    dup2 = dup2 && xt.idx[static_cast<std::size_t>(w)] == w / 2;
    copy = copy && xt.idx[static_cast<std::size_t>(w)] == w;
  }
  using F = hwy::FloatFromSize<(sizeof(U) >= 4 ? sizeof(U) : 4)>;
  XBlocks<F> blocks;
  if (!channels_last && sizeof(U) >= 4) {
    TapTable<F> xf;
    xf.out = xt.out;
    xf.idx = xt.idx;
    xf.count.assign(static_cast<std::size_t>(xt.out), 1);
    blocks = make_blocks(xf, g.in[2], hn::Lanes(hn::ScalableTag<F>()), true);
  }
  const std::int64_t units = channels_last ? g.n : g.n * g.c;
  const std::int64_t rows = g.out[0] * g.out[1];
  const Tasks tasks = make_tasks(units, rows, threads);
  const std::int64_t row_elems = channels_last ? g.out[2] * g.c : g.out[2];
  const bool stream =
      static_cast<std::size_t>(units * rows * row_elems) * sizeof(U) >= kStreamBytes;
  for_each_task(tasks, threads, [&](int, std::int64_t unit, std::int64_t r0, std::int64_t r1) {
    const std::int64_t n = channels_last ? unit : unit / g.c;
    const std::int64_t c = channels_last ? 0 : unit % g.c;
    const U* plane = src + n * g.src_stride[0] + c * g.src_stride[1];
    U* out_plane = dst + n * g.dst_stride[0] + c * g.dst_stride[1];
    constexpr int kGroup = 16;
    for (std::int64_t r = r0; r < r1;) {
      // The run of output rows [r, r + ndst) that read the same source row.
      U* dsts[kGroup];
      std::int64_t key = -1;
      const U* s = nullptr;
      int ndst = 0;
      for (; r < r1 && ndst < kGroup; ++r, ++ndst) {
        const std::int64_t od = r / g.out[1], oh = r % g.out[1];
        const std::int64_t iz = zt.idx[static_cast<std::size_t>(od)];
        const std::int64_t iy = yt.idx[static_cast<std::size_t>(oh)];
        const std::int64_t k = iz * g.in[1] + iy;
        if (ndst > 0 && k != key) break;
        key = k;
        s = plane + iz * g.src_stride[2] + iy * g.src_stride[3];
        dsts[ndst] = out_plane + od * g.dst_stride[2] + oh * g.dst_stride[3];
      }
      if (channels_last) {
        for (std::int64_t w = 0; w < g.out[2]; ++w) {
          const U* from = s + xt.idx[static_cast<std::size_t>(w)] * g.src_stride[4];
          for (int k = 0; k < ndst; ++k) {
            if (stream) {
              copy_run<true>(from, dsts[k] + w * g.dst_stride[4], g.c);
            } else {
              copy_run<false>(from, dsts[k] + w * g.dst_stride[4], g.c);
            }
          }
        }
      } else if (stream) {
        nearest_rows<true, kAddZero>(xt, dup2, copy, &blocks, s, dsts, ndst);
      } else {
        nearest_rows<false, kAddZero>(xt, dup2, copy, &blocks, s, dsts, ndst);
      }
    }
  });
}

// ---- dispatch ----------------------------------------------------------------------------------

// Which fast layout applies: W innermost in both tensors, C innermost in both, or neither.
enum class Layout { kRows, kChannelsLast, kOther };

inline Layout layout_of(const kern::InterpGeometry& g) {
  if (g.src_stride[4] == 1 && g.dst_stride[4] == 1 && !g.dst_channels_last) return Layout::kRows;
  if (g.src_stride[1] == 1 && g.dst_stride[1] == 1 && g.dst_channels_last) {
    return Layout::kChannelsLast;
  }
  if (g.src_stride[4] == 1 && g.dst_stride[4] == 1) return Layout::kRows;
  return Layout::kOther;
}

// NCHW planes whose outputs rows are too short to fill vectors, in tensors whose (D, H, W) planes
// are dense in both: each plane can then run as one flat row of out_D * out_H * out_W outputs,
// whose taps are flat indices into the input plane, so that vectors span output rows.
inline bool flat_planes(const kern::InterpGeometry& g, std::size_t lanes) {
  if (g.dst_channels_last) return false;
  const std::int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const bool src_dense = g.src_stride[4] == 1 && g.src_stride[3] == g.in[2] &&
                         (g.in[0] == 1 || g.src_stride[2] == g.in[1] * g.in[2]);
  const bool dst_dense = g.dst_stride[4] == 1 && g.dst_stride[3] == g.out[2] &&
                         (g.out[0] == 1 || g.dst_stride[2] == g.out[1] * g.out[2]);
  // Upscaling keeps every block's taps within a vector of one source row (permutes); spread
  // taps would need gathers, which lose to row-by-row vectors on short rows.
  const bool upscale = g.out[2] >= g.in[2] && g.out[1] >= g.in[1] && g.out[0] >= g.in[0];
  return src_dense && dst_dense && upscale && g.out[2] < static_cast<std::int64_t>(2 * lanes) &&
         g.out[0] * g.out[1] > 1 && out_plane <= 16384 && in_plane < INT32_MAX;
}

// The geometry of flat_planes: every plane a row of its elements.
inline kern::InterpGeometry flat_geometry(const kern::InterpGeometry& g) {
  kern::InterpGeometry f = g;
  f.in[2] = g.in[0] * g.in[1] * g.in[2];
  f.out[2] = g.out[0] * g.out[1] * g.out[2];
  for (int d = 0; d < 2; ++d) {
    f.in[d] = f.out[d] = 1;
    f.src_stride[2 + d] = f.dst_stride[2 + d] = 0;
  }
  f.src_stride[4] = f.dst_stride[4] = 1;
  return f;
}

template <InterpKind K, class T>
bool run_fast(const InterpolatePlan& plan, const void* src_v, void* dst_v, int threads) {
  using Acc = kern::acc_t<T>;
  const kern::InterpGeometry& g = plan.geometry;
  const Layout layout = layout_of(g);
  if (layout == Layout::kOther) return false;
  const bool cl = layout == Layout::kChannelsLast;
  const auto p = kern::make_interp_params<Acc>(g, plan.user_scale, plan.align_corners);
  const T* src = static_cast<const T*>(src_v);
  T* dst = static_cast<T*>(dst_v);
  const bool stream = static_cast<std::size_t>(plan.total) * sizeof(T) >= kStreamBytes;
  Job<T> job{&g, src, dst, 1, threads, stream};

  if constexpr (K == InterpKind::kNearest || K == InterpKind::kNearestExact) {
    const auto zt = kern::nearest_table<K>(p, 0), yt = kern::nearest_table<K>(p, 1),
               xt = kern::nearest_table<K>(p, 2);
    // The tables hold indices only; their weight type does not matter here.
    kern::TapTable<float> z2, y2, x2;
    z2.out = zt.out;
    z2.idx = zt.idx;
    y2.out = yt.out;
    y2.idx = yt.idx;
    x2.out = xt.out;
    x2.idx = xt.idx;
    using U = hwy::UnsignedFromSize<sizeof(T)>;
    if (!cl && flat_planes(g, hn::Lanes(hn::ScalableTag<float>()))) {
      const kern::InterpGeometry f = flat_geometry(g);
      kern::TapTable<float> unit, flat;
      unit.out = 1;
      unit.idx = {0};
      flat.out = f.out[2];
      flat.idx.reserve(static_cast<std::size_t>(flat.out));
      for (std::int64_t od = 0; od < g.out[0]; ++od) {
        for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
          for (std::int64_t ow = 0; ow < g.out[2]; ++ow) {
            flat.idx.push_back((zt.idx[static_cast<std::size_t>(od)] * g.in[1] +
                                yt.idx[static_cast<std::size_t>(oh)]) *
                                   g.in[2] +
                               xt.idx[static_cast<std::size_t>(ow)]);
          }
        }
      }
      run_nearest<U>(f, reinterpret_cast<const U*>(src), reinterpret_cast<U*>(dst), threads, unit,
                     unit, flat, false);
      return true;
    }
    run_nearest<U>(g, reinterpret_cast<const U*>(src), reinterpret_cast<U*>(dst), threads, z2, y2,
                   x2, cl);
    return true;
  } else if constexpr (K == InterpKind::kArea) {
    if (kern::IsHalfLike<T>::value && p.area_sum_in_element_type) return false;
    const auto zt = kern::area_table(p, 0), yt = kern::area_table(p, 1),
               xt = kern::area_table(p, 2);
    if constexpr (std::is_floating_point_v<T>) {
      // Integer upscaling: every window is one element, whose average is 0 + x, which the
      // nearest rows produce (doubling, copies and permutes) with kAddZero.
      const auto single = [](const kern::TapTable<Acc>& t) {
        return t.k == 1 &&
               std::all_of(t.count.begin(), t.count.end(), [](int c) { return c == 1; });
      };
      if (!cl && single(zt) && single(yt) && single(xt)) {
        kern::TapTable<float> z2, y2, x2;
        z2.out = zt.out;
        z2.idx = zt.idx;
        y2.out = yt.out;
        y2.idx = yt.idx;
        x2.out = xt.out;
        x2.idx = xt.idx;
        using U = hwy::UnsignedFromSize<sizeof(T)>;
        run_nearest<U, true>(g, reinterpret_cast<const U*>(src), reinterpret_cast<U*>(dst), threads,
                             z2, y2, x2, false);
        return true;
      }
    }
    run_area(job, zt, yt, xt, cl);
    return true;
  } else {
    if constexpr (K == InterpKind::kBilinear) {
      if (p.small_2d_output) {
        const auto yt = kern::linear_table<T>(p, 1, false), xt = kern::linear_table<T>(p, 2, false);
        if (!cl && flat_planes(g, hn::Lanes(hn::ScalableTag<Acc>()))) {
          // x00 * w00 + x01 * w01 + x10 * w10 + x11 * w11 as a four-tap row over the plane,
          // with wab = wy_a * wx_b formed as the per-element body forms it.
          const kern::InterpGeometry f = flat_geometry(g);
          kern::TapTable<Acc> unit, flat;
          flat.out = f.out[2];
          flat.k = 4;
          flat.count.assign(static_cast<std::size_t>(flat.out), 4);
          for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
            for (std::int64_t ow = 0; ow < g.out[2]; ++ow) {
              for (int a = 0; a < 2; ++a) {
                for (int b = 0; b < 2; ++b) {
                  flat.idx.push_back(yt.index(oh, a) * g.in[2] + xt.index(ow, b));
                  flat.w.push_back(yt.weight(oh, a) * xt.weight(ow, b));
                }
              }
            }
          }
          job.g = &f;
          job.dims = 1;
          run_weighted(job, unit, unit, flat, false);
          return true;
        }
        run_bilinear_small(job, yt, xt, cl);
        return true;
      }
    }
    kern::TapTable<Acc> zt, yt, xt;
    if constexpr (K == InterpKind::kLinear) {
      job.dims = 1;
      xt = kern::linear_table<T>(p, 2, true);
    } else if constexpr (K == InterpKind::kBilinear) {
      job.dims = 2;
      yt = kern::linear_table<T>(p, 1, true);
      xt = kern::linear_table<T>(p, 2, true);
    } else if constexpr (K == InterpKind::kTrilinear) {
      job.dims = 3;
      zt = kern::linear_table<T>(p, 0, true);
      yt = kern::linear_table<T>(p, 1, true);
      xt = kern::linear_table<T>(p, 2, true);
    } else if constexpr (K == InterpKind::kBicubic) {
      job.dims = 2;
      yt = kern::cubic_table<T>(p, 1);
      xt = kern::cubic_table<T>(p, 2);
    } else {
      job.dims = 2;
      constexpr bool kCubic = K == InterpKind::kAaBicubic;
      yt = kern::aa_table(p, 1, kCubic);
      xt = kern::aa_table(p, 2, kCubic);
    }
    // The row passes hold the taps of an output in fixed arrays of 64.
    if (xt.k > 64 || yt.k > 64 || zt.k > 64) return false;
    run_weighted(job, zt, yt, xt, cl);
    return true;
  }
}

void RunInterpolate(const InterpolatePlan& plan, const void* src, void* dst, int threads) {
  bool done = false;
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    done = run_fast<K, T>(plan, src, dst, threads);
  });
  if (!done) interpolate_cpu_reference(plan, src, dst, threads);
}

// Nearest copies through caller-built tables (the resampling engine's nearest plans over
// N, C and 1 to 3 spatial dims): the same row kernels as interpolate's nearest modes. Returns
// false, doing nothing, where those kernels do not apply (neither W nor C innermost in both).
bool RunNearestTables(const kern::InterpGeometry& g, std::size_t elem, const void* src, void* dst,
                      int threads, const std::vector<std::int64_t>* idx) {
  const Layout layout = layout_of(g);
  if (layout == Layout::kOther) return false;
  kern::TapTable<float> t[3];
  for (int d = 0; d < 3; ++d) {
    t[d].out = g.out[d];
    t[d].idx = idx[d];
  }
  const bool cl = layout == Layout::kChannelsLast;
  auto run = [&](auto tag) {
    using U = decltype(tag);
    run_nearest<U>(g, static_cast<const U*>(src), static_cast<U*>(dst), threads, t[0], t[1], t[2],
                   cl);
  };
  switch (elem) {
    case 1:
      run(std::uint8_t{});
      break;
    case 2:
      run(std::uint16_t{});
      break;
    case 4:
      run(std::uint32_t{});
      break;
    default:
      run(std::uint64_t{});
      break;
  }
  return true;
}

}  // namespace HWY_NAMESPACE
}  // namespace detail
}  // namespace ups
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ups {
namespace detail {

HWY_EXPORT(RunInterpolate);
HWY_EXPORT(RunNearestTables);

bool nearest_tables_cpu(const kern::InterpGeometry& g, std::size_t elem_size, const void* src,
                        void* dst, int threads, const std::vector<std::int64_t>* idx) {
  return HWY_DYNAMIC_DISPATCH(RunNearestTables)(g, elem_size, src, dst, threads, idx);
}

void interpolate_cpu(const InterpolatePlan& plan, const void* src, void* dst, int threads) {
  if (plan.total == 0) return;
  HWY_DYNAMIC_DISPATCH(RunInterpolate)(plan, src, dst, threads);
}

// The reference: the per-element body at every output, walking the output a row at a time (a
// run of the innermost dim in iteration order) so that only one coordinate changes per element.
void interpolate_cpu_reference(const InterpolatePlan& plan, const void* src, void* dst,
                               int threads) {
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr kern::InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    const auto params = kern::make_interp_params<kern::acc_t<T>>(plan.geometry, plan.user_scale,
                                                                 plan.align_corners);
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    const bool channels_last = params.g.dst_channels_last;
    const std::int64_t row = channels_last ? params.g.c : params.g.out[2];
    parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
      const auto p = params;
      for (std::int64_t i = begin; i < end;) {
        kern::Coord5 o = kern::unravel_output(p.g, i);
        const std::int64_t first = channels_last ? o.c : o.w;
        const std::int64_t last = std::min(row, first + (end - i));
        for (std::int64_t x = first; x < last; ++x) {
          (channels_last ? o.c : o.w) = x;
          kern::interp_element_at<K, T>(p, s, d, o);
        }
        i += last - first;
      }
    });
  });
}

}  // namespace detail
}  // namespace ups
#endif  // HWY_ONCE
