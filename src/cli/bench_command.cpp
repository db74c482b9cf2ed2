// `ups bench`: times one op of the library on synthetic data, or the default suite of the shapes
// users meet, on the CPU or on CUDA.
//
// The timed region is the op call alone: buffers are allocated, filled and touched before the
// first warm-up run, and nothing is allocated, copied or read back inside it. CPU runs are timed
// with std::chrono::steady_clock. CUDA runs are timed with CUDA events around each call (one
// pair per run), and the cache is kept out of the measurement by rotating among enough buffer
// sets that the data touched between two uses of one set is at least twice the L2 size, or,
// when that many sets do not fit in memory, by overwriting a buffer of twice the L2 size before
// each run (outside the events). The device's copy bandwidth is measured in the same process
// with a 1 GiB device-to-device cudaMemcpyAsync, counted as read plus write bytes, so every
// case can be reported as a fraction of it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/command_util.hpp"
#include "cli/op_commands.hpp"
#include "ups/ups.hpp"

#ifdef UPS_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace ups {
namespace cli {

const char* const kBenchDescription =
    "Times OP on synthetic data of --shape and prints, per case, the median, minimum and\n"
    "maximum time of --repeat runs after --warmup runs, and the bandwidth against the\n"
    "minimal traffic (every input read once, every output written once; max-unpool also\n"
    "reads its int64 indices). Without OP it runs the default suite: every interpolate mode\n"
    "at 2x and at a fractional scale, contiguous and channels-last, f32 and bf16, small\n"
    "spatial sizes with large N * C, transposed-convolution decoder layers, and max-unpool\n"
    "and pixel-shuffle on large tensors (CUDA runs them with an 8 times larger batch).\n"
    "\n"
    "The op options are those of the op's own command (interpolate: --mode, --size,\n"
    "--scale, --align-corners, --antialias; conv-transpose: --weight-shape, --stride,\n"
    "--padding, --output-padding, --dilation, --groups, --bias, --algo; max-unpool:\n"
    "--kernel-size, --stride, --padding; pixel-shuffle and pixel-unshuffle: --factor).\n"
    "Only the op call is timed. On the CPU with steady_clock and --threads threads; on CUDA\n"
    "with events around every run, with buffer sets rotated (or the L2 cache overwritten)\n"
    "so that the cache is not what is measured; the device-to-device copy bandwidth is\n"
    "measured in the same run and each case is also given as a fraction of it.\n"
    "\n"
    "--json prints one JSON object per case per line; --list-suite prints the cases of the\n"
    "suite (their shapes for --device) without running them.\n"
    "\n"
    "example:\n"
    "  ups bench interpolate --shape 8,64,128,128 --mode bilinear --scale 2 --threads 2\n"
    "  ups bench conv-transpose --shape 4,128,64,64 --weight-shape 128,64,2,2 --stride 2\n"
    "  ups bench --device cpu --threads 2 --json > ups.jsonl";

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
// The suite runs CUDA cases with a batch this many times larger: the CPU shapes (tens of MiB)
// would sit in an H100's 50 MB L2 cache or be too short to reach its bandwidth.
constexpr std::int64_t kCudaBatchScale = 8;

// ---- cases ------------------------------------------------------------------------------------

enum class ParamKind { kFlag, kWord, kInt, kInts, kReals };

struct ParamInfo {
  const char* option;
  ParamKind kind;
};

// Every op option of the command, in the order they are printed.
const std::vector<ParamInfo>& param_table() {
  static const std::vector<ParamInfo> table = {
      {"--mode", ParamKind::kWord},        {"--size", ParamKind::kInts},
      {"--scale", ParamKind::kReals},      {"--align-corners", ParamKind::kFlag},
      {"--antialias", ParamKind::kFlag},   {"--weight-shape", ParamKind::kInts},
      {"--kernel-size", ParamKind::kInts}, {"--stride", ParamKind::kInts},
      {"--padding", ParamKind::kInts},     {"--output-padding", ParamKind::kInts},
      {"--dilation", ParamKind::kInts},    {"--groups", ParamKind::kInt},
      {"--bias", ParamKind::kFlag},        {"--algo", ParamKind::kWord},
      {"--factor", ParamKind::kInt},
  };
  return table;
}

struct OpInfo {
  const char* name;
  std::vector<std::string> params;    // the op options that apply
  std::vector<std::string> required;  // those that must be given
};

const std::vector<OpInfo>& op_table() {
  static const std::vector<OpInfo> table = {
      {"interpolate",
       {"--mode", "--size", "--scale", "--align-corners", "--antialias"},
       {"--mode"}},
      {"conv-transpose",
       {"--weight-shape", "--stride", "--padding", "--output-padding", "--dilation", "--groups",
        "--bias", "--algo"},
       {"--weight-shape"}},
      {"max-unpool", {"--kernel-size", "--stride", "--padding"}, {"--kernel-size"}},
      {"pixel-shuffle", {"--factor"}, {"--factor"}},
      {"pixel-unshuffle", {"--factor"}, {"--factor"}},
  };
  return table;
}

const OpInfo& find_op(const std::string& name) {
  for (const OpInfo& op : op_table()) {
    if (name == op.name) return op;
  }
  std::string names;
  for (const OpInfo& op : op_table())
    names += std::string(names.empty() ? "" : ", ") + op.name;
  throw UsageError("unknown op '" + name + "' (expected " + names + ")");
}

// One benchmark case: an op, the shape, dtype and layout of its main input, and its options in
// the syntax of the command line.
struct BenchCase {
  std::string op;
  Shape shape;
  DType dtype = DType::kF32;
  bool channels_last = false;
  std::vector<std::pair<std::string, std::string>> params;  // option, value ("" for flags)

