// CPU backend of ups::interpolate_backward: gathers over the transposed tap tables of
// kernels/interpolate/interp_backward.hpp, with SIMD (Highway, dispatched at run time to the best
// target the CPU supports).
//
// grad_input[z, y, x] = sum_od wz * (sum_oh wy * (sum_ow wx * grad_output[od, oh, ow])), each
// sum over a transposed table's list in increasing output order, from 0, and a dim whose table
// is the identity passing its value through. The CUDA kernel forms the same sums in the same
// order (kernels/interpolate/interpolate_backward.cu). Here:
//  - the W level of grad_output row (od, oh) is a row of in_W sums (a "W row"), the H level of
//    plane od combines W rows into in_H rows, the D level combines those planes;
//  - a vector lane holds one grad_input element, so SIMD never reorders an element's sum: every
//    term is a separate multiply and add (the CPU sources are compiled with -ffp-contract=off,
//    and the vector code calls Mul and Add), from a zero accumulator, in list order;
//  - f16/bf16 convert to f32 with the integer-exact conversions of hd.hpp (simd_convert-inl.h).
// So every element has the bits of the per-element formula, whatever the layout, target or
// thread count (tests/cpu/test_interpolate_backward_fast.cpp holds the paths to it).
//
// Work: a task is a band of rows of one (N, C) plane, or of one image for channels-last tensors
// (C innermost in both), whose rows are then in_W pixels of C values. The W rows a band needs
// are computed once each, a few at a time, into a ring of recent rows (the H lists of
// consecutive rows overlap), and the H level goes straight into grad_input (streaming stores
// when grad_input is far larger than the caches); 3-D kinds keep a ring of H-level planes the
// same way. Nothing is as large as a whole plane of W rows, so the passes run in cache.
//
// The W level, along a row (vectorised over inputs x, or over (x, c) for channels-last tensors
// with fewer channels than lanes): a plan per call lays out blocks of one vector of consecutive
// inputs, each with one load per list position ("slot") whose lane indices are contiguous,
// stride 2 (integer upscaling by 2), within one vector (downscaling: a permutation) or anything
// else (a gather); inputs at the row's ends whose lists do not fit are summed one at a time.
// Consecutive blocks that differ only by an offset form runs, whose weights stay in registers.
// With channels-last tensors of at least one vector of channels, the W level instead runs along
// C, two rows at a time: each pixel's channels are contiguous in every tap.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/parallel.hpp"
#include "interpolate/interp_backward.hpp"
#include "interpolate_plan.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/interpolate_backward_cpu.cpp"
#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "cpu/simd_convert-inl.h"

