// Fuzz target: ups::pixel_shuffle_output_shape / pixel_unshuffle_output_shape, the two ops on
// small CPU tensors, and the TensorView constructors.
//
// Checked, besides "succeed or throw ups::Error":
// - the shape queries follow the formulas of pixel_shuffle.hpp and agree with the ops;
// - the outputs equal the index maps of pixel_shuffle.hpp, bit for bit, with either kernel
//   choice; inputs are never written, nor bytes of dst's buffer outside its view;
// - TensorView::contiguous / channels_last and numel() accept or reject any shape cleanly.
#include <string>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "ups/pixel_shuffle.hpp"

namespace ups_fuzz {
namespace {

void fuzz_views(ByteReader& in) {
  ups::Shape shape(static_cast<std::size_t>(in.range(0, 6)));
  for (auto& s : shape)
    s = in.int_arg();
  const ups::DType dtype = pick_dtype(in);
  ups::TensorView v;
  if (succeeds(
          [&] { v = ups::TensorView::contiguous(nullptr, dtype, ups::Device::kCPU, shape); })) {
    std::int64_t n = 0;
    if (succeeds([&] { n = v.numel(); })) {
      expect(n == bounded_numel(shape, std::numeric_limits<std::int64_t>::max()),
             "TensorView::numel() of " + describe(shape) + " is " + std::to_string(n));
    }
    (void)v.is_contiguous();
  }
  (void)succeeds(
      [&] { v = ups::TensorView::channels_last(nullptr, dtype, ups::Device::kCPU, shape); });
}

}  // namespace

void run_pixel_shuffle(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  const std::uint8_t sel = in.byte();
  if (sel >= 224) {
    fuzz_views(in);
    return;
  }
  const bool unshuffle = (sel & 1) != 0;
  const std::uint8_t rank_sel = in.byte();
  const int rank = rank_sel < 224 ? 3 + rank_sel % 3 : rank_sel % 7;
  const std::int64_t r = in.byte() < 224 ? in.range(1, 4) : in.int_arg();
  ups::Shape shape(static_cast<std::size_t>(rank));
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const bool structured = in.byte() < 200 && r > 0 && r < 5;
    const std::size_t c_dim = shape.size() - 3;
    if (structured && !unshuffle && d == c_dim && shape.size() >= 3) {
      shape[d] = in.range(0, 3) * r * r;
    } else if (structured && unshuffle && d + 2 >= shape.size() && shape.size() >= 3) {
      shape[d] = in.range(0, 3) * r;
    } else {
      shape[d] = in.size_arg();
    }
  }

  std::string context = std::string(unshuffle ? "pixel_unshuffle" : "pixel_shuffle") + " input " +
                        describe(shape) + ", factor " + std::to_string(r);
  ups::Shape out_shape;
  std::string error;
  const bool shape_ok = succeeds(
      [&] {
        out_shape = unshuffle ? ups::pixel_unshuffle_output_shape(shape, r)
                              : ups::pixel_shuffle_output_shape(shape, r);
      },
      &error);
  if (shape_ok) {
    // (*, C r^2, H, W) -> (*, C, H r, W r), and the inverse.
    const std::size_t n = shape.size();
    expect(n >= 3 && out_shape.size() == n,
           "pixel shuffle shape query accepted rank " + std::to_string(n));
    std::int64_t rr = 0;
    expect(r > 0 && !__builtin_mul_overflow(r, r, &rr),
           "pixel shuffle shape query accepted the factor " + std::to_string(r));
    bool good = true;
    for (std::size_t d = 0; d + 3 < n; ++d)
      good = good && out_shape[d] == shape[d];
    if (unshuffle) {
      good = good && shape[n - 2] % r == 0 && shape[n - 1] % r == 0 &&
             out_shape[n - 2] == shape[n - 2] / r && out_shape[n - 1] == shape[n - 1] / r &&
             out_shape[n - 3] / rr == shape[n - 3] && out_shape[n - 3] % rr == 0;
    } else {
      good = good && shape[n - 3] % rr == 0 && out_shape[n - 3] == shape[n - 3] / rr &&
             out_shape[n - 2] / r == shape[n - 2] && out_shape[n - 2] % r == 0 &&
             out_shape[n - 1] / r == shape[n - 1] && out_shape[n - 1] % r == 0;
    }
    expect(good, "pixel shuffle shape query returned " + describe(out_shape) + "; " + context);
    context += ", output " + describe(out_shape);
  }

  const ups::DType dtype = pick_dtype(in);
  Tensor src, dst;
  if (!make_tensor(in, dtype, shape, false, &src)) return;
  fill(src, in.u64(), false);
  Expectation e;
  e.may_fail(huge_span(src.view));
  e.must_fail(!shape_ok, "the shape query rejected the arguments");
  if (!make_output(in, shape_ok ? out_shape : shape, dtype, src, &dst, e)) return;
  const auto kernel = in.flag() ? ups::ShuffleKernel::kGeneric : ups::ShuffleKernel::kAuto;
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(1 + in.byte() % 3);
  const auto src_before = snapshot(src);
  const bool ok = succeeds(
      [&] {
        if (unshuffle) {
          ups::pixel_unshuffle(ctx, src.view, dst.view, r, kernel);
        } else {
          ups::pixel_shuffle(ctx, src.view, dst.view, r, kernel);
        }
      },
      &error);
  e.check(unshuffle ? "pixel_unshuffle" : "pixel_shuffle", ok, error, context);
  expect(unchanged(src, src_before), "the shuffle wrote into src; " + context);
  if (!ok) return;
  expect(padding_untouched(dst), "the shuffle wrote outside dst's view; " + context);

  // shuffle: out[..., c, h * r + i, w * r + j] = in[..., (c * r + i) * r + j, h, w]. The
  // shuffled tensor is `big` (C, H r, W r) and the other one `small` (C r^2, H, W).
  if (dst.numel() == 0) return;
  const Tensor& big = unshuffle ? src : dst;
  const Tensor& small = unshuffle ? dst : src;
  const std::size_t n = shape.size();
  const std::int64_t C = big.view.sizes[n - 3], H = small.view.sizes[n - 2],
                     W = small.view.sizes[n - 1];
  const std::int64_t per_lead = C * H * r * W * r;
  const std::size_t es = ups::dtype_size(dtype);
  for (std::int64_t o = 0; o < big.numel(); ++o) {
    const std::int64_t lead = o / per_lead, rest = o % per_lead;
    const std::int64_t c = rest / (H * r * W * r), y = rest / (W * r) % (H * r), x = rest % (W * r);
    const std::int64_t h = y / r, i = y % r, w = x / r, j = x % r;
    const std::int64_t s = lead * per_lead + (((c * r + i) * r + j) * H + h) * W + w;
    expect(std::memcmp(big.at(o), small.at(s), es) == 0,
           "element " + std::to_string(o) + " of the shuffled tensor is wrong; " + context);
  }
}

}  // namespace ups_fuzz
