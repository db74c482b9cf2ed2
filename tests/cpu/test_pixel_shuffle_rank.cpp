// Leading dims of ups::pixel_shuffle / ups::pixel_unshuffle: the shape queries at ranks 3 to 8,
// the ops at every rank a TensorView holds (3 to kMaxDims) with leading dims in any layout
// (transposed, with gaps, reversed), and the merging of leading dims the front end does. The
// oracle is PyTorch's index formula evaluated here, element by element, through the strides:
//   shuffle:   out[..., c, h * r + i, w * r + j] = in[..., (c * r + i) * r + j, h, w]
//   unshuffle: out[..., (c * r + i) * r + j, h, w] = in[..., c, h * r + i, w * r + j]
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pixel_shuffle_plan.hpp"
#include "ups/context.hpp"
#include "ups/pixel_shuffle.hpp"

namespace {

using ups::Shape;
using Vec = std::vector<std::int64_t>;

// The next multi-index in C order; false after the last.
bool advance(Vec& idx, const Vec& sizes) {
  for (std::size_t k = sizes.size(); k-- > 0;) {
    if (++idx[k] < sizes[k]) return true;
    idx[k] = 0;
  }
  return false;
}

std::int64_t product(const Vec& v) {
  std::int64_t p = 1;
  for (std::int64_t x : v)
    p *= x;
  return p;
}

// How a tensor's dims are laid out: `order` lists the dims from outermost to innermost in
// memory; each dim in `gapped` has one unused slot after its last element; each dim in
// `reversed` has a negative stride.
struct Layout {
  std::string name;
  std::vector<int> order;
  std::vector<int> gapped;
  std::vector<int> reversed;
};

// An i64 tensor in a buffer of its own, unused slots set to a sentinel.
struct Strided {
  static constexpr std::int64_t kSentinel = -1;
  Strided(const Vec& dims, const Layout& layout) : sizes(dims), strides(dims.size()) {
    std::int64_t running = 1;
    for (std::size_t k = layout.order.size(); k-- > 0;) {
      const int d = layout.order[k];
      strides[static_cast<std::size_t>(d)] = running;
      const bool gap = std::count(layout.gapped.begin(), layout.gapped.end(), d) > 0;
      running *= sizes[static_cast<std::size_t>(d)] + (gap ? 1 : 0);
    }
    for (int d : layout.reversed) {
      const auto u = static_cast<std::size_t>(d);
      base += (sizes[u] - 1) * strides[u];
      strides[u] = -strides[u];
    }
    buffer.assign(static_cast<std::size_t>(running), kSentinel);
  }
  std::int64_t offset(const Vec& idx) const {
    std::int64_t o = base;
    for (std::size_t k = 0; k < idx.size(); ++k)
      o += idx[k] * strides[k];
    return o;
  }
  std::int64_t& at(const Vec& idx) { return buffer[static_cast<std::size_t>(offset(idx))]; }
  ups::TensorView view() {
    ups::TensorView v;
    v.data = buffer.data() + base;
    v.dtype = ups::DType::kI64;
    v.device = ups::Device::kCPU;
    v.ndim = static_cast<int>(sizes.size());
    for (int k = 0; k < v.ndim; ++k) {
      v.sizes[k] = sizes[static_cast<std::size_t>(k)];
      v.strides[k] = strides[static_cast<std::size_t>(k)];
    }
    return v;
  }
  Vec sizes, strides;
  std::int64_t base = 0;
  std::vector<std::int64_t> buffer;
};

// The input index that output index `o` reads, by the formulas above.
Vec source_index(const Vec& o, std::int64_t r, bool unshuffle) {
  Vec i = o;
  const std::size_t c = o.size() - 3, h = c + 1, w = c + 2;
  if (unshuffle) {
    i[c] = o[c] / (r * r);
    i[h] = o[h] * r + (o[c] / r) % r;
    i[w] = o[w] * r + o[c] % r;
  } else {
    i[c] = (o[c] * r + o[h] % r) * r + o[w] % r;
    i[h] = o[h] / r;
    i[w] = o[w] / r;
  }
  return i;
}

// Runs the op on src / dst in the given layouts and checks every output element against the
// formula, and that no unused slot of dst was written.
void check_op(const Vec& in_sizes, std::int64_t r, bool unshuffle, const Layout& in_layout,
              const Layout& out_layout, int threads) {
  INFO((unshuffle ? "pixel_unshuffle " : "pixel_shuffle ")
       << ups::shape_to_string(in_sizes) << " r=" << r << ", src " << in_layout.name << ", dst "
       << out_layout.name << ", threads " << threads);
  const Shape out_sizes = unshuffle ? ups::pixel_unshuffle_output_shape(in_sizes, r)
                                    : ups::pixel_shuffle_output_shape(in_sizes, r);
  Strided src(in_sizes, in_layout), dst(out_sizes, out_layout);
  // Every input element holds its own C-order position.
  Vec idx(in_sizes.size(), 0);
  std::int64_t n = 0;
  do {
    src.at(idx) = n++;
  } while (advance(idx, in_sizes));

  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  if (unshuffle) {
    ups::pixel_unshuffle(ctx, src.view(), dst.view(), r);
  } else {
    ups::pixel_shuffle(ctx, src.view(), dst.view(), r);
  }

  std::vector<char> used(dst.buffer.size(), 0);
  Vec o(out_sizes.size(), 0);
  std::int64_t wrong = 0;
  do {
    used[static_cast<std::size_t>(dst.offset(o))] = 1;
    const Vec i = source_index(o, r, unshuffle);
    if (dst.at(o) != src.at(i)) ++wrong;
  } while (advance(o, out_sizes));
  CHECK(wrong == 0);
  std::int64_t overwritten = 0;
  for (std::size_t k = 0; k < used.size(); ++k) {
    if (!used[k] && dst.buffer[k] != Strided::kSentinel) ++overwritten;
  }
  CHECK(overwritten == 0);
}

std::vector<int> iota_dims(int rank) {
  std::vector<int> v(static_cast<std::size_t>(rank));
  for (int k = 0; k < rank; ++k)
    v[static_cast<std::size_t>(k)] = k;
  return v;
}

// Layouts of a rank-`rank` tensor that move its leading dims around.
std::vector<Layout> layouts(int rank) {
  const std::vector<int> c_order = iota_dims(rank);
  std::vector<Layout> out = {{"contiguous", c_order, {}, {}}};
  if (rank >= 4) {
    // Leading dims innermost of all (as channels-last moves C), with a gap after the first.
    std::vector<int> lead_inner(c_order.begin() + (rank - 3), c_order.end());
    lead_inner.insert(lead_inner.end(), c_order.begin(), c_order.begin() + (rank - 3));
    out.push_back({"leading dims innermost", lead_inner, {0}, {}});
    // The first leading dim reversed, the last one with a gap.
    out.push_back({"reversed, gapped", c_order, {rank - 4}, {0}});
  }
  if (rank >= 5) {
    // The two leading dims swapped in memory, and a gap after W.
    std::vector<int> swapped = c_order;
    std::swap(swapped[0], swapped[1]);
    out.push_back({"leading dims transposed", swapped, {rank - 1}, {}});
  }
  return out;
}

}  // namespace

