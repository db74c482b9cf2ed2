// Fuzz target: ups::max_pool_output_shape, max_pool, max_pool_backward (synchronous and deferred
// checks), max_pool_check, max_unpool_output_shape, max_unpool_workspace_size, max_unpool
// (synchronous and deferred checks) and max_unpool_check.
//
// The first byte picks max_pool or max_unpool. Checked, besides "succeed or throw ups::Error":
// - the shape queries and the ops agree, and wrong dtypes, shapes or overlapping outputs fail;
// - max_pool's values and indices equal a direct scan of each window (D, H, W order, the first
//   of equal maxima wins), on inputs without NaN;
// - max_unpool with fuzz-chosen indices: it fails exactly when an index lies outside its output
//   plane (and the output is not empty), names the invalid index at the largest C-order
//   position, and its output is the direct scatter in C order (invalid entries skipped), also
//   when it fails; the deferred check reports the same through max_unpool_check;
// - max_pool_backward after a successful max_pool, with its values as grad_output and its indices
//   (one perhaps replaced by a fuzz value): it fails exactly when the index of a window with an
//   in-bounds tap is not one of that window's taps, naming the one at the largest C-order
//   position, and with exact values in f32, f64, i32 or i64 grad_input is the direct scatter of
//   grad_output by index; the deferred check reports the same through max_pool_check and then
//   writes grad_input in full, the windows with an invalid index contributing nothing;
// - inputs are never written, nor bytes of an output's buffer outside its view.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"

