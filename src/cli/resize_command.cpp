// `ups resize`: ONNX Resize (ups::resize) on .npy files.
#include <chrono>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "cli/command_util.hpp"
#include "cli/device.hpp"
#include "cli/npy.hpp"
#include "cli/op_commands.hpp"
#include "ups/ups.hpp"

namespace ups {
namespace cli {

const char* const kResizeDescription =
    "Resizes IN by the rules of ONNX's Resize operator (opset 19 and later) and writes the\n"
    "result to OUT. Unlike `ups interpolate`, any dim may be resized, N and C included, of an\n"
    "array of rank 1 to 5: --sizes or --scales (exactly one) has one value per dim of IN, or\n"
    "one per --axes entry. The output size of a dim is floor(input size * scale) with\n"
    "--scales, the given size with --sizes (or one scale for every axis with\n"
    "--keep-aspect-ratio-policy).\n"
    "float32, float64 and float16 .npy files in C order for every mode; uint8 for nearest.\n"
    "docs/semantics.md (\"ONNX Resize\") gives every formula.\n"
    "\n"
    "example:\n"
    "  ups resize image.npy big.npy --mode linear --scales 1,1,2,2\n"
    "  ups resize image.npy out.npy --mode cubic --sizes 224,224 --axes 2,3 --antialias \\\n"
    "      --keep-aspect-ratio-policy not_larger\n"
    "  ups resize image.npy crop.npy --mode linear --sizes 1,3,64,64 \\\n"
    "      --coordinate-mode tf_crop_and_resize --roi 0,0,0.25,0.25,1,1,0.75,0.75";

ArgSpec resize_spec() {
  ArgSpec spec;
  spec.positional("IN", "input .npy file of rank 1 to 5")
      .positional("OUT", "output .npy file (replaced atomically, left untouched on errors)")
      .option("--mode", "M", "nearest, linear or cubic", true)
      .option("--sizes", "S[,S...]", "output sizes: one per dim of IN, or one per --axes entry")
      .option("--scales", "F[,F...]",
              "scales (> 0): one per dim of IN, or one per --axes entry;\n"
              "the output size is floor(input size * F)")
      .option("--axes", "A[,A...]",
              "the dims --sizes, --scales and --roi refer to (negative values\n"
              "count from the end); default: every dim")
      .option("--coordinate-mode", "M",
              "half_pixel (default), half_pixel_symmetric, pytorch_half_pixel,\n"
              "align_corners, asymmetric or tf_crop_and_resize")
      .option("--nearest-mode", "M",
              "mode nearest: round_prefer_floor (default), round_prefer_ceil,\n"
              "floor or ceil")
      .option("--cubic-coeff-a", "A", "mode cubic: the coefficient of Keys' kernel (-0.75)")
      .flag("--exclude-outside",
            "modes linear and cubic: taps outside the input get weight 0\n"
            "and the others are renormalised")
      .flag("--antialias",
            "modes linear and cubic: stretch the filter by 1 / scale when\n"
            "downscaling")
      .option("--roi", "R[,R...]",
              "tf_crop_and_resize: the starts, then the ends, of the region\n"
              "(normalised), two values per resized dim")
      .option("--extrapolation-value", "V",
              "tf_crop_and_resize: the value of samples outside the input (0)")
      .option("--keep-aspect-ratio-policy", "P",
              "with --sizes: stretch (default), not_larger or not_smaller")
      .flag("--verbose", "print the shapes, the device used and the time taken");
  add_device_options(spec, true);
  return spec;
}

namespace {

template <class E, class Parse>
E parse_enum(const ParsedArgs& args, const char* name, Parse parse) {
  try {
    return parse(*args.get(name));
  } catch (const Error& e) {
    throw UsageError(std::string(name) + ": " + e.what());
  }
}

// The options, with the combinations ONNX does not define rejected in the command line's own
// terms (the library rejects them too, in its own words).
ResizeOptions resize_options(const ParsedArgs& args) {
  ResizeOptions opt;
  opt.mode = parse_enum<ResizeMode>(args, "--mode", parse_resize_mode);
  const bool has_sizes = args.has("--sizes");
  const bool has_scales = args.has("--scales");
  if (has_sizes == has_scales) {
    throw UsageError(has_sizes ? "give either --sizes or --scales, not both"
                               : "give --sizes or --scales");
  }
  if (has_sizes) {
    opt.sizes = parse_int_tuple(*args.get("--sizes"), "--sizes", 0,
                                std::numeric_limits<std::int64_t>::max());
  } else {
    opt.scales = parse_real_tuple(*args.get("--scales"), "--scales");
    for (double s : opt.scales) {
      if (!(s > 0.0)) throw UsageError("--scales: every scale must be greater than 0");
    }
  }
  if (const auto a = args.get("--axes")) {
    opt.axes = parse_int_tuple(*a, "--axes", -kMaxDims, kMaxDims - 1);
  }
  if (args.has("--coordinate-mode")) {
    opt.coordinate_mode =
        parse_enum<CoordinateMode>(args, "--coordinate-mode", parse_coordinate_mode);
  }
  const bool tf = opt.coordinate_mode == CoordinateMode::kTfCropAndResize;
  const std::string mode = to_string(opt.mode);
  if (args.has("--nearest-mode")) {
    if (opt.mode != ResizeMode::kNearest)
      throw UsageError("--nearest-mode applies to --mode nearest only, not to " + mode);
    opt.nearest_mode = parse_enum<NearestMode>(args, "--nearest-mode", parse_nearest_mode);
  }
  if (const auto a = args.get("--cubic-coeff-a")) {
    if (opt.mode != ResizeMode::kCubic)
      throw UsageError("--cubic-coeff-a applies to --mode cubic only, not to " + mode);
    opt.cubic_coeff_a = parse_real(*a, "--cubic-coeff-a");
  }
  opt.exclude_outside = args.has("--exclude-outside");
  opt.antialias = args.has("--antialias");
  if (opt.mode == ResizeMode::kNearest && (opt.exclude_outside || opt.antialias)) {
    throw UsageError(std::string(opt.antialias ? "--antialias" : "--exclude-outside") +
                     " applies to --mode linear and cubic only, not to nearest");
  }
  if (const auto r = args.get("--roi")) {
    if (!tf) throw UsageError("--roi applies to --coordinate-mode tf_crop_and_resize only");
    opt.roi = parse_real_tuple(*r, "--roi");
  } else if (tf) {
    throw UsageError("--coordinate-mode tf_crop_and_resize needs --roi");
  }
  if (const auto v = args.get("--extrapolation-value")) {
    if (!tf) {
      throw UsageError(
          "--extrapolation-value applies to --coordinate-mode tf_crop_and_resize only");
    }
    opt.extrapolation_value = parse_real(*v, "--extrapolation-value");
  }
  if (args.has("--keep-aspect-ratio-policy")) {
    if (!has_sizes) throw UsageError("--keep-aspect-ratio-policy applies to --sizes only");
    opt.keep_aspect_ratio_policy = parse_enum<AspectRatioPolicy>(args, "--keep-aspect-ratio-policy",
                                                                 parse_aspect_ratio_policy);
  }
  return opt;
}

}  // namespace

int run_resize(const ParsedArgs& args) {
  const ResizeOptions opt = resize_options(args);
  Context ctx = make_context(args, true);

  HostArray src = read_npy(args.positional("IN"));
  const Shape out_shape = resize_output_shape(src.shape(), opt);
  // Opened before the computation so that an unwritable OUT fails early; removed on errors.
  AtomicFile file(args.positional("OUT"));
  HostArray dst(src.dtype(), out_shape);

  const auto start = std::chrono::steady_clock::now();
  {
    Staging staging(ctx);
    const TensorView src_view = staging.input(src.view());
    const TensorView dst_view = staging.output(dst.view());
    resize(ctx, src_view, dst_view, opt);
    staging.finish();
  }
  const double ms = elapsed_ms(start);

  write_npy(file, dst.dtype(), dst.shape(), dst.data());
  file.commit();
  if (args.has("--verbose")) {
    std::printf("resize (%s, %s): %s %s -> %s on %s in %.3f ms (including copies); wrote '%s'\n",
                to_string(opt.mode), to_string(opt.coordinate_mode), to_string(src.dtype()),
                shape_to_string(src.shape()).c_str(), shape_to_string(out_shape).c_str(),
                to_string(ctx.device()), ms, file.path().c_str());
  }
  return 0;
}

}  // namespace cli
}  // namespace ups