  bool has(const std::string& option) const {
    for (const auto& p : params) {
      if (p.first == option) return true;
    }
    return false;
  }
  std::optional<std::string> get(const std::string& option) const {
    for (const auto& p : params) {
      if (p.first == option) return p.second;
    }
    return std::nullopt;
  }
};

std::string join_ints(const Shape& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i)
    s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

const char* layout_name(bool channels_last) {
  return channels_last ? "channels-last" : "contiguous";
}

// The arguments of `ups bench` that run this case alone.
std::string command_line(const BenchCase& c) {
  std::string s = c.op + " --shape " + join_ints(c.shape);
  for (const auto& p : c.params)
    s += " " + p.first + (p.second.empty() ? "" : " " + p.second);
  s += std::string(" --dtype ") + to_string(c.dtype) + " --layout " + layout_name(c.channels_last);
  return s;
}

DType parse_bench_dtype(const std::string& text) {
  if (text == "f32") return DType::kF32;
  if (text == "f64") return DType::kF64;
  if (text == "f16") return DType::kF16;
  if (text == "bf16") return DType::kBF16;
  throw UsageError("--dtype: expected f32, f64, f16 or bf16, got '" + text + "'");
}

bool parse_layout(const std::string& text) {
  if (text == "contiguous") return false;
  if (text == "channels-last") return true;
  throw UsageError("--layout: expected contiguous or channels-last, got '" + text + "'");
}

Shape parse_shape(const std::string& text) {
  Shape s = parse_int_tuple(text, "--shape", 0, kMaxInt);
  if (s.size() < 3 || s.size() > 5) {
    throw UsageError("--shape: expected 3 to 5 sizes (N, C and 1 to 3 spatial sizes), got " +
                     std::to_string(s.size()));
  }
  return s;
}

// Checks the values of the op options now, so that a typo is a usage error before anything runs.
void check_param(const std::string& option, ParamKind kind, const std::string& value) {
  switch (kind) {
    case ParamKind::kFlag:
    case ParamKind::kWord:
      break;
    case ParamKind::kInt:
      parse_int(value, option, 1, kMaxInt);
      break;
    case ParamKind::kInts:
      parse_int_tuple(value, option, 0, kMaxInt);
      break;
    case ParamKind::kReals:
      parse_real_tuple(value, option);
      break;
  }
}

// The case described by the command line (OP given).
BenchCase case_from_args(const ParsedArgs& args) {
  BenchCase c;
  const OpInfo& op = find_op(args.positional("OP"));
  c.op = op.name;
  const auto shape = args.get("--shape");
  if (!shape) throw UsageError("ups bench " + c.op + " needs --shape N,C,...");
  c.shape = parse_shape(*shape);
  if (const auto d = args.get("--dtype")) c.dtype = parse_bench_dtype(*d);
  if (const auto l = args.get("--layout")) c.channels_last = parse_layout(*l);
  for (const ParamInfo& p : param_table()) {
    if (!args.has(p.option)) continue;
    if (std::find(op.params.begin(), op.params.end(), p.option) == op.params.end()) {
      throw UsageError(std::string("option ") + p.option + " does not apply to " + c.op);
    }
    const std::string value = args.get(p.option).value_or("");
    check_param(p.option, p.kind, value);
    c.params.emplace_back(p.option, value);
  }
  for (const std::string& r : op.required) {
    if (!c.has(r)) throw UsageError("ups bench " + c.op + " needs " + r);
  }
  return c;
}

// ---- the default suite -------------------------------------------------------------------------

BenchCase make_case(const char* op, Shape shape, DType dtype, bool channels_last,
                    std::vector<std::pair<std::string, std::string>> params) {
  BenchCase c;
  c.op = op;
  c.shape = std::move(shape);
  c.dtype = dtype;
  c.channels_last = channels_last;
  c.params = std::move(params);
  return c;
}

// The cases users meet, sized for the CPU (tens of MiB per tensor, a few minutes for the whole
// suite on two cores); CUDA multiplies the batch by kCudaBatchScale.
std::vector<BenchCase> default_suite(Device device) {
  constexpr DType f32 = DType::kF32;
  constexpr DType bf16 = DType::kBF16;
  const Shape image = {4, 64, 128, 128};  // 16 MiB of f32
  const Shape small = {32, 1024, 8, 8};   // small spatial size, N * C = 32768
  std::vector<BenchCase> s;
  auto interp = [&](Shape shape, DType dtype, bool cl, const char* mode, const char* scale,
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> p = {{"--mode", mode}};
    if (scale != nullptr) p.emplace_back("--scale", scale);
    for (auto& e : extra)
      p.push_back(std::move(e));
    s.push_back(make_case("interpolate", std::move(shape), dtype, cl, std::move(p)));
  };
  // Every mode at 2x and at a fractional scale (area also as the downsampling it is used for).
  for (const char* mode : {"nearest", "nearest-exact", "bilinear", "bicubic"}) {
    interp(image, f32, false, mode, "2");
    interp(image, f32, false, mode, "1.5");
  }
  interp(image, f32, false, "bilinear", "2", {{"--align-corners", ""}});
  interp(image, f32, false, "area", "2");
  interp(image, f32, false, "area", "0.5");
  interp({16, 128, 2048}, f32, false, "linear", "2");
  interp({16, 128, 2048}, f32, false, "linear", "1.5");
  interp({2, 16, 32, 64, 64}, f32, false, "trilinear", "2");
  interp({2, 16, 32, 64, 64}, f32, false, "trilinear", "1.5");
  interp({8, 3, 512, 512}, f32, false, "bilinear", "0.5", {{"--antialias", ""}});
  // Channels-last.
  for (const char* mode : {"nearest", "bilinear", "bicubic"})
    interp(image, f32, true, mode, "2");
  interp(image, f32, true, "bilinear", "1.5");
  interp({2, 16, 32, 64, 64}, f32, true, "trilinear", "2");
  // bf16.
  for (const char* mode : {"nearest", "bilinear", "bicubic"})
    interp(image, bf16, false, mode, "2");
  interp(image, bf16, true, "bilinear", "2");
  // Small spatial size, large N * C.
  for (const char* mode : {"nearest", "bilinear", "bicubic"})
    interp(small, f32, false, mode, "2");
  interp(small, f32, true, "bilinear", "2");
  {
    std::vector<std::pair<std::string, std::string>> p = {{"--mode", "bilinear"}, {"--size", "6"}};
    s.push_back(make_case("interpolate", {64, 512, 16, 16}, f32, false, std::move(p)));
  }

  // Transposed-convolution decoder layers.
  auto deconv = [&](Shape shape, DType dtype, bool cl,
                    std::vector<std::pair<std::string, std::string>> p) {
    s.push_back(make_case("conv-transpose", std::move(shape), dtype, cl, std::move(p)));
  };
  // U-Net up-convolution: kernel 2, stride 2.
  const std::vector<std::pair<std::string, std::string>> unet = {
      {"--weight-shape", "128,64,2,2"}, {"--stride", "2"}, {"--bias", ""}};
  deconv({4, 128, 64, 64}, f32, false, unet);
  deconv({4, 128, 64, 64}, f32, true, unet);
  deconv({4, 128, 64, 64}, bf16, false, unet);
  // DCGAN generator layer: kernel 4, stride 2, padding 1.
  deconv({8, 256, 16, 16}, f32, false,
         {{"--weight-shape", "256,128,4,4"}, {"--stride", "2"}, {"--padding", "1"}});
  // Super-resolution (FSRCNN's last layer, x2): 56 channels to 1, kernel 9.
  deconv({4, 56, 64, 64}, f32, false,
         {{"--weight-shape", "56,1,9,9"},
          {"--stride", "2"},
          {"--padding", "4"},
          {"--output-padding", "1"},
          {"--bias", ""}});
  // Depthwise (groups = C), kernel 4, stride 2, padding 1.
  deconv(
      {4, 64, 64, 64}, f32, false,
      {{"--weight-shape", "64,1,4,4"}, {"--stride", "2"}, {"--padding", "1"}, {"--groups", "64"}});
  // Few channels (a decoder's last layer to RGB).
  deconv({8, 4, 128, 128}, f32, false,
         {{"--weight-shape", "4,3,4,4"}, {"--stride", "2"}, {"--padding", "1"}, {"--bias", ""}});

  // max_unpool and pixel_shuffle on large tensors.
  const std::vector<std::pair<std::string, std::string>> unpool = {{"--kernel-size", "2"},
                                                                   {"--stride", "2"}};
  s.push_back(make_case("max-unpool", image, f32, false, unpool));
  s.push_back(make_case("max-unpool", image, f32, true, unpool));
  s.push_back(make_case("max-unpool", image, bf16, false, unpool));
  s.push_back(make_case("pixel-shuffle", {8, 256, 64, 64}, f32, false, {{"--factor", "2"}}));
  s.push_back(make_case("pixel-shuffle", {8, 256, 64, 64}, f32, true, {{"--factor", "2"}}));
  s.push_back(make_case("pixel-shuffle", {8, 256, 64, 64}, bf16, false, {{"--factor", "2"}}));
  s.push_back(make_case("pixel-shuffle", {4, 576, 48, 48}, f32, false, {{"--factor", "3"}}));
  s.push_back(make_case("pixel-unshuffle", {8, 64, 128, 128}, f32, false, {{"--factor", "2"}}));

  if (device == Device::kCUDA) {
    for (BenchCase& c : s)
      c.shape[0] *= kCudaBatchScale;
  }
  return s;
}

// ---- buffers -----------------------------------------------------------------------------------

#ifdef UPS_HAVE_CUDA
void cuda_check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  (void)cudaGetLastError();
  throw Error(
      err == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kCudaError,
      std::string(what) + " failed: " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}
#endif

#ifndef UPS_HAVE_CUDA
[[noreturn]] void no_cuda() {
  throw Error(ErrorCode::kNotCompiled, "this build of the ups program has no CUDA support");
}
#endif

// Memory on the CPU (64-byte aligned, as PyTorch's CPU allocator aligns) or on the current CUDA
// device, zero-filled so that every page is touched before anything is timed.
class Buffer {
 public:
  Buffer(Device device, std::size_t bytes) : device_(device), bytes_(bytes) {
    const std::size_t size = std::max<std::size_t>(64, (bytes + 63) / 64 * 64);
    if (device == Device::kCPU) {
      data_ = std::aligned_alloc(64, size);
      if (data_ == nullptr) throw Error(ErrorCode::kOutOfMemory, "out of host memory");
      std::memset(data_, 0, size);
      return;
    }
#ifdef UPS_HAVE_CUDA
    cuda_check(cudaMalloc(&data_, size), "cudaMalloc");
    const cudaError_t err = cudaMemset(data_, 0, size);
    if (err != cudaSuccess) {
      (void)cudaFree(data_);
      cuda_check(err, "cudaMemset");
    }
#else
    no_cuda();
#endif
  }
  ~Buffer() {
    if (device_ == Device::kCPU) {
      std::free(data_);
      return;
    }
#ifdef UPS_HAVE_CUDA
    (void)cudaFree(data_);
#endif
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const noexcept {
    return data_;
  }
  std::size_t bytes() const noexcept {
    return bytes_;
  }

  // Copies bytes() bytes from host memory.
  void upload(const void* host) {
    if (bytes_ == 0) return;
    if (device_ == Device::kCPU) {
      std::memcpy(data_, host, bytes_);
      return;
    }
#ifdef UPS_HAVE_CUDA
    cuda_check(cudaMemcpy(data_, host, bytes_, cudaMemcpyHostToDevice), "cudaMemcpy");
#else
    no_cuda();
#endif
  }

 private:
  Device device_;
  std::size_t bytes_;
  void* data_ = nullptr;
};

std::int64_t numel_of(const Shape& s) {
  std::int64_t n = 1;
  for (std::int64_t d : s) {
    if (d != 0 && n > kMaxInt / d) throw Error(ErrorCode::kOutOfMemory, "tensor size overflows");
    n *= d;
  }
  return n;
}

std::size_t bytes_of(DType dtype, const Shape& s) {
  return static_cast<std::size_t>(numel_of(s)) * dtype_size(dtype);
}

// The view of a buffer as a tensor of `shape` (channels-last: memory order N, spatial..., C).
TensorView view_of(const Buffer& b, Device device, DType dtype, const Shape& shape, bool cl) {
  return cl ? TensorView::channels_last(b.data(), dtype, device, shape)
            : TensorView::contiguous(b.data(), dtype, device, shape);
}

// Host data in [-1, 1]: multiples of 1/128, which f16 and bf16 hold exactly.
std::vector<unsigned char> random_data(DType dtype, std::int64_t numel, std::uint32_t seed) {
  std::vector<unsigned char> out(static_cast<std::size_t>(numel) * dtype_size(dtype));
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(-128, 128);
  for (std::int64_t i = 0; i < numel; ++i) {
    const int k = dist(gen);
    const float v = static_cast<float>(k) / 128.0f;
    unsigned char* p = out.data() + static_cast<std::size_t>(i) * dtype_size(dtype);
    if (dtype == DType::kF32) {
      std::memcpy(p, &v, 4);
    } else if (dtype == DType::kF64) {
      const double d = v;
      std::memcpy(p, &d, 8);
    } else {
      std::uint32_t bits;
      std::memcpy(&bits, &v, 4);
      std::uint16_t h;
      if (dtype == DType::kBF16) {
        h = static_cast<std::uint16_t>(bits >> 16);  // exact: at most 8 significant bits
      } else if (k == 0) {
        h = 0;
      } else {  // f16 of a normal f32 with at most 8 significant bits: rebias the exponent
        const std::uint32_t sign = (bits >> 16) & 0x8000u;
        const std::uint32_t exponent = ((bits >> 23) & 0xffu) - 127u + 15u;
        h = static_cast<std::uint16_t>(sign | (exponent << 10) | ((bits >> 13) & 0x3ffu));
      }
      std::memcpy(p, &h, 2);
    }
  }
  return out;
}

// ---- problems ----------------------------------------------------------------------------------

// A case made ready to run: buffers allocated and filled (one set, or several on CUDA), and the
// op call bound to them.
struct Problem {
  Context ctx;
  Shape out_shape;
  std::uint64_t bytes = 0;               // minimal traffic of one call
  std::function<void(std::size_t)> run;  // runs the op on buffer set k
  std::function<void()> check;           // after the timed runs (may be empty)
  std::function<std::string()> detail;   // extra information for the report (may be empty)
  std::size_t sets = 1;
  bool flush_l2 = false;
  std::vector<std::unique_ptr<Buffer>> buffers;

