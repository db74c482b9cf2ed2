// CPU backend of the separable resampling engine (src/resample_plan.hpp), with SIMD (Highway,
// dispatched at run time to the best target the CPU supports).
//
// The output is walked a row at a time: a row is every output element with all coordinates fixed
// but those of the row dim r (usually the innermost resampled dim in memory; see row_shape). For
// one row:
//  1. the source rows that the other dims' taps name (a tensor product over their taps; dims
//     that are the identity contribute their own coordinate) are combined into one row of
//     accumulators, buf[i] = sum over tap tuples of (product of their weights) * src[.., i, ..],
//     which runs along contiguous memory (vector loads, 16-bit types widened on the fly);
//  2. r's own taps are applied to that row: out[o] = sum_j w[o, j] * buf[idx[o, j]] (vector
//     gathers from the accumulator row, one block of outputs at a time).
// When only one tap tuple with weight 1 remains in step 1 (every other dim is the identity or
// a copy), step 2 reads the source row directly. Unweighted (nearest) plans are copies of the
// element's bits, so u8 and every float type come out bit-exact.
//
// Accumulation is in f32 (f64 for f64), weights are rounded to it once per call. Elements with
// an `outside` coordinate in any dim get the plan's extrapolation value.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "check.hpp"
#include "common/hd.hpp"
#include "cpu/parallel.hpp"
#include "dispatch.hpp"
#include "interpolate_plan.hpp"
#include "resample_plan.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/resample_cpu.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "cpu/simd_convert-inl.h"

