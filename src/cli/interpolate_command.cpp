// `ups interpolate`, the interpolation examples of `ups demo` and its modes in `ups info`.
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

namespace {

// The names of the modes whose row satisfies `pred`, separated by ", " and by `last` before
// the last one ("a, b and c"); `suffix` adds text after a name.
template <class Pred, class Suffix>
std::string mode_list(const char* last, Pred pred, Suffix suffix) {
  std::vector<std::string> names;
  for (const InterpModeTraits& t : interp_modes()) {
    if (pred(t)) names.push_back(t.name + suffix(t));
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last : ", ";
    out += names[i];
  }
  return out;
}
template <class Pred>
std::string mode_list(const char* last, Pred pred) {
  return mode_list(last, pred, [](const InterpModeTraits&) { return std::string(); });
}

// Breaks `text` at spaces into lines of at most `width` characters.
std::string wrap(const std::string& text, std::size_t width) {
  std::string out;
  std::size_t line = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (line > 0 && line + 1 + word.size() > width) {
      out += "\n";
      line = 0;
    } else if (line > 0) {
      out += " ";
      ++line;
    }
    out += word;
    line += word.size();
    start = end + 1;
  }
  return out;
}

// The width of an option's help text, as in the other commands' hand-broken ones.
constexpr std::size_t kHelpWidth = 62;

}  // namespace

const char* interpolate_description() {
  // The mode lists come from ups::interp_modes(), so the help follows the library.
  static const std::string text = [] {
    const std::string u8_modes =
        mode_list(" and ", [](const InterpModeTraits& t) { return t.supports(DType::kU8); });
    const std::string intro =
        "Resamples the spatial dims of IN like torch.nn.functional.interpolate (PyTorch 2.x "
        "semantics) and writes the result to OUT. Give exactly one of --size and --scale. IN and "
        "OUT are NumPy .npy files in C order: float32, float64 and float16 for every mode, uint8 "
        "for " +
        u8_modes + ". The rank of IN selects 1-D, 2-D or 3-D.";
    return wrap(intro, 84) +
           "\n"
           "\n"
           "example:\n"
           "  ups interpolate image.npy big.npy --mode bilinear --scale 2\n"
           "  ups interpolate volume.npy out.npy --mode trilinear --size 32,64,64 --align-corners";
  }();
  return text.c_str();
}

namespace {

// The options interpolate and interpolate-backward share (the forward call's arguments).
ArgSpec& add_interpolate_options(ArgSpec& spec) {
  const auto any = [](const InterpModeTraits&) { return true; };
  // A mode that takes only some of the ranks 3 to 5 names them.
  const auto rank = [](const InterpModeTraits& t) {
    if (t.min_rank == 3 && t.max_rank == 5) return std::string();
    if (t.min_rank == t.max_rank) return " (rank " + std::to_string(t.min_rank) + ")";
    return " (rank " + std::to_string(t.min_rank) + " to " + std::to_string(t.max_rank) + ")";
  };
  spec.option("--mode", "M", wrap(mode_list(" or ", any, rank), kHelpWidth), true)
      .option("--size", "S[,S...]",
              "output spatial size: one value for all spatial dims,\nor one per dim")
      .option("--scale", "F[,F...]",
              "scale factor: one value for all spatial dims, or one per dim;\n"
              "the output size is floor(input size * F)")
      .flag("--align-corners",
            wrap("align the corner pixels of input and output (" +
                     mode_list(", ", [](const InterpModeTraits& t) { return t.align_corners; }) +
                     "); without it align_corners=False applies",
                 kHelpWidth))
      .flag("--antialias",
            wrap("anti-alias when downsampling (" +
                     mode_list(" and ", [](const InterpModeTraits& t) { return t.antialias; }) +
                     " only)",
                 kHelpWidth))
      .flag("--recompute-scale-factor",
            "derive the index scale from the sizes (in / out), not from --scale")
      .flag("--verbose", "print the shapes, the device used and the time taken");
  return spec;
}

// The forward call's arguments, from the options add_interpolate_options declares.
InterpolateOptions interpolate_options(const ParsedArgs& args) {
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
  return opt;
}

}  // namespace

ArgSpec interpolate_spec() {
  ArgSpec spec;
  spec.positional("IN", "input .npy file of rank 3 (N, C, W), 4 (N, C, H, W)\nor 5 (N, C, D, H, W)")
      .positional("OUT", "output .npy file (replaced atomically, left untouched on errors)");
  add_interpolate_options(spec);
  add_device_options(spec, true);
  return spec;
}