  explicit Problem(const Context& c) : ctx(c) {}
  Buffer& allocate(std::size_t nbytes) {
    buffers.push_back(std::make_unique<Buffer>(ctx.device(), nbytes));
    return *buffers.back();
  }
};

// How many buffer sets a problem of `set_bytes` bytes per set gets.
struct SetPolicy {
  Device device = Device::kCPU;
  std::size_t l2_bytes = 0;
  std::size_t free_bytes = 0;

  // Sets are rotated so that at least 2 x L2 bytes are touched between two uses of one set; when
  // that many sets take more than half the free memory (or more than 64 sets would be needed),
  // a single set is used and the L2 is overwritten before each run instead.
  void apply(Problem& p, std::size_t set_bytes) const {
    if (device != Device::kCUDA) return;
    const std::size_t per = std::max<std::size_t>(set_bytes, 1);
    const std::size_t sets = 1 + (2 * l2_bytes + per - 1) / per;
    if (sets <= 64 && sets * per <= free_bytes / 2) {
      p.sets = sets;
    } else {
      p.sets = 1;
      p.flush_l2 = true;
    }
  }
};

std::int64_t int_param(const BenchCase& c, const char* option, std::int64_t fallback) {
  const auto v = c.get(option);
  return v ? parse_int(*v, option, 1, kMaxInt) : fallback;
}

std::vector<std::int64_t> ints_param(const BenchCase& c, const char* option,
                                     std::vector<std::int64_t> fallback) {
  const auto v = c.get(option);
  return v ? parse_int_tuple(*v, option, 0, kMaxInt) : fallback;
}

// The options of each op, from a case.
InterpolateOptions interpolate_options(const BenchCase& c) {
  InterpolateOptions opt;
  try {
    opt.mode = parse_interp_mode(*c.get("--mode"));
  } catch (const Error& e) {
    throw UsageError(std::string("--mode: ") + e.what());
  }
  if (const auto s = c.get("--size")) opt.size = parse_int_tuple(*s, "--size", 0, kMaxInt);
  if (const auto s = c.get("--scale")) opt.scale_factor = parse_real_tuple(*s, "--scale");
  if (c.has("--align-corners")) opt.align_corners = true;
  opt.antialias = c.has("--antialias");
  return opt;
}

ConvTransposeOptions conv_transpose_options(const BenchCase& c) {
  ConvTransposeOptions opt;
  opt.stride = ints_param(c, "--stride", {1});
  opt.padding = ints_param(c, "--padding", {0});
  opt.output_padding = ints_param(c, "--output-padding", {0});
  opt.dilation = ints_param(c, "--dilation", {1});
  opt.groups = int_param(c, "--groups", 1);
  if (const auto a = c.get("--algo")) {
    try {
      opt.algorithm = parse_conv_transpose_algo(*a);
    } catch (const Error& e) {
      throw UsageError(std::string("--algo: ") + e.what());
    }
  }
  return opt;
}

Shape weight_shape(const BenchCase& c) {
  return parse_int_tuple(*c.get("--weight-shape"), "--weight-shape", 0, kMaxInt);
}

MaxUnpoolOptions max_unpool_options(const BenchCase& c) {
  MaxUnpoolOptions opt;
  opt.kernel_size = ints_param(c, "--kernel-size", {});
  opt.stride = ints_param(c, "--stride", {});
  opt.padding = ints_param(c, "--padding", {0});
  return opt;
}

Shape shuffle_output_shape(const BenchCase& c) {
  const std::int64_t r = int_param(c, "--factor", 1);
  return c.op == "pixel-unshuffle" ? pixel_unshuffle_output_shape(c.shape, r)
                                   : pixel_shuffle_output_shape(c.shape, r);
}

void build_interpolate(Problem& p, const BenchCase& c, const SetPolicy& policy) {
  const InterpolateOptions opt = interpolate_options(c);
  p.out_shape = interpolate_output_shape(c.shape, opt);
  const std::size_t in_bytes = bytes_of(c.dtype, c.shape);
  const std::size_t out_bytes = bytes_of(c.dtype, p.out_shape);
  p.bytes = in_bytes + out_bytes;
  policy.apply(p, in_bytes + out_bytes);

  const auto host = random_data(c.dtype, numel_of(c.shape), 1);
  std::vector<TensorView> src, dst;
  for (std::size_t k = 0; k < p.sets; ++k) {
    Buffer& s = p.allocate(in_bytes);
    s.upload(host.data());
    src.push_back(view_of(s, p.ctx.device(), c.dtype, c.shape, c.channels_last));
    dst.push_back(
        view_of(p.allocate(out_bytes), p.ctx.device(), c.dtype, p.out_shape, c.channels_last));
  }
  Problem* self = &p;
  p.run = [self, src, dst, opt](std::size_t k) { interpolate(self->ctx, src[k], dst[k], opt); };
}

void build_conv_transpose(Problem& p, const BenchCase& c, const SetPolicy& policy) {
  const ConvTransposeOptions opt = conv_transpose_options(c);
  const Shape w_shape = weight_shape(c);
  p.out_shape = conv_transpose_output_shape(c.shape, w_shape, opt);
  const bool has_bias = c.has("--bias");
  const Shape b_shape = {p.out_shape[1]};
  const std::size_t in_bytes = bytes_of(c.dtype, c.shape);
  const std::size_t w_bytes = bytes_of(c.dtype, w_shape);
  const std::size_t b_bytes = has_bias ? bytes_of(c.dtype, b_shape) : 0;
  const std::size_t out_bytes = bytes_of(c.dtype, p.out_shape);
  p.bytes = in_bytes + w_bytes + b_bytes + out_bytes;
  policy.apply(p, in_bytes + w_bytes + b_bytes + out_bytes);

  const auto host_x = random_data(c.dtype, numel_of(c.shape), 1);
  const auto host_w = random_data(c.dtype, numel_of(w_shape), 2);
  const auto host_b = random_data(c.dtype, b_shape[0], 3);
  struct Set {
    TensorView x, w, b, y;
  };
  std::vector<Set> sets;
  const Device dev = p.ctx.device();
  for (std::size_t k = 0; k < p.sets; ++k) {
    Set s;
    Buffer& x = p.allocate(in_bytes);
    x.upload(host_x.data());
    s.x = view_of(x, dev, c.dtype, c.shape, c.channels_last);
    // The weight keeps PyTorch's default (contiguous) layout whatever the input's layout.
    Buffer& w = p.allocate(w_bytes);
    w.upload(host_w.data());
    s.w = view_of(w, dev, c.dtype, w_shape, false);
    if (has_bias) {
      Buffer& b = p.allocate(b_bytes);
      b.upload(host_b.data());
      s.b = view_of(b, dev, c.dtype, b_shape, false);
    }
    s.y = view_of(p.allocate(out_bytes), dev, c.dtype, p.out_shape, c.channels_last);
    sets.push_back(s);
  }
  // Scratch memory is given to the op up front, so that no call allocates.
  const std::size_t ws = conv_transpose_workspace_size(
      p.ctx, sets[0].x, sets[0].w, has_bias ? &sets[0].b : nullptr, sets[0].y, opt);
  if (ws > 0) p.ctx.set_workspace(p.allocate(ws).data(), ws);
  auto algo = std::make_shared<std::string>();
  Problem* self = &p;
  p.run = [self, sets, opt, has_bias, algo](std::size_t k) {
    const Set& s = sets[k];
    const ConvTransposeResult r =
        conv_transpose(self->ctx, s.x, s.w, has_bias ? &s.b : nullptr, s.y, opt);
    *algo = to_string(r.algorithm);
  };
  p.detail = [algo] { return *algo; };
}

void build_max_unpool(Problem& p, const BenchCase& c, const SetPolicy& policy) {
  const MaxUnpoolOptions opt = max_unpool_options(c);
  p.out_shape = max_unpool_output_shape(c.shape, opt);

  // Realistic values and indices: max pooling (on the CPU) of random data of the output shape.
  MaxPoolOptions pool;
  pool.kernel_size = opt.kernel_size;
  pool.stride = opt.stride;
  pool.padding = opt.padding;
  // Pooling the default unpooling size gives the input size back; the check guards that.
  const Shape pooled = max_pool_output_shape(p.out_shape, pool);
  if (pooled != c.shape) {
    throw Error(ErrorCode::kInternal, "max-unpool: pooling " + shape_to_string(p.out_shape) +
                                          " gives " + shape_to_string(pooled) + ", not " +
                                          shape_to_string(c.shape));
  }
  const Context cpu(Device::kCPU);
  Buffer pool_in(Device::kCPU, bytes_of(c.dtype, p.out_shape));
  pool_in.upload(random_data(c.dtype, numel_of(p.out_shape), 1).data());
  Buffer values(Device::kCPU, bytes_of(c.dtype, c.shape));
  Buffer indices(Device::kCPU, bytes_of(DType::kI64, c.shape));
  max_pool(cpu, view_of(pool_in, Device::kCPU, c.dtype, p.out_shape, c.channels_last),
           view_of(values, Device::kCPU, c.dtype, c.shape, c.channels_last),
           view_of(indices, Device::kCPU, DType::kI64, c.shape, c.channels_last), pool);

  const std::size_t out_bytes = bytes_of(c.dtype, p.out_shape);
  p.bytes = values.bytes() + indices.bytes() + out_bytes;
  policy.apply(p, values.bytes() + indices.bytes() + out_bytes);
  struct Set {
    TensorView x, i, y;
  };
  std::vector<Set> sets;
  const Device dev = p.ctx.device();
  for (std::size_t k = 0; k < p.sets; ++k) {
    Set s;
    Buffer& x = p.allocate(values.bytes());
    x.upload(values.data());
    s.x = view_of(x, dev, c.dtype, c.shape, c.channels_last);
    Buffer& i = p.allocate(indices.bytes());
    i.upload(indices.data());
    s.i = view_of(i, dev, DType::kI64, c.shape, c.channels_last);
    s.y = view_of(p.allocate(out_bytes), dev, c.dtype, p.out_shape, c.channels_last);
    sets.push_back(s);
  }
  // A deferred index check, so that a CUDA call neither synchronises nor copies inside the timed
  // region; it is checked once after the timed runs.
  auto* status = static_cast<MaxUnpoolStatus*>(p.allocate(sizeof(MaxUnpoolStatus)).data());
  Problem* self = &p;
  p.run = [self, sets, opt, status](std::size_t k) {
    max_unpool(self->ctx, sets[k].x, sets[k].i, sets[k].y, opt, status);
  };
  p.check = [self, status] { max_unpool_check(self->ctx, status); };
}

void build_shuffle(Problem& p, const BenchCase& c, const SetPolicy& policy, bool unshuffle) {
  const std::int64_t r = int_param(c, "--factor", 1);
  p.out_shape = shuffle_output_shape(c);
  const std::size_t bytes = bytes_of(c.dtype, c.shape);
  p.bytes = 2 * static_cast<std::uint64_t>(bytes);
  policy.apply(p, 2 * bytes);
  const auto host = random_data(c.dtype, numel_of(c.shape), 1);
  std::vector<TensorView> src, dst;
  for (std::size_t k = 0; k < p.sets; ++k) {
    Buffer& s = p.allocate(bytes);
    s.upload(host.data());
    src.push_back(view_of(s, p.ctx.device(), c.dtype, c.shape, c.channels_last));
    dst.push_back(
        view_of(p.allocate(bytes), p.ctx.device(), c.dtype, p.out_shape, c.channels_last));
  }
  Problem* self = &p;
  p.run = [self, src, dst, r, unshuffle](std::size_t k) {
    if (unshuffle) {
      pixel_unshuffle(self->ctx, src[k], dst[k], r);
    } else {
      pixel_shuffle(self->ctx, src[k], dst[k], r);
    }
  };
}

// A case made ready to run on ctx's device.
std::unique_ptr<Problem> build(const BenchCase& c, const Context& ctx, const SetPolicy& policy) {
  auto p = std::make_unique<Problem>(ctx);
  if (c.op == "interpolate") {
    build_interpolate(*p, c, policy);
  } else if (c.op == "conv-transpose") {
    build_conv_transpose(*p, c, policy);
  } else if (c.op == "max-unpool") {
    build_max_unpool(*p, c, policy);
  } else {
    build_shuffle(*p, c, policy, c.op == "pixel-unshuffle");
  }
  return p;
}

// The output shape and minimal traffic of a case, computed without allocating.
std::pair<Shape, std::uint64_t> describe(const BenchCase& c) {
  const auto bytes = [&c](const Shape& s, DType dtype) {
    return static_cast<std::uint64_t>(bytes_of(dtype, s));
  };
  const std::uint64_t in = bytes(c.shape, c.dtype);
  if (c.op == "interpolate") {
    const Shape out = interpolate_output_shape(c.shape, interpolate_options(c));
    return {out, in + bytes(out, c.dtype)};
  }
  if (c.op == "conv-transpose") {
    const Shape w = weight_shape(c);
    const Shape out = conv_transpose_output_shape(c.shape, w, conv_transpose_options(c));
    const std::uint64_t bias = c.has("--bias") ? bytes({out[1]}, c.dtype) : 0;
    return {out, in + bytes(w, c.dtype) + bias + bytes(out, c.dtype)};
  }
  if (c.op == "max-unpool") {
    const MaxUnpoolOptions opt = max_unpool_options(c);
    const Shape out = max_unpool_output_shape(c.shape, opt);
    MaxPoolOptions pool;  // the indices come from max pooling, which has rules of its own
    pool.kernel_size = opt.kernel_size;
    pool.stride = opt.stride;
    pool.padding = opt.padding;
    max_pool_output_shape(out, pool);
    return {out, in + bytes(c.shape, DType::kI64) + bytes(out, c.dtype)};
  }
  return {shuffle_output_shape(c), 2 * in};
}

// ---- timing ------------------------------------------------------------------------------------

struct Stats {
  double median_ms = 0, min_ms = 0, max_ms = 0;
};

Stats stats_of(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Stats s;
  const std::size_t n = ms.size();
  s.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  s.min_ms = ms.front();
  s.max_ms = ms.back();
  return s;
}

std::vector<double> time_cpu(Problem& p, int warmup, int repeat) {
  for (int i = 0; i < warmup; ++i)
    p.run(0);
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    p.run(0);
    ms.push_back(elapsed_ms(start));
  }
  return ms;
}

#ifdef UPS_HAVE_CUDA
// CUDA events, a stream, and the L2 size and free memory of the current device.
class CudaTimer {
 public:
  CudaTimer() {
    int device = 0;
    cuda_check(cudaGetDevice(&device), "cudaGetDevice");
    int l2 = 0;
    cuda_check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device),
               "cudaDeviceGetAttribute");
    l2_bytes_ = static_cast<std::size_t>(l2);
    cudaDeviceProp prop{};
    cuda_check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    name_ = prop.name;
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
               "cudaStreamCreateWithFlags");
  }
  ~CudaTimer() {
    for (cudaEvent_t e : events_)
      (void)cudaEventDestroy(e);
    if (flush_ != nullptr) (void)cudaFree(flush_);
    (void)cudaStreamSynchronize(stream_);
    (void)cudaStreamDestroy(stream_);
  }
  CudaTimer(const CudaTimer&) = delete;
  CudaTimer& operator=(const CudaTimer&) = delete;

  cudaStream_t stream() const noexcept { return stream_; }
  std::size_t l2_bytes() const noexcept { return l2_bytes_; }
  const std::string& name() const noexcept { return name_; }
  std::size_t free_bytes() const {
    std::size_t free = 0, total = 0;
    cuda_check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    return free;
  }

  // Times `repeat` calls of run(k), each between its own pair of events, after `warmup` calls.
  // Before each call the stream either moves to the next buffer set or, with `flush`,
  // overwrites a buffer of twice the L2 size (outside the events).
  std::vector<double> time(const std::function<void(std::size_t)>& run, std::size_t sets,
                           bool flush, int warmup, int repeat) {
    // The buffers were filled with cudaMemset and cudaMemcpy on the legacy default stream, which
    // the non-blocking timing stream does not wait for.
    cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    events(2 * static_cast<std::size_t>(repeat));
    if (flush && flush_ == nullptr) {
      flush_bytes_ = std::max<std::size_t>(2 * l2_bytes_, std::size_t(64) << 20);
      cuda_check(cudaMalloc(&flush_, flush_bytes_), "cudaMalloc");
    }
    std::size_t k = 0;
    for (int i = 0; i < warmup; ++i) {
      if (flush) cuda_check(cudaMemsetAsync(flush_, i & 0xff, flush_bytes_, stream_), "memset");
      run(k);
      k = (k + 1) % sets;
    }
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    for (int i = 0; i < repeat; ++i) {
      if (flush) cuda_check(cudaMemsetAsync(flush_, i & 0xff, flush_bytes_, stream_), "memset");
      cuda_check(cudaEventRecord(events_[2 * i], stream_), "cudaEventRecord");
      run(k);
      cuda_check(cudaEventRecord(events_[2 * i + 1], stream_), "cudaEventRecord");
      k = (k + 1) % sets;
    }
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
      float t = 0;
      cuda_check(cudaEventElapsedTime(&t, events_[2 * i], events_[2 * i + 1]),
                 "cudaEventElapsedTime");
      ms.push_back(t);
    }
    return ms;
  }

  // The device's copy bandwidth in GB/s: the median of 20 device-to-device copies of 1 GiB,
  // counted as 2 GiB (read and write) each.
  double copy_gbps() {
    const std::size_t bytes = std::size_t(1) << 30;
    void* a = nullptr;
    void* b = nullptr;
    cuda_check(cudaMalloc(&a, bytes), "cudaMalloc");
    const cudaError_t err = cudaMalloc(&b, bytes);
    if (err != cudaSuccess) {
      (void)cudaFree(a);
      cuda_check(err, "cudaMalloc");
    }
    std::vector<double> ms;
    try {
      cuda_check(cudaMemsetAsync(a, 1, bytes, stream_), "cudaMemsetAsync");
      cuda_check(cudaMemsetAsync(b, 0, bytes, stream_), "cudaMemsetAsync");
      auto copy = [&](std::size_t) {
        cuda_check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream_),
                   "cudaMemcpyAsync");
      };
      ms = time(copy, 1, false, 3, 20);
    } catch (...) {
      (void)cudaFree(a);
      (void)cudaFree(b);
      throw;
    }
    (void)cudaFree(a);
    (void)cudaFree(b);
    return 2.0 * static_cast<double>(bytes) / (stats_of(ms).median_ms * 1e6);
  }

 private:
  void events(std::size_t count) {
    while (events_.size() < count) {
      cudaEvent_t e = nullptr;
      cuda_check(cudaEventCreate(&e), "cudaEventCreate");
      events_.push_back(e);
    }
  }
  cudaStream_t stream_ = nullptr;
  std::size_t l2_bytes_ = 0;
  std::string name_;
  std::vector<cudaEvent_t> events_;
  void* flush_ = nullptr;
  std::size_t flush_bytes_ = 0;
};
#endif