HWY_BEFORE_NAMESPACE();
namespace ups {
namespace detail {
namespace HWY_NAMESPACE {

template <class Acc>
using GatherIndexOf = std::conditional_t<sizeof(Acc) == 4, std::int32_t, std::int64_t>;

// One dim's tables as the row loops read them.
template <class Acc>
struct Axis {
  std::int64_t in = 1, out = 1;
  int k = 1;
  bool identity = true;
  std::int64_t src_stride = 0, dst_stride = 0;
  std::vector<std::int64_t> off;  // idx * src_stride (outer dims) or idx (the row dim)
  std::vector<Acc> w;
  const std::uint8_t* outside = nullptr;  // null when nothing is outside
};

template <class Acc>
Axis<Acc> make_axis(const ResampleAxis& a, std::int64_t src_stride, std::int64_t dst_stride,
                    bool premultiply) {
  Axis<Acc> x;
  x.in = a.in;
  x.out = a.out;
  x.k = a.k;
  x.identity = a.is_identity();
  x.src_stride = src_stride;
  x.dst_stride = dst_stride;
  if (x.identity) return x;
  x.off.resize(a.idx.size());
  x.w.resize(a.w.size());
  for (std::size_t i = 0; i < a.idx.size(); ++i) {
    x.off[i] = premultiply ? a.idx[i] * src_stride : a.idx[i];
    x.w[i] = static_cast<Acc>(a.w[i]);
  }
  if (std::any_of(a.outside.begin(), a.outside.end(), [](std::uint8_t f) { return f != 0; }))
    x.outside = a.outside.data();
  return x;
}

// buf[i] = w * x[i] (first) or buf[i] += w * x[i] for i < n, x contiguous.
template <class T, class Acc>
void axpy_row(const T* HWY_RESTRICT x, std::int64_t n, Acc w, Acc* HWY_RESTRICT buf, bool first) {
  const hn::ScalableTag<Acc> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const auto vw = hn::Set(d, w);
  std::int64_t i = 0;
  if (first) {
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::Mul(vw, LoadAcc(d, x + i)), d, buf + i);
    for (; i < n; ++i)
      buf[i] = w * kern::to_acc<Acc>(x[i]);
  } else {
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::Add(hn::LoadU(d, buf + i), hn::Mul(vw, LoadAcc(d, x + i))), d, buf + i);
    for (; i < n; ++i)
      buf[i] = buf[i] + w * kern::to_acc<Acc>(x[i]);
  }
}

// The same along a strided source row.
template <class T, class Acc>
void axpy_row_strided(const T* x, std::int64_t stride, std::int64_t n, Acc w, Acc* buf,
                      bool first) {
  if (first) {
    for (std::int64_t i = 0; i < n; ++i)
      buf[i] = w * kern::to_acc<Acc>(x[i * stride]);
  } else {
    for (std::int64_t i = 0; i < n; ++i)
      buf[i] = buf[i] + w * kern::to_acc<Acc>(x[i * stride]);
  }
}

// out[i] = buf[i] for i < n, out contiguous.
template <class T, class Acc>
void store_row(const Acc* HWY_RESTRICT buf, std::int64_t n, T* HWY_RESTRICT out) {
  const hn::ScalableTag<Acc> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    StoreAcc(d, hn::LoadU(d, buf + i), out + i);
  for (; i < n; ++i)
    out[i] = kern::from_acc<T>(buf[i]);
}

// The row dim's taps arranged for vector gathers from the accumulator row: for every full block
// of `lanes` outputs and every tap j, the lanes' indices and weights.
template <class Acc>
struct GatherBlocks {
  bool usable = false;
  std::int64_t blocks = 0;
  std::vector<GatherIndexOf<Acc>> idx;
  std::vector<Acc> w;
};

template <class Acc>
GatherBlocks<Acc> make_gather_blocks(const Axis<Acc>& r) {
  GatherBlocks<Acc> g;
  const hn::ScalableTag<Acc> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  // Gathers need 32-bit indices for f32 lanes; outside flags take the scalar loop.
  if (r.identity || r.outside != nullptr || lanes < 2 || r.dst_stride != 1) return g;
  if (sizeof(Acc) == 4 && r.in > INT32_MAX) return g;
  g.usable = true;
  g.blocks = r.out / lanes;
  const auto k = static_cast<std::size_t>(r.k);
  const auto n = static_cast<std::size_t>(lanes);
  g.idx.resize(static_cast<std::size_t>(g.blocks) * k * n);
  g.w.resize(g.idx.size());
  for (std::int64_t b = 0; b < g.blocks; ++b) {
    for (std::size_t j = 0; j < k; ++j) {
      for (std::size_t l = 0; l < n; ++l) {
        const std::size_t o = static_cast<std::size_t>(b) * n + l;
        const std::size_t at = (static_cast<std::size_t>(b) * k + j) * n + l;
        g.idx[at] = static_cast<GatherIndexOf<Acc>>(r.off[o * k + j]);
        g.w[at] = r.w[o * k + j];
      }
    }
  }
  return g;
}

// Step 2 from the accumulator row: out[o * stride] for o < r.out.
template <class T, class Acc>
void apply_row_taps(const Axis<Acc>& r, const GatherBlocks<Acc>& g, const Acc* HWY_RESTRICT buf,
                    T* HWY_RESTRICT out, T extrapolation) {
  const auto k = static_cast<std::size_t>(r.k);
  std::int64_t o = 0;
  if (g.usable) {
    const hn::ScalableTag<Acc> d;
    const hn::RebindToSigned<decltype(d)> di;
    const std::size_t n = hn::Lanes(d);
    for (std::int64_t b = 0; b < g.blocks; ++b) {
      const std::size_t base = static_cast<std::size_t>(b) * k * n;
      auto acc =
          hn::Mul(hn::LoadU(d, &g.w[base]), hn::GatherIndex(d, buf, hn::LoadU(di, &g.idx[base])));
      for (std::size_t j = 1; j < k; ++j) {
        const std::size_t at = base + j * n;
        acc = hn::Add(acc, hn::Mul(hn::LoadU(d, &g.w[at]),
                                   hn::GatherIndex(d, buf, hn::LoadU(di, &g.idx[at]))));
      }
      StoreAcc(d, acc, out + static_cast<std::size_t>(b) * n);
    }
    o = g.blocks * static_cast<std::int64_t>(n);
  }
  for (; o < r.out; ++o) {
    T* y = out + o * r.dst_stride;
    if (r.outside != nullptr && r.outside[o] != 0) {
      *y = extrapolation;
      continue;
    }
    const std::size_t base = static_cast<std::size_t>(o) * k;
    Acc s = r.w[base] * buf[r.off[base]];
    for (std::size_t j = 1; j < k; ++j)
      s = s + r.w[base + j] * buf[r.off[base + j]];
    *y = kern::from_acc<T>(s);
  }
}

// Step 2 straight from one source row (x: the row's element 0, stride: its stride).
template <class T, class Acc>
void apply_row_taps_direct(const Axis<Acc>& r, const T* x, std::int64_t stride, T* out,
                           T extrapolation) {
  const auto k = static_cast<std::size_t>(r.k);
  for (std::int64_t o = 0; o < r.out; ++o) {
    T* y = out + o * r.dst_stride;
    if (r.outside != nullptr && r.outside[o] != 0) {
      *y = extrapolation;
      continue;
    }
    const std::size_t base = static_cast<std::size_t>(o) * k;
    if (k == 1 && r.w[base] == Acc(1)) {
      *y = x[r.off[base] * stride];  // a copy: bit-exact, NaN payloads included
      continue;
    }
    Acc s = r.w[base] * kern::to_acc<Acc>(x[r.off[base] * stride]);
    for (std::size_t j = 1; j < k; ++j)
      s = s + r.w[base + j] * kern::to_acc<Acc>(x[r.off[base + j] * stride]);
    *y = kern::from_acc<T>(s);
  }
}

// Which dims the rows run along and how the other dims are walked.
struct RowShape {
  int r = 0;                 // the row dim
  int outer[kMaxDims] = {};  // the other dims, outermost first
  int n_outer = 0;
  std::int64_t rows = 1;  // product of the other dims' output sizes
};

// The row dim: for copies, the dim with the smallest output stride (runs in memory); for
// weighted plans, the dim that minimises the work per output element, estimated as
// (taps of the other dims) * in_r / out_r + k_r, doubled when the row is strided on either side.
// Channels-last tensors thus take W rather than C as the row dim when H and W are resampled:
// with C as the row dim every element would combine kH * kW source elements instead of
// kH * in_W / out_W + kW.
RowShape row_shape(const ResamplePlan& plan, const TensorView& src, const TensorView& dst) {
  RowShape s;
  s.r = plan.rank - 1;
  bool identity[kMaxDims] = {};
  double taps = 1;
  for (int d = 0; d < plan.rank; ++d) {
    identity[d] = plan.axis[d].is_identity();
    if (!identity[d]) taps *= plan.axis[d].k;
  }
  double best = 0;
  bool first = true;
  for (int d = plan.rank - 1; d >= 0; --d) {
    const ResampleAxis& a = plan.axis[d];
    if (a.out <= 1) continue;
    const std::int64_t ds = dst.strides[d] < 0 ? -dst.strides[d] : dst.strides[d];
    const std::int64_t ss = src.strides[d] < 0 ? -src.strides[d] : src.strides[d];
    double cost;
    if (!plan.weighted) {
      cost = static_cast<double>(ds);
    } else {
      const double k = identity[d] ? 1.0 : static_cast<double>(a.k);
      cost = taps / k * static_cast<double>(a.in) / static_cast<double>(a.out) + k;
      if (ds != 1 || ss != 1) cost *= 2;
    }
    if (first || cost < best) {
      best = cost;
      s.r = d;
      first = false;
    }
  }
  for (int d = 0; d < plan.rank; ++d) {
    if (d == s.r) continue;
    s.outer[s.n_outer++] = d;
    s.rows *= plan.axis[d].out;
  }
  return s;
}

// The coordinates of row `row` in the outer dims (the last outer dim fastest).
inline void unravel_row(const RowShape& s, const ResamplePlan& plan, std::int64_t row,
                        std::int64_t* coord) {
  for (int i = s.n_outer - 1; i >= 0; --i) {
    const std::int64_t n = plan.axis[s.outer[i]].out;
    coord[i] = row % n;
    row /= n;
  }
}

template <class T>
void run_weighted(const ResamplePlan& plan, const TensorView& src, const TensorView& dst,
                  int threads) {
  using Acc = kern::acc_t<T>;
  const RowShape s = row_shape(plan, src, dst);
  Axis<Acc> ax[kMaxDims];
  for (int d = 0; d < plan.rank; ++d)
    ax[d] = make_axis<Acc>(plan.axis[d], src.strides[d], dst.strides[d], d != s.r);
  const Axis<Acc>& r = ax[s.r];
  const GatherBlocks<Acc> gather = make_gather_blocks(r);
  const T extrapolation = extrapolation_of<T>(plan.extrapolation_value);
  const T* in = static_cast<const T*>(src.data);
  T* out = static_cast<T*>(dst.data);
  const std::int64_t rs = src.strides[s.r];

  // The resampled outer dims; identity ones only move the base offsets.
  int act[kMaxDims] = {};
  int n_act = 0;
  std::int64_t taps = 1;
  for (int i = 0; i < s.n_outer; ++i) {
    if (!ax[s.outer[i]].identity) {
      act[n_act++] = i;
      taps *= ax[s.outer[i]].k;
    }
  }
  const std::int64_t work = taps * r.in + r.out * r.k + 1;
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / work);