HWY_BEFORE_NAMESPACE();
namespace ups {
namespace detail {
namespace HWY_NAMESPACE {
namespace {

using kern::InterpKind;
using kern::InvTable;

template <class Acc>
using IndexOf = std::conditional_t<sizeof(Acc) == 4, std::int32_t, std::int64_t>;

// ---- the W level along a flat row, in blocks of one vector of inputs ---------------------------

// How one slot of one block reads its lanes' grad_output elements.
enum Access : std::uint8_t {
  kContiguous,  // base + lane
  kStride2,     // base + 2 * lane (upscaling by 2): the even elements of [base, base + 2 lanes)
  kStride2Odd,  // base + 1 + 2 * lane: the odd elements (where base + 2 lanes would pass the end)
  kPermute,     // any of the elements [base, base + lanes) (downscaling)
  kGather,      // any indices
  kMixed,       // (a run) slots of several kinds, or masked lanes
};

template <class Acc>
struct LanePlan {
  // A run of `count` blocks of one vector of inputs each: block b's lane 0 is input
  // first + b * lanes, and its slots read as the run's first block's, `step` elements further.
  struct Run {
    std::int64_t first;
    std::size_t lanes;  // inputs per block (fewer than a vector only when the row is)
    std::size_t slot;   // the slots: [slot, slot + k) of the per-slot arrays
    std::size_t k;
    std::int64_t count = 1;
    std::int64_t step = 0;
    // The access of every slot when they all have the same and no lane is masked.
    std::uint8_t uniform = kMixed;
  };
  std::size_t n = 0;  // lanes per vector
  std::vector<Run> runs;
  std::vector<std::uint8_t> access;  // per slot
  std::vector<std::uint8_t> masked;  // per slot: some lane's list is shorter
  std::vector<std::int64_t> base;    // per slot
  std::vector<IndexOf<Acc>> index;   // per slot and lane: permutation or gather indices from base
  std::vector<Acc> weight;           // per slot and lane (0 where the lane has no entry)
  std::vector<Acc> active;           // per slot and lane: 1 where the lane has an entry
  std::vector<std::int64_t> scalar;  // inputs summed one element at a time
};

// Appends the block of inputs [s, s + m) to p when every slot has an access that stays inside
// the row's src_len elements (gathers only when `gather`); returns false, appending nothing,
// otherwise. Lanes past m, and lanes whose list is shorter than a slot, are inactive: they load
// something in bounds and are masked out of the sum.
template <class Acc>
bool add_block(LanePlan<Acc>& p, const InvTable<Acc>& t, std::int64_t src_len, std::int64_t s,
               std::size_t m, bool gather) {
  const std::size_t n = p.n;
  const auto sn = static_cast<std::int64_t>(n);
  auto first_entry = [&](std::size_t l) { return t.start[static_cast<std::size_t>(s) + l]; };
  auto length = [&](std::size_t l) {
    return t.start[static_cast<std::size_t>(s) + l + 1] - first_entry(l);
  };
  std::int64_t k = 0;
  for (std::size_t l = 0; l < m; ++l)
    k = std::max(k, length(l));
  const std::size_t slot0 = p.access.size();
  const bool index_fits = sizeof(IndexOf<Acc>) == 8 || src_len <= INT32_MAX;
  for (std::int64_t j = 0; j < k; ++j) {
    std::int64_t lo = INT64_MAX, hi = INT64_MIN, lf = -1, of = 0;
    bool contiguous = true, stride2 = HWY_TARGET != HWY_SCALAR && n > 1, all = m == n;
    for (std::size_t l = 0; l < m; ++l) {
      if (length(l) <= j) {
        all = false;
        continue;
      }
      const std::int64_t o = t.out[static_cast<std::size_t>(first_entry(l) + j)];
      const auto sl = static_cast<std::int64_t>(l);
      if (lf < 0) {
        lf = sl;
        of = o;
      }
      lo = std::min(lo, o);
      hi = std::max(hi, o);
      contiguous = contiguous && o == of + (sl - lf);
      stride2 = stride2 && o == of + 2 * (sl - lf);
    }
    Access kind;
    std::int64_t base = 0;
    if (contiguous && of - lf >= 0 && of - lf + sn <= src_len) {
      kind = kContiguous;
      base = of - lf;
    } else if (stride2 && of - 2 * lf >= 0 && of - 2 * lf + 2 * sn <= src_len) {
      kind = kStride2;
      base = of - 2 * lf;
    } else if (stride2 && of - 2 * lf - 1 >= 0 && of - 2 * lf - 1 + 2 * sn <= src_len) {
      kind = kStride2Odd;
      base = of - 2 * lf - 1;
    } else if (hi - lo < sn && sn <= src_len) {
      kind = kPermute;
      base = std::min(lo, src_len - sn);
    } else if (gather && index_fits) {
      kind = kGather;
      base = lo;
    } else {
      p.access.resize(slot0);
      p.masked.resize(slot0);
      p.base.resize(slot0);
      p.index.resize(slot0 * n);
      p.weight.resize(slot0 * n);
      p.active.resize(slot0 * n);
      return false;
    }
    p.access.push_back(kind);
    p.masked.push_back(all ? 0 : 1);
    p.base.push_back(base);
    for (std::size_t l = 0; l < n; ++l) {
      const bool on = l < m && length(l) > j;
      const auto e = on ? static_cast<std::size_t>(first_entry(l) + j) : 0;
      const std::int64_t o = on ? t.out[e] : of;
      p.index.push_back(static_cast<IndexOf<Acc>>(o - base));
      p.weight.push_back(on ? t.w[e] : Acc(0));
      p.active.push_back(on ? Acc(1) : Acc(0));
    }
  }
  // Stride-2 slots of both parities (near the row's end): all odd when they can be, so that the
  // block runs in the kernel of one access.
  bool even = false, odd = false, others = false;
  for (std::size_t j = slot0; j < p.access.size(); ++j) {
    even = even || p.access[j] == kStride2;
    odd = odd || p.access[j] == kStride2Odd;
    others = others || (p.access[j] != kStride2 && p.access[j] != kStride2Odd);
  }
  if (even && odd && !others) {
    bool room = true;
    for (std::size_t j = slot0; j < p.access.size(); ++j)
      room = room && (p.access[j] == kStride2Odd || p.base[j] >= 1);
    for (std::size_t j = slot0; room && j < p.access.size(); ++j) {
      if (p.access[j] == kStride2) {
        p.access[j] = kStride2Odd;
        p.base[j] -= 1;
      }
    }
  }
  p.runs.push_back({s, m, slot0, static_cast<std::size_t>(k)});
  return true;
}

// Whether block b of p (a run of one) continues run r of q: the next block of inputs, with the
// same slots read `step` elements further on than the block before.
template <class Acc>
bool continues(const LanePlan<Acc>& q, const typename LanePlan<Acc>::Run& r, const LanePlan<Acc>& p,
               const typename LanePlan<Acc>::Run& b) {
  const std::size_t n = p.n;
  if (r.lanes != n || b.lanes != n || r.k != b.k ||
      b.first != r.first + r.count * static_cast<std::int64_t>(n))
    return false;
  const std::int64_t step = r.count > 1 || b.k == 0 ? r.step : p.base[b.slot] - q.base[r.slot];
  for (std::size_t j = 0; j < b.k; ++j) {
    const std::size_t bj = b.slot + j, rj = r.slot + j;
    if (p.access[bj] != q.access[rj] || p.masked[bj] != q.masked[rj] ||
        p.base[bj] != q.base[rj] + r.count * step ||
        !std::equal(&p.index[bj * n], &p.index[bj * n] + n, &q.index[rj * n]) ||
        std::memcmp(&p.weight[bj * n], &q.weight[rj * n], n * sizeof(Acc)) != 0 ||
        std::memcmp(&p.active[bj * n], &q.active[rj * n], n * sizeof(Acc)) != 0)
      return false;
  }
  return true;
}

// p with consecutive blocks that differ only by an offset merged into runs, so that the row
// kernel reads each slot's description once per run.
template <class Acc>
LanePlan<Acc> merge_runs(const LanePlan<Acc>& p) {
  LanePlan<Acc> q;
  q.n = p.n;
  q.scalar = p.scalar;
  const std::size_t n = p.n;
  for (const auto& b : p.runs) {
    if (!q.runs.empty() && continues(q, q.runs.back(), p, b)) {
      auto& r = q.runs.back();
      if (r.count == 1 && b.k > 0) r.step = p.base[b.slot] - q.base[r.slot];
      ++r.count;
      continue;
    }
    auto r = b;
    r.slot = q.access.size();
    for (std::size_t j = b.slot; j < b.slot + b.k; ++j) {
      q.access.push_back(p.access[j]);
      q.masked.push_back(p.masked[j]);
      q.base.push_back(p.base[j]);
      q.index.insert(q.index.end(), &p.index[j * n], &p.index[j * n] + n);
      q.weight.insert(q.weight.end(), &p.weight[j * n], &p.weight[j * n] + n);
      q.active.insert(q.active.end(), &p.active[j * n], &p.active[j * n] + n);
    }
    q.runs.push_back(r);
  }
  for (auto& r : q.runs) {
    r.uniform = r.k > 0 ? q.access[r.slot] : std::uint8_t{kMixed};
    for (std::size_t j = r.slot; j < r.slot + r.k; ++j) {
      if (q.access[j] != r.uniform || q.masked[j]) r.uniform = kMixed;
    }
  }
  return q;
}

// The blocks of table t over rows of src_len elements, with n lanes per vector.
template <class Acc>
LanePlan<Acc> lane_blocks(const InvTable<Acc>& t, std::int64_t src_len, std::size_t n) {
  LanePlan<Acc> p;
  p.n = n;
  const std::int64_t in = t.in;
  const auto sn = static_cast<std::int64_t>(n);
  // Gathers are slow: a table whose interior blocks all have cheaper accesses (the regular
  // tables of integer factors) sums the few inputs at the ends that do not fit one at a time;
  // any other table gathers where it must.
  bool gather_mode = false;
  {
    LanePlan<Acc> probe;
    probe.n = n;
    for (std::int64_t s = sn; s + 2 * sn <= in && !gather_mode; s += sn)
      gather_mode = !add_block(probe, t, src_len, s, n, false);
  }
  std::int64_t i = 0;
  int singles = 0;  // consecutive inputs summed one at a time
  while (in - i >= sn) {
    if (add_block(p, t, src_len, i, n, gather_mode)) {
      i += sn;
      singles = 0;
    } else if (singles < 4) {
      p.scalar.push_back(i++);
      ++singles;
    } else if (add_block(p, t, src_len, i, n, true)) {
      i += sn;
      singles = 0;
    } else {
      for (std::int64_t l = 0; l < sn; ++l)
        p.scalar.push_back(i++);
      singles = 0;
    }
  }
  if (i == in) return p;
  // The last inputs: a full block ending at or before the row's end (overlapping blocks before
  // it: the overlap is computed twice, to the same bits), the rest one at a time.
  if (in >= sn) {
    for (std::int64_t e = in; e >= std::max(i + 1, sn); --e) {
      if (add_block(p, t, src_len, e - sn, n, gather_mode)) {
        for (std::int64_t x = e; x < in; ++x)
          p.scalar.push_back(x);
        return p;
      }
    }
    if (add_block(p, t, src_len, in - sn, n, true)) return p;
  } else if (add_block(p, t, src_len, 0, static_cast<std::size_t>(in), true)) {
    return p;
  }
  for (std::int64_t x = i; x < in; ++x)
    p.scalar.push_back(x);
  return p;
}

// The plan of table t over rows of src_len elements, with n lanes per vector.
template <class Acc>
LanePlan<Acc> make_lane_plan(const InvTable<Acc>& t, std::int64_t src_len, std::size_t n) {
  return merge_runs(lane_blocks(t, src_len, n));
}

// The lanes of a slot of access kKind at `at` (index: its lane indices from at).
template <Access kKind, class D>
HWY_INLINE hn::Vec<D> load_kind(D d, const hn::TFromD<D>* HWY_RESTRICT at,
                                const IndexOf<hn::TFromD<D>>* index) {
  if constexpr (kKind == kContiguous) {
    (void)index;
    return hn::LoadU(d, at);
  } else if constexpr (kKind == kStride2) {
    (void)index;
#if HWY_TARGET == HWY_SCALAR  // one lane: never chosen
    return hn::LoadU(d, at);
#else
    return hn::ConcatEven(d, hn::LoadU(d, at + hn::Lanes(d)), hn::LoadU(d, at));
#endif
  } else if constexpr (kKind == kStride2Odd) {
    (void)index;
#if HWY_TARGET == HWY_SCALAR  // one lane: never chosen
    return hn::LoadU(d, at);
#else
    return hn::ConcatOdd(d, hn::LoadU(d, at + hn::Lanes(d)), hn::LoadU(d, at));
#endif
  } else if constexpr (kKind == kPermute) {
    return hn::TableLookupLanes(hn::LoadU(d, at), hn::SetTableIndices(d, index));
  } else {
    static_assert(kKind == kGather, "load_kind: no such access");
    const hn::RebindToSigned<D> di;
    return hn::GatherIndex(d, at, hn::LoadU(di, index));
  }
}

// The lanes of slot j of a block, loaded from the row `src`.
template <class D>
HWY_INLINE hn::Vec<D> load_slot(D d, const LanePlan<hn::TFromD<D>>& p, std::size_t j,
                                const hn::TFromD<D>* HWY_RESTRICT src) {
  const hn::TFromD<D>* at = src + p.base[j];
  switch (p.access[j]) {
    case kContiguous:
      return hn::LoadU(d, at);
#if HWY_TARGET != HWY_SCALAR  // one lane: every slot is contiguous
    case kStride2:
      return hn::ConcatEven(d, hn::LoadU(d, at + p.n), hn::LoadU(d, at));
    case kStride2Odd:
      return hn::ConcatOdd(d, hn::LoadU(d, at + p.n), hn::LoadU(d, at));
#endif
    case kPermute:
      return hn::TableLookupLanes(hn::LoadU(d, at), hn::SetTableIndices(d, &p.index[j * p.n]));
    default: {
      const hn::RebindToSigned<D> di;
      return hn::GatherIndex(d, at, hn::LoadU(di, &p.index[j * p.n]));
    }
  }
}

// The blocks of run r in rows[0, count) (source srcs[q], destination outs[q]), every slot of
// access kKind and no lane masked: no decision per slot.
template <Access kKind, class Acc, class TOut>
void uniform_run(const LanePlan<Acc>& p, const typename LanePlan<Acc>::Run& r,
                 const Acc* const* srcs, TOut* const* outs, int rows) {
  const hn::ScalableTag<Acc> d;
  const std::size_t n = p.n, k = r.k;
  const std::int64_t* base = &p.base[r.slot];
  const Acc* weight = &p.weight[r.slot * n];
  const IndexOf<Acc>* index = &p.index[r.slot * n];
  for (int q = 0; q < rows; ++q) {
    const Acc* HWY_RESTRICT src = srcs[q];
    TOut* HWY_RESTRICT o = outs[q] + r.first;
    for (std::int64_t b = 0; b < r.count; ++b) {
      const Acc* s = src + b * r.step;
      auto acc = hn::Zero(d);
      for (std::size_t j = 0; j < k; ++j) {
        const auto x = load_kind<kKind>(d, s + base[j], index + j * n);
        acc = hn::Add(acc, hn::Mul(x, hn::LoadU(d, weight + j * n)));
      }
      StoreAcc(d, acc, o + b * static_cast<std::int64_t>(n));
    }
  }
}

// acc + x * w for the slot of access kKind at `at`.
template <Access kKind, class D>
HWY_INLINE hn::Vec<D> add_term(D d, hn::Vec<D> acc, const hn::TFromD<D>* HWY_RESTRICT at,
                               const IndexOf<hn::TFromD<D>>* index, hn::Vec<D> w) {
  return hn::Add(acc, hn::Mul(load_kind<kKind>(d, at, index), w));
}

// uniform_run with kK slots known at compile time: the weights stay in registers for the whole
// run (the row kernel's loads are its bottleneck).
template <Access kKind, int kK, class Acc>
void fixed_run(const LanePlan<Acc>& p, const typename LanePlan<Acc>::Run& r, const Acc* const* srcs,
               Acc* const* outs, int rows) {
  static_assert(kK >= 1 && kK <= 8, "fixed_run: 1 to 8 slots");
  const hn::ScalableTag<Acc> d;
  const std::size_t n = p.n;
  const std::int64_t* base = &p.base[r.slot];
  const Acc* weight = &p.weight[r.slot * n];
  const IndexOf<Acc>* ix = &p.index[r.slot * n];
  // Slot j < kK (unused ones repeat the last: the compiler drops them).
  constexpr std::size_t k1 = kK > 1 ? 1 : 0, k2 = kK > 2 ? 2 : 0, k3 = kK > 3 ? 3 : 0,
                        k4 = kK > 4 ? 4 : 0, k5 = kK > 5 ? 5 : 0, k6 = kK > 6 ? 6 : 0,
                        k7 = kK > 7 ? 7 : 0;
  const auto w0 = hn::LoadU(d, weight), w1 = hn::LoadU(d, weight + k1 * n),
             w2 = hn::LoadU(d, weight + k2 * n), w3 = hn::LoadU(d, weight + k3 * n),
             w4 = hn::LoadU(d, weight + k4 * n), w5 = hn::LoadU(d, weight + k5 * n),
             w6 = hn::LoadU(d, weight + k6 * n), w7 = hn::LoadU(d, weight + k7 * n);
  const std::int64_t b0 = base[0], b1 = base[k1], b2 = base[k2], b3 = base[k3], b4 = base[k4],
                     b5 = base[k5], b6 = base[k6], b7 = base[k7];
  for (int q = 0; q < rows; ++q) {
    const Acc* HWY_RESTRICT src = srcs[q];
    Acc* HWY_RESTRICT o = outs[q] + r.first;
    for (std::int64_t b = 0; b < r.count; ++b) {
      const Acc* s = src + b * r.step;
      auto acc = add_term<kKind>(d, hn::Zero(d), s + b0, ix, w0);
      if constexpr (kK > 1) acc = add_term<kKind>(d, acc, s + b1, ix + k1 * n, w1);
      if constexpr (kK > 2) acc = add_term<kKind>(d, acc, s + b2, ix + k2 * n, w2);
      if constexpr (kK > 3) acc = add_term<kKind>(d, acc, s + b3, ix + k3 * n, w3);
      if constexpr (kK > 4) acc = add_term<kKind>(d, acc, s + b4, ix + k4 * n, w4);
      if constexpr (kK > 5) acc = add_term<kKind>(d, acc, s + b5, ix + k5 * n, w5);
      if constexpr (kK > 6) acc = add_term<kKind>(d, acc, s + b6, ix + k6 * n, w6);
      if constexpr (kK > 7) acc = add_term<kKind>(d, acc, s + b7, ix + k7 * n, w7);
      hn::StoreU(acc, d, o + b * static_cast<std::int64_t>(n));
    }
  }
}

template <Access kKind, class Acc>
bool fixed_runs(const LanePlan<Acc>& p, const typename LanePlan<Acc>::Run& r,
                const Acc* const* srcs, Acc* const* outs, int rows) {
  switch (r.k) {
    case 1:
      fixed_run<kKind, 1>(p, r, srcs, outs, rows);
      return true;
    case 2:
      fixed_run<kKind, 2>(p, r, srcs, outs, rows);
      return true;
    case 3:
      fixed_run<kKind, 3>(p, r, srcs, outs, rows);
      return true;
    case 4:
      fixed_run<kKind, 4>(p, r, srcs, outs, rows);
      return true;
    case 5:
      fixed_run<kKind, 5>(p, r, srcs, outs, rows);
      return true;
    case 6:
      fixed_run<kKind, 6>(p, r, srcs, outs, rows);
      return true;
    case 7:
      fixed_run<kKind, 7>(p, r, srcs, outs, rows);
      return true;
    case 8:
      fixed_run<kKind, 8>(p, r, srcs, outs, rows);
      return true;
    default:
      return false;
  }
}

// outs[q][i] = the sum of input i's list over the dense row srcs[q], for every input of t (the
// plan's table) and q < rows, in the accumulation type or converted to the element type. Rows
// go through the plan together, so that each run's and single input's description is read once
// for all of them.
template <class Acc, class TOut>
void lane_rows(const LanePlan<Acc>& p, const InvTable<Acc>& t, const Acc* const* srcs,
               TOut* const* outs, int rows) {
  const hn::ScalableTag<Acc> d;
  const std::size_t n = p.n;
  for (const auto& r : p.runs) {
    if (r.lanes == n) {
      if constexpr (std::is_same_v<TOut, Acc>) {
        // Rows in the accumulation type (the rings): the common tables' runs.
        if ((r.uniform == kContiguous && fixed_runs<kContiguous>(p, r, srcs, outs, rows)) ||
            (r.uniform == kStride2 && fixed_runs<kStride2>(p, r, srcs, outs, rows)) ||
            (r.uniform == kStride2Odd && fixed_runs<kStride2Odd>(p, r, srcs, outs, rows)) ||
            (r.uniform == kPermute && fixed_runs<kPermute>(p, r, srcs, outs, rows)))
          continue;
      }
      switch (r.uniform) {
        case kContiguous:
          uniform_run<kContiguous>(p, r, srcs, outs, rows);
          continue;
        case kStride2:
          uniform_run<kStride2>(p, r, srcs, outs, rows);
          continue;
        case kStride2Odd:
          uniform_run<kStride2Odd>(p, r, srcs, outs, rows);
          continue;
        case kPermute:
          uniform_run<kPermute>(p, r, srcs, outs, rows);
          continue;
        case kGather:
          uniform_run<kGather>(p, r, srcs, outs, rows);
          continue;
        default:
          break;
      }
    }
    const std::size_t j0 = r.slot, j1 = r.slot + r.k;
    for (int q = 0; q < rows; ++q) {
      for (std::int64_t b = 0; b < r.count; ++b) {
        const Acc* s = srcs[q] + b * r.step;
        auto acc = hn::Zero(d);
        for (std::size_t j = j0; j < j1; ++j) {
          const auto prod = hn::Mul(load_slot(d, p, j, s), hn::LoadU(d, &p.weight[j * n]));
          if (p.masked[j]) {
            const auto on = hn::Ne(hn::LoadU(d, &p.active[j * n]), hn::Zero(d));
            acc = hn::IfThenElse(on, hn::Add(acc, prod), acc);
          } else {
            acc = hn::Add(acc, prod);
          }
        }
        TOut* o = outs[q] + r.first + b * static_cast<std::int64_t>(n);
        if (r.lanes == n) {
          StoreAcc(d, acc, o);
        } else {
          StoreAccN(d, acc, o, r.lanes);
        }
      }
    }
  }
  for (const std::int64_t i : p.scalar) {
    const auto e0 = t.start[static_cast<std::size_t>(i)];
    const auto e1 = t.start[static_cast<std::size_t>(i + 1)];
    for (int q = 0; q < rows; ++q) {
      const Acc* src = srcs[q];
      Acc acc = Acc(0);
      for (auto e = e0; e < e1; ++e) {
        acc = acc + t.w[static_cast<std::size_t>(e)] * src[t.out[static_cast<std::size_t>(e)]];
      }
      outs[q][i] = kern::from_acc<TOut>(acc);
    }
  }
}

// ---- the W level along C (channels-last, at least one vector of channels) ----------------------

// out[x * cc + ch] = the sum of input x's list of w * row[o * pixel + ch], for every input x of t
// and channel ch < cc (cc >= lanes). The vectors of a pixel start at 0, lanes, 2 * lanes, ...,
// the last at cc - lanes (overlapping the one before it when lanes does not divide cc). Two rows
// at a time when row1 / out1 are given: they share the lists and weights.
template <class T, class Acc, class TOut>
void pixel_rows(const InvTable<Acc>& t, const T* HWY_RESTRICT row0, const T* HWY_RESTRICT row1,
                std::int64_t pixel, std::int64_t cc, TOut* HWY_RESTRICT out0,
                TOut* HWY_RESTRICT out1) {
  const hn::ScalableTag<Acc> d;
  const auto n = static_cast<std::int64_t>(hn::Lanes(d));
  const std::int64_t nv = (cc + n - 1) / n;
  auto off = [&](std::int64_t v) { return std::min(v * n, cc - n); };
  const std::int64_t* start = t.start.data();
  const std::int64_t* outs = t.out.data();
  const Acc* w = t.w.data();
  for (std::int64_t x = 0; x < t.in; ++x) {
    const std::int64_t e0 = start[x], e1 = start[x + 1];
    std::int64_t v = 0;
    if (row1 != nullptr) {
      for (; v + 4 <= nv; v += 4) {
        const std::int64_t c0 = off(v), c1 = off(v + 1), c2 = off(v + 2), c3 = off(v + 3);
        auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
        auto b0 = hn::Zero(d), b1 = hn::Zero(d), b2 = hn::Zero(d), b3 = hn::Zero(d);
        for (std::int64_t e = e0; e < e1; ++e) {
          const T* s0 = row0 + outs[e] * pixel;
          const T* s1 = row1 + outs[e] * pixel;
          const auto we = hn::Set(d, w[e]);
          a0 = hn::Add(a0, hn::Mul(LoadAcc(d, s0 + c0), we));
          a1 = hn::Add(a1, hn::Mul(LoadAcc(d, s0 + c1), we));
          a2 = hn::Add(a2, hn::Mul(LoadAcc(d, s0 + c2), we));
          a3 = hn::Add(a3, hn::Mul(LoadAcc(d, s0 + c3), we));
          b0 = hn::Add(b0, hn::Mul(LoadAcc(d, s1 + c0), we));
          b1 = hn::Add(b1, hn::Mul(LoadAcc(d, s1 + c1), we));
          b2 = hn::Add(b2, hn::Mul(LoadAcc(d, s1 + c2), we));
          b3 = hn::Add(b3, hn::Mul(LoadAcc(d, s1 + c3), we));
        }
        StoreAcc(d, a0, out0 + x * cc + c0);
        StoreAcc(d, a1, out0 + x * cc + c1);
        StoreAcc(d, a2, out0 + x * cc + c2);
        StoreAcc(d, a3, out0 + x * cc + c3);
        StoreAcc(d, b0, out1 + x * cc + c0);
        StoreAcc(d, b1, out1 + x * cc + c1);
        StoreAcc(d, b2, out1 + x * cc + c2);
        StoreAcc(d, b3, out1 + x * cc + c3);
      }
      for (; v + 2 <= nv; v += 2) {
        const std::int64_t c0 = off(v), c1 = off(v + 1);
        auto a0 = hn::Zero(d), a1 = hn::Zero(d), b0 = hn::Zero(d), b1 = hn::Zero(d);
        for (std::int64_t e = e0; e < e1; ++e) {
          const T* s0 = row0 + outs[e] * pixel;
          const T* s1 = row1 + outs[e] * pixel;
          const auto we = hn::Set(d, w[e]);
          a0 = hn::Add(a0, hn::Mul(LoadAcc(d, s0 + c0), we));
          a1 = hn::Add(a1, hn::Mul(LoadAcc(d, s0 + c1), we));
          b0 = hn::Add(b0, hn::Mul(LoadAcc(d, s1 + c0), we));
          b1 = hn::Add(b1, hn::Mul(LoadAcc(d, s1 + c1), we));
        }
        StoreAcc(d, a0, out0 + x * cc + c0);
        StoreAcc(d, a1, out0 + x * cc + c1);
        StoreAcc(d, b0, out1 + x * cc + c0);
        StoreAcc(d, b1, out1 + x * cc + c1);
      }
      for (; v < nv; ++v) {
        const std::int64_t c0 = off(v);
        auto a0 = hn::Zero(d), b0 = hn::Zero(d);
        for (std::int64_t e = e0; e < e1; ++e) {
          const auto we = hn::Set(d, w[e]);
          a0 = hn::Add(a0, hn::Mul(LoadAcc(d, row0 + outs[e] * pixel + c0), we));
          b0 = hn::Add(b0, hn::Mul(LoadAcc(d, row1 + outs[e] * pixel + c0), we));
        }
        StoreAcc(d, a0, out0 + x * cc + c0);
        StoreAcc(d, b0, out1 + x * cc + c0);
      }
      continue;
    }
    for (; v + 4 <= nv; v += 4) {
      const std::int64_t c0 = off(v), c1 = off(v + 1), c2 = off(v + 2), c3 = off(v + 3);
      auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
      for (std::int64_t e = e0; e < e1; ++e) {
        const T* src = row0 + outs[e] * pixel;
        const auto we = hn::Set(d, w[e]);
        a0 = hn::Add(a0, hn::Mul(LoadAcc(d, src + c0), we));
        a1 = hn::Add(a1, hn::Mul(LoadAcc(d, src + c1), we));
        a2 = hn::Add(a2, hn::Mul(LoadAcc(d, src + c2), we));
        a3 = hn::Add(a3, hn::Mul(LoadAcc(d, src + c3), we));
      }
      StoreAcc(d, a0, out0 + x * cc + c0);
      StoreAcc(d, a1, out0 + x * cc + c1);
      StoreAcc(d, a2, out0 + x * cc + c2);
      StoreAcc(d, a3, out0 + x * cc + c3);
    }
    for (; v < nv; ++v) {
      const std::int64_t c0 = off(v);
      auto a0 = hn::Zero(d);
      for (std::int64_t e = e0; e < e1; ++e)
        a0 = hn::Add(a0, hn::Mul(LoadAcc(d, row0 + outs[e] * pixel + c0), hn::Set(d, w[e])));
      StoreAcc(d, a0, out0 + x * cc + c0);
    }
  }
}

// ---- the H and D levels: weighted sums of whole rows --------------------------------------------

// Stores lanes [lo, hi) of v (as StoreAcc would) at p + lo, writing no other byte.
template <class T, class D>
HWY_INLINE void StoreAccLanes(D d, hn::Vec<D> v, T* HWY_RESTRICT p, std::size_t lo,
                              std::size_t hi) {
  T buf[HWY_MAX_BYTES / sizeof(hn::TFromD<D>)];
  StoreAcc(d, v, buf);
  std::memcpy(p + lo, buf + lo, (hi - lo) * sizeof(T));
}

// out[i] = 0 + rows[0][i] * w[0] + ... + rows[count - 1][i] * w[count - 1], for i < len (kCount
// when it is not 0). Past the last full vector, one vector ending at len (recomputing elements
// before it to the same bits), or single elements when the row is shorter than a vector. With
// kStream, the vectors from the first vector-aligned element on are streamed, and the elements
// before it and after the last of them are stored from whole vectors by ordinary stores of just
// their bytes: a streamed line is never written again by an ordinary store (which would fetch it
// back from memory).
template <int kCount, bool kStream, class Acc, class TOut>
void combine_n(const Acc* const* rows, const Acc* w, int count, std::int64_t len,
               TOut* HWY_RESTRICT out) {
  if constexpr (kCount > 0) count = kCount;
  const hn::ScalableTag<Acc> d;
  const auto n = static_cast<std::int64_t>(hn::Lanes(d));
  auto sum = [&](std::int64_t i) {
    auto acc = hn::Zero(d);
    for (int j = 0; j < count; ++j)
      acc = hn::Add(acc, hn::Mul(hn::LoadU(d, rows[j] + i), hn::Set(d, w[j])));
    return acc;
  };
  if (len < n) {
    for (std::int64_t i = 0; i < len; ++i) {
      Acc acc = Acc(0);
      for (int j = 0; j < count; ++j)
        acc = acc + w[j] * rows[j][i];
      out[i] = kern::from_acc<TOut>(acc);
    }
    return;
  }
  std::int64_t i = 0;
  if constexpr (kStream) {
    const auto bytes = static_cast<std::uintptr_t>(n) * sizeof(TOut);
    const auto mis = reinterpret_cast<std::uintptr_t>(out) % bytes;
    const auto head = mis == 0 || mis % sizeof(TOut) != 0
                          ? 0
                          : static_cast<std::int64_t>((bytes - mis) / sizeof(TOut));
    if (mis % sizeof(TOut) == 0 && head + n <= len) {
      if (head > 0) StoreAccLanes(d, sum(0), out, 0, static_cast<std::size_t>(head));
      for (i = head; i + n <= len; i += n)
        StoreAcc<true>(d, sum(i), out + i);
      if (i < len) {
        StoreAccLanes(d, sum(len - n), out + (len - n), static_cast<std::size_t>(n - (len - i)),
                      static_cast<std::size_t>(n));
      }
      return;
    }
  }
  for (; i + n <= len; i += n)
    StoreAcc(d, sum(i), out + i);
  if (i < len) StoreAcc(d, sum(len - n), out + (len - n));
}

template <bool kStream, class Acc, class TOut>
void combine(const Acc* const* rows, const Acc* w, int count, std::int64_t len, TOut* out) {
  switch (count) {
    case 1:
      return combine_n<1, kStream>(rows, w, count, len, out);
    case 2:
      return combine_n<2, kStream>(rows, w, count, len, out);
    case 3:
      return combine_n<3, kStream>(rows, w, count, len, out);
    case 4:
      return combine_n<4, kStream>(rows, w, count, len, out);
    default:
      return combine_n<0, kStream>(rows, w, count, len, out);
  }
}

// ---- one call ----------------------------------------------------------------------------------

// The largest distance between the first and last output of one list, plus one (at least 1):
// a ring of that many rows (or planes) indexed by output modulo its size holds every row one
// list combines at the same time.
template <class Acc>
std::int64_t ring_size(const InvTable<Acc>& t) {
  std::int64_t r = 1;
  for (std::int64_t i = 0; i < t.in; ++i) {
    const auto b = static_cast<std::size_t>(t.start[static_cast<std::size_t>(i)]);
    const auto e = static_cast<std::size_t>(t.start[static_cast<std::size_t>(i + 1)]);
    if (b == e) continue;
    const auto [lo, hi] = std::minmax_element(t.out.begin() + static_cast<std::ptrdiff_t>(b),
                                              t.out.begin() + static_cast<std::ptrdiff_t>(e));
    r = std::max(r, *hi - *lo + 1);
  }
  return r;
}

// t over rows of cc-value pixels: input x * cc + ch reads outputs o * cc + ch, with t's weights.
template <class Acc>
InvTable<Acc> per_channel(const InvTable<Acc>& t, std::int64_t cc) {
  InvTable<Acc> v;
  v.in = t.in * cc;
  v.start.assign(1, 0);
  v.start.reserve(static_cast<std::size_t>(v.in + 1));
  v.out.reserve(t.out.size() * static_cast<std::size_t>(cc));
  v.w.reserve(t.w.size() * static_cast<std::size_t>(cc));
  for (std::int64_t x = 0; x < t.in; ++x) {
    for (std::int64_t ch = 0; ch < cc; ++ch) {
      for (std::int64_t e = t.start[static_cast<std::size_t>(x)];
           e < t.start[static_cast<std::size_t>(x + 1)]; ++e) {
        v.out.push_back(t.out[static_cast<std::size_t>(e)] * cc + ch);
        v.w.push_back(t.w[static_cast<std::size_t>(e)]);
      }
      v.start.push_back(static_cast<std::int64_t>(v.out.size()));
    }
  }
  return v;
}

// W rows computed at a time: up to kMaxBatch, and about kBatchBytes of grad_output.
constexpr int kMaxBatch = 8;
constexpr std::int64_t kBatchBytes = 8192;

// grad_input tensors of at least this many bytes are written with streaming stores.
constexpr std::size_t kStreamBytes = std::size_t(16) << 20;

template <class T>
class Backward {
 public:
  using Acc = kern::acc_t<T>;

