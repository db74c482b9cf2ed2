// `ups conv-transpose`, `ups conv-transpose-backward`, the transposed-convolution examples of `ups
// demo` and the algorithm table of `ups info`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_util.hpp"
#include "cli/device.hpp"
#include "cli/npy.hpp"
#include "cli/op_commands.hpp"
#include "text.hpp"
#include "ups/ups.hpp"

namespace ups {
namespace cli {

const char* const kConvTransposeDescription =
    "Applies a transposed convolution to IN like torch.nn.ConvTranspose1d/2d/3d (PyTorch 2.x\n"
    "semantics) with the weight (and bias) read from .npy files, and writes the result to\n"
    "OUT. The rank of IN selects 1-D, 2-D or 3-D; the weight has the same rank. IN, the\n"
    "weight, the bias and OUT share one dtype: float32, float64 or float16. Tuples are\n"
    "comma-separated; a single value applies to every spatial dim. Per spatial dim,\n"
    "  out = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1\n"
    "\n"
    "Algorithms (--algo; 'ups info' tells which this build has): auto picks one; gemm is\n"
    "the CPU backend; gather runs on both devices; scatter (CUDA) uses atomic adds and is\n"
    "nondeterministic; cudnn needs a build with cuDNN; benchmark times the CUDA candidates.\n"
    "With --deterministic (or UPS_DETERMINISTIC=1) only deterministic algorithms run.\n"
    "\n"
    "example:\n"
    "  ups conv-transpose x.npy y.npy --weight w.npy --stride 2 --padding 1 --output-padding 1\n"
    "  ups conv-transpose feat.npy up.npy --weight w.npy --bias b.npy --stride 2 --verbose";

namespace {

// The options conv-transpose and conv-transpose-backward share (the forward call's arguments).
void add_conv_transpose_options(ArgSpec& spec) {
  spec.option("--stride", "S[,S...]", "stride (default 1)")
      .option("--padding", "P[,P...]",
              "padding (default 0): positions removed from both ends of\n"
              "each spatial dim of the output")
      .option("--output-padding", "P[,P...]",
              "size added to one end of each spatial dim of the output\n"
              "(default 0; smaller than the stride or the dilation)")
      .option("--dilation", "D[,D...]", "spacing between kernel taps (default 1)")
      .option("--groups", "G",
              "channel groups (default 1); G divides C_in, and\nC_out = G * weight dim 1")
      .option("--output-size", "S[,S...]",
              "output spatial size: one value for all spatial dims, or one per\n"
              "dim (optionally preceded by N and C); sets the output padding,\n"
              "overriding --output-padding")
      .option("--algo", "A",
              "auto (the default), benchmark, gemm, gather, scatter or cudnn\n"
              "(see 'ups info')")
      .flag("--deterministic",
            "run deterministic algorithms only (also turned on for every\n"
            "command by the environment variable UPS_DETERMINISTIC=1)")
      .flag("--allow-tf32", "let float32 problems use TF32 tensor-core math (cuDNN)")
      .flag("--verbose",
            "print the shapes, the device, the time taken, the algorithm that\n"
            "ran and why the other candidates were declined (on stderr)");
  add_device_options(spec, true);
}

}  // namespace

ArgSpec conv_transpose_spec() {
  ArgSpec spec;
  spec.positional("IN",
                  "input .npy file of rank 3 (N, C_in, W), 4 (N, C_in, H, W)\n"
                  "or 5 (N, C_in, D, H, W)")
      .positional("OUT", "output .npy file (replaced atomically, left untouched on errors)")
      .option("--weight", "W.npy", "weight .npy file (C_in, C_out / groups, *kernel)", true)
      .option("--bias", "B.npy", "bias .npy file (C_out); without it no bias is added");
  add_conv_transpose_options(spec);
  return spec;
}

const char* const kConvTransposeBackwardDescription =
    "Computes the gradients of ups conv-transpose, as torch.autograd.grad does for\n"
    "torch.nn.functional.conv_transpose1d/2d/3d: GRAD_OUT holds the gradient with respect to\n"
    "the output of the transposed convolution of IN with the weight, and the gradients with\n"
    "respect to the input (--grad-input, the shape of IN), the weight (--grad-weight, the\n"
    "shape of the weight) and the bias (--grad-bias, shape C_out) go to the files named; at\n"
    "least one is required. The options are those of conv-transpose, with the same rules;\n"
    "GRAD_OUT must have the shape the forward call produces. The bias does not enter any\n"
    "gradient. Every file is written whole or not at all.\n"
    "\n"
    "Algorithms (--algo): auto; gemm (the CPU backend); gather (native kernels on both\n"
    "devices, deterministic); cudnn (convolution forward for the input gradient and\n"
    "backward-filter for the weight gradient; the bias gradient is always native);\n"
    "benchmark (CUDA). scatter has no backward form. The native paths are deterministic\n"
    "whatever the flag says; --deterministic keeps cuDNN to its deterministic engines.\n"
    "\n"
    "example:\n"
    "  ups conv-transpose-backward gy.npy x.npy --weight w.npy --stride 2 \\\n"
    "      --grad-input gx.npy --grad-weight gw.npy --grad-bias gb.npy";

ArgSpec conv_transpose_backward_spec() {
  ArgSpec spec;
  spec.positional("GRAD_OUT", "gradient with respect to the transposed convolution's output")
      .positional("IN", "the transposed convolution's input (.npy)")
      .option("--weight", "W.npy", "weight .npy file (C_in, C_out / groups, *kernel)", true)
      .option("--grad-input", "GI.npy", "output: the gradient with respect to IN")
      .option("--grad-weight", "GW.npy", "output: the gradient with respect to the weight")
      .option("--grad-bias", "GB.npy", "output: the gradient with respect to a bias (C_out)");
  add_conv_transpose_options(spec);
  return spec;
}

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

// The transposed convolution of host arrays on ctx's device; bias may be null.
ConvTransposeResult run_on_device(Context& ctx, HostArray& src, HostArray& weight, HostArray* bias,
                                  HostArray& dst, const ConvTransposeOptions& opt) {
  Staging staging(ctx);
  const TensorView src_view = staging.input(src.view());
  const TensorView weight_view = staging.input(weight.view());
  TensorView bias_view;
  if (bias != nullptr) bias_view = staging.input(bias->view());
  const TensorView dst_view = staging.output(dst.view());
  ConvTransposeResult result = conv_transpose(
      ctx, src_view, weight_view, bias != nullptr ? &bias_view : nullptr, dst_view, opt);
  staging.finish();
  return result;
}

}  // namespace

namespace {

// The forward call's options and the context they ask for.
ConvTransposeOptions conv_transpose_options(const ParsedArgs& args) {
  ConvTransposeOptions opt;
  // Values outside these ranges cannot mean anything; the rules that relate several values
  // (groups dividing C_in, output_padding below stride or dilation, the output-size range) are
  // the library's, with PyTorch's messages.
  if (const auto s = args.get("--stride")) opt.stride = parse_int_tuple(*s, "--stride", 1, kMaxInt);
  if (const auto s = args.get("--padding")) {
    opt.padding = parse_int_tuple(*s, "--padding", 0, kMaxInt);
  }
  if (const auto s = args.get("--output-padding")) {
    opt.output_padding = parse_int_tuple(*s, "--output-padding", 0, kMaxInt);
  }
  if (const auto s = args.get("--dilation")) {
    opt.dilation = parse_int_tuple(*s, "--dilation", 1, kMaxInt);
  }
  if (const auto s = args.get("--groups")) opt.groups = parse_int(*s, "--groups", 1, kMaxInt);
  if (const auto s = args.get("--output-size")) {
    opt.output_size = parse_int_tuple(*s, "--output-size", 0, kMaxInt);
  }
  if (const auto a = args.get("--algo")) {
    try {
      opt.algorithm = parse_conv_transpose_algo(*a);
    } catch (const Error& e) {
      throw UsageError(std::string("--algo: ") + e.what());
    }
  }
  return opt;
}

Context conv_transpose_context(const ParsedArgs& args) {
  Context ctx = make_context(args, true);
  if (args.has("--deterministic")) ctx.set_deterministic(true);
  ctx.set_allow_tf32(args.has("--allow-tf32"));
  return ctx;
}

// One output size stands for every spatial dim, like the other tuples.
void expand_output_size(ConvTransposeOptions& opt, int spatial) {
  if (opt.output_size.size() == 1 && spatial > 1) {
    opt.output_size.assign(static_cast<std::size_t>(spatial), opt.output_size[0]);
  }
}

}  // namespace

int run_conv_transpose(const ParsedArgs& args) {
  ConvTransposeOptions opt = conv_transpose_options(args);
  Context ctx = conv_transpose_context(args);

  Operand src = read_operand("IN", args.positional("IN"));
  Operand weight = read_operand("--weight", *args.get("--weight"));
  std::optional<Operand> bias;
  if (const auto b = args.get("--bias")) bias = read_operand("--bias", *b);
  check_same_dtype(src, weight);
  if (bias) check_same_dtype(src, *bias);

  expand_output_size(opt, src.array.rank() - 2);
  const Shape out_shape = conv_transpose_output_shape(src.array.shape(), weight.array.shape(), opt);
  // Opened before the computation so that an unwritable OUT fails early; removed on errors.
  AtomicFile file(args.positional("OUT"));
  HostArray dst(src.array.dtype(), out_shape);

  const auto start = std::chrono::steady_clock::now();
  const ConvTransposeResult result =
      run_on_device(ctx, src.array, weight.array, bias ? &bias->array : nullptr, dst, opt);
  const double ms = elapsed_ms(start);

  write_npy(file, dst.dtype(), dst.shape(), dst.data());
  file.commit();
  if (args.has("--verbose")) {
    std::fprintf(stderr,
                 "conv-transpose: %s %s, weight %s%s -> %s on %s (deterministic %s) in %.3f ms "
                 "(including copies); wrote '%s'\n%s\n",
                 to_string(dst.dtype()), shape_to_string(src.array.shape()).c_str(),
                 shape_to_string(weight.array.shape()).c_str(), bias ? ", bias" : "",
                 shape_to_string(out_shape).c_str(), to_string(ctx.device()),
                 ctx.deterministic() ? "on" : "off", ms, detail::escape_text(file.path()).c_str(),
                 to_string(result).c_str());
  }
  return 0;
}

int run_conv_transpose_backward(const ParsedArgs& args) {
  ConvTransposeOptions opt = conv_transpose_options(args);
  Context ctx = conv_transpose_context(args);
  struct Wanted {
    const char* flag;
    std::optional<std::string> path;
  };
  Wanted wanted[3] = {{"--grad-input", args.get("--grad-input")},
                      {"--grad-weight", args.get("--grad-weight")},
                      {"--grad-bias", args.get("--grad-bias")}};
  if (!wanted[0].path && !wanted[1].path && !wanted[2].path) {
    throw UsageError("nothing to compute: give --grad-input, --grad-weight or --grad-bias");
  }

  Operand grad_out = read_operand("GRAD_OUT", args.positional("GRAD_OUT"));
  Operand src = read_operand("IN", args.positional("IN"));
  Operand weight = read_operand("--weight", *args.get("--weight"));
  check_same_dtype(src, grad_out);
  check_same_dtype(src, weight);
  expand_output_size(opt, src.array.rank() - 2);
  const Shape out_shape = conv_transpose_output_shape(src.array.shape(), weight.array.shape(), opt);
  if (grad_out.array.shape() != out_shape) {
    throw Error(ErrorCode::kShapeMismatch,
                "GRAD_OUT has shape " + shape_to_string(grad_out.array.shape()) +
                    " but the transposed convolution of IN " + shape_to_string(src.array.shape()) +
                    " with the weight " + shape_to_string(weight.array.shape()) + " gives " +
                    shape_to_string(out_shape));
  }
  // Opened before the computation so that an unwritable output fails early; every file is
  // committed only once all gradients are computed.
  std::optional<AtomicFile> files[3];
  for (int i = 0; i < 3; ++i) {
    if (!wanted[i].path) continue;
    files[i].emplace(*wanted[i].path);
    for (int j = 0; j < i; ++j) {
      if (files[j] && files[j]->target() == files[i]->target()) {
        throw UsageError(std::string(wanted[j].flag) + " and " + wanted[i].flag +
                         " name the same file '" + detail::escape_text(files[i]->path()) + "'");
      }
    }
  }
  const DType dtype = src.array.dtype();
  std::optional<HostArray> grads[3];
  if (files[0]) grads[0].emplace(dtype, src.array.shape());
  if (files[1]) grads[1].emplace(dtype, weight.array.shape());
  if (files[2]) grads[2].emplace(dtype, Shape{out_shape[1]});

  const auto start = std::chrono::steady_clock::now();
  ConvTransposeBackwardResult result;
  {
    Staging staging(ctx);
    const TensorView gy = staging.input(grad_out.array.view());
    const TensorView x = staging.input(src.array.view());
    const TensorView w = staging.input(weight.array.view());
    TensorView g[3];
    for (int i = 0; i < 3; ++i) {
      if (grads[i]) g[i] = staging.output(grads[i]->view());
    }
    result = conv_transpose_backward(ctx, gy, x, w, grads[0] ? &g[0] : nullptr,
                                     grads[1] ? &g[1] : nullptr, grads[2] ? &g[2] : nullptr, opt);
    staging.finish();
  }
  const double ms = elapsed_ms(start);

  for (int i = 0; i < 3; ++i) {
    if (grads[i]) write_npy(*files[i], dtype, grads[i]->shape(), grads[i]->data());
  }
  for (auto& f : files) {
    if (f) f->commit();
  }
  if (args.has("--verbose")) {
    std::fprintf(stderr,
                 "conv-transpose-backward: %s GRAD_OUT %s, IN %s, weight %s on %s (deterministic "
                 "%s) in %.3f ms (including copies)\n",
                 to_string(dtype), shape_to_string(out_shape).c_str(),
                 shape_to_string(src.array.shape()).c_str(),
                 shape_to_string(weight.array.shape()).c_str(), to_string(ctx.device()),
                 ctx.deterministic() ? "on" : "off", ms);
    const ConvTransposeResult* rs[3] = {&result.grad_input, &result.grad_weight, &result.grad_bias};
    for (int i = 0; i < 3; ++i) {
      if (!files[i]) continue;
      std::fprintf(stderr, "%s -> '%s': %s\n", wanted[i].flag,
                   detail::escape_text(files[i]->path()).c_str(), to_string(*rs[i]).c_str());
    }
  }
  return 0;
}

// ---- demo ----------------------------------------------------------------------------------

namespace {

HostArray demo_array(const Shape& shape, const std::vector<float>& values) {
  HostArray a(DType::kF32, shape);
  std::copy(values.begin(), values.end(), static_cast<float*>(a.data()));
  return a;
}

// Prints a (1, C, L) or (1, C, H, W) f32 array: one row per channel for 1-D, one matrix per
// channel for 2-D.
std::string format_array(const HostArray& a) {
  const Shape& s = a.shape();
  const float* p = static_cast<const float*>(a.data());
  if (s.size() == 3) return format_matrix(p, s[1], s[2]);
  std::string out;
  const std::int64_t plane = s[s.size() - 2] * s[s.size() - 1];
  for (std::int64_t c = 0; c < s[0] * s[1]; ++c)
    out += format_matrix(p + c * plane, s[s.size() - 2], s[s.size() - 1]);
  return out;
}

}  // namespace

void demo_conv_transpose(std::ostream& os, Context& ctx, int& number) {
  // ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1): length 5 -> 10.
  {
    ConvTransposeOptions opt;
    opt.stride = {2};
    opt.padding = {1};
    opt.output_padding = {1};
    HostArray src = demo_array({1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    HostArray weight = demo_array({2, 3, 3}, std::vector<float>(18, 1.0f));
    HostArray dst(DType::kF32, conv_transpose_output_shape(src.shape(), weight.shape(), opt));
    run_on_device(ctx, src, weight, nullptr, dst, opt);
    os << number++
       << ") nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1, bias=False)\n"
       << "  Length (5 - 1) * 2 - 2 * 1 + (3 - 1) + 0 + 1 = 9, plus output_padding 1 = 10: input\n"
       << "  position i adds its value times the kernel to outputs 2i - 1 .. 2i + 1; padding=1\n"
       << "  crops one output at each end and output_padding=1 gives the last one back.\n"
       << "  The weight " << shape_to_string(weight.shape())
       << " is all ones, so every output channel is the same sum.\n"
       << "  input " << shape_to_string(src.shape()) << " (a row per channel):\n"
       << format_array(src) << "  output " << shape_to_string(dst.shape())
       << " (a row per channel):\n"
       << format_array(dst) << "\n";
  }
  // upconv2x2 of the tutorial's decoder: ConvTranspose2d(in, out, kernel_size=2, stride=2).
  {
    ConvTransposeOptions opt;
    opt.stride = {2};
    const Shape unet_in = {1, 64, 28, 28};
    const Shape unet_out = conv_transpose_output_shape(unet_in, {64, 32, 2, 2}, opt);
    HostArray src = demo_array({1, 1, 2, 2}, {1, 2, 3, 4});
    HostArray weight = demo_array({1, 1, 2, 2}, {1, 0.5f, 0.5f, 0.25f});
    HostArray dst(DType::kF32, conv_transpose_output_shape(src.shape(), weight.shape(), opt));
    run_on_device(ctx, src, weight, nullptr, dst, opt);
    os << number++
       << ") upconv2x2(in_channels, out_channels) = nn.ConvTranspose2d(in_channels, "
          "out_channels,\n"
       << "   kernel_size=2, stride=2), the tutorial's decoder step, doubles H and W:\n"
       << "  (H - 1) * 2 + (2 - 1) + 1 = 2H; upconv2x2(64, 32) maps " << shape_to_string(unet_in)
       << " to " << shape_to_string(unet_out) << ".\n"
       << "  Each input pixel paints its own copy of the 2x2 kernel, scaled by its value; the "
          "copies\n"
       << "  do not overlap. With one channel in and out and bias=False:\n"
       << "  weight " << shape_to_string(weight.shape()) << ":\n"
       << format_array(weight) << "  input " << shape_to_string(src.shape()) << ":\n"
       << format_array(src) << "  output " << shape_to_string(dst.shape()) << ":\n"
       << format_array(dst) << "\n";
  }
}

// ---- info ----------------------------------------------------------------------------------

void info_conv_transpose(std::ostream& os) {
  const BuildInfo build = build_info();
  struct Row {
    std::string cells[4];
  };
  std::vector<Row> rows = {{{"name", "devices", "determinism", "in this build"}}};
  for (const ConvTransposeAlgoInfo& a : conv_transpose_algorithms()) {
    std::string available = "yes";
    if (!a.available) {
      available = a.algo == ConvTransposeAlgo::kCudnn && build.has_cuda
                      ? "no (built without cuDNN)"
                      : "no (built without the CUDA backend)";
    }
    rows.push_back({{a.name, a.devices, a.determinism, available}});
  }
  std::size_t width[3] = {};
  for (const Row& r : rows) {
    for (int i = 0; i < 3; ++i)
      width[i] = std::max(width[i], r.cells[i].size());
  }
  os << "conv_transpose algorithms (ups conv-transpose --algo):\n";
  for (const Row& r : rows) {
    os << "  ";
    for (int i = 0; i < 3; ++i)
      os << r.cells[i] << std::string(width[i] - r.cells[i].size() + 2, ' ');
    os << r.cells[3] << "\n";
  }
}

}  // namespace cli
}  // namespace ups