// ---- output ------------------------------------------------------------------------------------

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// The shortest decimal form that reads back as the same double.
std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string json_ints(const Shape& v) {
  return "[" + join_ints(v) + "]";
}

// The op options as a JSON object: option names without the dashes and with underscores
// ("align_corners"), flags as true, tuples as arrays of numbers.
std::string json_params(const BenchCase& c) {
  std::string s = "{";
  bool first = true;
  for (const ParamInfo& info : param_table()) {
    const auto value = c.get(info.option);
    if (!value) continue;
    std::string key = std::string(info.option).substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    s += (first ? "" : ", ") + json_string(key) + ": ";
    first = false;
    switch (info.kind) {
      case ParamKind::kFlag:
        s += "true";
        break;
      case ParamKind::kWord:
        s += json_string(*value);
        break;
      case ParamKind::kInt:
        s += std::to_string(parse_int(*value, info.option, 1, kMaxInt));
        break;
      case ParamKind::kInts:
        s += json_ints(parse_int_tuple(*value, info.option, 0, kMaxInt));
        break;
      case ParamKind::kReals: {
        std::string list;
        for (double d : parse_real_tuple(*value, info.option))
          list += (list.empty() ? "" : ", ") + json_number(d);
        s += "[" + list + "]";
        break;
      }
    }
  }
  return s + "}";
}