  Backward(const kern::InterpGeometry& g, const InvTable<Acc>& tz, const InvTable<Acc>& ty,
           const InvTable<Acc>& tx, const T* go, T* gi, int threads)
      : g_(g), tz_(tz), ty_(ty), tx_(tx), go_(go), gi_(gi) {
    const hn::ScalableTag<Acc> d;
    const auto n = static_cast<std::int64_t>(hn::Lanes(d));
    const std::int64_t* gs = g.dst_stride;  // grad_output
    const std::int64_t* is = g.src_stride;  // grad_input
    cl_ = g.c > 1 && gs[1] == 1 && is[1] == 1;
    cc_ = cl_ ? g.c : 1;
    row_len_ = g.in[2] * cc_;
    out_len_ = g.out[2] * cc_;
    row_stride_ = (row_len_ + n - 1) / n * n;
    pixels_ = cl_ && cc_ >= n;
    if (!pixels_) {
      if (cl_) {
        flat_ = per_channel(tx, cc_);
        lanes_table_ = &flat_;
      } else {
        lanes_table_ = &tx;
      }
      plan_ = make_lane_plan(*lanes_table_, out_len_, static_cast<std::size_t>(n));
    }
    direct_src_ = std::is_same_v<T, Acc> && gs[4] == cc_;
    direct_dst_ = is[4] == cc_;
    dense_planes_ = direct_dst_ && row_stride_ == row_len_ && is[3] == row_len_;
    // W rows are computed several at a time, into a ring with room for the rows one list
    // combines plus the rows computed ahead: short rows (little work per row) up to about
    // kBatchBytes of grad_output, channels-last pixel rows two at a time (two memory streams,
    // one pass over the lists and weights).
    const auto row_bytes = out_len_ * static_cast<std::int64_t>(sizeof(Acc));
    batch_ = pixels_ ? 2
                     : static_cast<int>(std::clamp<std::int64_t>(
                           kBatchBytes / std::max<std::int64_t>(1, row_bytes), 1, kMaxBatch));
    ry_ = ty.identity ? 0 : ring_size(ty) + batch_ - 1;
    rz_ = tz.identity ? 0 : ring_size(tz);
    // Ring slots by output row and plane (no division per lookup).
    if (ry_ > 0) {
      for (std::int64_t o = 0; o < g.out[1]; ++o)
        wslot_.push_back(static_cast<std::int32_t>(o % ry_));
    }
    if (rz_ > 0) {
      for (std::int64_t o = 0; o < g.out[0]; ++o)
        pslot_.push_back(static_cast<std::int32_t>(o % rz_));
    }
    units_ = cl_ ? g.n : g.n * g.c;
    // grad_input far larger than the caches: its rows go to memory with streaming stores.
    stream_ =
        static_cast<std::size_t>(units_ * g.in[0] * g.in[1] * row_len_) * sizeof(T) >= kStreamBytes;
    // Bands of rows (planes for 3-D kinds) when there are too few units to keep every thread
    // busy to the end; a band recomputes the W rows (H planes) at its edges.
    band_rows_ = tz.identity ? g.in[1] : g.in[0];
    bands_ = 1;
    if (threads > 1 && units_ < 4 * threads) {
      bands_ = std::min<std::int64_t>((4 * threads + units_ - 1) / units_,
                                      std::max<std::int64_t>(1, band_rows_ / 8));
    }
    scratch_.resize(static_cast<std::size_t>(std::max(threads, 1)));
  }

