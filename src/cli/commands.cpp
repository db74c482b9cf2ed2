#include "cli/commands.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/command_util.hpp"
#include "cli/device.hpp"
#include "cli/op_commands.hpp"
#include "ups/ups.hpp"

namespace ups {
namespace cli {
namespace {

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
  build += "; oneDNN: ";
  build += b.has_onednn ? "yes (" + b.onednn_version + ")" : std::string("no");
  row("build:", build);

  const CudaReport cuda = query_cuda();
  const RuntimeInfo rt = runtime_info();
  auto version = [](int v) {  // CUDA's encoding: 13000 is 13.0
    return v == 0 ? std::string("none")
                  : std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
  };
  if (!b.has_cuda) {
    row("CUDA devices:", "0 (this build of ups has no CUDA backend)");
  } else {
    row("CUDA runtime:",
        version(rt.cuda_runtime_version) +
            (rt.cuda_driver_version == 0
                 ? std::string(" (no CUDA driver)")
                 : " (the driver supports CUDA " + version(rt.cuda_driver_version) + ")"));
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
  if (b.has_cudnn) {
    const std::size_t v = rt.cudnn_version;
    const int cv = static_cast<int>(rt.cudnn_cudart_version);
    row("cuDNN:", b.cudnn_version + " at build time; " + std::to_string(v / 10000) + "." +
                      std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100) +
                      " at run time, built for CUDA " + version(cv));
  } else {
    row("cuDNN:", "not built with cuDNN");
  }
  for (const std::string& problem : rt.problems)
    row("mismatch:", problem);
  row("deterministic:", std::string(deterministic() ? "on" : "off") +
                            " (process default; environment variable UPS_DETERMINISTIC)");
  const Context cpu(Device::kCPU);
  row("CPU threads:", std::to_string(cpu.num_threads()) + " (default; --threads overrides it)");
  row("default device:", to_string(Context(Device::kAuto).device()));
  os << "\n";
  info_interpolate(os);
  os << "\n";
  info_conv_transpose(os);
  std::cout << os.str();
  return 0;
}

// ---- demo ----------------------------------------------------------------------------------

ArgSpec demo_spec() {
  ArgSpec spec;
  add_device_options(spec, false);
  return spec;
}

int run_demo(const ParsedArgs& args) {
  Context ctx = make_context(args, false);
  std::ostringstream os;
  os << "ups " << build_info().version
     << " demo: upsampling tutorial examples, computed by ups on device " << to_string(ctx.device())
     << "\n\n";
  int number = 1;
  demo_interpolate(os, ctx, number);
  demo_conv_transpose(os, ctx, number);
  demo_pool(os, ctx, number);
  demo_pixel_shuffle(os, ctx, number);
  std::cout << os.str();
  return 0;
}

// ---- the command table -----------------------------------------------------------------------

const char* const kInfoDescription =
    "Shows the version, the build configuration, the CUDA devices, the cuDNN version, the\n"
    "determinism flag, the default CPU thread count, the interpolation modes (the input\n"
    "ranks, options and dtypes each accepts) and the algorithms of each op that has a\n"
    "choice of them (which devices they run on, whether they are deterministic, whether\n"
    "this build has them).";

const char* const kDemoDescription =
    "Prints the examples of the upsampling tutorial, computed by ups on the default device:\n"
    "bilinear interpolation with align_corners=True and False, and the shapes and values of\n"
    "transposed convolutions (ConvTranspose1d, and the 2-D decoder step upconv2x2), max\n"
    "pooling with indices followed by max unpooling (MaxPool2d, MaxUnpool2d), and\n"
    "PixelShuffle(3) with its inverse.";

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"interpolate", "resample an array like torch.nn.functional.interpolate",
       interpolate_description(), interpolate_spec, run_interpolate},
      {"interpolate-backward", "gradient of interpolate with respect to its input",
       interpolate_backward_description(), interpolate_backward_spec, run_interpolate_backward},
      {"resize", "resize any dims of an array like ONNX's Resize operator", kResizeDescription,
       resize_spec, run_resize},
      {"conv-transpose", "transposed convolution like torch.nn.ConvTranspose1d/2d/3d",
       kConvTransposeDescription, conv_transpose_spec, run_conv_transpose},
      {"conv-transpose-backward", "gradients of conv-transpose (input, weight, bias)",
       kConvTransposeBackwardDescription, conv_transpose_backward_spec,
       run_conv_transpose_backward},
      {"max-pool", "max pooling with indices like torch.nn.MaxPool1d/2d/3d", kMaxPoolDescription,
       max_pool_spec, run_max_pool},
      {"max-unpool", "undo a max pooling like torch.nn.MaxUnpool1d/2d/3d", kMaxUnpoolDescription,
       max_unpool_spec, run_max_unpool},
      {"max-pool-backward", "the gradient of max-pool's input from its output's gradient",
       kMaxPoolBackwardDescription, max_pool_backward_spec, run_max_pool_backward},
      {"max-unpool-backward", "the gradient of max-unpool's input from its output's gradient",
       kMaxUnpoolBackwardDescription, max_unpool_backward_spec, run_max_unpool_backward},
      {"pixel-shuffle", "channels to R x R blocks like torch.nn.PixelShuffle",
       kPixelShuffleDescription, pixel_shuffle_spec, run_pixel_shuffle},
      {"pixel-unshuffle", "R x R blocks to channels like torch.nn.PixelUnshuffle",
       kPixelUnshuffleDescription, pixel_unshuffle_spec, run_pixel_unshuffle},
      {"bench", "time ops on synthetic data (one case or the default suite)", kBenchDescription,
       bench_spec, run_bench},
      {"info", "show the version, build configuration, CUDA devices and algorithms",
       kInfoDescription, info_spec, run_info},
      {"demo", "print worked upsampling examples", kDemoDescription, demo_spec, run_demo},
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
  std::size_t width = std::string("help").size();
  for (const Command& c : commands())
    width = std::max(width, std::string(c.name).size());
  auto line = [&](const std::string& name, const char* summary) {
    os << "  " << name << std::string(width - name.size() + 2, ' ') << summary << "\n";
  };
  for (const Command& c : commands())
    line(c.name, c.summary);
  line("help", "show the help of a command");
  os << "\n"
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