// The fields shared by a listed case and a measured one.
std::string json_case_fields(const BenchCase& c, Device device, const Shape& out_shape,
                             std::uint64_t bytes) {
  return "\"case\": " + json_string(command_line(c)) + ", \"op\": " + json_string(c.op) +
         ", \"device\": " + json_string(to_string(device)) +
         ", \"dtype\": " + json_string(to_string(c.dtype)) +
         ", \"layout\": " + json_string(layout_name(c.channels_last)) +
         ", \"shape\": " + json_ints(c.shape) + ", \"out_shape\": " + json_ints(out_shape) +
         ", \"params\": " + json_params(c) + ", \"bytes\": " + std::to_string(bytes);
}

struct RunSettings {
  Device device = Device::kCPU;
  int warmup = 0;
  int repeat = 0;
  bool json = false;
};

// What one timed case reports.
struct Measurement {
  Stats stats;
  Shape out_shape;
  std::uint64_t bytes = 0;
  std::string detail;
  std::size_t sets = 1;
  bool flush_l2 = false;
};

std::string gbps_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

class Reporter {
 public:
  Reporter(const RunSettings& settings, int threads, double copy_gbps, std::string device_name)
      : settings_(settings),
        threads_(threads),
        copy_gbps_(copy_gbps),
        device_name_(std::move(device_name)) {}

