// `ups interpolate` and the interpolation examples of `ups demo`.
#include <algorithm>
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

const char* const kInterpolateDescription =
    "Resamples the spatial dims of IN like torch.nn.functional.interpolate (PyTorch 2.x\n"
    "semantics) and writes the result to OUT. Give exactly one of --size and --scale.\n"
    "IN and OUT are NumPy .npy files in C order: float32, float64 and float16 for every\n"
    "mode, uint8 for nearest and nearest-exact. The rank of IN selects 1-D, 2-D or 3-D.\n"
    "\n"
    "example:\n"
    "  ups interpolate image.npy big.npy --mode bilinear --scale 2\n"
    "  ups interpolate volume.npy out.npy --mode trilinear --size 32,64,64 --align-corners";

ArgSpec interpolate_spec() {
  ArgSpec spec;
  spec.positional("IN", "input .npy file of rank 3 (N, C, W), 4 (N, C, H, W)\nor 5 (N, C, D, H, W)")
      .positional("OUT", "output .npy file (replaced atomically, left untouched on errors)")
      .option("--mode", "M",
              "nearest, nearest-exact, linear (rank 3), bilinear (rank 4),\n"
              "bicubic (rank 4), trilinear (rank 5) or area",
              true)
      .option("--size", "S[,S...]",
              "output spatial size: one value for all spatial dims,\nor one per dim")
      .option("--scale", "F[,F...]",
              "scale factor: one value for all spatial dims, or one per dim;\n"
              "the output size is floor(input size * F)")
      .flag("--align-corners",
            "align the corner pixels of input and output (linear, bilinear,\n"
            "bicubic, trilinear); without it align_corners=False applies")
      .flag("--antialias", "anti-alias when downsampling (bilinear and bicubic only)")
      .flag("--recompute-scale-factor",
            "derive the index scale from the sizes (in / out), not from --scale")
      .flag("--verbose", "print the shapes, the device used and the time taken");
  add_device_options(spec, true);
  return spec;
}

int run_interpolate(const ParsedArgs& args) {
  InterpolateOptions opt;
  try {
    opt.mode = parse_interp_mode(*args.get("--mode"));
  } catch (const Error& e) {
    throw UsageError(std::string("--mode: ") + e.what());
  }
  if (const auto s = args.get("--size")) {
    opt.size = parse_int_tuple(*s, "--size", 0, std::numeric_limits<std::int64_t>::max());
  }
  if (const auto s = args.get("--scale")) opt.scale_factor = parse_real_tuple(*s, "--scale");
  if (args.has("--align-corners")) opt.align_corners = true;
  opt.antialias = args.has("--antialias");
  opt.recompute_scale_factor = args.has("--recompute-scale-factor");
  Context ctx = make_context(args, true);

  HostArray src = read_npy(args.positional("IN"));
  const Shape out_shape = interpolate_output_shape(src.shape(), opt);
  // Opened before the computation so that an unwritable OUT fails early; removed on errors.
  AtomicFile file(args.positional("OUT"));
  HostArray dst(src.dtype(), out_shape);

  const auto start = std::chrono::steady_clock::now();
  {
    Staging staging(ctx);
    const TensorView src_view = staging.input(src.view());
    const TensorView dst_view = staging.output(dst.view());
    interpolate(ctx, src_view, dst_view, opt);
    staging.finish();
  }
  const double ms = elapsed_ms(start);

  write_npy(file, dst.dtype(), dst.shape(), dst.data());
  file.commit();
  if (args.has("--verbose")) {
    std::printf("interpolate (%s): %s %s -> %s on %s in %.3f ms (including copies); wrote '%s'\n",
                to_string(opt.mode), to_string(src.dtype()), shape_to_string(src.shape()).c_str(),
                shape_to_string(out_shape).c_str(), to_string(ctx.device()), ms,
                file.path().c_str());
  }
  return 0;
}

namespace {

void demo_case(std::ostream& os, Context& ctx, const std::string& title, const char* why,
               const std::vector<float>& values, std::int64_t h, std::int64_t w,
               const InterpolateOptions& opt) {
  HostArray src(DType::kF32, {1, 1, h, w});
  std::copy(values.begin(), values.end(), static_cast<float*>(src.data()));
  HostArray dst(DType::kF32, interpolate_output_shape(src.shape(), opt));
  {
    Staging staging(ctx);
    const TensorView src_view = staging.input(src.view());
    const TensorView dst_view = staging.output(dst.view());
    interpolate(ctx, src_view, dst_view, opt);
    staging.finish();
  }
  const Shape& s = dst.shape();
  os << title << "\n  " << why << "\n";
  os << "  input " << shape_to_string(src.shape()) << ":\n"
     << format_matrix(static_cast<const float*>(src.data()), h, w);
  os << "  output " << shape_to_string(s) << ":\n"
     << format_matrix(static_cast<const float*>(dst.data()), s[2], s[3]) << "\n";
}

}  // namespace

void demo_interpolate(std::ostream& os, Context& ctx, int& number) {
  InterpolateOptions corners;
  corners.mode = InterpMode::kBilinear;
  corners.size = {5, 5};
  corners.align_corners = true;
  demo_case(
      os, ctx,
      std::to_string(number++) +
          ") F.interpolate(x, size=(5, 5), mode='bilinear', align_corners=True)",
      "Corners aligned: corner values are kept and samples are evenly spaced, 0.5 input pixels "
      "apart.",
      {1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3, corners);

  InterpolateOptions centres;
  centres.mode = InterpMode::kBilinear;
  centres.scale_factor = {2.0};
  centres.align_corners = false;
  demo_case(
      os, ctx,
      std::to_string(number++) +
          ") F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)",
      "Pixel centres: output pixel i samples input coordinate (i + 0.5) / 2 - 0.5, clamped to "
      "the border.",
      {1, 2, 3, 4}, 2, 2, centres);
}

}  // namespace cli
}  // namespace ups