TEST_CASE("pixel shuffle shape queries accept any rank of at least 3", "[pixel_shuffle][rank]") {
  const std::int64_t r = 2;
  for (int rank = 3; rank <= 8; ++rank) {
    INFO("rank " << rank);
    Vec lead;
    for (int k = 0; k < rank - 3; ++k)
      lead.push_back(k + 2);
    Vec in = lead, want = lead;
    in.insert(in.end(), {3 * r * r, 5, 7});
    want.insert(want.end(), {3, 5 * r, 7 * r});
    CHECK(ups::pixel_shuffle_output_shape(in, r) == want);
    Vec uin = lead, uwant = lead;
    uin.insert(uin.end(), {3, 5 * r, 7 * r});
    uwant.insert(uwant.end(), {3 * r * r, 5, 7});
    CHECK(ups::pixel_unshuffle_output_shape(uin, r) == uwant);
    // Leading dims do not take part in the checks.
    Vec bad = lead;
    bad.insert(bad.end(), {3, 5, 7});
    CHECK_THROWS_AS(ups::pixel_shuffle_output_shape(bad, r), ups::Error);
    CHECK_THROWS_AS(ups::pixel_unshuffle_output_shape(bad, r), ups::Error);
  }
}

TEST_CASE("pixel shuffles at every rank with leading dims in any layout", "[pixel_shuffle][rank]") {
  for (int rank = 3; rank <= ups::kMaxDims; ++rank) {
    Vec lead;
    for (int k = 0; k < rank - 3; ++k)
      lead.push_back(3 - k % 2);  // 3, 2, 3, ...
    for (const std::int64_t r : {std::int64_t(2), std::int64_t(3)}) {
      Vec shuffle_in = lead, unshuffle_in = lead;
      shuffle_in.insert(shuffle_in.end(), {2 * r * r, 3, 2});
      unshuffle_in.insert(unshuffle_in.end(), {2, 3 * r, 2 * r});
      for (const Layout& a : layouts(rank)) {
        for (const Layout& b : layouts(rank)) {
          check_op(shuffle_in, r, false, a, b, 1);
          check_op(unshuffle_in, r, true, a, b, 1);
        }
      }
    }
  }
  // Large enough for several threads, with leading dims that cannot be merged.
  const std::vector<Layout> five = layouts(5);
  check_op({5, 4, 36, 30, 20}, 3, false, five[3], five[2], 4);
  check_op({5, 4, 4, 90, 60}, 3, true, five[1], five[3], 4);
}

