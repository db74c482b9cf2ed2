// interpolate_backward's plan: per-dim tap tables with the weights of PyTorch's backward kernels,
// and their transposes (for every input coordinate, the outputs that read it). Host code, built
// once per call from the same tap functions as the forward tables; the CPU backend loops over the
// transposed tables and the CUDA backend copies them to the device.
//
// The backward reads grad_output where the forward writes and writes grad_input where the
// forward reads, so the geometry is the forward's: `in` is grad_input's shape, `out`
// grad_output's, src_stride grad_input's strides and dst_stride grad_output's.
#pragma once

#include <cstdint>
#include <vector>

#include "interpolate/interp_math.hpp"
#include "interpolate/interp_taps.hpp"

namespace ups {
namespace kern {

// For every input coordinate i of one dim, the outputs o that read it, with the weight of each
// read: entries [start[i], start[i + 1]) of `out` and `w`, by increasing o (and by tap order
// for an output that reads i through several taps, as clamped cubic taps do at the borders).
template <class Acc>
struct InvTable {
  std::int64_t in = 0;
  std::vector<std::int64_t> start;  // in + 1 entries
  std::vector<std::int64_t> out;
  std::vector<Acc> w;
  // Every input is read by exactly one output with weight 1 (a unit dim, or a same-size
  // nearest dim): the dim's pass is a copy.
  bool identity = false;
  // The length of every list when all have the same, else 0 (integer scale factors).
  int fixed_len = 0;
  // With fixed_len: input i's list is outputs i * fixed_len + e, in order (nearest and area at
  // integer upscaling factors).
  bool blocked = false;
};

// Whether kind K weights dim `dim` (0 = D, 1 = H, 2 = W); the other dims are unit dims of the
// caller's rank, read with index 0 and weight 1.
template <InterpKind K>
constexpr bool weighted_dim(int dim) {
  switch (K) {
    case InterpKind::kLinear:
      return dim == 2;
    case InterpKind::kBilinear:
    case InterpKind::kBicubic:
    case InterpKind::kAaBilinear:
    case InterpKind::kAaBicubic:
      return dim >= 1;
    default:
      return true;  // nearest, nearest-exact, trilinear and area index every dim
  }
}

// The forward taps of dim `dim` as PyTorch's backward kernels use them:
//  - nearest and nearest-exact: PyTorch's nearest_idx / nearest_exact_idx (with the 1x and 2x
//    shortcuts and the f32 scale) for every rank, weight 1;
//  - linear kinds and bicubic: the weights in the accumulation type, never rounded to f16/bf16;
//  - anti-aliasing: the forward windows;
//  - area: the adaptive windows, weight 1 / window size.
template <InterpKind K, class Acc>
TapTable<Acc> backward_table(const InterpParams<Acc>& p, int dim) {
  const std::int64_t in = p.g.in[dim], out = p.g.out[dim];
  const bool nearest_kind = K == InterpKind::kNearest || K == InterpKind::kNearestExact;
  if (nearest_kind || !weighted_dim<K>(dim)) {
    TapTable<Acc> t;
    t.out = out;
    t.k = 1;
    t.idx.resize(static_cast<std::size_t>(out));
    t.w.assign(static_cast<std::size_t>(out), Acc(1));
    t.count.assign(static_cast<std::size_t>(out), 1);
    for (std::int64_t o = 0; o < out; ++o) {
      std::int64_t i = 0;
      if (K == InterpKind::kNearestExact) {
        i = nearest_exact_index(o, in, p.nearest_scale[dim]);
      } else if (nearest_kind) {
        i = nearest_index(o, in, out, p.nearest_scale[dim]);
      }
      t.idx[static_cast<std::size_t>(o)] = i;
    }
    return t;
  }
  if constexpr (K == InterpKind::kLinear || K == InterpKind::kBilinear ||
                K == InterpKind::kTrilinear) {
    return make_table<TapRule::kLinear, float>(p, dim);
  } else if constexpr (K == InterpKind::kBicubic) {
    return make_table<TapRule::kCubic, float>(p, dim);
  } else if constexpr (K == InterpKind::kAaBilinear || K == InterpKind::kAaBicubic) {
    return aa_table(p, dim, K == InterpKind::kAaBicubic);
  } else {
    TapTable<Acc> t = area_table(p, dim);
    t.w.assign(static_cast<std::size_t>(t.out * t.k), Acc(0));
    for (std::int64_t o = 0; o < t.out; ++o) {
      const int n = t.count[static_cast<std::size_t>(o)];
      for (int j = 0; j < n; ++j)
        t.w[static_cast<std::size_t>(o * t.k + j)] = Acc(1) / static_cast<Acc>(n);
    }
    return t;
  }
}

// The transpose of a tap table over `in` input coordinates.
template <class Acc>
InvTable<Acc> invert_table(const TapTable<Acc>& t, std::int64_t in) {
  InvTable<Acc> v;
  v.in = in;
  v.start.assign(static_cast<std::size_t>(in + 1), 0);
  for (std::int64_t o = 0; o < t.out; ++o) {
    for (int j = 0; j < t.count[static_cast<std::size_t>(o)]; ++j)
      ++v.start[static_cast<std::size_t>(t.index(o, j) + 1)];
  }
  for (std::int64_t i = 0; i < in; ++i)
    v.start[static_cast<std::size_t>(i + 1)] += v.start[static_cast<std::size_t>(i)];
  const auto total = static_cast<std::size_t>(v.start[static_cast<std::size_t>(in)]);
  v.out.resize(total);
  v.w.resize(total);
  std::vector<std::int64_t> fill(v.start.begin(), v.start.end() - 1);
  for (std::int64_t o = 0; o < t.out; ++o) {
    for (int j = 0; j < t.count[static_cast<std::size_t>(o)]; ++j) {
      const auto e = static_cast<std::size_t>(fill[static_cast<std::size_t>(t.index(o, j))]++);
      v.out[e] = o;
      v.w[e] = t.w.empty() ? Acc(1) : t.weight(o, j);
    }
  }
  const std::int64_t len0 = in > 0 ? v.start[1] : 0;
  bool fixed = in > 0 && len0 > 0 && len0 <= 4;
  for (std::int64_t i = 0; fixed && i < in; ++i)
    fixed = v.start[static_cast<std::size_t>(i + 1)] - v.start[static_cast<std::size_t>(i)] == len0;
  v.fixed_len = fixed ? static_cast<int>(len0) : 0;
  v.blocked = fixed;
  for (std::size_t e = 0; v.blocked && e < v.out.size(); ++e)
    v.blocked = v.out[e] == static_cast<std::int64_t>(e);
  v.identity = t.out == in;
  for (std::int64_t i = 0; v.identity && i < in; ++i) {
    v.identity =
        v.start[static_cast<std::size_t>(i + 1)] - v.start[static_cast<std::size_t>(i)] == 1 &&
        v.out[static_cast<std::size_t>(i)] == i && v.w[static_cast<std::size_t>(i)] == Acc(1);
  }
  return v;
}

// The three transposed tables (D, H, W) of kind K.
template <InterpKind K, class Acc>
struct BackwardTables {
  InvTable<Acc> dim[3];
};

template <InterpKind K, class Acc>
BackwardTables<K, Acc> make_backward_tables(const InterpParams<Acc>& p) {
  BackwardTables<K, Acc> b;
  for (int d = 0; d < 3; ++d)
    b.dim[d] = invert_table(backward_table<K, Acc>(p, d), p.g.in[d]);
  return b;
}

}  // namespace kern
}  // namespace ups
