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

// The nearest source index of every output coordinate of dim `dim` (0 = D, 1 = H, 2 = W), by the
// rule interp_element_at applies for kind K (kNearest or kNearestExact).
template <InterpKind K, class Acc>
TapTable<Acc> nearest_table(const InterpParams<Acc>& p, int dim) {
  const InterpGeometry& g = p.g;
  TapTable<Acc> t;
  t.out = g.out[dim];
  t.k = 1;
  t.idx.resize(static_cast<std::size_t>(t.out));
  t.count.assign(static_cast<std::size_t>(t.out), 1);
  for (std::int64_t o = 0; o < t.out; ++o) {
    std::int64_t i;
    if (p.small_2d_output) {
      if (dim == 0) {
        i = 0;
      } else if constexpr (K == InterpKind::kNearest) {
        i = nearest_index(o, g.in[dim], g.out[dim], p.nearest_scale[dim]);
      } else {
        i = nearest_exact_index(o, g.in[dim], p.nearest_scale[dim]);
      }
    } else if constexpr (K == InterpKind::kNearest) {
      i = nearest_index_general(o, g.in[dim], p.scale[dim]);
    } else {
      i = nearest_exact_index_general(o, g.in[dim], p.scale[dim]);
    }
    t.idx[static_cast<std::size_t>(o)] = i;
  }
  return t;
}

// Two-tap linear weights of dim `dim`: stored in the element type T (PyTorch's generic kernel,
// `rounded`) or kept in Acc (its small-output 2-D bilinear kernel).
template <class T, class Acc>
TapTable<Acc> linear_table(const InterpParams<Acc>& p, int dim, bool rounded) {
  const InterpGeometry& g = p.g;
  TapTable<Acc> t;
  t.out = g.out[dim];
  t.k = 2;
  t.idx.resize(static_cast<std::size_t>(2 * t.out));
  t.w.resize(static_cast<std::size_t>(2 * t.out));
  t.count.assign(static_cast<std::size_t>(t.out), 2);
  for (std::int64_t o = 0; o < t.out; ++o) {
    const LinearTaps<Acc> x =
        rounded ? rounded_linear_taps<T>(p.scale[dim], o, g.in[dim], g.out[dim], p.align_corners)
                : linear_taps(p.scale[dim], o, g.in[dim], g.out[dim], p.align_corners);
    const auto s = static_cast<std::size_t>(2 * o);
    t.idx[s] = x.i0;
    t.idx[s + 1] = x.i1;
    t.w[s] = x.w0;
    t.w[s + 1] = x.w1;
  }
  return t;
}

// Four-tap Keys cubic weights of dim `dim`, stored in the element type T as PyTorch does.
template <class T, class Acc>
TapTable<Acc> cubic_table(const InterpParams<Acc>& p, int dim) {
  const InterpGeometry& g = p.g;
  TapTable<Acc> t;
  t.out = g.out[dim];
  t.k = 4;
  t.idx.resize(static_cast<std::size_t>(4 * t.out));
  t.w.resize(static_cast<std::size_t>(4 * t.out));
  t.count.assign(static_cast<std::size_t>(t.out), 4);
  for (std::int64_t o = 0; o < t.out; ++o) {
    const CubicTaps<Acc> c = cubic_taps(p.scale[dim], o, g.in[dim], p.align_corners);
    for (int j = 0; j < 4; ++j) {
      const auto s = static_cast<std::size_t>(4 * o + j);
      t.idx[s] = c.i[j];
      t.w[s] = round_to_storage<T>(c.w[j]);
    }
  }
  return t;
}

// Anti-aliasing windows of dim `dim` (an unchanged size is an exact copy, as in PyTorch).
template <class Acc>
TapTable<Acc> aa_table(const InterpParams<Acc>& p, int dim, bool cubic) {
  const InterpGeometry& g = p.g;
  const bool identity = g.in[dim] == g.out[dim];
  std::vector<AaWindow<Acc>> windows;
  windows.reserve(static_cast<std::size_t>(g.out[dim]));
  int k = 1;
  for (std::int64_t o = 0; o < g.out[dim]; ++o) {
    windows.push_back(identity ? aa_identity_window<Acc>(o)
                               : aa_window(p.scale[dim], o, g.in[dim], cubic));
    k = windows.back().xsize > k ? static_cast<int>(windows.back().xsize) : k;
  }
  TapTable<Acc> t;
  t.out = g.out[dim];
  t.k = k;
  t.idx.resize(static_cast<std::size_t>(k * t.out));
  t.w.resize(static_cast<std::size_t>(k * t.out));
  t.count.resize(static_cast<std::size_t>(t.out));
  for (std::int64_t o = 0; o < t.out; ++o) {
    const AaWindow<Acc>& a = windows[static_cast<std::size_t>(o)];
    const int n = static_cast<int>(a.xsize);
    t.count[static_cast<std::size_t>(o)] = n;
    t.uniform = t.uniform && n == k;
    for (int j = 0; j < k; ++j) {
      const auto s = static_cast<std::size_t>(o * k + j);
      t.idx[s] = a.xmin + (j < n ? j : (n > 0 ? n - 1 : 0));
      t.w[s] = j < n ? a.weight(j) : Acc(0);
    }
  }
  return t;
}

// Adaptive average pooling windows ("area") of dim `dim`: start, end from adaptive_start and
// adaptive_end. No weights: the body sums and then divides by each dim's count.
template <class Acc>
TapTable<Acc> area_table(const InterpParams<Acc>& p, int dim) {
  const InterpGeometry& g = p.g;
  TapTable<Acc> t;
  t.out = g.out[dim];
  int k = 1;
  std::vector<std::int64_t> start(static_cast<std::size_t>(t.out)), end(start.size());
  for (std::int64_t o = 0; o < t.out; ++o) {
    start[static_cast<std::size_t>(o)] = adaptive_start(o, g.out[dim], g.in[dim]);
    end[static_cast<std::size_t>(o)] = adaptive_end(o, g.out[dim], g.in[dim]);
    const std::int64_t n = end[static_cast<std::size_t>(o)] - start[static_cast<std::size_t>(o)];
    k = n > k ? static_cast<int>(n) : k;
  }
  t.k = k;
  t.idx.resize(static_cast<std::size_t>(k * t.out));
  t.count.resize(static_cast<std::size_t>(t.out));
  for (std::int64_t o = 0; o < t.out; ++o) {
    const std::int64_t s0 = start[static_cast<std::size_t>(o)];
    const int n = static_cast<int>(end[static_cast<std::size_t>(o)] - s0);
    t.count[static_cast<std::size_t>(o)] = n;
    t.uniform = t.uniform && n == k;
    for (int j = 0; j < k; ++j)
      t.idx[static_cast<std::size_t>(o * k + j)] = s0 + (j < n ? j : n - 1);
  }
  return t;
}

}  // namespace kern
}  // namespace ups