  std::int64_t tasks() const { return units_ * bands_; }

  void run(int worker, std::int64_t task) {
    Scratch& s = scratch_[static_cast<std::size_t>(worker)];
    s.init(*this);
    const std::int64_t unit = task / bands_, band = task % bands_;
    const std::int64_t n = cl_ ? unit : unit / g_.c, c = cl_ ? 0 : unit % g_.c;
    const T* go = go_ + n * g_.dst_stride[0] + c * g_.dst_stride[1];
    T* gi = gi_ + n * g_.src_stride[0] + c * g_.src_stride[1];
    const std::int64_t r0 = band_rows_ * band / bands_, r1 = band_rows_ * (band + 1) / bands_;
    if (tz_.identity) {
      for (std::int64_t z = 0; z < g_.in[0]; ++z) {
        for (std::int64_t y = r0; y < r1; ++y)
          final_row(s, z, y, gi,
                    [&](auto* dst, auto st) { h_row<decltype(st)::value>(s, go, z, y, dst); });
      }
      return;
    }
    for (std::int64_t z = r0; z < r1; ++z) {
      const auto e0 = static_cast<std::size_t>(tz_.start[static_cast<std::size_t>(z)]);
      const auto e1 = static_cast<std::size_t>(tz_.start[static_cast<std::size_t>(z + 1)]);
      // Computing a plane never evicts another of the same list (ring_size).
      for (std::size_t e = e0; e < e1; ++e)
        s.planes[e - e0] = plane(s, go, tz_.out[e]);
      const int count = static_cast<int>(e1 - e0);
      if (dense_planes_) {
        // Planes of rows without gaps, in the ring and in grad_input: one sum over all of it.
        T* dst = gi + z * g_.src_stride[2];
        const std::int64_t len = g_.in[1] * row_len_;
        if (stream_) {
          combine<true>(s.planes.data(), &tz_.w[e0], count, len, dst);
        } else {
          combine<false>(s.planes.data(), &tz_.w[e0], count, len, dst);
        }
        continue;
      }
      for (std::int64_t y = 0; y < g_.in[1]; ++y) {
        for (std::size_t e = e0; e < e1; ++e)
          s.drows[e - e0] = s.planes[e - e0] + y * row_stride_;
        final_row(s, z, y, gi, [&](auto* dst, auto st) {
          combine<decltype(st)::value>(s.drows.data(), &tz_.w[e0], count, row_len_, dst);
        });
      }
    }
  }

