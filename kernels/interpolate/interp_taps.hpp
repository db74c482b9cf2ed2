// Per-dim tap tables of ups::interpolate: for every output coordinate of one spatial dim, the
// source indices it reads and their weights, computed once per call with the per-element
// functions of interp_math.hpp (so every entry is bit for bit what the per-element body computes
// for that coordinate). A backend that walks outputs row by row reads its taps from here instead
// of recomputing them per element. Host code: the tables are built before a launch.
#pragma once

#include <cstdint>
#include <vector>

#include "interpolate/interp_math.hpp"

namespace ups {
namespace kern {

// How the taps of one dim are formed: which per-element function of interp_math.hpp gives them.
enum class TapRule : int {
  kNearest,        // nearest_index (small 2-D outputs) or nearest_index_general
  kNearestExact,   // nearest_exact_index or nearest_exact_index_general
  kLinear,         // linear_taps: weights in Acc (PyTorch's small-output bilinear kernel)
  kLinearRounded,  // rounded_linear_taps: weights stored in the element type
  kCubic,          // cubic_taps, weights stored in the element type
  kAaLinear,       // aa_window (triangle), or the identity when the size does not change
  kAaCubic,        // aa_window (Keys cubic, a = -0.5), or the identity
  kArea,           // adaptive_start .. adaptive_end, no weights
};

// The taps of output coordinate o of dim `dim` by rule R: writes the first min(count, cap)
// source indices (and weights, except for the nearest and area rules) and returns the count,
// which only window rules can make larger than cap. With `narrow` (every size below 2^31) area
// windows avoid 64-bit division (adaptive_window); the result is the same.
template <TapRule R, class T, class Acc, class Index>
UPS_HD int taps_at(const InterpParams<Acc>& p, int dim, std::int64_t o, Index* idx, Acc* w, int cap,
                   bool narrow = false) {
  const InterpGeometry& g = p.g;
  const std::int64_t in = g.in[dim], out = g.out[dim];
  if constexpr (R == TapRule::kNearest || R == TapRule::kNearestExact) {
    std::int64_t i;
    if (p.small_2d_output) {
      if (dim == 0) {
        i = 0;
      } else if constexpr (R == TapRule::kNearest) {
        i = nearest_index(o, in, out, p.nearest_scale[dim]);
      } else {
        i = nearest_exact_index(o, in, p.nearest_scale[dim]);
      }
    } else if constexpr (R == TapRule::kNearest) {
      i = nearest_index_general(o, in, p.scale[dim]);
    } else {
      i = nearest_exact_index_general(o, in, p.scale[dim]);
    }
    idx[0] = static_cast<Index>(i);
    return 1;
  } else if constexpr (R == TapRule::kLinear || R == TapRule::kLinearRounded) {
    const LinearTaps<Acc> x =
        R == TapRule::kLinearRounded
            ? rounded_linear_taps<T>(p.scale[dim], o, in, out, p.align_corners)
            : linear_taps(p.scale[dim], o, in, out, p.align_corners);
    idx[0] = static_cast<Index>(x.i0);
    idx[1] = static_cast<Index>(x.i1);
    w[0] = x.w0;
    w[1] = x.w1;
    return 2;
  } else if constexpr (R == TapRule::kCubic) {
    const CubicTaps<Acc> c = cubic_taps(p.scale[dim], o, in, p.align_corners);
    for (int j = 0; j < 4; ++j) {
      idx[j] = static_cast<Index>(c.i[j]);
      w[j] = round_to_storage<T>(c.w[j]);
    }
    return 4;
  } else if constexpr (R == TapRule::kAaLinear || R == TapRule::kAaCubic) {
    const AaWindow<Acc> a = in == out ? aa_identity_window<Acc>(o)
                                      : aa_window(p.scale[dim], o, in, R == TapRule::kAaCubic);
    const int n = static_cast<int>(a.xsize);
    for (int j = 0; j < n && j < cap; ++j) {
      idx[j] = static_cast<Index>(a.xmin + j);
      w[j] = a.weight(j);
    }
    return n;
  } else {
    std::int64_t s0, s1;
    if (narrow) {
      adaptive_window(o, out, in, p.inv_out[dim], &s0, &s1);
    } else {
      s0 = adaptive_start(o, out, in);
      s1 = adaptive_end(o, out, in);
    }
    const int n = static_cast<int>(s1 - s0);
    for (int j = 0; j < n && j < cap; ++j)
      idx[j] = static_cast<Index>(s0 + j);
    return n;
  }
}

// The taps of one dim. Output coordinate o reads source indices idx[o * k + j] with weights
// w[o * k + j] for j < count[o] (count[o] == k except for anti-aliasing and area windows). The
// unused entries of a short window repeat its last index with weight 0, so that loads through
// them stay in range; they are never added into a result.
template <class Acc>
struct TapTable {
  std::int64_t out = 0;  // output positions
  int k = 1;             // taps per position (the largest window)
  std::vector<std::int64_t> idx;
  std::vector<Acc> w;  // empty for the nearest and area kinds, which have no weights
  std::vector<int> count;
  bool uniform = true;  // count[o] == k for every o

