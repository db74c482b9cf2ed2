// `ups pixel-shuffle`, `ups pixel-unshuffle` and the pixel-shuffle example of `ups demo`.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command_util.hpp"
#include "cli/device.hpp"
#include "cli/npy.hpp"
#include "cli/op_commands.hpp"
#include "ups/ups.hpp"

namespace ups {
namespace cli {

const char* const kPixelShuffleDescription =
    "Rearranges IN like torch.nn.PixelShuffle(R) / F.pixel_shuffle (PyTorch 2.x semantics)\n"
    "and writes the result to OUT: (*, C * R^2, H, W) becomes (*, C, H * R, W * R), with\n"
    "  out[..., c, h * R + i, w * R + j] = in[..., (c * R + i) * R + j, h, w]\n"
    "so each group of R^2 channels becomes one channel of R x R blocks. IN has rank 3 or\n"
    "more (any leading dims); IN and OUT share one dtype: float32, float64, float16, uint8,\n"
    "int32 or int64. 'ups pixel-unshuffle' is the inverse.\n"
    "\n"
    "example:\n"
    "  ups pixel-shuffle features.npy image.npy --factor 3";

const char* const kPixelUnshuffleDescription =
    "Rearranges IN like torch.nn.PixelUnshuffle(R) / F.pixel_unshuffle (PyTorch 2.x\n"
    "semantics), the inverse of 'ups pixel-shuffle', and writes the result to OUT:\n"
    "(*, C, H * R, W * R) becomes (*, C * R^2, H, W), each R x R block of a channel becoming\n"
    "R^2 channels. H and W must be multiples of R. IN has rank 3 or more (any leading dims);\n"
    "IN and OUT share one dtype: float32, float64, float16, uint8, int32 or int64.\n"
    "\n"
    "example:\n"
    "  ups pixel-unshuffle image.npy features.npy --factor 2";

namespace {

ArgSpec shuffle_spec(const char* in_help, const char* factor_help) {
  ArgSpec spec;
  spec.positional("IN", in_help)
      .positional("OUT", "output .npy file (replaced atomically, left untouched on errors)")
      .option("--factor", "R", factor_help, true);
  add_device_options(spec, true);
  return spec;
}

// A view of a file's array for the shuffles. An array of more than ups::kMaxDims dims (which a
// TensorView cannot hold) is seen as (B, C, H, W): its leading dims, contiguous in a file,
// become one batch dim, which the shuffles treat alike.
TensorView shuffle_view(HostArray& a) {
  if (a.rank() <= kMaxDims) return a.view();
  const Shape& s = a.shape();
  std::int64_t batch = 1;
  for (std::size_t i = 0; i + 3 < s.size(); ++i)
    batch *= s[i];  // the product of all dims fits: the array was allocated
  return TensorView::contiguous(a.data(), a.dtype(), Device::kCPU,
                                {batch, s[s.size() - 3], s[s.size() - 2], s[s.size() - 1]});
}

// Runs the shuffle (or its inverse) of host arrays on ctx's device.
void shuffle_on_device(Context& ctx, HostArray& src, HostArray& dst, std::int64_t factor,
                       bool unshuffle) {
  auto shuffle = [&](const Context& on, const TensorView& s, const TensorView& d) {
    if (unshuffle) {
      pixel_unshuffle(on, s, d, factor);
    } else {
      pixel_shuffle(on, s, d, factor);
    }
  };
  if (src.numel() == 0) {
    // Nothing to move or compute, and Staging refuses some empty views (those with a zero dim
    // left of a larger one): the op only validates, on the host views.
    shuffle(Context(Device::kCPU), shuffle_view(src), shuffle_view(dst));
    return;
  }
  Staging staging(ctx);
  const TensorView src_view = staging.input(shuffle_view(src));
  const TensorView dst_view = staging.output(shuffle_view(dst));
  shuffle(ctx, src_view, dst_view);
  staging.finish();
}

int run_shuffle(const ParsedArgs& args, bool unshuffle) {
  // A factor below 1 cannot mean anything; divisibility is the library's rule, with PyTorch's
  // messages.
  const std::int64_t factor =
      parse_int(*args.get("--factor"), "--factor", 1, std::numeric_limits<std::int64_t>::max());
  Context ctx = make_context(args, true);

  HostArray src = read_npy(args.positional("IN"));
  const Shape out_shape = unshuffle ? pixel_unshuffle_output_shape(src.shape(), factor)
                                    : pixel_shuffle_output_shape(src.shape(), factor);
  // Opened before the computation so that an unwritable OUT fails early; removed on errors.
  AtomicFile file(args.positional("OUT"));
  HostArray dst(src.dtype(), out_shape);
  shuffle_on_device(ctx, src, dst, factor, unshuffle);
  write_npy(file, dst.dtype(), dst.shape(), dst.data());
  file.commit();
  return 0;
}

}  // namespace

ArgSpec pixel_shuffle_spec() {
  return shuffle_spec("input .npy file (*, C * R^2, H, W) of rank 3 or more",
                      "upscale factor R >= 1; C of IN must be a multiple of R^2");
}

ArgSpec pixel_unshuffle_spec() {
  return shuffle_spec("input .npy file (*, C, H * R, W * R) of rank 3 or more",
                      "downscale factor R >= 1; H and W of IN must be multiples of R");
}

int run_pixel_shuffle(const ParsedArgs& args) {
  return run_shuffle(args, false);
}

int run_pixel_unshuffle(const ParsedArgs& args) {
  return run_shuffle(args, true);
}

// ---- demo ----------------------------------------------------------------------------------

void demo_pixel_shuffle(std::ostream& os, Context& ctx, int& number) {
  // PixelShuffle(3) of the tutorial: (1, 9, 4, 4) -> (1, 1, 12, 12). Every pixel of channel c
  // holds c, so the output shows which channel each of its pixels came from.
  constexpr std::int64_t r = 3;
  HostArray src(DType::kF32, {1, r * r, 4, 4});
  float* in = static_cast<float*>(src.data());
  for (std::int64_t i = 0; i < src.numel(); ++i)
    in[i] = static_cast<float>(i / 16);
  HostArray dst(DType::kF32, pixel_shuffle_output_shape(src.shape(), r));
  shuffle_on_device(ctx, src, dst, r, false);
  HostArray back(DType::kF32, pixel_unshuffle_output_shape(dst.shape(), r));
  shuffle_on_device(ctx, dst, back, r, true);
  const bool round_trip =
      back.shape() == src.shape() && std::memcmp(back.data(), src.data(), src.nbytes()) == 0;

  const std::int64_t width = dst.shape()[3];
  std::vector<float> block;
  for (std::int64_t h = 0; h < 2 * r; ++h) {
    for (std::int64_t w = 0; w < 2 * r; ++w)
      block.push_back(static_cast<const float*>(dst.data())[h * width + w]);
  }
  os << number++ << ") nn.PixelShuffle(3) maps " << shape_to_string(src.shape()) << " to "
     << shape_to_string(dst.shape()) << "\n"
     << "  Each group of 3 * 3 = 9 channels becomes one channel with 3x3 blocks:\n"
     << "  out[n, c, 3h + i, 3w + j] = in[n, 9c + 3i + j, h, w]. Every pixel of input channel\n"
     << "  k holds the value k, so the output shows which channel each pixel came from.\n"
     << "  output " << shape_to_string(dst.shape())
     << ", top-left 6x6: the blocks of input pixels (0, 0), (0, 1),\n"
     << "  (1, 0) and (1, 1):\n"
     << format_matrix(block.data(), 2 * r, 2 * r) << "  nn.PixelUnshuffle(3) maps it back to "
     << shape_to_string(back.shape()) << (round_trip ? ", equal to the input" : ", NOT the input")
     << ".\n\n";
}

}  // namespace cli
}  // namespace ups