TEST_CASE("pixel shuffle leading dims merge only where both layouts allow",
          "[pixel_shuffle][rank]") {
  // The merged dims must address the same (src, dst) offset pairs in the same order as the
  // original ones, whatever the rank (up to five leading dims here).
  auto offsets = [](const Vec& sizes, const Vec& ss, const Vec& ds) {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    if (product(sizes) == 0) return out;
    Vec idx(sizes.size(), 0);
    do {
      std::int64_t s = 0, d = 0;
      for (std::size_t k = 0; k < idx.size(); ++k) {
        s += idx[k] * ss[k];
        d += idx[k] * ds[k];
      }
      out.emplace_back(s, d);
    } while (advance(idx, sizes));
    return out;
  };
  struct Case {
    const char* what;
    Vec sizes, src_strides, dst_strides;
    std::size_t merged_dims;  // from the definition: how many dims remain
  };
  const std::vector<Case> cases = {
      {"no leading dims", {}, {}, {}, 0},
      {"all of size 1", {1, 1, 1}, {7, 3, 100}, {5, 9, 2}, 0},
      {"contiguous in both", {2, 3, 4, 5, 6}, {360, 120, 30, 6, 1}, {720, 240, 60, 12, 2}, 1},
      {"size-1 dims with any stride", {2, 1, 3, 1}, {3, 99, 1, -4}, {30, 7, 10, 0}, 1},
      {"src mergeable, dst not", {2, 3}, {3, 1}, {4, 1}, 2},
      {"transposed", {2, 3, 4}, {4, 8, 1}, {12, 4, 1}, 3},
      {"reversed", {3, 4, 2}, {-8, 2, 1}, {-8, 2, 1}, 2},
      {"gap in the middle", {2, 3, 4, 5}, {150, 50, 5, 1}, {60, 20, 5, 1}, 2},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const std::vector<ups::detail::ShuffleLeadDim> dims =
        ups::detail::collapse_shuffle_lead_dims(static_cast<int>(c.sizes.size()), c.sizes.data(),
                                                c.src_strides.data(), c.dst_strides.data());
    CHECK(dims.size() == c.merged_dims);
    Vec sizes, ss, ds;
    for (const auto& d : dims) {
      sizes.push_back(d.size);
      ss.push_back(d.src_stride);
      ds.push_back(d.dst_stride);
    }
    CHECK(offsets(sizes, ss, ds) == offsets(c.sizes, c.src_strides, c.dst_strides));
  }
}