 private:
  struct Scratch {
    bool ready = false;
    std::vector<Acc> src;  // a grad_output row as dense accumulation-type values
    std::vector<Acc> tmp;  // a grad_input row before a strided store
    std::vector<Acc> wring, pring;
    std::vector<std::int64_t> wtag, ptag;
    std::vector<const Acc*> hrows, drows, planes;

    void init(const Backward& b) {
      if (!ready) {
        ready = true;
        if (!b.pixels_ && !b.direct_src_)
          src.resize(static_cast<std::size_t>(b.batch_ * b.out_len_));
        if (!b.direct_dst_) tmp.resize(static_cast<std::size_t>(b.row_len_));
        wring.resize(static_cast<std::size_t>(b.ry_ * b.row_stride_));
        wtag.resize(static_cast<std::size_t>(b.ry_));
        pring.resize(static_cast<std::size_t>(b.rz_ * b.g_.in[1] * b.row_stride_));
        ptag.resize(static_cast<std::size_t>(b.rz_));
        hrows.resize(b.ty_.w.size());
        drows.resize(b.tz_.w.size());
        planes.resize(b.tz_.w.size());
      }
      // A task starts with empty rings: their rows belong to another unit.
      std::fill(wtag.begin(), wtag.end(), -1);
      std::fill(ptag.begin(), ptag.end(), -1);
    }
  };