  std::int64_t index(std::int64_t o, int j) const {
    return idx[static_cast<std::size_t>(o * k + j)];
  }
  Acc weight(std::int64_t o, int j) const { return w[static_cast<std::size_t>(o * k + j)]; }
};

// The table of dim `dim` by rule R (host): every output coordinate's taps from taps_at. Short
// windows are padded with their last index and weight 0.
template <TapRule R, class T, class Acc>
TapTable<Acc> make_table(const InterpParams<Acc>& p, int dim) {
  constexpr bool kWeights =
      R != TapRule::kNearest && R != TapRule::kNearestExact && R != TapRule::kArea;
  TapTable<Acc> t;
  t.out = p.g.out[dim];
  t.count.resize(static_cast<std::size_t>(t.out));
  // Windows: find the largest first (window rules write nothing with a cap of 0; the fixed
  // rules write at most 4 taps).
  int k = 1;
  std::int64_t scratch_idx[4];
  Acc scratch_w[4];
  for (std::int64_t o = 0; o < t.out; ++o) {
    const int n = taps_at<R, T>(p, dim, o, scratch_idx, scratch_w, 0);
    t.count[static_cast<std::size_t>(o)] = n;
    k = n > k ? n : k;
  }
  t.k = k;
  t.idx.resize(static_cast<std::size_t>(k * t.out));
  if (kWeights) t.w.assign(static_cast<std::size_t>(k * t.out), Acc(0));
  std::vector<std::int64_t> idx(static_cast<std::size_t>(k));
  std::vector<Acc> w(static_cast<std::size_t>(k));
  for (std::int64_t o = 0; o < t.out; ++o) {
    const int n = taps_at<R, T>(p, dim, o, idx.data(), w.data(), k);
    t.uniform = t.uniform && n == k;
    for (int j = 0; j < k; ++j) {
      const auto s = static_cast<std::size_t>(o * k + j);
      const int from = j < n ? j : (n > 0 ? n - 1 : 0);
      t.idx[s] = idx[static_cast<std::size_t>(from)];
      if (kWeights) t.w[s] = j < n ? w[static_cast<std::size_t>(j)] : Acc(0);
    }
  }
  return t;
}

// The tables the CPU backend uses, by kind.
template <InterpKind K, class Acc>
TapTable<Acc> nearest_table(const InterpParams<Acc>& p, int dim) {
  constexpr TapRule R = K == InterpKind::kNearest ? TapRule::kNearest : TapRule::kNearestExact;
  return make_table<R, float>(p, dim);
}

// Two-tap linear weights of dim `dim`: stored in the element type T (PyTorch's generic kernel,
// `rounded`) or kept in Acc (its small-output 2-D bilinear kernel).
template <class T, class Acc>
TapTable<Acc> linear_table(const InterpParams<Acc>& p, int dim, bool rounded) {
  return rounded ? make_table<TapRule::kLinearRounded, T>(p, dim)
                 : make_table<TapRule::kLinear, T>(p, dim);
}

// Four-tap Keys cubic weights of dim `dim`, stored in the element type T as PyTorch does.
template <class T, class Acc>
TapTable<Acc> cubic_table(const InterpParams<Acc>& p, int dim) {
  return make_table<TapRule::kCubic, T>(p, dim);
}

// Anti-aliasing windows of dim `dim` (an unchanged size is an exact copy, as in PyTorch).
template <class Acc>
TapTable<Acc> aa_table(const InterpParams<Acc>& p, int dim, bool cubic) {
  return cubic ? make_table<TapRule::kAaCubic, float>(p, dim)
               : make_table<TapRule::kAaLinear, float>(p, dim);
}

// Adaptive average pooling windows ("area") of dim `dim`: start, end from adaptive_start and
// adaptive_end. No weights: the body sums and then divides by each dim's count.
template <class Acc>
TapTable<Acc> area_table(const InterpParams<Acc>& p, int dim) {
  return make_table<TapRule::kArea, float>(p, dim);
}

}  // namespace kern
}  // namespace ups