int run_interpolate(const ParsedArgs& args) {
  const InterpolateOptions opt = interpolate_options(args);
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

const char* interpolate_backward_description() {
  static const std::string text =
      wrap(
          "Computes the gradient of ups interpolate with respect to its input, as "
          "torch.autograd.grad does for torch.nn.functional.interpolate: GRAD_OUT holds the "
          "gradient with respect to the interpolation's output, GRAD_IN receives the gradient "
          "with respect to its input, whose shape --input-size gives. The options are those of "
          "the forward call, with the same rules; GRAD_OUT must have the shape the forward call "
          "produces. float32, float64 and float16 .npy files in C order. Every mode is a gather "
          "without atomics: the result is the same, bit for bit, on every run, for any thread "
          "count, with or without --deterministic.",
          84) +
      "\n"
      "\n"
      "example:\n"
      "  ups interpolate-backward grad_big.npy grad_image.npy --input-size 1,3,64,64 \\\n"
      "      --mode bilinear --scale 2";
  return text.c_str();
}

ArgSpec interpolate_backward_spec() {
  ArgSpec spec;
  spec.positional("GRAD_OUT", "gradient with respect to the interpolation's output (.npy)")
      .positional("GRAD_IN",
                  "output .npy file: the gradient with respect to its input\n"
                  "(replaced atomically, left untouched on errors)")
      .option("--input-size", "N,C,...",
              "shape of the interpolation's input (and of GRAD_IN):\nrank 3, 4 or 5", true);
  add_interpolate_options(spec);
  spec.flag("--deterministic",
            "set the determinism flag (every interpolate backward is\ndeterministic anyway)");
  add_device_options(spec, true);
  return spec;
}

int run_interpolate_backward(const ParsedArgs& args) {
  const InterpolateOptions opt = interpolate_options(args);
  const Shape in_shape = parse_int_tuple(*args.get("--input-size"), "--input-size", 0,
                                         std::numeric_limits<std::int64_t>::max());
  Context ctx = make_context(args, true);
  if (args.has("--deterministic")) ctx.set_deterministic(true);

  HostArray grad_out = read_npy(args.positional("GRAD_OUT"));
  const Shape out_shape = interpolate_output_shape(in_shape, opt);
  if (grad_out.shape() != out_shape) {
    throw Error(ErrorCode::kShapeMismatch,
                "GRAD_OUT has shape " + shape_to_string(grad_out.shape()) +
                    " but the interpolation of an input of shape " + shape_to_string(in_shape) +
                    " gives " + shape_to_string(out_shape));
  }
  AtomicFile file(args.positional("GRAD_IN"));
  HostArray grad_in(grad_out.dtype(), in_shape);

  const auto start = std::chrono::steady_clock::now();
  {
    Staging staging(ctx);
    const TensorView go = staging.input(grad_out.view());
    const TensorView gi = staging.output(grad_in.view());
    interpolate_backward(ctx, go, gi, opt);
    staging.finish();
  }
  const double ms = elapsed_ms(start);

  write_npy(file, grad_in.dtype(), grad_in.shape(), grad_in.data());
  file.commit();
  if (args.has("--verbose")) {
    std::printf(
        "interpolate-backward (%s): %s %s -> %s on %s in %.3f ms (including copies); wrote "
        "'%s'\n",
        to_string(opt.mode), to_string(grad_out.dtype()), shape_to_string(out_shape).c_str(),
        shape_to_string(in_shape).c_str(), to_string(ctx.device()), ms, file.path().c_str());
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

void info_interpolate(std::ostream& os) {
  // One row per mode, whitespace-separated columns; tests/cli reads it to check the Python-side
  // mode lists against the library's.
  struct Row {
    std::string cells[5];
  };
  std::vector<Row> rows = {{{"name", "ranks", "align_corners", "antialias", "dtypes"}}};
  for (const InterpModeTraits& t : interp_modes()) {
    std::string ranks = std::to_string(t.min_rank);
    if (t.max_rank != t.min_rank) ranks += "-" + std::to_string(t.max_rank);
    std::string dtypes;
    for (unsigned bit = 0; bit < 32; ++bit) {
      const auto d = static_cast<DType>(bit);
      if (t.supports(d)) dtypes += (dtypes.empty() ? "" : ",") + std::string(to_string(d));
    }
    rows.push_back(
        {{t.name, ranks, t.align_corners ? "yes" : "no", t.antialias ? "yes" : "no", dtypes}});
  }
  std::size_t width[4] = {};
  for (const Row& r : rows) {
    for (int i = 0; i < 4; ++i)
      width[i] = std::max(width[i], r.cells[i].size());
  }
  os << "interpolate modes (ups interpolate --mode):\n";
  for (const Row& r : rows) {
    os << "  ";
    for (int i = 0; i < 4; ++i)
      os << r.cells[i] << std::string(width[i] - r.cells[i].size() + 2, ' ');
    os << r.cells[4] << "\n";
  }
}

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
