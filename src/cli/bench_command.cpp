// `ups bench`: times one op of the library on synthetic data, or the default suite of the shapes
// users meet, on the CPU or on CUDA.
//
// The timed region is the op call alone: buffers are allocated, filled and touched before the
// first warm-up run, and nothing is allocated, copied or read back inside it. The pieces:
// bench_cases (the cases and the suite), bench_problem (buffers and the bound op calls),
// bench_timing (CPU and CUDA timing, copy bandwidths) and bench_output (the table and JSON).
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/bench_cases.hpp"
#include "cli/bench_output.hpp"
#include "cli/bench_problem.hpp"
#include "cli/bench_timing.hpp"
#include "cli/command_util.hpp"
#include "cli/op_commands.hpp"
#include "ups/ups.hpp"

namespace ups {
namespace cli {

using bench::BenchCase;
using bench::Measurement;
using bench::ParamInfo;
using bench::Problem;
using bench::Reporter;
using bench::RunSettings;
using bench::SetPolicy;

const char* const kBenchDescription =
    "Times OP on synthetic data of --shape and prints, per case, the median, minimum and\n"
    "maximum time of --repeat runs after --warmup runs, and the bandwidth against the\n"
    "minimal traffic (every input read once, every output written once; max-unpool also\n"
    "reads its int64 indices). Without OP it runs the default suite: every interpolate mode\n"
    "at 2x and at a fractional scale, contiguous and channels-last, f32 and bf16, small\n"
    "spatial sizes with large N * C, interpolate backward passes, ONNX resize cases,\n"
    "transposed-convolution decoder layers and their backward passes, and max-unpool and\n"
    "pixel-shuffle on large tensors (CUDA runs them with an 8 times larger batch).\n"
    "\n"
    "The op options are those of the op's own command (interpolate: --mode, --size,\n"
    "--scale, --align-corners, --antialias, and --backward to time interpolate_backward;\n"
    "resize: --mode, --sizes, --scales, --coordinate-mode, --nearest-mode, --cubic-coeff-a,\n"
    "--exclude-outside, --antialias, --roi, --extrapolation-value;\n"
    "conv-transpose: --weight-shape, --stride, --padding, --output-padding, --dilation,\n"
    "--groups, --bias, --algo, and --backward to time conv_transpose_backward; max-unpool: "
    "--kernel-size, --stride, --padding;\n"
    "pixel-shuffle and pixel-unshuffle: --factor).\n"
    "Only the op call is timed. On the CPU with steady_clock and --threads threads; on CUDA\n"
    "with events around every run, with buffer sets rotated (or the L2 cache overwritten)\n"
    "so that the cache is not what is measured. The copy bandwidth (CPU: memcpy of 256 MiB\n"
    "with --threads threads; CUDA: device-to-device copy of 1 GiB; read plus write bytes) is\n"
    "measured in the same run and each case is also given as a fraction of it.\n"
    "\n"
    "--json prints one JSON object per case per line; --list-suite prints the cases of the\n"
    "suite (their shapes for --device) without running them.\n"
    "\n"
    "example:\n"
    "  ups bench interpolate --shape 8,64,128,128 --mode bilinear --scale 2 --threads 2\n"
    "  ups bench conv-transpose --shape 4,128,64,64 --weight-shape 128,64,2,2 --stride 2\n"
    "  ups bench --device cpu --threads 2 --json > ups.jsonl";

ArgSpec bench_spec() {
  ArgSpec spec;
  spec.positional("OP",
                  "interpolate, resize, conv-transpose, max-unpool, pixel-shuffle\n"
                  "or pixel-unshuffle; without it the default suite runs",
                  false)
      .option("--shape", "N,C,...", "shape of the (first) input: N, C and 1 to 3 spatial sizes")
      .option("--mode", "M",
              "interpolate, resize: the mode, as in 'ups interpolate' or\n"
              "'ups resize'")
      .option("--size", "S[,S...]", "interpolate: output spatial size")
      .option("--scale", "F[,F...]", "interpolate: scale factor")
      .flag("--align-corners", "interpolate: align_corners=True")
      .flag("--antialias",
            "interpolate: anti-alias (bilinear, bicubic, lanczos; trilinear,\n"
            "tricubic); resize: antialias (linear and cubic)")
      .option("--sizes", "S[,S...]", "resize: output sizes, one per dim")
      .option("--scales", "F[,F...]", "resize: scales, one per dim")
      .option("--coordinate-mode", "M", "resize: coordinate_transformation_mode")
      .option("--nearest-mode", "M", "resize: nearest_mode")
      .option("--cubic-coeff-a", "A", "resize: cubic_coeff_a")
      .flag("--exclude-outside", "resize: exclude_outside")
      .option("--roi", "R[,R...]", "resize: roi (tf_crop_and_resize)")
      .option("--extrapolation-value", "V", "resize: extrapolation_value")
      .flag("--backward",
            "interpolate, conv-transpose: time the backward pass (the\n"
            "gradients with respect to the input, and for conv-transpose\n"
            "the weight and the bias, from a gradient of the output's shape)")
      .option("--weight-shape", "C_in,C_out/G,K...",
              "conv-transpose: shape of the weight (random data)")
      .option("--stride", "S[,S...]", "conv-transpose, max-unpool: stride")
      .option("--padding", "P[,P...]", "conv-transpose, max-unpool: padding")
      .option("--output-padding", "P[,P...]", "conv-transpose: output padding")
      .option("--dilation", "D[,D...]", "conv-transpose: dilation")
      .option("--groups", "G", "conv-transpose: channel groups")
      .flag("--bias", "conv-transpose: add a bias")
      .option("--algo", "A", "conv-transpose: the algorithm (see 'ups info')")
      .option("--kernel-size", "K[,K...]",
              "max-unpool: window of the max pooling whose values and\n"
              "indices are unpooled")
      .option("--factor", "R", "pixel-shuffle, pixel-unshuffle: the factor")
      .option("--dtype", "T", "f32 (the default), f64, f16 or bf16")
      .option("--layout", "L",
              "contiguous (the default) or channels-last, for the input and\n"
              "the output (the weight of conv-transpose stays contiguous)")
      .option("--repeat", "R", "timed runs per case (default 10 on the CPU, 100 on CUDA)")
      .option("--warmup", "W", "untimed runs first (default 2 on the CPU, 10 on CUDA)")
      .flag("--json", "print one JSON object per case per line")
      .flag("--list-suite", "list the cases of the default suite instead of running them")
      .option("--filter", "TEXT", "run only the suite cases whose command line contains TEXT");
  add_device_options(spec, true);
  return spec;
}

int run_bench(const ParsedArgs& args) {
  const bool single = args.has("OP");
  if (!single) {
    for (const char* o : {"--shape", "--dtype", "--layout"}) {
      if (args.has(o)) throw UsageError(std::string(o) + " needs OP (the suite sets its own)");
    }
    for (const ParamInfo& p : bench::param_table()) {
      if (args.has(p.option)) throw UsageError(std::string(p.option) + " needs OP");
    }
  } else if (args.has("--list-suite") || args.has("--filter")) {
    throw UsageError(std::string(args.has("--filter") ? "--filter" : "--list-suite") +
                     " applies to the default suite, not to a single OP");
  }
  const Device requested = device_option(args);

  std::vector<BenchCase> cases;
  if (single) cases.push_back(bench::case_from_args(args));

  if (args.has("--list-suite")) {
    // The shapes depend on the device only through kCudaBatchScale; listing needs no device.
    const Device device =
        requested == Device::kAuto ? (cuda_available() ? Device::kCUDA : Device::kCPU) : requested;
    for (const BenchCase& c : bench::default_suite(device)) {
      if (args.has("--json")) {
        const auto d = bench::describe(c);
        std::printf("{%s}\n", bench::json_case_fields(c, device, d.first, d.second).c_str());
      } else {
        std::printf("%s\n", bench::command_line(c).c_str());
      }
    }
    return 0;
  }

  Context ctx = make_context(args, true);
  RunSettings settings;
  settings.device = ctx.device();
  settings.json = args.has("--json");
  const bool cuda = ctx.device() == Device::kCUDA;
  settings.repeat = args.has("--repeat")
                        ? static_cast<int>(parse_int(*args.get("--repeat"), "--repeat", 1, 1000000))
                        : (cuda ? 100 : 10);
  settings.warmup = args.has("--warmup")
                        ? static_cast<int>(parse_int(*args.get("--warmup"), "--warmup", 0, 1000000))
                        : (cuda ? 10 : 2);
  if (!single) {
    const std::string filter = args.get("--filter").value_or("");
    for (BenchCase& c : bench::default_suite(ctx.device())) {
      if (bench::command_line(c).find(filter) != std::string::npos) cases.push_back(std::move(c));
    }
    if (cases.empty()) throw UsageError("--filter: no suite case contains '" + filter + "'");
  }

  // Invalid options fail here, before anything is printed or allocated.
  if (single) bench::describe(cases.front());

  SetPolicy policy;
  policy.device = ctx.device();
  double copy_gbps = 0;
  std::string device_name;
#ifdef UPS_HAVE_CUDA
  std::unique_ptr<bench::CudaTimer> timer;
  if (cuda) {
    timer = std::make_unique<bench::CudaTimer>();
    ctx.set_stream(timer->stream());
    policy.l2_bytes = timer->l2_bytes();
    copy_gbps = timer->copy_gbps();
    device_name = timer->name();
  }
#else
  if (cuda) bench::no_cuda();
#endif
  if (!cuda) copy_gbps = bench::cpu_copy_gbps(ctx.num_threads());
  const Reporter reporter(settings, ctx.num_threads(), copy_gbps, device_name);
  reporter.header();

  int status = 0;
  for (const BenchCase& c : cases) {
    try {
#ifdef UPS_HAVE_CUDA
      if (cuda) policy.free_bytes = timer->free_bytes();
#endif
      std::unique_ptr<Problem> p = bench::build(c, ctx, policy);
      std::vector<double> ms;
      if (cuda) {
#ifdef UPS_HAVE_CUDA
        ms = timer->time(p->run, p->sets, p->flush_l2, settings.warmup, settings.repeat);
#endif
      } else {
        ms = bench::time_cpu(*p, settings.warmup, settings.repeat);
      }
      if (p->check) p->check();
      Measurement m;
      m.stats = bench::stats_of(ms);
      m.out_shape = p->out_shape;
      m.bytes = p->bytes;
      m.sets = p->sets;
      m.flush_l2 = p->flush_l2;
      if (p->detail) m.detail = p->detail();
      reporter.result(c, m);
    } catch (const Error& e) {
      // One case of the suite failing (say, out of memory) does not stop the others.
      if (single) throw;
      reporter.failure(c, e.what());
      status = 1;
    }
  }
  return status;
}

}  // namespace cli
}  // namespace ups