  void header() const {
    if (settings_.json) return;
    std::printf("ups bench on %s", to_string(settings_.device));
    if (settings_.device == Device::kCPU) {
      std::printf(" (%d threads)", threads_);
    } else {
      std::printf(" (%s; device-to-device copy %.1f GB/s)", device_name_.c_str(), copy_gbps_);
    }
    std::printf(": %d warm-up and %d timed runs per case\n", settings_.warmup, settings_.repeat);
    std::printf("%10s %10s %10s %8s%s  case\n", "median ms", "min ms", "max ms", "GB/s",
                settings_.device == Device::kCUDA ? "  copy %" : "");
    std::fflush(stdout);
  }

  void result(const BenchCase& c, const Measurement& m) const {
    const double gbps = static_cast<double>(m.bytes) / (m.stats.median_ms * 1e6);
    const bool cuda = settings_.device == Device::kCUDA;
    if (settings_.json) {
      std::string line = "{" + json_case_fields(c, settings_.device, m.out_shape, m.bytes) +
                         ", \"threads\": " + std::to_string(threads_) +
                         ", \"warmup\": " + std::to_string(settings_.warmup) +
                         ", \"repeat\": " + std::to_string(settings_.repeat) +
                         ", \"median_ms\": " + json_number(m.stats.median_ms) +
                         ", \"min_ms\": " + json_number(m.stats.min_ms) +
                         ", \"max_ms\": " + json_number(m.stats.max_ms) +
                         ", \"gbps\": " + json_number(gbps);
      if (!m.detail.empty()) line += ", \"algo\": " + json_string(m.detail);
      if (cuda) {
        line += ", \"device_name\": " + json_string(device_name_) +
                ", \"copy_gbps\": " + json_number(copy_gbps_) +
                ", \"bw_fraction\": " + json_number(gbps / copy_gbps_) +
                ", \"buffer_sets\": " + std::to_string(m.sets) +
                ", \"l2_flush\": " + (m.flush_l2 ? "true" : "false");
      }
      std::printf("%s}\n", line.c_str());
    } else {
      std::string name = command_line(c);
      if (!m.detail.empty()) name += "  (" + m.detail + ")";
      char fraction[16] = "";
      if (cuda) std::snprintf(fraction, sizeof fraction, "  %5.1f%%", 100.0 * gbps / copy_gbps_);
      std::printf("%10.3f %10.3f %10.3f %8s%s  %s\n", m.stats.median_ms, m.stats.min_ms,
                  m.stats.max_ms, gbps_text(gbps).c_str(), fraction, name.c_str());
    }
    std::fflush(stdout);
  }