  parallel_for(s.rows, threads, grain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<Acc> buf(static_cast<std::size_t>(r.in));
    std::int64_t coord[kMaxDims];
    for (std::int64_t row = begin; row < end; ++row) {
      unravel_row(s, plan, row, coord);
      std::int64_t src_base = 0, dst_base = 0;
      bool outside = false;
      for (int i = 0; i < s.n_outer; ++i) {
        const Axis<Acc>& a = ax[s.outer[i]];
        dst_base += coord[i] * a.dst_stride;
        if (a.identity) src_base += coord[i] * a.src_stride;
        outside = outside || (a.outside != nullptr && a.outside[coord[i]] != 0);
      }
      T* y = out + dst_base;
      if (outside) {
        for (std::int64_t o = 0; o < r.out; ++o)
          y[o * r.dst_stride] = extrapolation;
        continue;
      }
      // Step 1 over the tap tuples of the resampled outer dims (an odometer, last dim fastest).
      const std::int64_t* off[kMaxDims] = {};
      const Acc* wt[kMaxDims] = {};
      int kk[kMaxDims] = {}, jj[kMaxDims] = {};
      for (int a = 0; a < n_act; ++a) {
        const Axis<Acc>& x = ax[s.outer[act[a]]];
        const auto base = static_cast<std::size_t>(coord[act[a]]) * static_cast<std::size_t>(x.k);
        off[a] = &x.off[base];
        wt[a] = &x.w[base];
        kk[a] = x.k;
        jj[a] = 0;
      }
      if (taps == 1) {
        std::int64_t o1 = src_base;
        Acc w1 = Acc(1);
        for (int a = 0; a < n_act; ++a) {
          o1 += off[a][0];
          w1 = a == 0 ? wt[a][0] : w1 * wt[a][0];
        }
        if (w1 == Acc(1)) {
          // A copy in every other dim: read the source row directly.
          if (r.identity) {
            for (std::int64_t o = 0; o < r.out; ++o)
              y[o * r.dst_stride] = in[o1 + o * rs];
          } else {
            apply_row_taps_direct<T, Acc>(r, in + o1, rs, y, extrapolation);
          }
          continue;
        }
      }
      bool first = true;
      for (;;) {
        std::int64_t o1 = src_base;
        Acc w1 = Acc(1);
        for (int a = 0; a < n_act; ++a) {
          o1 += off[a][jj[a]];
          w1 = a == 0 ? wt[a][jj[a]] : w1 * wt[a][jj[a]];
        }
        if (rs == 1)
          axpy_row<T, Acc>(in + o1, r.in, w1, buf.data(), first);
        else
          axpy_row_strided<T, Acc>(in + o1, rs, r.in, w1, buf.data(), first);
        first = false;
        int a = n_act - 1;
        while (a >= 0 && ++jj[a] == kk[a]) {
          jj[a] = 0;
          --a;
        }
        if (a < 0) break;
      }
      // Step 2.
      if (r.identity) {
        if (r.dst_stride == 1) {
          store_row<T, Acc>(buf.data(), r.out, y);
        } else {
          for (std::int64_t o = 0; o < r.out; ++o)
            y[o * r.dst_stride] = kern::from_acc<T>(buf[static_cast<std::size_t>(o)]);
        }
      } else {
        apply_row_taps<T, Acc>(r, gather, buf.data(), y, extrapolation);
      }
    }
  });
}