  // The W rows of grad_output rows (oz, oy0 + q) of the unit at go into dsts[q], q < rows.
  template <class TOut>
  void w_rows(Scratch& s, const T* go, std::int64_t oz, std::int64_t oy0, int rows,
              TOut* const* dsts) const {
    const std::int64_t* gs = g_.dst_stride;
    const T* first = go + oz * gs[2] + oy0 * gs[3];
    if (pixels_) {
      int q = 0;
      for (; q + 2 <= rows; q += 2) {
        pixel_rows(tx_, first + q * gs[3], first + (q + 1) * gs[3], gs[4], cc_, dsts[q],
                   dsts[q + 1]);
      }
      if (q < rows)
        pixel_rows<T, Acc, TOut>(tx_, first + q * gs[3], nullptr, gs[4], cc_, dsts[q], nullptr);
      return;
    }
    const Acc* srcs[kMaxBatch] = {};
    for (int q = 0; q < rows; ++q) {
      const T* row = first + q * gs[3];
      if constexpr (std::is_same_v<T, Acc>) srcs[q] = row;
      if (direct_src_) continue;
      // The row as dense accumulation-type values.
      Acc* buf = s.src.data() + q * out_len_;
      if (gs[4] == cc_) {
        const hn::ScalableTag<Acc> d;
        const auto n = static_cast<std::int64_t>(hn::Lanes(d));
        std::int64_t i = 0;
        for (; i + n <= out_len_; i += n)
          hn::StoreU(LoadAcc(d, row + i), d, buf + i);
        for (; i < out_len_; ++i)
          buf[i] = kern::to_acc<Acc>(row[i]);
      } else {
        for (std::int64_t o = 0; o < g_.out[2]; ++o) {
          for (std::int64_t ch = 0; ch < cc_; ++ch)
            buf[o * cc_ + ch] = kern::to_acc<Acc>(row[o * gs[4] + ch]);
        }
      }
      srcs[q] = buf;
    }
    lane_rows(plan_, *lanes_table_, srcs, dsts, rows);
  }

