// CPU backend of ups::interpolate_backward: three gather passes over the transposed tap tables
// of kernels/interpolate/interp_backward.hpp, one (N, C) plane per task, or one image per task
// with channels-last tensors (C innermost in both), whose loops then run along C.
//
// grad_input[z, y, x] = sum_od wz * (sum_oh wy * (sum_ow wx * grad_output[od, oh, ow])), each
// sum over a transposed table's list in increasing output order, from 0. The W pass turns every
// grad_output row into a row of in_W sums, the H pass combines those rows into in_H rows per
// output D plane, the D pass combines planes. Which thread runs a plane never changes a value, so
// the result is the same for every thread count; the CUDA kernel forms the same sums in the same
// order (kernels/interpolate/interpolate_backward.cu).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/parallel.hpp"
#include "interpolate/interp_backward.hpp"
#include "interpolate_plan.hpp"

namespace ups {
namespace detail {
namespace {

using kern::InterpKind;

// gather_row for a table whose every list has kLen entries (so entry e of input i is i * kLen +
// e): a fixed trip count, which the compiler unrolls and vectorises.
template <int kLen, class T, class Acc>
void gather_row_fixed(const kern::InvTable<Acc>& t, const T* row, std::int64_t stride, Acc* out) {
  const std::int64_t* outs = t.out.data();
  const Acc* w = t.w.data();
  if (t.blocked && stride == 1) {
    // Input i reads outputs i * kLen + e: contiguous loads, no index table.
    for (std::int64_t i = 0; i < t.in; ++i) {
      Acc acc = Acc(0);
      for (int e = 0; e < kLen; ++e)
        acc = acc + w[i * kLen + e] * kern::to_acc<Acc>(row[i * kLen + e]);
      out[i] = acc;
    }
    return;
  }
  for (std::int64_t i = 0; i < t.in; ++i) {
    Acc acc = Acc(0);
    for (int e = 0; e < kLen; ++e)
      acc = acc + w[i * kLen + e] * kern::to_acc<Acc>(row[outs[i * kLen + e] * stride]);
    out[i] = acc;
  }
}

// out[i] = sum over the list of i of w * row[o * stride], from 0, for i < t.in.
template <class T, class Acc>
void gather_row(const kern::InvTable<Acc>& t, const T* row, std::int64_t stride, Acc* out) {
  switch (t.fixed_len) {
    case 1:
      return gather_row_fixed<1>(t, row, stride, out);
    case 2:
      return gather_row_fixed<2>(t, row, stride, out);
    case 3:
      return gather_row_fixed<3>(t, row, stride, out);
    case 4:
      return gather_row_fixed<4>(t, row, stride, out);
    default:
      break;
  }
  const std::int64_t* start = t.start.data();
  const std::int64_t* outs = t.out.data();
  const Acc* w = t.w.data();
  for (std::int64_t i = 0; i < t.in; ++i) {
    Acc acc = Acc(0);
    for (std::int64_t e = start[i]; e < start[i + 1]; ++e)
      acc = acc + w[e] * kern::to_acc<Acc>(row[outs[e] * stride]);
    out[i] = acc;
  }
}

// rows_out[i][x] = sum over the list of i of w * rows_in[o][x], from 0, for x < n: the H and D
// passes, which combine whole rows (so the loop over x vectorises).
template <class Acc>
void combine_rows(const kern::InvTable<Acc>& t, const Acc* in, std::int64_t in_stride, Acc* out,
                  std::int64_t out_stride, std::int64_t n) {
  for (std::int64_t i = 0; i < t.in; ++i) {
    Acc* dst = out + i * out_stride;
    std::fill(dst, dst + n, Acc(0));
    for (std::int64_t e = t.start[static_cast<std::size_t>(i)];
         e < t.start[static_cast<std::size_t>(i + 1)]; ++e) {
      const Acc w = t.w[static_cast<std::size_t>(e)];
      const Acc* src = in + t.out[static_cast<std::size_t>(e)] * in_stride;
      for (std::int64_t x = 0; x < n; ++x)
        dst[x] = dst[x] + w * src[x];
    }
  }
}

// Channels-last: out[i * cc + ch] = sum over the list of i of w * row[o * stride + ch], for the
// cc channels of every pixel, in the same order per element as gather_row (so both layouts give
// the same bits); the loop over channels vectorises.
template <class T, class Acc>
void gather_pixels(const kern::InvTable<Acc>& t, const T* row, std::int64_t stride, std::int64_t cc,
                   Acc* out) {
  for (std::int64_t i = 0; i < t.in; ++i) {
    Acc* dst = out + i * cc;
    std::fill(dst, dst + cc, Acc(0));
    for (std::int64_t e = t.start[static_cast<std::size_t>(i)];
         e < t.start[static_cast<std::size_t>(i + 1)]; ++e) {
      const Acc w = t.w[static_cast<std::size_t>(e)];
      const T* src = row + t.out[static_cast<std::size_t>(e)] * stride;
      for (std::int64_t ch = 0; ch < cc; ++ch)
        dst[ch] = dst[ch] + w * kern::to_acc<Acc>(src[ch]);
    }
  }
}

template <InterpKind K, class T>
void run(const InterpolatePlan& plan, const T* grad_out, T* grad_in, int threads) {
  using Acc = kern::acc_t<T>;
  const kern::InterpGeometry& g = plan.geometry;
  const auto p = kern::make_interp_params<Acc>(g, plan.user_scale, plan.align_corners);
  const auto tables = kern::make_backward_tables<K, Acc>(p);
  const kern::InvTable<Acc>& tz = tables.dim[0];
  const kern::InvTable<Acc>& ty = tables.dim[1];
  const kern::InvTable<Acc>& tx = tables.dim[2];
  const std::int64_t in_d = g.in[0], in_h = g.in[1], in_w = g.in[2];
  const std::int64_t out_d = g.out[0], out_h = g.out[1];
  const std::int64_t* gs = g.dst_stride;  // grad_output
  const std::int64_t* is = g.src_stride;  // grad_input
  // Channels-last (C innermost in both tensors): a task is an image and every pixel a run of C
  // values; otherwise a task is an (N, C) plane of single values.
  const bool cl = g.c > 1 && gs[1] == 1 && is[1] == 1;
  const std::int64_t cc = cl ? g.c : 1;
  const std::int64_t units = cl ? g.n : g.n * g.c;
  const std::int64_t row_len = in_w * cc;

  // Per worker: the W pass (out_D * out_H rows), the H pass (out_D * in_H rows) and, for 3-D
  // kinds, the D pass (in_D * in_H rows), each row in_W pixels of cc values.
  struct Scratch {
    std::vector<Acc> a, b, c;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(std::max(threads, 1)));
  run_tasks(units, threads, [&](int worker, std::int64_t unit) {
    Scratch& s = scratch[static_cast<std::size_t>(worker)];
    s.a.resize(static_cast<std::size_t>(out_d * out_h * row_len));
    s.b.resize(static_cast<std::size_t>(out_d * in_h * row_len));
    const std::int64_t n = cl ? unit : unit / g.c, c = cl ? 0 : unit % g.c;
    const T* go = grad_out + n * gs[0] + c * gs[1];
    T* gi = grad_in + n * is[0] + c * is[1];
    for (std::int64_t od = 0; od < out_d; ++od) {
      for (std::int64_t oh = 0; oh < out_h; ++oh) {
        const T* row = go + od * gs[2] + oh * gs[3];
        Acc* dst = s.a.data() + (od * out_h + oh) * row_len;
        if (cl) {
          gather_pixels(tx, row, gs[4], cc, dst);
        } else {
          gather_row(tx, row, gs[4], dst);
        }
      }
    }
    for (std::int64_t od = 0; od < out_d; ++od) {
      if (ty.identity) {
        std::copy(s.a.data() + od * out_h * row_len, s.a.data() + (od + 1) * out_h * row_len,
                  s.b.data() + od * in_h * row_len);
      } else {
        combine_rows(ty, s.a.data() + od * out_h * row_len, row_len,
                     s.b.data() + od * in_h * row_len, row_len, row_len);
      }
    }
    const Acc* result = s.b.data();
    if (!tz.identity) {
      s.c.resize(static_cast<std::size_t>(in_d * in_h * row_len));
      combine_rows(tz, s.b.data(), in_h * row_len, s.c.data(), in_h * row_len, in_h * row_len);
      result = s.c.data();
    }
    for (std::int64_t z = 0; z < in_d; ++z) {
      for (std::int64_t y = 0; y < in_h; ++y) {
        const Acc* r = result + (z * in_h + y) * row_len;
        T* dst = gi + z * is[2] + y * is[3];
        if (cl) {
          for (std::int64_t x = 0; x < in_w; ++x) {
            for (std::int64_t ch = 0; ch < cc; ++ch)
              dst[x * is[4] + ch] = kern::from_acc<T>(r[x * cc + ch]);
          }
        } else {
          for (std::int64_t x = 0; x < in_w; ++x)
            dst[x * is[4]] = kern::from_acc<T>(r[x]);
        }
      }
    }
  });
}

}  // namespace

void interpolate_backward_cpu(const InterpolatePlan& plan, const void* grad_out, void* grad_in,
                              int threads) {
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      fail(ErrorCode::kInternal, "interpolate_backward: u8 reached the CPU backend");
    } else {
      run<K, T>(plan, static_cast<const T*>(grad_out), static_cast<T*>(grad_in), threads);
    }
  });
}

}  // namespace detail
}  // namespace ups
