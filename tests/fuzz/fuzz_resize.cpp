// Fuzz target: ups::resize_output_shape and ups::resize (ONNX Resize) on small CPU tensors.
//
// Arguments are fuzz-chosen (rank 0 to 6, mode, coordinate and nearest modes, sizes / scales /
// axes / roi lists with extreme values, cubic_coeff_a, exclude_outside, antialias,
// extrapolation_value, keep_aspect_ratio_policy, dtype, layouts, thread count). Checked:
// - resize_output_shape and resize agree: with a dst of the returned shape and a supported
//   dtype, resize succeeds; it fails when the shape query fails, on a wrong dst shape or dtype,
//   or when dst overlaps itself or src;
// - the returned shape keeps every dim that `axes` does not name;
// - src is never written, and no byte of dst's buffer outside its view is written;
// - nearest copies: every output element is bitwise some input element (or, with
//   tf_crop_and_resize, the extrapolation value);
// - linear weights are non-negative and sum to 1: on exact f32/f64 inputs every output lies
//   within [min, max] of the input (or is the extrapolation value).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "ups/resize.hpp"

namespace ups_fuzz {

namespace {

// The work of a call: every output element reads at most taps^rank elements, and an
// antialiased downscale's taps grow as 1 / scale. Bounded by the sizes of the tensors times a
// factor, so that one input stays fast.
bool small_enough(const ups::Shape& in, const ups::Shape& out, const ups::ResizeOptions& o) {
  const std::int64_t n_in = bounded_numel(in), n_out = bounded_numel(out);
  if (n_in < 0 || n_out < 0) return false;
  if (!o.antialias) return true;
  // Antialiased windows span up to the whole input dim per output element.
  std::int64_t work = n_out;
  for (std::int64_t s : in) {
    if (s > 0 && work > kMaxWork / s) return false;
    work *= s > 0 ? s : 1;
  }
  return work <= kMaxWork;
}

}  // namespace

void run_resize(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  const std::uint8_t rank_sel = in.byte();
  const int rank = rank_sel < 224 ? 1 + rank_sel % 5 : rank_sel % 7;
  ups::Shape shape(static_cast<std::size_t>(rank));
  for (auto& s : shape)
    s = in.size_arg();

  ups::ResizeOptions opt;
  opt.mode = static_cast<ups::ResizeMode>(in.byte() % 3);
  opt.coordinate_mode = static_cast<ups::CoordinateMode>(in.byte() % 6);
  const std::uint8_t how = in.byte();
  // The axes: none (every dim), or a fuzz-chosen list (duplicates and out-of-range values
  // included).
  if (how & 16) {
    opt.axes.resize(static_cast<std::size_t>(in.range(1, 4)));
    for (auto& a : opt.axes)
      a = in.byte() < 240 ? in.range(-rank, rank) : in.int_arg();
  }
  const std::size_t n = opt.axes.empty() ? shape.size() : opt.axes.size();
  const std::size_t count = (how & 32) ? static_cast<std::size_t>(in.range(0, 6)) : n;
  if (how % 4 != 1) {
    opt.sizes.resize(count);
    for (auto& s : opt.sizes)
      s = in.byte() < 240 ? in.range(0, 9) : in.int_arg();
  }
  if (how % 4 != 0) {
    opt.scales.resize(count);
    for (auto& s : opt.scales)
      s = in.real_arg();
  }
  const std::uint8_t flags = in.byte();
  if (flags & 1) opt.nearest_mode = static_cast<ups::NearestMode>(in.byte() % 4);
  if (flags & 2)
    opt.cubic_coeff_a = in.byte() < 200 ? -0.5 - 0.05 * (in.byte() % 8) : in.real_arg();
  opt.exclude_outside = (flags & 4) != 0;
  opt.antialias = (flags & 8) != 0;
  if (flags & 16) {
    opt.roi.resize((flags & 64) ? static_cast<std::size_t>(in.range(0, 8)) : 2 * n);
    for (auto& r : opt.roi)
      r = in.byte() < 200 ? (static_cast<int>(in.byte() % 13) - 2) / 8.0 : in.real_arg();
  }
  if (flags & 32) opt.extrapolation_value = in.byte() < 200 ? in.byte() % 5 - 2.0 : in.real_arg();
  if (flags & 128)
    opt.keep_aspect_ratio_policy = static_cast<ups::AspectRatioPolicy>(in.byte() % 3);

  std::string context = "input " + describe(shape) + ", mode " + ups::to_string(opt.mode) + ", " +
                        ups::to_string(opt.coordinate_mode);
  ups::Shape out_shape;
  std::string error;
  const bool shape_ok = succeeds([&] { out_shape = ups::resize_output_shape(shape, opt); }, &error);
  if (shape_ok) {
    expect(out_shape.size() == shape.size(), "resize_output_shape changed the rank");
    for (std::size_t d = 0; d < shape.size(); ++d) {
      bool named = opt.axes.empty();
      for (std::int64_t a : opt.axes)
        named = named || a == static_cast<std::int64_t>(d) ||
                a + static_cast<std::int64_t>(shape.size()) == static_cast<std::int64_t>(d);
      expect(named || out_shape[d] == shape[d],
             "resize_output_shape changed dim " + std::to_string(d) + ", which axes does not " +
                 "name: " + describe(out_shape) + "; " + context);
      expect(out_shape[d] >= 0, "resize_output_shape returned " + describe(out_shape));
    }
    context += ", output " + describe(out_shape);
    if (!small_enough(shape, out_shape, opt)) return;
  }

  const ups::DType dtype = pick_dtype(in);
  const bool exact = in.flag();
  Tensor src, dst;
  if (!make_tensor(in, dtype, shape, false, &src)) return;
  fill(src, in.u64(), exact);
  Expectation e;
  e.may_fail(huge_span(src.view));
  e.must_fail(!shape_ok, "resize_output_shape rejected the arguments");
  const bool is_float = dtype == ups::DType::kF32 || dtype == ups::DType::kF64 ||
                        dtype == ups::DType::kF16 || dtype == ups::DType::kBF16;
  e.must_fail(!is_float && !(dtype == ups::DType::kU8 && opt.mode == ups::ResizeMode::kNearest),
              "the dtype is not supported by the mode");
  if (!make_output(in, shape_ok ? out_shape : shape, dtype, src, &dst, e)) return;
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(1 + in.byte() % 3);
  const auto src_before = snapshot(src);
  const bool ok = succeeds([&] { ups::resize(ctx, src.view, dst.view, opt); }, &error);
  e.check("resize", ok, error, context);
  expect(unchanged(src, src_before), "resize wrote into src; " + context);
  if (!ok) return;
  expect(padding_untouched(dst), "resize wrote outside dst's view; " + context);
  if (src.numel() == 0 || dst.numel() == 0) return;

  const bool tf = opt.coordinate_mode == ups::CoordinateMode::kTfCropAndResize;
  const std::size_t es = ups::dtype_size(dtype);
  if (opt.mode == ups::ResizeMode::kNearest) {
    auto key = [es](const unsigned char* p) {
      std::uint64_t k = 0;
      std::memcpy(&k, p, es);
      return k;
    };
    std::vector<std::uint64_t> values;
    for (std::int64_t j = 0; j < src.numel(); ++j)
      values.push_back(key(src.at(j)));
    std::sort(values.begin(), values.end());
    for (std::int64_t i = 0; i < dst.numel(); ++i) {
      const bool copy = std::binary_search(values.begin(), values.end(), key(dst.at(i)));
      expect(copy || tf, "nearest output element " + std::to_string(i) +
                             " is not a copy of any input element; " + context);
    }
  }
  if (opt.mode == ups::ResizeMode::kLinear && exact &&
      (dtype == ups::DType::kF32 || dtype == ups::DType::kF64)) {
    double lo = load_value(dtype, src.at(0)), hi = lo;
    for (std::int64_t j = 0; j < src.numel(); ++j) {
      lo = std::min(lo, load_value(dtype, src.at(j)));
      hi = std::max(hi, load_value(dtype, src.at(j)));
    }
    const double tol = 1e-5 * (std::max(std::fabs(lo), std::fabs(hi)) + 1.0);
    for (std::int64_t i = 0; i < dst.numel(); ++i) {
      const double v = load_value(dtype, dst.at(i));
      const bool extrapolated =
          tf && (v == static_cast<double>(static_cast<float>(opt.extrapolation_value)) ||
                 v == opt.extrapolation_value || std::isnan(v));
      expect((v >= lo - tol && v <= hi + tol) || extrapolated,
             "linear output " + std::to_string(v) + " outside the input range [" +
                 std::to_string(lo) + ", " + std::to_string(hi) + "]; " + context);
    }
  }
}

}  // namespace ups_fuzz