  // The W row (oz, oy) from the ring, computed there when it is not, together with the rows
  // after it that are not there either (up to batch_ rows: the ring has room for them).
  const Acc* w_cached(Scratch& s, const T* go, std::int64_t oz, std::int64_t oy) const {
    auto slot_of = [&](std::int64_t o) {
      return static_cast<std::size_t>(wslot_[static_cast<std::size_t>(o)]);
    };
    const std::int64_t key = oz * g_.out[1];
    if (s.wtag[slot_of(oy)] != key + oy) {
      Acc* dsts[kMaxBatch];
      int rows = 0;
      for (std::int64_t o = oy; rows < batch_ && o < g_.out[1] && s.wtag[slot_of(o)] != key + o;
           ++o, ++rows) {
        dsts[rows] = s.wring.data() + static_cast<std::int64_t>(slot_of(o)) * row_stride_;
        s.wtag[slot_of(o)] = key + o;
      }
      w_rows(s, go, oz, oy, rows, dsts);
    }
    return s.wring.data() + static_cast<std::int64_t>(slot_of(oy)) * row_stride_;
  }

  // Row y of the H level of output plane oz, into dst.
  template <bool kStream, class TOut>
  void h_row(Scratch& s, const T* go, std::int64_t oz, std::int64_t y, TOut* dst) const {
    // W rows stored into grad_input do not stream: their vectors may overlap.
    if (ty_.identity) return w_rows(s, go, oz, y, 1, &dst);
    const auto e0 = static_cast<std::size_t>(ty_.start[static_cast<std::size_t>(y)]);
    const auto e1 = static_cast<std::size_t>(ty_.start[static_cast<std::size_t>(y + 1)]);
    for (std::size_t e = e0; e < e1; ++e)
      s.hrows[e - e0] = w_cached(s, go, oz, ty_.out[e]);
    combine<kStream>(s.hrows.data(), &ty_.w[e0], static_cast<int>(e1 - e0), row_len_, dst);
  }