  void failure(const BenchCase& c, const std::string& message) const {
    if (settings_.json) {
      std::printf("{\"case\": %s, \"op\": %s, \"device\": %s, \"error\": %s}\n",
                  json_string(command_line(c)).c_str(), json_string(c.op).c_str(),
                  json_string(to_string(settings_.device)).c_str(), json_string(message).c_str());
      std::fflush(stdout);
    }
    std::cout.flush();
    std::fprintf(stderr, "ups: bench: %s: %s\n", command_line(c).c_str(), message.c_str());
  }

 private:
  RunSettings settings_;
  int threads_;
  double copy_gbps_;
  std::string device_name_;
};

}  // namespace

ArgSpec bench_spec() {
  ArgSpec spec;
  spec.positional("OP",
                  "interpolate, conv-transpose, max-unpool, pixel-shuffle or\n"
                  "pixel-unshuffle; without it the default suite runs",
                  false)
      .option("--shape", "N,C,...", "shape of the (first) input: N, C and 1 to 3 spatial sizes")
      .option("--mode", "M", "interpolate: the mode, as in 'ups interpolate'")
      .option("--size", "S[,S...]", "interpolate: output spatial size")
      .option("--scale", "F[,F...]", "interpolate: scale factor")
      .flag("--align-corners", "interpolate: align_corners=True")
      .flag("--antialias", "interpolate: anti-alias (bilinear and bicubic)")
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
    for (const ParamInfo& p : param_table()) {
      if (args.has(p.option)) throw UsageError(std::string(p.option) + " needs OP");
    }
  } else if (args.has("--list-suite") || args.has("--filter")) {
    throw UsageError(std::string(args.has("--filter") ? "--filter" : "--list-suite") +
                     " applies to the default suite, not to a single OP");
  }
  const Device requested = device_option(args);

  std::vector<BenchCase> cases;
  if (single) cases.push_back(case_from_args(args));

  if (args.has("--list-suite")) {
    // The shapes depend on the device only through kCudaBatchScale; listing needs no device.
    const Device device =
        requested == Device::kAuto ? (cuda_available() ? Device::kCUDA : Device::kCPU) : requested;
    for (const BenchCase& c : default_suite(device)) {
      if (args.has("--json")) {
        const auto d = describe(c);
        std::printf("{%s}\n", json_case_fields(c, device, d.first, d.second).c_str());
      } else {
        std::printf("%s\n", command_line(c).c_str());
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
    for (BenchCase& c : default_suite(ctx.device())) {
      if (command_line(c).find(filter) != std::string::npos) cases.push_back(std::move(c));
    }
    if (cases.empty()) throw UsageError("--filter: no suite case contains '" + filter + "'");
  }

  // Invalid options fail here, before anything is printed or allocated.
  if (single) describe(cases.front());

  SetPolicy policy;
  policy.device = ctx.device();
  double copy_gbps = 0;
  std::string device_name;
#ifdef UPS_HAVE_CUDA
  std::unique_ptr<CudaTimer> timer;
  if (cuda) {
    timer = std::make_unique<CudaTimer>();
    ctx.set_stream(timer->stream());
    policy.l2_bytes = timer->l2_bytes();
    copy_gbps = timer->copy_gbps();
    device_name = timer->name();
  }
#else
  if (cuda) no_cuda();
#endif
  const Reporter reporter(settings, ctx.num_threads(), copy_gbps, device_name);
  reporter.header();

  int status = 0;
  for (const BenchCase& c : cases) {
    try {
#ifdef UPS_HAVE_CUDA
      if (cuda) policy.free_bytes = timer->free_bytes();
#endif
      std::unique_ptr<Problem> p = build(c, ctx, policy);
      std::vector<double> ms;
      if (cuda) {
#ifdef UPS_HAVE_CUDA
        ms = timer->time(p->run, p->sets, p->flush_l2, settings.warmup, settings.repeat);
#endif
      } else {
        ms = time_cpu(*p, settings.warmup, settings.repeat);
      }
      if (p->check) p->check();
      Measurement m;
      m.stats = stats_of(ms);
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