// Unweighted plans: every output element is a copy of the element its taps name. U is an
// unsigned integer of the element's size.
template <class T, class U>
void run_copy(const ResamplePlan& plan, const TensorView& src, const TensorView& dst, int threads) {
  const RowShape s = row_shape(plan, src, dst);
  Axis<double> ax[kMaxDims];
  for (int d = 0; d < plan.rank; ++d)
    ax[d] = make_axis<double>(plan.axis[d], src.strides[d], dst.strides[d], true);
  const Axis<double>& r = ax[s.r];
  const T e = extrapolation_of<T>(plan.extrapolation_value);
  U extrapolation;
  std::memcpy(&extrapolation, &e, sizeof(U));
  const U* in = static_cast<const U*>(src.data);
  U* out = static_cast<U*>(dst.data);
  const std::int64_t rs = src.strides[s.r];
  const bool contiguous_run = r.identity && rs == 1 && r.dst_stride == 1;
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / (r.out + 1));
  parallel_for(s.rows, threads, grain, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t coord[kMaxDims];
    for (std::int64_t row = begin; row < end; ++row) {
      unravel_row(s, plan, row, coord);
      std::int64_t src_base = 0, dst_base = 0;
      bool outside = false;
      for (int i = 0; i < s.n_outer; ++i) {
        const Axis<double>& a = ax[s.outer[i]];
        dst_base += coord[i] * a.dst_stride;
        if (a.identity) {
          src_base += coord[i] * a.src_stride;
        } else {
          src_base += a.off[static_cast<std::size_t>(coord[i])];
          outside = outside || (a.outside != nullptr && a.outside[coord[i]] != 0);
        }
      }
      U* y = out + dst_base;
      const U* x = in + src_base;
      if (outside) {
        for (std::int64_t o = 0; o < r.out; ++o)
          y[o * r.dst_stride] = extrapolation;
      } else if (contiguous_run) {
        std::memcpy(y, x, static_cast<std::size_t>(r.out) * sizeof(U));
      } else if (r.identity) {
        for (std::int64_t o = 0; o < r.out; ++o)
          y[o * r.dst_stride] = x[o * rs];
      } else if (r.outside == nullptr) {
        for (std::int64_t o = 0; o < r.out; ++o)
          y[o * r.dst_stride] = x[r.off[static_cast<std::size_t>(o)]];
      } else {
        for (std::int64_t o = 0; o < r.out; ++o)
          y[o * r.dst_stride] =
              r.outside[o] != 0 ? extrapolation : x[r.off[static_cast<std::size_t>(o)]];
      }
    }
  });
}