  // The H-level plane of output plane oz from the ring, computed there when it is not.
  const Acc* plane(Scratch& s, const T* go, std::int64_t oz) const {
    const auto slot = static_cast<std::size_t>(pslot_[static_cast<std::size_t>(oz)]);
    Acc* p = s.pring.data() + static_cast<std::int64_t>(slot) * g_.in[1] * row_stride_;
    if (s.ptag[slot] != oz) {
      for (std::int64_t y = 0; y < g_.in[1]; ++y)
        h_row<false>(s, go, oz, y, p + y * row_stride_);
      s.ptag[slot] = oz;
    }
    return p;
  }

  // Row (z, y) of grad_input at gi: produce(dst, stream) writes it, straight into grad_input
  // (with streaming stores when stream_) when its rows are dense, else into a buffer that is then
  // stored element by element.
  template <class F>
  void final_row(Scratch& s, std::int64_t z, std::int64_t y, T* gi, F&& produce) const {
    const std::int64_t* is = g_.src_stride;
    T* dst = gi + z * is[2] + y * is[3];
    if (direct_dst_) {
      if (stream_) {
        produce(dst, std::true_type{});
      } else {
        produce(dst, std::false_type{});
      }
      return;
    }
    produce(s.tmp.data(), std::false_type{});
    for (std::int64_t x = 0; x < g_.in[2]; ++x) {
      for (std::int64_t ch = 0; ch < cc_; ++ch)
        dst[x * is[4] + ch] = kern::from_acc<T>(s.tmp[static_cast<std::size_t>(x * cc_ + ch)]);
    }
  }

  const kern::InterpGeometry& g_;
  const InvTable<Acc>&tz_, &ty_, &tx_;
  const T* go_;
  T* gi_;
  bool cl_ = false, pixels_ = false, direct_src_ = false, direct_dst_ = false, stream_ = false;
  bool dense_planes_ = false;
  std::int64_t cc_ = 1, row_len_ = 0, out_len_ = 0, row_stride_ = 0, ry_ = 0, rz_ = 0;
  std::int64_t units_ = 0, band_rows_ = 0, bands_ = 1;
  int batch_ = 1;
  InvTable<Acc> flat_;
  const InvTable<Acc>* lanes_table_ = nullptr;
  LanePlan<Acc> plan_;
  std::vector<std::int32_t> wslot_, pslot_;
  std::vector<Scratch> scratch_;
};

template <InterpKind K, class T>
void run_backward(const InterpolatePlan& plan, const T* grad_out, T* grad_in, int threads) {
  using Acc = kern::acc_t<T>;
  const kern::InterpGeometry& g = plan.geometry;
  const auto p = kern::make_interp_params<Acc>(g, plan.user_scale, plan.align_corners);
  const auto tables = kern::make_backward_tables<K, Acc>(p);
  Backward<T> b(g, tables.dim[0], tables.dim[1], tables.dim[2], grad_out, grad_in, threads);
  run_tasks(b.tasks(), threads, [&](int worker, std::int64_t task) {
    b.run(worker, task);
    // Streaming stores are weakly ordered: make them visible before the task counts as done.
    hwy::FlushStream();
  });
}

}  // namespace

void RunInterpolateBackward(const InterpolatePlan& plan, const void* grad_out, void* grad_in,
                            int threads) {
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      fail(ErrorCode::kInternal, "interpolate_backward: u8 reached the CPU backend");
    } else {
      run_backward<K, T>(plan, static_cast<const T*>(grad_out), static_cast<T*>(grad_in), threads);
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace detail
}  // namespace ups
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ups {
namespace detail {

HWY_EXPORT(RunInterpolateBackward);

void interpolate_backward_cpu(const InterpolatePlan& plan, const void* grad_out, void* grad_in,
                              int threads) {
  HWY_DYNAMIC_DISPATCH(RunInterpolateBackward)(plan, grad_out, grad_in, threads);
}

}  // namespace detail
}  // namespace ups
#endif  // HWY_ONCE