namespace ups_fuzz {
namespace {

std::vector<std::int64_t> pool_list(ByteReader& in, int k, std::int64_t lo, bool allow_empty) {
  const std::uint8_t sel = in.byte();
  std::size_t n = sel < 128 ? 1 : sel < 232 ? static_cast<std::size_t>(k) : sel % 5;
  if (allow_empty && sel < 48) n = 0;
  std::vector<std::int64_t> v(n);
  for (auto& x : v)
    x = in.byte() < 224 ? lo + in.range(0, 2) : in.int_arg();
  return v;
}

std::int64_t pick(const std::vector<std::int64_t>& v, int j, std::int64_t dflt) {
  return v.empty() ? dflt : v.size() == 1 ? v[0] : v[static_cast<std::size_t>(j)];
}

// The backward check described at the top; `dst` and `idx` come from a successful max_pool of
// `shape` into `out_shape`.
void check_max_pool_backward(ByteReader& in, const ups::Context& ctx, const ups::Shape& shape,
                             const ups::Shape& out_shape, const ups::MaxPoolOptions& opt, int k,
                             const Tensor& grad, const Tensor& idx, bool exact,
                             const std::string& context) {
  // The replaced index is put back on return, for the forward's own checks.
  struct Restore {
    const Tensor& t;
    std::vector<unsigned char> bytes;
    ~Restore() {
      if (!bytes.empty()) std::memcpy(t.storage.get(), bytes.data(), bytes.size());
    }
  } restore{idx, snapshot(idx)};
  if (idx.numel() > 0 && in.flag()) {
    const std::int64_t at = in.range(0, idx.numel() - 1);
    const std::int64_t v = in.byte() < 128 ? in.range(-2, 40) : in.int_arg();
    std::memcpy(idx.at(at), &v, sizeof(v));
  }
  const ups::DType dtype = grad.view.dtype;
  Tensor gin;
  if (!make_tensor(in, dtype, shape, true, &gin)) return;
  Expectation e;
  e.may_fail(huge_span(gin.view));
  const std::size_t first = shape.size() - static_cast<std::size_t>(k);
  std::int64_t in_sp[3] = {1, 1, 1}, out_sp[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1},
               P[3] = {0, 0, 0}, D[3] = {1, 1, 1};
  for (int j = 0; j < k; ++j) {
    const int s = 3 - k + j;
    in_sp[s] = shape[first + static_cast<std::size_t>(j)];
    out_sp[s] = out_shape[first + static_cast<std::size_t>(j)];
    K[s] = pick(opt.kernel_size, j, 1);
    S[s] = pick(opt.stride.empty() ? opt.kernel_size : opt.stride, j, 1);
    P[s] = pick(opt.padding, j, 0);
    D[s] = pick(opt.dilation, j, 1);
  }
  const std::int64_t plane_in = in_sp[0] * in_sp[1] * in_sp[2];
  const std::int64_t plane_out = out_sp[0] * out_sp[1] * out_sp[2];
  const std::int64_t planes = plane_out > 0 ? grad.numel() / plane_out : 0;
  std::vector<double> want(static_cast<std::size_t>(planes * plane_in), 0.0);
  std::int64_t last_bad = -1;
  for (std::int64_t pl = 0; pl < planes; ++pl) {
    for (std::int64_t o = 0; o < plane_out; ++o) {
      const std::int64_t i = pl * plane_out + o;
      std::int64_t index = 0;
      std::memcpy(&index, idx.at(i), sizeof(index));
      const std::int64_t oz = o / (out_sp[1] * out_sp[2]), oy = o / out_sp[2] % out_sp[1],
                         ox = o % out_sp[2];
      bool has_tap = false, named = false;
      for (std::int64_t a = 0; a < K[0]; ++a) {
        const std::int64_t z = oz * S[0] - P[0] + a * D[0];
        if (z < 0 || z >= in_sp[0]) continue;
        for (std::int64_t b = 0; b < K[1]; ++b) {
          const std::int64_t y = oy * S[1] - P[1] + b * D[1];
          if (y < 0 || y >= in_sp[1]) continue;
          for (std::int64_t c = 0; c < K[2]; ++c) {
            const std::int64_t x = ox * S[2] - P[2] + c * D[2];
            if (x < 0 || x >= in_sp[2]) continue;
            has_tap = true;
            named = named || (z * in_sp[1] + y) * in_sp[2] + x == index;
          }
        }
      }
      if (has_tap && !named) last_bad = i;
      if (named) {
        want[static_cast<std::size_t>(pl * plane_in + index)] += load_value(dtype, grad.at(i));
      }
    }
  }
  // An invalid index is reported after the other checks; with the deferred check grad_input is
  // then still written.
  const bool only_bad_index = !e.fails() && last_bad >= 0;
  e.must_fail(last_bad >= 0, "an index is not a tap of its window");
  const bool deferred = in.flag();
  const auto grad_before = snapshot(grad);
  const auto idx_before = snapshot(idx);
  std::string error;
  ups::MaxPoolStatus status{};
  bool ok = succeeds(
      [&] {
        ups::max_pool_backward(ctx, grad.view, idx.view, gin.view, opt,
                               deferred ? &status : nullptr);
      },
      &error);
  if (ok && deferred) ok = succeeds([&] { ups::max_pool_check(ctx, &status); }, &error);
  e.check(deferred ? "max_pool_backward (deferred check)" : "max_pool_backward", ok, error,
          context);
  expect(unchanged(grad, grad_before) && unchanged(idx, idx_before),
         "max_pool_backward wrote into an input; " + context);
  if (only_bad_index && !ok) {
    std::int64_t v = 0;
    std::memcpy(&v, idx.at(last_bad), sizeof(v));
    const std::string named = "max_pool_backward: invalid max index " + std::to_string(v) +
                              " at position " + std::to_string(last_bad) + " of indices";
    expect(error.rfind(named, 0) == 0, "max_pool_backward names the wrong index: \"" + error +
                                           "\", expected " + named + "; " + context);
  }
  if (!ok && !(only_bad_index && deferred)) return;
  expect(padding_untouched(gin), "max_pool_backward wrote outside grad_input's view; " + context);
  const bool exact_sums = dtype == ups::DType::kF32 || dtype == ups::DType::kF64 ||
                          dtype == ups::DType::kI32 || dtype == ups::DType::kI64;
  if (!exact || !exact_sums) return;
  for (std::int64_t j = 0; j < gin.numel(); ++j) {
    expect(load_value(dtype, gin.at(j)) == want[static_cast<std::size_t>(j)],
           "max_pool_backward grad_input " + std::to_string(j) +
               " is not the scatter of "
               "grad_output; " +
               context);
  }
}

void run_max_pool(ByteReader& in) {
  ups::MaxPoolOptions opt;
  const std::uint8_t sdsel = in.byte();
  opt.spatial_dims = sdsel < 192 ? 0 : sdsel < 248 ? 1 + sdsel % 3 : static_cast<int>(in.int_arg());
  const int k_guess =
      opt.spatial_dims >= 1 && opt.spatial_dims <= 3 ? opt.spatial_dims : 1 + in.byte() % 3;
  const std::uint8_t rsel = in.byte();
  const int rank = rsel < 160 ? k_guess + 2 : rsel < 240 ? k_guess + 1 : rsel % 7;
  ups::Shape shape(static_cast<std::size_t>(std::max(rank, 0)));
  for (auto& s : shape)
    s = in.size_arg();
  opt.kernel_size = pool_list(in, k_guess, 1, false);
  opt.stride = pool_list(in, k_guess, 1, true);
  opt.padding = pool_list(in, k_guess, 0, false);
  opt.dilation = pool_list(in, k_guess, 1, false);
  opt.ceil_mode = in.flag();

  std::string context = "max_pool input " + describe(shape);
  ups::Shape out_shape;
  std::string error;
  const bool shape_ok =
      succeeds([&] { out_shape = ups::max_pool_output_shape(shape, opt); }, &error);
  const int k = opt.spatial_dims != 0 ? opt.spatial_dims : static_cast<int>(shape.size()) - 2;
  if (shape_ok) {
    expect(out_shape.size() == shape.size(), "max_pool_output_shape changed the rank");
    const std::size_t first = shape.size() - static_cast<std::size_t>(k);
    for (std::size_t i = 0; i < first; ++i)
      expect(out_shape[i] == shape[i], "max_pool_output_shape changed N or C");
    // floor((in + 2p - d(k-1) - 1) / s) + 1 (ceil with ceil_mode, dropping a last window that
    // starts in the right padding), for the small arguments this target mostly uses.
    for (int j = 0; j < k; ++j) {
      const std::int64_t i_ = shape[first + static_cast<std::size_t>(j)];
      const std::int64_t K = pick(opt.kernel_size, j, 1);
      const std::int64_t S = pick(opt.stride.empty() ? opt.kernel_size : opt.stride, j, 1);
      const std::int64_t P = pick(opt.padding, j, 0), D = pick(opt.dilation, j, 1);
      if (i_ > 1000 || K > 1000 || S > 1000 || P > 1000 || D > 1000) continue;
      const std::int64_t num = i_ + 2 * P - D * (K - 1) - 1 + (opt.ceil_mode ? S - 1 : 0);
      std::int64_t o = (num >= 0 ? num / S : -((-num + S - 1) / S)) + 1;  // floor division
      if (opt.ceil_mode && (o - 1) * S >= i_ + P) --o;
      expect(out_shape[first + static_cast<std::size_t>(j)] == o,
             "max_pool_output_shape returned " + describe(out_shape) + " for " + context);
    }
    context += ", output " + describe(out_shape);
  }

  const ups::DType dtype = pick_dtype(in);
  const bool exact = in.byte() < 224;
  Tensor src, dst, idx;
  if (!make_tensor(in, dtype, shape, false, &src)) return;
  fill(src, in.u64(), exact);
  Expectation e;
  e.may_fail(huge_span(src.view));
  e.must_fail(!shape_ok, "max_pool_output_shape rejected the arguments");
  if (shape_ok) {
    std::int64_t work = bounded_numel(out_shape, kMaxWork);
    std::int64_t taps = bounded_numel(
        opt.kernel_size.size() == 1 ? ups::Shape(static_cast<std::size_t>(k), opt.kernel_size[0])
                                    : opt.kernel_size,
        kMaxWork);
    if (work < 0 || taps < 0 || __builtin_mul_overflow(work, taps, &work) || work > kMaxWork) {
      return;
    }
  }
  const ups::Shape want = shape_ok ? out_shape : shape;
  if (!make_output(in, want, dtype, src, &dst, e)) return;
  const std::uint8_t isel = in.byte();
  ups::Shape idx_shape = want;
  ups::DType idx_dtype = ups::DType::kI64;
  if (isel >= 240 && !idx_shape.empty()) {
    idx_shape.back() = other_size(idx_shape.back(), true);
    e.must_fail(true, "indices have the wrong shape");
  } else if (isel >= 224) {
    idx_dtype = pick_dtype(in);
    e.must_fail(idx_dtype != ups::DType::kI64, "indices are not i64");
  }
  if (!make_tensor(in, idx_dtype, idx_shape, true, &idx)) return;
  e.may_fail(huge_span(idx.view));
  if (isel >= 216 && isel < 224 && alias_into(idx, dst)) {
    e.must_fail(ranges_overlap(idx, dst), "indices overlap dst");
  }

  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(1 + in.byte() % 3);
  const auto src_before = snapshot(src);
  const bool ok = succeeds([&] { ups::max_pool(ctx, src.view, dst.view, idx.view, opt); }, &error);
  e.check("max_pool", ok, error, context);
  expect(unchanged(src, src_before), "max_pool wrote into src; " + context);
  if (!ok) return;
  expect(padding_untouched(dst) && padding_untouched(idx),
         "max_pool wrote outside an output's view; " + context);
  if (in.flag())
    check_max_pool_backward(in, ctx, shape, out_shape, opt, k, dst, idx, exact, context);
  if (!exact || dst.numel() == 0) return;

  // Direct scan of every window.
  const std::size_t first = shape.size() - static_cast<std::size_t>(k);
  std::int64_t in_sp[3] = {1, 1, 1}, out_sp[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1},
               P[3] = {0, 0, 0}, D[3] = {1, 1, 1};
  for (int j = 0; j < k; ++j) {
    const int s = 3 - k + j;
    in_sp[s] = shape[first + static_cast<std::size_t>(j)];
    out_sp[s] = out_shape[first + static_cast<std::size_t>(j)];
    K[s] = pick(opt.kernel_size, j, 1);
    S[s] = pick(opt.stride.empty() ? opt.kernel_size : opt.stride, j, 1);
    P[s] = pick(opt.padding, j, 0);
    D[s] = pick(opt.dilation, j, 1);
  }
  const std::int64_t plane_in = in_sp[0] * in_sp[1] * in_sp[2];
  const std::int64_t plane_out = out_sp[0] * out_sp[1] * out_sp[2];
  const std::int64_t planes = dst.numel() / plane_out;
  const std::size_t es = ups::dtype_size(dtype);
  for (std::int64_t pl = 0; pl < planes; ++pl) {
    for (std::int64_t o = 0; o < plane_out; ++o) {
      const std::int64_t oz = o / (out_sp[1] * out_sp[2]), oy = o / out_sp[2] % out_sp[1],
                         ox = o % out_sp[2];
      std::int64_t best = -1;
      double best_v = 0;
      for (std::int64_t a = 0; a < K[0]; ++a) {
        const std::int64_t z = oz * S[0] - P[0] + a * D[0];
        if (z < 0 || z >= in_sp[0]) continue;
        for (std::int64_t b = 0; b < K[1]; ++b) {
          const std::int64_t y = oy * S[1] - P[1] + b * D[1];
          if (y < 0 || y >= in_sp[1]) continue;
          for (std::int64_t c = 0; c < K[2]; ++c) {
            const std::int64_t x = ox * S[2] - P[2] + c * D[2];
            if (x < 0 || x >= in_sp[2]) continue;
            const std::int64_t pos = (z * in_sp[1] + y) * in_sp[2] + x;
            const double v = load_value(dtype, src.at(pl * plane_in + pos));
            if (best < 0 || v > best_v) {
              best = pos;
              best_v = v;
            }
          }
        }
      }
      if (best < 0) continue;  // a window of padding taps only
      const std::int64_t i = pl * plane_out + o;
      std::int64_t got_index = 0;
      std::memcpy(&got_index, idx.at(i), sizeof(got_index));
      expect(got_index == best && std::memcmp(dst.at(i), src.at(pl * plane_in + best), es) == 0,
             "max_pool output " + std::to_string(i) + " has index " + std::to_string(got_index) +
                 ", expected " + std::to_string(best) + "; " + context);
    }
  }
}

void run_max_unpool(ByteReader& in) {
  ups::MaxUnpoolOptions opt;
  const std::uint8_t sdsel = in.byte();
  opt.spatial_dims = sdsel < 192 ? 0 : sdsel < 248 ? 1 + sdsel % 3 : static_cast<int>(in.int_arg());
  const int k_guess =
      opt.spatial_dims >= 1 && opt.spatial_dims <= 3 ? opt.spatial_dims : 1 + in.byte() % 3;
  const std::uint8_t rsel = in.byte();
  const int rank = rsel < 160 ? k_guess + 2 : rsel < 240 ? k_guess + 1 : rsel % 7;
  ups::Shape shape(static_cast<std::size_t>(std::max(rank, 0)));
  for (auto& s : shape)
    s = in.size_arg();
  opt.kernel_size = pool_list(in, k_guess, 1, false);
  opt.stride = pool_list(in, k_guess, 1, true);
  opt.padding = pool_list(in, k_guess, 0, false);
  const std::uint8_t osel = in.byte();
  if (osel >= 200) {
    opt.output_size.resize(osel >= 248 ? static_cast<std::size_t>(k_guess) + 2
                                       : static_cast<std::size_t>(k_guess));
    for (auto& s : opt.output_size)
      s = in.byte() < 216 ? in.range(0, 12) : in.int_arg();
  }

  std::string context = "max_unpool input " + describe(shape);
  ups::Shape out_shape;
  std::string error;
  const bool shape_ok =
      succeeds([&] { out_shape = ups::max_unpool_output_shape(shape, opt); }, &error);
  ups::Context ctx(ups::Device::kCPU);
  std::size_t ws = 0;
  const bool ws_ok = succeeds([&] { ws = ups::max_unpool_workspace_size(ctx, shape, opt); });
  expect(ws_ok == shape_ok && ws == 0,
         "max_unpool_workspace_size disagrees with max_unpool_output_shape or is not 0 on the "
         "CPU; " +
             context);
  const int k = opt.spatial_dims != 0 ? opt.spatial_dims : static_cast<int>(shape.size()) - 2;
  if (shape_ok) {
    expect(out_shape.size() == shape.size(), "max_unpool_output_shape changed the rank");
    context += ", output " + describe(out_shape);
  }

  const ups::DType dtype = pick_dtype(in);
  Tensor src, idx, dst;
  if (!make_tensor(in, dtype, shape, false, &src)) return;
  fill(src, in.u64(), false);
  Expectation e;
  e.may_fail(huge_span(src.view));
  e.must_fail(!shape_ok, "max_unpool_output_shape rejected the arguments");
  const ups::Shape want = shape_ok ? out_shape : shape;
  if (shape_ok && bounded_numel(want) < 0) return;
  const std::uint8_t isel = in.byte();
  ups::Shape idx_shape = shape;
  ups::DType idx_dtype = ups::DType::kI64;
  if (isel >= 244 && !idx_shape.empty()) {
    idx_shape.back() = other_size(idx_shape.back(), true);
    e.must_fail(true, "indices have the wrong shape");
  } else if (isel >= 232) {
    idx_dtype = pick_dtype(in);
    e.must_fail(idx_dtype != ups::DType::kI64, "indices are not i64");
  }
  if (!make_tensor(in, idx_dtype, idx_shape, false, &idx)) return;
  e.may_fail(huge_span(idx.view));

  // Index values: valid positions of the output plane, a few replaced by fuzz-chosen values.
  // (Plane sizes saturate: they only overflow when some other dim is 0 and nothing is indexed.)
  std::int64_t plane_out = 1, plane_in = 1;
  if (shape_ok) {
    for (int j = 0; j < k; ++j) {
      const std::size_t back = static_cast<std::size_t>(k - j);
      if (__builtin_mul_overflow(plane_out, out_shape[out_shape.size() - back], &plane_out)) {
        plane_out = std::numeric_limits<std::int64_t>::max();
      }
      if (__builtin_mul_overflow(plane_in, shape[shape.size() - back], &plane_in)) {
        plane_in = std::numeric_limits<std::int64_t>::max();
      }
    }
  }
  std::uint64_t seed = in.u64();
  if (idx_dtype == ups::DType::kI64) {
    for (std::int64_t i = 0; i < idx.numel(); ++i) {
      const std::int64_t v =
          plane_out > 0
              ? static_cast<std::int64_t>(mix(seed) % static_cast<std::uint64_t>(plane_out))
              : 0;
      std::memcpy(idx.at(i), &v, 8);
    }
    const int bad = static_cast<int>(in.byte() % 4);
    for (int b = 0; b < bad && idx.numel() > 0; ++b) {
      const std::int64_t at = in.range(0, idx.numel() - 1);
      const std::uint8_t vsel = in.byte();
      const std::int64_t v = vsel < 64 ? -1 : vsel < 128 ? plane_out : in.int_arg();
      std::memcpy(idx.at(at), &v, 8);
    }
  } else {
    fill(idx, seed, false);
  }
  if (!make_output(in, want, dtype, src, &dst, e)) return;
  const std::uint8_t asel = in.byte();
  if (asel >= 248 && alias_into(dst, idx)) {
    e.must_fail(ranges_overlap(idx, dst), "dst overlaps indices");
  }

  // The direct scatter, and the invalid index at the largest C-order position.
  const std::int64_t total_in = src.numel();
  const std::int64_t total_out = shape_ok ? bounded_numel(out_shape) : 0;
  const bool checked_indices = shape_ok && idx_dtype == ups::DType::kI64 && idx_shape == shape &&
                               total_in > 0 && total_out > 0;
  std::int64_t last_bad = -1;
  std::vector<std::int64_t> winner;  // per output element, the input that lands there, or -1
  if (checked_indices) {
    winner.assign(static_cast<std::size_t>(total_out), -1);
    for (std::int64_t i = 0; i < total_in; ++i) {
      std::int64_t v = 0;
      std::memcpy(&v, idx.at(i), 8);
      if (v < 0 || v >= plane_out) {
        last_bad = i;
        continue;
      }
      winner[static_cast<std::size_t>(i / plane_in * plane_out + v)] = i;
    }
  }
  // An invalid index is reported after the other checks, once the valid entries are written.
  const bool only_bad_index = !e.fails() && last_bad >= 0;
  e.must_fail(last_bad >= 0, "an index is invalid");

  const bool deferred = in.flag();
  ctx.set_num_threads(1 + in.byte() % 3);
  const auto src_before = snapshot(src), idx_before = snapshot(idx);
  ups::MaxUnpoolStatus status{};
  bool ok = succeeds(
      [&] {
        ups::max_unpool(ctx, src.view, idx.view, dst.view, opt, deferred ? &status : nullptr);
      },
      &error);
  if (ok && deferred) ok = succeeds([&] { ups::max_unpool_check(ctx, &status); }, &error);
  e.check(deferred ? "max_unpool (deferred check)" : "max_unpool", ok, error, context);
  expect(unchanged(src, src_before) && unchanged(idx, idx_before),
         "max_unpool wrote into an input; " + context);
  if (!ok && !only_bad_index) return;
  if (only_bad_index) {
    std::int64_t v = 0;
    std::memcpy(&v, idx.at(last_bad), 8);
    expect(error.find("Found an invalid max index: " + std::to_string(v) + " ") == 0,
           "max_unpool names the wrong index: \"" + error + "\", expected " + std::to_string(v) +
               "; " + context);
  }
  expect(padding_untouched(dst), "max_unpool wrote outside dst's view; " + context);
  if (!checked_indices) return;
  const std::size_t es = ups::dtype_size(dtype);
  const std::vector<unsigned char> zero(es, 0);
  for (std::int64_t o = 0; o < dst.numel(); ++o) {
    const std::int64_t w = winner[static_cast<std::size_t>(o)];
    const unsigned char* expected = w >= 0 ? src.at(w) : zero.data();
    expect(
        std::memcmp(dst.at(o), expected, es) == 0,
        "max_unpool output " + std::to_string(o) + " differs from the direct scatter; " + context);
  }
}

}  // namespace

void run_pool(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  if (in.flag()) {
    run_max_unpool(in);
  } else {
    run_max_pool(in);
  }
}

}  // namespace ups_fuzz