void RunResample(const ResamplePlan& plan, const TensorView& src, const TensorView& dst,
                 int threads) {
  if (!plan.weighted) {
    switch (dtype_size(plan.dtype)) {
      case 1:
        return run_copy<std::uint8_t, std::uint8_t>(plan, src, dst, threads);
      case 2:
        if (plan.dtype == DType::kF16)
          return run_copy<kern::half_t, std::uint16_t>(plan, src, dst, threads);
        return run_copy<kern::bf16_t, std::uint16_t>(plan, src, dst, threads);
      case 4:
        return run_copy<float, std::uint32_t>(plan, src, dst, threads);
      default:
        return run_copy<double, std::uint64_t>(plan, src, dst, threads);
    }
  }
  dispatch_float(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    run_weighted<T>(plan, src, dst, threads);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace detail
}  // namespace ups
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ups {
namespace detail {

HWY_EXPORT(RunResample);

namespace {

// Nearest plans that keep N and C and resize 1 to 3 trailing dims (an image resized by ONNX's
// nearest rules) run on interpolate's nearest row kernels, which duplicate and permute whole
// vectors and write each run of output rows that reads one source row from one load; the
// engine's own copy loop moves an element at a time.
bool nearest_via_rows(const ResamplePlan& plan, const TensorView& src, const TensorView& dst,
                      int threads) {
  if (plan.weighted || plan.rank < 3) return false;
  if (!plan.axis[0].is_identity() || !plan.axis[1].is_identity()) return false;
  for (int d = 2; d < plan.rank; ++d)
    if (!plan.axis[d].outside.empty()) return false;
  kern::InterpGeometry g{};
  g.n = src.sizes[0];
  g.c = src.sizes[1];
  g.src_stride[0] = src.strides[0];
  g.src_stride[1] = src.strides[1];
  g.dst_stride[0] = dst.strides[0];
  g.dst_stride[1] = dst.strides[1];
  const int pad = 5 - plan.rank;  // leading unit spatial dims
  std::vector<std::int64_t> idx[3];
  for (int d = 0; d < 3; ++d) {
    const int a = d - pad + 2;  // the plan's dim, or a padded unit dim when below 2
    if (a < 2) {
      g.in[d] = g.out[d] = 1;
      g.src_stride[2 + d] = g.dst_stride[2 + d] = 0;
      idx[d] = {0};
    } else {
      g.in[d] = plan.axis[a].in;
      g.out[d] = plan.axis[a].out;
      g.src_stride[2 + d] = src.strides[a];
      g.dst_stride[2 + d] = dst.strides[a];
      idx[d] = plan.axis[a].idx;
    }
  }
  g.dst_channels_last = dst.strides[1] == 1 && g.c > 1 && g.dst_stride[4] != 1;
  g.spatial_dims = plan.rank - 2;
  return nearest_tables_cpu(g, dtype_size(plan.dtype), src.data, dst.data, std::max(threads, 1),
                            idx);
}

}  // namespace

void resample_cpu(const ResamplePlan& plan, const TensorView& src, const TensorView& dst,
                  int threads) {
  check_resample_plan(plan, src, dst);
  if (dst.numel() == 0) return;
  if (nearest_via_rows(plan, src, dst, threads)) return;
  HWY_DYNAMIC_DISPATCH(RunResample)(plan, src, dst, std::max(threads, 1));
}

}  // namespace detail
}  // namespace ups
#endif  // HWY_ONCE
