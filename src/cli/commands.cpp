#include "cli/commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <sstream>

#include "cli/device.hpp"
#include "cli/npy.hpp"
#include "ups/ups.hpp"

namespace ups {
namespace cli {
namespace {

constexpr std::int64_t kMaxThreads = 1024;

// ---- shared option handling ----------------------------------------------------------------

ArgSpec& add_device_options(ArgSpec& spec, bool threads) {
  spec.option("--device", "D",
              "auto (the default: CUDA when a device is usable, else the CPU),\n"
              "cpu or cuda");
  if (threads) {
    spec.option("--threads", "T", "CPU threads (0, the default, uses every core); ignored on CUDA");
  }
  return spec;
}

Device device_option(const ParsedArgs& args) {
  const std::string d = args.get("--device").value_or("auto");
  if (d == "auto") return Device::kAuto;
  if (d == "cpu") return Device::kCPU;
  if (d == "cuda") return Device::kCUDA;
  throw UsageError("--device: expected auto, cpu or cuda, got '" + d + "'");
}

Context make_context(const ParsedArgs& args, bool threads) {
  const Device device = device_option(args);
  const int num_threads =
      threads && args.has("--threads")
          ? static_cast<int>(parse_int(*args.get("--threads"), "--threads", 0, kMaxThreads))
          : 0;
  Context ctx(device);
  ctx.set_num_threads(num_threads);
  return ctx;
}

// Shortest decimal form with at most 4 decimals: "1", "1.5", "1.25".
std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0')
      s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

// A rank-2 slice (H x W) of float data as an indented, right-aligned matrix.
std::string format_matrix(const float* data, std::int64_t rows, std::int64_t cols) {
  std::vector<std::string> cells;
  std::size_t width = 0;
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    cells.push_back(format_value(data[i]));
    width = std::max(width, cells.back().size());
  }
  std::string s;
  for (std::int64_t r = 0; r < rows; ++r) {
    s += "    [";
    for (std::int64_t c = 0; c < cols; ++c) {
      const std::string& cell = cells[static_cast<std::size_t>(r * cols + c)];
      s += std::string(width - cell.size() + (c ? 2 : 0), ' ') + cell;
    }
    s += "]\n";
  }
  return s;
}

// ---- interpolate ---------------------------------------------------------------------------

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
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

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

// ---- info ----------------------------------------------------------------------------------

ArgSpec info_spec() {
  return ArgSpec();
}

int run_info(const ParsedArgs&) {
  const BuildInfo b = build_info();
  std::ostringstream os;
  auto row = [&os](const char* key, const std::string& value) {
    os << key << std::string(16 - std::string(key).size(), ' ') << value << "\n";
  };
  os << "ups " << b.version << "\n";
  std::string build = b.build_type.empty() ? std::string("(no build type)") : b.build_type;
  build += "; CUDA backend: ";
  build += b.has_cuda ? "yes (CUDA " + b.cuda_version + ", architectures " + b.cuda_archs + ")"
                      : std::string("no");
  build += "; cuDNN: ";
  build += b.has_cudnn ? "yes" : "no";
  row("build:", build);

  const CudaReport cuda = query_cuda();
  if (!b.has_cuda) {
    row("CUDA devices:", "0 (this build of ups has no CUDA backend)");
  } else {
    auto version = [](int v) {
      return v == 0 ? std::string("none")
                    : std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
    };
    if (cuda.compiled) {
      row("CUDA runtime:", version(cuda.runtime_version) +
                               (cuda.driver_version == 0 ? std::string(" (no CUDA driver)")
                                                         : " (the driver supports CUDA " +
                                                               version(cuda.driver_version) + ")"));
    }
    std::string count = std::to_string(cuda_device_count()) + " usable";
    if (!cuda.error.empty()) count += " (" + cuda.error + ")";
    row("CUDA devices:", count);
    for (std::size_t i = 0; i < cuda.devices.size(); ++i) {
      const CudaDeviceInfo& d = cuda.devices[i];
      char mem[32];
      std::snprintf(mem, sizeof mem, "%.1f GiB", static_cast<double>(d.total_memory) / (1 << 30));
      os << "  [" << i << "] " << d.name << ", compute capability " << d.major << "." << d.minor
         << ", " << mem << ", " << d.multiprocessors << " SMs\n";
    }
  }
  row("cuDNN:", b.has_cudnn ? b.cudnn_version + " (at build time)" : "not built with cuDNN");
  row("deterministic:", std::string(deterministic() ? "on" : "off") +
                            " (process default; environment variable UPS_DETERMINISTIC)");
  const Context cpu(Device::kCPU);
  row("CPU threads:", std::to_string(cpu.num_threads()) + " (default; --threads overrides it)");
  row("default device:", to_string(Context(Device::kAuto).device()));
  std::cout << os.str();
  return 0;
}

// ---- demo ----------------------------------------------------------------------------------

ArgSpec demo_spec() {
  ArgSpec spec;
  add_device_options(spec, false);
  return spec;
}

void demo_case(std::ostream& os, const Context& ctx_in, const char* title, const char* why,
               const std::vector<float>& values, std::int64_t h, std::int64_t w,
               const InterpolateOptions& opt) {
  Context ctx = ctx_in;
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

int run_demo(const ParsedArgs& args) {
  const Context ctx = make_context(args, false);
  std::ostringstream os;
  os << "ups " << build_info().version
     << " demo: upsampling tutorial examples, computed by ups on device " << to_string(ctx.device())
     << "\n\n";

  InterpolateOptions corners;
  corners.mode = InterpMode::kBilinear;
  corners.size = {5, 5};
  corners.align_corners = true;
  demo_case(
      os, ctx, "1) F.interpolate(x, size=(5, 5), mode='bilinear', align_corners=True)",
      "Corners aligned: corner values are kept and samples are evenly spaced, 0.5 input pixels "
      "apart.",
      {1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3, corners);

  InterpolateOptions centres;
  centres.mode = InterpMode::kBilinear;
  centres.scale_factor = {2.0};
  centres.align_corners = false;
  demo_case(
      os, ctx, "2) F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)",
      "Pixel centres: output pixel i samples input coordinate (i + 0.5) / 2 - 0.5, clamped to "
      "the border.",
      {1, 2, 3, 4}, 2, 2, centres);
  std::cout << os.str();
  return 0;
}

// ---- the command table -----------------------------------------------------------------------

const char* const kInterpolateDescription =
    "Resamples the spatial dims of IN like torch.nn.functional.interpolate (PyTorch 2.x\n"
    "semantics) and writes the result to OUT. Give exactly one of --size and --scale.\n"
    "IN and OUT are NumPy .npy files in C order: float32, float64 and float16 for every\n"
    "mode, uint8 for nearest and nearest-exact. The rank of IN selects 1-D, 2-D or 3-D.\n"
    "\n"
    "example:\n"
    "  ups interpolate image.npy big.npy --mode bilinear --scale 2\n"
    "  ups interpolate volume.npy out.npy --mode trilinear --size 32,64,64 --align-corners";

const char* const kInfoDescription =
    "Shows the version, the build configuration, the CUDA devices, the cuDNN version, the\n"
    "determinism flag and the default CPU thread count.";

const char* const kDemoDescription =
    "Prints the interpolation examples of the upsampling tutorial (bilinear with\n"
    "align_corners=True and False), computed by ups on the default device.";

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"interpolate", "resample an array like torch.nn.functional.interpolate",
       kInterpolateDescription, interpolate_spec, run_interpolate},
      {"info", "show the version, build configuration and CUDA devices", kInfoDescription,
       info_spec, run_info},
      {"demo", "print worked interpolation examples", kDemoDescription, demo_spec, run_demo},
  };
  return table;
}

const Command* find_command(const std::string& name) {
  for (const Command& c : commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

std::string version_text() {
  return "ups " + build_info().version + "\n";
}

std::string program_help() {
  std::ostringstream os;
  os << "usage: ups COMMAND [ARGS...]\n"
        "       ups help [COMMAND]\n"
        "       ups --version\n\n"
        "Upsampling ops with PyTorch semantics, on NumPy .npy files.\n\n"
        "commands:\n";
  for (const Command& c : commands()) {
    os << "  " << c.name << std::string(13 - std::string(c.name).size(), ' ') << c.summary << "\n";
  }
  os << "  help         show the help of a command\n\n"
        "options:\n"
        "  -h, --help     show this help and exit\n"
        "  -V, --version  print the version and exit\n\n"
        "Run 'ups COMMAND --help' for the arguments of a command. Exit status: 0 on success,\n"
        "1 when the operation fails, 2 for command-line mistakes.\n";
  return os.str();
}

std::string command_help(const Command& command) {
  const ArgSpec spec = command.spec();
  // The synopsis wraps at 80 columns, continuation lines indented under the first argument.
  const std::string prefix = std::string("usage: ups ") + command.name;
  std::string usage = prefix;
  std::size_t column = usage.size();
  for (const std::string& item : spec.synopsis()) {
    if (column + 1 + item.size() > 80) {
      usage += "\n" + std::string(prefix.size(), ' ');
      column = prefix.size();
    }
    usage += " " + item;
    column += 1 + item.size();
  }
  std::ostringstream os;
  os << usage << "\n\n" << command.description << "\n\narguments:\n" << spec.describe();
  return os.str();
}

int run_command(const Command& command, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  try {
    parsed = command.spec().parse(args);
  } catch (const UsageError& e) {
    throw UsageError(std::string(e.what()) + " (see 'ups " + command.name + " --help')");
  }
  if (parsed.help()) {
    std::cout << command_help(command);
    return 0;
  }
  return command.run(parsed);
}

}  // namespace cli
}  // namespace ups
