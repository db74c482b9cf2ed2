// Fuzz target: ups::interpolate_output_shape and ups::interpolate on small CPU tensors.
//
// Arguments are fuzz-chosen (shape, mode, size / scale_factor lists with extreme values,
// align_corners, recompute_scale_factor, antialias, dtype, layouts, thread count). Checked:
// - interpolate_output_shape and interpolate agree: with a dst of the returned shape and a
//   supported dtype, interpolate succeeds; it fails when the shape query fails, on a wrong dst
//   shape or dtype, or when dst overlaps itself or src;
// - the returned shape keeps N and C and has positive spatial sizes;
// - src is never written, and no byte of dst's buffer outside its view is written;
// - the modes that interp_mode_traits says copy (the nearest ones) do: every output element is
//   bitwise some input element;
// - linear, bilinear (also anti-aliased), trilinear and area average: on f32/f64 inputs every
//   output lies within [min, max] of the input.
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "ups/interpolate.hpp"

namespace ups_fuzz {

void run_interpolate(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  const std::uint8_t rank_sel = in.byte();
  const int rank = rank_sel < 224 ? 3 + rank_sel % 3 : rank_sel % 7;
  ups::Shape shape(static_cast<std::size_t>(rank));
  for (auto& s : shape)
    s = in.size_arg();

  ups::InterpolateOptions opt;
  const std::vector<ups::InterpModeTraits>& modes = ups::interp_modes();
  opt.mode = modes[in.byte() % modes.size()].mode;
  const std::uint8_t how = in.byte();
  if (how % 8 != 1 && how % 8 != 3) {
    opt.size.resize(static_cast<std::size_t>(in.range(how % 8 == 2 ? 0 : 1, 3)));
    for (auto& s : opt.size)
      s = in.byte() < 240 ? in.range(1, 9) : in.int_arg();
  }
  if (how % 8 == 1 || how % 8 == 3 || how % 8 == 4) {
    opt.scale_factor.resize(static_cast<std::size_t>(in.range(how % 8 == 3 ? 0 : 1, 3)));
    for (auto& s : opt.scale_factor)
      s = in.real_arg();
  }
  const std::uint8_t flags = in.byte();
  if (flags % 3 != 0) opt.align_corners = flags % 3 == 2;
  opt.recompute_scale_factor = (flags & 4) != 0 && (flags & 32) != 0;
  opt.antialias = (flags & 8) != 0;

  std::string context = "input " + describe(shape) + ", mode " + ups::to_string(opt.mode);
  ups::Shape out_shape;
  std::string error;
  const bool shape_ok =
      succeeds([&] { out_shape = ups::interpolate_output_shape(shape, opt); }, &error);
  if (shape_ok) {
    expect(out_shape.size() == shape.size() && out_shape[0] == shape[0] && out_shape[1] == shape[1],
           "interpolate_output_shape changed N or C: " + describe(out_shape) + "; " + context);
    for (std::size_t i = 2; i < out_shape.size(); ++i)
      expect(out_shape[i] > 0, "interpolate_output_shape returned " + describe(out_shape));
    context += ", output " + describe(out_shape);
  }

  // The op itself, on tensors small enough to allocate.
  const ups::DType dtype = pick_dtype(in);
  const ups::InterpModeTraits& traits = ups::interp_mode_traits(opt.mode);
  const bool exact = in.flag();
  Tensor src, dst;
  if (!make_tensor(in, dtype, shape, false, &src)) return;
  fill(src, in.u64(), exact);
  Expectation e;
  e.may_fail(huge_span(src.view));
  e.must_fail(!shape_ok, "interpolate_output_shape rejected the arguments");
  e.must_fail(!traits.supports(dtype), "the dtype is not supported by the mode");
  if (!make_output(in, shape_ok ? out_shape : shape, dtype, src, &dst, e)) return;
  // Area and anti-aliased windows grow with the downscale factor, but the work stays within a
  // small multiple of the two tensors' sizes, which make_tensor bounds.
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(1 + in.byte() % 3);
  const auto src_before = snapshot(src);
  const bool ok = succeeds([&] { ups::interpolate(ctx, src.view, dst.view, opt); }, &error);
  e.check("interpolate", ok, error, context);
  expect(unchanged(src, src_before), "interpolate wrote into src; " + context);
  if (!ok) return;
  expect(padding_untouched(dst), "interpolate wrote outside dst's view; " + context);

  const std::size_t es = ups::dtype_size(dtype);
  if (traits.copies && src.numel() > 0) {
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
      expect(std::binary_search(values.begin(), values.end(), key(dst.at(i))),
             "nearest output element " + std::to_string(i) +
                 " is not a copy of any input element; " + context);
    }
  }
  // An oracle of its own, from the formulas: these modes' weights (anti-aliased bilinear's too)
  // are non-negative and sum to 1, so outputs stay within the input range; bicubic's are not.
  const bool averaging =
      opt.mode == ups::InterpMode::kLinear || opt.mode == ups::InterpMode::kTrilinear ||
      opt.mode == ups::InterpMode::kArea || opt.mode == ups::InterpMode::kBilinear;
  if (averaging && exact && (dtype == ups::DType::kF32 || dtype == ups::DType::kF64) &&
      src.numel() > 0) {
    double lo = load_value(dtype, src.at(0)), hi = lo;
    for (std::int64_t j = 0; j < src.numel(); ++j) {
      lo = std::min(lo, load_value(dtype, src.at(j)));
      hi = std::max(hi, load_value(dtype, src.at(j)));
    }
    const double tol = 1e-5 * (std::max(std::fabs(lo), std::fabs(hi)) + 1.0);
    for (std::int64_t i = 0; i < dst.numel(); ++i) {
      const double v = load_value(dtype, dst.at(i));
      expect(v >= lo - tol && v <= hi + tol, "output " + std::to_string(v) +
                                                 " outside the input range [" + std::to_string(lo) +
                                                 ", " + std::to_string(hi) + "]; " + context);
    }
  }
}

}  // namespace ups_fuzz
