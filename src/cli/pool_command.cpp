// `ups max-pool`, `ups max-unpool` and the pooling example of `ups demo`.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "cli/command_util.hpp"
#include "cli/device.hpp"
#include "cli/npy.hpp"
#include "cli/op_commands.hpp"
#include "ups/ups.hpp"

namespace ups {
namespace cli {

const char* const kMaxPoolDescription =
    "Max-pools IN like torch.nn.MaxPool1d/2d/3d(..., return_indices=True) (PyTorch 2.x\n"
    "semantics) and writes the maxima to OUT and their positions to INDICES, both or\n"
    "neither. The rank of IN selects 1-D (N, C, W), 2-D (N, C, H, W) or 3-D (N, C, D, H, W).\n"
    "IN and OUT share one dtype: float32, float64, float16, uint8, int32 or int64; INDICES\n"
    "is int64 ('<i8'), each the flat position d * H * W + h * W + w of the maximum within\n"
    "its (n, c) plane of IN, as ups max-unpool reads them. Tuples are comma-separated; a\n"
    "single value applies to every spatial dim. Per spatial dim,\n"
    "  out = floor((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1\n"
    "(ceil with --ceil-mode, dropping a last window that would start in the right padding).\n"
    "\n"
    "example:\n"
    "  ups max-pool x.npy pooled.npy indices.npy --kernel-size 2\n"
    "  ups max-pool x.npy y.npy i.npy --kernel-size 3 --stride 2 --padding 1 --ceil-mode";

const char* const kMaxUnpoolDescription =
    "Inverts a max pooling like torch.nn.MaxUnpool1d/2d/3d (PyTorch 2.x semantics): OUT is\n"
    "zero-filled, then every value of IN is written at the position its entry of INDICES\n"
    "names within its (n, c) plane of OUT. INDICES is an int64 ('<i8') array with the shape\n"
    "of IN, e.g. the one ups max-pool writes. IN and OUT share one dtype: float32, float64,\n"
    "float16, uint8, int32 or int64. The rank of IN selects 1-D, 2-D or 3-D. An index\n"
    "outside the output plane is an error, and OUT is then left untouched. When several\n"
    "values name one position, the one latest in its input plane (C order) wins. Per\n"
    "spatial dim the default output size is\n"
    "  out = (in - 1) * stride - 2 * padding + kernel\n"
    "and --output-size picks another, strictly between out - stride and out + stride.\n"
    "\n"
    "example:\n"
    "  ups max-unpool pooled.npy indices.npy restored.npy --kernel-size 2\n"
    "  ups max-unpool y.npy i.npy x.npy --kernel-size 3 --stride 2 --padding 1 --output-size 9,9";

const char* const kMaxPoolBackwardDescription =
    "The gradient of ups max-pool (torch.nn.MaxPool1d/2d/3d's backward): reads GRAD_OUT, the\n"
    "gradient of the pooled output, and INDICES, the int64 ('<i8') positions ups max-pool\n"
    "wrote, both of the pooled shape, and writes GRAD_IN, the gradient of the input, of shape\n"
    "--input-size (N, C and the spatial sizes of the pooling's input). Each element of GRAD_IN\n"
    "is the sum, over the windows whose index names it, of their gradients, added in the\n"
    "windows' order (float16 in float32, rounded once), so the result is the same on every\n"
    "run, device and thread count. Every index must name an element of its own window. The\n"
    "pooling options are those of ups max-pool.\n"
    "\n"
    "example:\n"
    "  ups max-pool x.npy y.npy i.npy --kernel-size 3 --stride 2 --padding 1\n"
    "  ups max-pool-backward gy.npy i.npy gx.npy --input-size 1,3,32,32 --kernel-size 3 \\\n"
    "      --stride 2 --padding 1";

const char* const kMaxUnpoolBackwardDescription =
    "The gradient of ups max-unpool (torch.nn.MaxUnpool1d/2d/3d's backward): reads GRAD_OUT,\n"
    "the gradient of the unpooled output, and INDICES, the int64 ('<i8') positions given to\n"
    "ups max-unpool, and writes GRAD_IN, of the shape of INDICES: each element is the element\n"
    "of GRAD_OUT that its index names within its (n, c) plane. GRAD_OUT must have the shape\n"
    "ups max-unpool would write for an input of the shape of INDICES with the same options.\n"
    "An index outside the output plane is an error, and GRAD_IN is then left untouched.\n"
    "\n"
    "example:\n"
    "  ups max-unpool-backward gy.npy indices.npy gx.npy --kernel-size 2";

// Empty problems run on the host views with a CPU context, where the ops only validate: there is
// nothing to move or compute, and Staging refuses some empty views (those with a zero dim left
// of a larger one).

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

const char* const kInHelp =
    "input .npy file of rank 3 (N, C, W), 4 (N, C, H, W)\nor 5 (N, C, D, H, W)";
const char* const kOutHelp = "output .npy file (replaced atomically, left untouched on errors)";

// The pooling commands take batched inputs only: an unbatched (C, H, W) file would be read as
// a batched 1-D problem, so the rank alone decides.
void check_batched_rank(const Operand& in, const char* command) {
  const int rank = in.array.rank();
  if (rank >= 3 && rank <= 5) return;
  throw Error(ErrorCode::kShapeMismatch,
              std::string(command) + ": " + in.role + " '" + in.path + "' has shape " +
                  shape_to_string(in.array.shape()) +
                  "; expected rank 3 (N, C, W), 4 (N, C, H, W) or 5 (N, C, D, H, W)");
}

// The directory entry an output ends up in: the end of its symbolic links (output_target), with
// its folder resolved. Empty when the folder cannot be resolved.
std::filesystem::path output_entry(const std::string& path) {
  const std::filesystem::path p(output_target(path));
  std::error_code ec;
  const std::filesystem::path dir =
      std::filesystem::weakly_canonical(p.has_parent_path() ? p.parent_path() : ".", ec);
  return ec ? std::filesystem::path() : dir / p.filename();
}

// Two output paths that name one file would have the second write replace the first.
void check_distinct_outputs(const std::string& a, const std::string& a_role, const std::string& b,
                            const std::string& b_role) {
  const std::filesystem::path ea = output_entry(a), eb = output_entry(b);
  const bool same = ea.empty() || eb.empty() ? a == b : ea == eb;
  if (same) throw UsageError(a_role + " and " + b_role + " name the same file '" + b + "'");
}

// Commits two fully written files. Everything that can fail before that (allocation, the op,
// writing the data) has happened by now; should the second commit still fail, a first file that
// did not exist before the command is removed again, so that a failed run leaves neither.
void commit_both(AtomicFile& first, AtomicFile& second) {
  first.commit();
  try {
    second.commit();
  } catch (...) {
    if (!first.existed()) ::unlink(first.target().c_str());
    throw;
  }
}

// The pooling options of max-pool and max-pool-backward. Values outside these ranges cannot
// mean anything; the rules that relate several values (padding at most half the kernel, the
// output size) are the library's, with PyTorch's messages.
MaxPoolOptions pool_options(const ParsedArgs& args) {
  MaxPoolOptions opt;
  opt.kernel_size = parse_int_tuple(*args.get("--kernel-size"), "--kernel-size", 1, kMaxInt);
  if (const auto s = args.get("--stride")) opt.stride = parse_int_tuple(*s, "--stride", 1, kMaxInt);
  if (const auto s = args.get("--padding")) {
    opt.padding = parse_int_tuple(*s, "--padding", 0, kMaxInt);
  }
  if (const auto s = args.get("--dilation")) {
    opt.dilation = parse_int_tuple(*s, "--dilation", 1, kMaxInt);
  }
  opt.ceil_mode = args.has("--ceil-mode");
  return opt;
}

// The unpooling options of max-unpool and max-unpool-backward.
MaxUnpoolOptions unpool_options(const ParsedArgs& args) {
  MaxUnpoolOptions opt;
  opt.kernel_size = parse_int_tuple(*args.get("--kernel-size"), "--kernel-size", 1, kMaxInt);
  if (const auto s = args.get("--stride")) opt.stride = parse_int_tuple(*s, "--stride", 1, kMaxInt);
  if (const auto s = args.get("--padding")) {
    opt.padding = parse_int_tuple(*s, "--padding", 0, kMaxInt);
  }
  if (const auto s = args.get("--output-size")) {
    opt.output_size = parse_int_tuple(*s, "--output-size", 0, kMaxInt);
  }
  return opt;
}

}  // namespace

// ---- max-pool ----------------------------------------------------------------------------------

ArgSpec max_pool_spec() {
  ArgSpec spec;
  spec.positional("IN", kInHelp)
      .positional("OUT", kOutHelp)
      .positional("INDICES", "output .npy file of the int64 indices (written together\nwith OUT)")
      .option("--kernel-size", "K[,K...]", "window size", true)
      .option("--stride", "S[,S...]", "window step (default: the kernel size)")
      .option("--padding", "P[,P...]",
              "implicit -inf padding on both sides of each spatial dim\n"
              "(default 0; at most half the kernel size)")
      .option("--dilation", "D[,D...]", "spacing between window taps (default 1)")
      .flag("--ceil-mode", "round the output size up instead of down");
  add_device_options(spec, true);
  return spec;
}

int run_max_pool(const ParsedArgs& args) {
  MaxPoolOptions opt = pool_options(args);
  const std::string& out_path = args.positional("OUT");
  const std::string& indices_path = args.positional("INDICES");
  check_distinct_outputs(out_path, "OUT", indices_path, "INDICES");
  Context ctx = make_context(args, true);

  Operand src = read_operand("IN", args.positional("IN"));
  check_batched_rank(src, "max-pool");
  const Shape out_shape = max_pool_output_shape(src.array.shape(), opt);
  // Opened before the computation so that an unwritable output fails early; both temporary
  // files are removed on errors.
  AtomicFile out_file(out_path);
  AtomicFile indices_file(indices_path);
  HostArray dst(src.array.dtype(), out_shape);
  HostArray indices(DType::kI64, out_shape);
  if (dst.numel() == 0) {
    max_pool(Context(Device::kCPU), src.array.view(), dst.view(), indices.view(), opt);
  } else {
    Staging staging(ctx);
    const TensorView src_view = staging.input(src.array.view());
    const TensorView dst_view = staging.output(dst.view());
    const TensorView indices_view = staging.output(indices.view());
    max_pool(ctx, src_view, dst_view, indices_view, opt);
    staging.finish();
  }
  write_npy(out_file, dst.dtype(), dst.shape(), dst.data());
  write_npy(indices_file, indices.dtype(), indices.shape(), indices.data());
  commit_both(out_file, indices_file);
  return 0;
}

// ---- max-unpool --------------------------------------------------------------------------------

ArgSpec max_unpool_spec() {
  ArgSpec spec;
  spec.positional("IN", kInHelp)
      .positional("INDICES", "int64 .npy file with the shape of IN (from ups max-pool)")
      .positional("OUT", kOutHelp)
      .option("--kernel-size", "K[,K...]", "window size of the pooling", true)
      .option("--stride", "S[,S...]", "window step of the pooling (default: the kernel size)")
      .option("--padding", "P[,P...]", "padding of the pooling (default 0)")
      .option("--output-size", "S[,S...]",
              "output spatial size: one value for all spatial dims, or one per\n"
              "dim (optionally preceded by N and C)")
      .flag("--deterministic",
            "resolve duplicate indices on CUDA as the CPU does (also turned\n"
            "on by the environment variable UPS_DETERMINISTIC=1)");
  add_device_options(spec, true);
  return spec;
}

int run_max_unpool(const ParsedArgs& args) {
  MaxUnpoolOptions opt = unpool_options(args);
  Context ctx = make_context(args, true);
  if (args.has("--deterministic")) ctx.set_deterministic(true);

  Operand src = read_operand("IN", args.positional("IN"));
  Operand indices = read_operand("INDICES", args.positional("INDICES"));
  check_batched_rank(src, "max-unpool");
  // One output size stands for every spatial dim, like the other tuples.
  const int spatial = src.array.rank() - 2;
  if (opt.output_size.size() == 1 && spatial > 1) {
    opt.output_size.assign(static_cast<std::size_t>(spatial), opt.output_size[0]);
  }
  const Shape out_shape = max_unpool_output_shape(src.array.shape(), opt);
  // Opened before the computation so that an unwritable OUT fails early; removed on errors,
  // an invalid index included.
  AtomicFile file(args.positional("OUT"));
  HostArray dst(src.array.dtype(), out_shape);
  if (src.array.numel() == 0 || dst.numel() == 0) {
    max_unpool(Context(Device::kCPU), src.array.view(), indices.array.view(), dst.view(), opt);
  } else {
    Staging staging(ctx);
    const TensorView src_view = staging.input(src.array.view());
    const TensorView indices_view = staging.input(indices.array.view());
    const TensorView dst_view = staging.output(dst.view());
    // The synchronous index check: an invalid index throws here, before OUT is written.
    max_unpool(ctx, src_view, indices_view, dst_view, opt);
    staging.finish();
  }
  write_npy(file, dst.dtype(), dst.shape(), dst.data());
  file.commit();
  return 0;
}

// ---- max-pool-backward
// ---------------------------------------------------------------------------

ArgSpec max_pool_backward_spec() {
  ArgSpec spec;
  spec.positional("GRAD_OUT", "gradient of the pooled output (.npy, the pooled shape)")
      .positional("INDICES", "int64 .npy file of the pooling's indices (from ups max-pool)")
      .positional("GRAD_IN", kOutHelp)
      .option("--input-size", "N,C,S[,S...]",
              "shape of the pooling's input: N, C and 1 to 3 spatial sizes", true)
      .option("--kernel-size", "K[,K...]", "window size", true)
      .option("--stride", "S[,S...]", "window step (default: the kernel size)")
      .option("--padding", "P[,P...]",
              "implicit -inf padding on both sides of each spatial dim\n"
              "(default 0; at most half the kernel size)")
      .option("--dilation", "D[,D...]", "spacing between window taps (default 1)")
      .flag("--ceil-mode", "round the output size up instead of down")
      .flag("--deterministic",
            "fail rather than run a nondeterministic algorithm (this op is\n"
            "always deterministic; also turned on by UPS_DETERMINISTIC=1)");
  add_device_options(spec, true);
  return spec;
}

int run_max_pool_backward(const ParsedArgs& args) {
  MaxPoolOptions opt = pool_options(args);
  const Shape in_shape = parse_int_tuple(*args.get("--input-size"), "--input-size", 0, kMaxInt);
  if (in_shape.size() < 3 || in_shape.size() > 5) {
    throw UsageError("--input-size: expected N, C and 1 to 3 spatial sizes (3 to 5 values), got " +
                     std::to_string(in_shape.size()));
  }
  Context ctx = make_context(args, true);
  if (args.has("--deterministic")) ctx.set_deterministic(true);

  Operand grad_out = read_operand("GRAD_OUT", args.positional("GRAD_OUT"));
  Operand indices = read_operand("INDICES", args.positional("INDICES"));
  // Validates the shapes with the library's messages before anything is allocated.
  const Shape out_shape = max_pool_output_shape(in_shape, opt);
  if (grad_out.array.shape() != out_shape) {
    throw Error(ErrorCode::kShapeMismatch,
                "max-pool-backward: GRAD_OUT '" + grad_out.path + "' has shape " +
                    shape_to_string(grad_out.array.shape()) + " but the pooling of an input of " +
                    "shape " + shape_to_string(in_shape) + " has output shape " +
                    shape_to_string(out_shape));
  }
  AtomicFile file(args.positional("GRAD_IN"));
  HostArray grad_in(grad_out.array.dtype(), in_shape);
  if (grad_in.numel() == 0) {
    max_pool_backward(Context(Device::kCPU), grad_out.array.view(), indices.array.view(),
                      grad_in.view(), opt);
  } else {
    Staging staging(ctx);
    const TensorView go_view = staging.input(grad_out.array.view());
    const TensorView indices_view = staging.input(indices.array.view());
    const TensorView gi_view = staging.output(grad_in.view());
    // The index check is synchronous: an invalid index throws here, before GRAD_IN is written.
    max_pool_backward(ctx, go_view, indices_view, gi_view, opt);
    staging.finish();
  }
  write_npy(file, grad_in.dtype(), grad_in.shape(), grad_in.data());
  file.commit();
  return 0;
}

// ---- max-unpool-backward
// -------------------------------------------------------------------------

ArgSpec max_unpool_backward_spec() {
  ArgSpec spec;
  spec.positional("GRAD_OUT", "gradient of the unpooled output (.npy)")
      .positional("INDICES", "int64 .npy file of the unpooling's indices; its shape is\nGRAD_IN's")
      .positional("GRAD_IN", kOutHelp)
      .option("--kernel-size", "K[,K...]", "window size of the pooling", true)
      .option("--stride", "S[,S...]", "window step of the pooling (default: the kernel size)")
      .option("--padding", "P[,P...]", "padding of the pooling (default 0)")
      .option("--output-size", "S[,S...]",
              "the unpooling's output spatial size: one value for all spatial\n"
              "dims, or one per dim (optionally preceded by N and C)")
      .flag("--deterministic",
            "fail rather than run a nondeterministic algorithm (this op is\n"
            "always deterministic; also turned on by UPS_DETERMINISTIC=1)");
  add_device_options(spec, true);
  return spec;
}

int run_max_unpool_backward(const ParsedArgs& args) {
  MaxUnpoolOptions opt = unpool_options(args);
  Context ctx = make_context(args, true);
  if (args.has("--deterministic")) ctx.set_deterministic(true);

  Operand grad_out = read_operand("GRAD_OUT", args.positional("GRAD_OUT"));
  Operand indices = read_operand("INDICES", args.positional("INDICES"));
  check_batched_rank(indices, "max-unpool-backward");
  const int spatial = indices.array.rank() - 2;
  if (opt.output_size.size() == 1 && spatial > 1) {
    opt.output_size.assign(static_cast<std::size_t>(spatial), opt.output_size[0]);
  }
  AtomicFile file(args.positional("GRAD_IN"));
  HostArray grad_in(grad_out.array.dtype(), indices.array.shape());
  if (grad_in.numel() == 0 || grad_out.array.numel() == 0) {
    max_unpool_backward(Context(Device::kCPU), grad_out.array.view(), indices.array.view(),
                        grad_in.view(), opt);
  } else {
    Staging staging(ctx);
    const TensorView go_view = staging.input(grad_out.array.view());
    const TensorView indices_view = staging.input(indices.array.view());
    const TensorView gi_view = staging.output(grad_in.view());
    // The synchronous index check: an invalid index throws here, before GRAD_IN is written.
    max_unpool_backward(ctx, go_view, indices_view, gi_view, opt);
    staging.finish();
  }
  write_npy(file, grad_in.dtype(), grad_in.shape(), grad_in.data());
  file.commit();
  return 0;
}

// ---- demo ----------------------------------------------------------------------------------

void demo_pool(std::ostream& os, Context& ctx, int& number) {
  // The tutorial's example: MaxPool2d(3, stride=1, return_indices=True) on a 3x3 input, whose
  // single window covers the whole input, then MaxUnpool2d(3, stride=1).
  const std::vector<float> values = {2.3151f, -1.0391f, 0.1074f, 1.9360f, 0.2524f,
                                     2.3735f, -0.1151f, 0.4684f, -1.8800f};
  HostArray src(DType::kF32, {1, 1, 3, 3});
  std::copy(values.begin(), values.end(), static_cast<float*>(src.data()));
  MaxPoolOptions pool;
  pool.kernel_size = {3};
  pool.stride = {1};
  MaxUnpoolOptions unpool;
  unpool.kernel_size = {3};
  unpool.stride = {1};
  const Shape pooled_shape = max_pool_output_shape(src.shape(), pool);
  HostArray pooled(DType::kF32, pooled_shape);
  HostArray indices(DType::kI64, pooled_shape);
  HostArray restored(DType::kF32, max_unpool_output_shape(pooled_shape, unpool));
  {
    Staging staging(ctx);
    const TensorView src_view = staging.input(src.view());
    const TensorView pooled_view = staging.output(pooled.view());
    const TensorView indices_view = staging.output(indices.view());
    max_pool(ctx, src_view, pooled_view, indices_view, pool);
    staging.finish();
  }
  {
    Staging staging(ctx);
    const TensorView pooled_view = staging.input(pooled.view());
    const TensorView indices_view = staging.input(indices.view());
    const TensorView restored_view = staging.output(restored.view());
    max_unpool(ctx, pooled_view, indices_view, restored_view, unpool);
    staging.finish();
  }
  const std::int64_t index = *static_cast<const std::int64_t*>(indices.data());
  const float index_as_float = static_cast<float>(index);
  const std::int64_t width = src.shape()[3];
  os << number++
     << ") nn.MaxPool2d(3, stride=1, return_indices=True), then nn.MaxUnpool2d(3, stride=1)\n"
     << "  The only 3x3 window covers the whole input. Its maximum sits at row " << index / width
     << ", column " << index % width << ", so\n  its index is the flat position " << index / width
     << " * " << width << " + " << index % width << " = " << index
     << ". Unpooling writes each value back at its\n"
     << "  index and fills every other position with 0.\n"
     << "  input " << shape_to_string(src.shape()) << ":\n"
     << format_matrix(static_cast<const float*>(src.data()), 3, 3) << "  pooled "
     << shape_to_string(pooled.shape()) << ":\n"
     << format_matrix(static_cast<const float*>(pooled.data()), 1, 1) << "  indices "
     << shape_to_string(indices.shape()) << ":\n"
     << format_matrix(&index_as_float, 1, 1) << "  unpooled " << shape_to_string(restored.shape())
     << ":\n"
     << format_matrix(static_cast<const float*>(restored.data()), restored.shape()[2],
                      restored.shape()[3])
     << "\n";
}

}  // namespace cli
}  // namespace ups
