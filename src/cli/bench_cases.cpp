// The cases of `ups bench`: the op options the command knows, a case from the command line, the
// default suite, and what a case stands for without running it (its op options, output shape
// and minimal traffic).
#include "cli/bench_cases.hpp"

#include <algorithm>

namespace ups {
namespace cli {
namespace bench {

const std::vector<ParamInfo>& param_table() {
  static const std::vector<ParamInfo> table = {
      {"--mode", ParamKind::kWord},
      {"--size", ParamKind::kInts},
      {"--scale", ParamKind::kReals},
      {"--align-corners", ParamKind::kFlag},
      {"--antialias", ParamKind::kFlag},
      {"--weight-shape", ParamKind::kInts},
      {"--kernel-size", ParamKind::kInts},
      {"--stride", ParamKind::kInts},
      {"--padding", ParamKind::kInts},
      {"--output-padding", ParamKind::kInts},
      {"--dilation", ParamKind::kInts},
      {"--groups", ParamKind::kInt},
      {"--bias", ParamKind::kFlag},
      {"--algo", ParamKind::kWord},
      {"--factor", ParamKind::kInt},
      {"--backward", ParamKind::kFlag},
      {"--sizes", ParamKind::kInts},
      {"--scales", ParamKind::kReals},
      {"--coordinate-mode", ParamKind::kWord},
      {"--nearest-mode", ParamKind::kWord},
      {"--cubic-coeff-a", ParamKind::kReals},
      {"--exclude-outside", ParamKind::kFlag},
      {"--roi", ParamKind::kReals},
      {"--extrapolation-value", ParamKind::kReals},
  };
  return table;
}

namespace {

struct OpInfo {
  const char* name;
  std::vector<std::string> params;    // the op options that apply
  std::vector<std::string> required;  // those that must be given
};

const std::vector<OpInfo>& op_table() {
  static const std::vector<OpInfo> table = {
      {"interpolate",
       {"--mode", "--size", "--scale", "--align-corners", "--antialias", "--backward"},
       {"--mode"}},
      {"conv-transpose",
       {"--weight-shape", "--stride", "--padding", "--output-padding", "--dilation", "--groups",
        "--bias", "--algo", "--backward"},
       {"--weight-shape"}},
      {"resize",
       {"--mode", "--sizes", "--scales", "--coordinate-mode", "--nearest-mode", "--cubic-coeff-a",
        "--exclude-outside", "--antialias", "--roi", "--extrapolation-value"},
       {"--mode"}},
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

}  // namespace

bool BenchCase::has(const std::string& option) const {
  for (const auto& p : params) {
    if (p.first == option) return true;
  }
  return false;
}

std::optional<std::string> BenchCase::get(const std::string& option) const {
  for (const auto& p : params) {
    if (p.first == option) return p.second;
  }
  return std::nullopt;
}

std::string join_ints(const Shape& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i)
    s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

const char* layout_name(bool channels_last) {
  return channels_last ? "channels-last" : "contiguous";
}

std::string command_line(const BenchCase& c) {
  std::string s = c.op + " --shape " + join_ints(c.shape);
  for (const auto& p : c.params)
    s += " " + p.first + (p.second.empty() ? "" : " " + p.second);
  s += std::string(" --dtype ") + to_string(c.dtype) + " --layout " + layout_name(c.channels_last);
  return s;
}

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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
  // Lanczos-3 downscaling (PyTorch runs it on the CPU only).
  interp({8, 3, 512, 512}, f32, false, "lanczos", "0.5", {{"--antialias", ""}});
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
  // Backward passes (the gradient with respect to the input) of the common training cases.
  const std::pair<std::string, std::string> back = {"--backward", ""};
  for (const char* mode : {"nearest", "bilinear", "bicubic"})
    interp(image, f32, false, mode, "2", {back});
  interp(image, f32, true, "bilinear", "2", {back});
  interp(image, bf16, false, "bilinear", "2", {back});
  interp({2, 16, 32, 64, 64}, f32, false, "trilinear", "2", {back});
  interp(image, f32, false, "area", "0.5", {back});

  // ONNX Resize (ups::resize): the common exported forms. --scales, not --sizes, so that the
  // CUDA suite's larger batch keeps its size.
  auto resize_case = [&](Shape shape, std::vector<std::pair<std::string, std::string>> p) {
    s.push_back(make_case("resize", std::move(shape), f32, false, std::move(p)));
  };
  resize_case(image, {{"--mode", "linear"}, {"--scales", "1,1,2,2"}});
  resize_case(image, {{"--mode", "nearest"},
                      {"--scales", "1,1,2,2"},
                      {"--coordinate-mode", "asymmetric"},
                      {"--nearest-mode", "floor"}});
  resize_case({8, 3, 512, 512},
              {{"--mode", "cubic"}, {"--scales", "1,1,0.5,0.5"}, {"--antialias", ""}});
  resize_case({8, 3, 512, 512}, {{"--mode", "linear"},
                                 {"--scales", "1,1,0.5,0.5"},
                                 {"--coordinate-mode", "tf_crop_and_resize"},
                                 {"--roi", "0,0,0.25,0.25,1,1,0.75,0.75"}});

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

  // Their backward passes (input, weight and bias gradients) on the common training layers.
  const std::pair<std::string, std::string> bwd = {"--backward", ""};
  {
    auto p = unet;
    p.push_back(bwd);
    deconv({4, 128, 64, 64}, f32, false, p);
  }
  deconv({8, 256, 16, 16}, f32, false,
         {{"--weight-shape", "256,128,4,4"}, {"--stride", "2"}, {"--padding", "1"}, bwd});
  deconv({4, 64, 64, 64}, f32, false,
         {{"--weight-shape", "64,1,4,4"},
          {"--stride", "2"},
          {"--padding", "1"},
          {"--groups", "64"},
          {"--bias", ""},
          bwd});

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

std::int64_t int_param(const BenchCase& c, const char* option, std::int64_t fallback) {
  const auto v = c.get(option);
  return v ? parse_int(*v, option, 1, kMaxInt) : fallback;
}

namespace {

std::vector<std::int64_t> ints_param(const BenchCase& c, const char* option,
                                     std::vector<std::int64_t> fallback) {
  const auto v = c.get(option);
  return v ? parse_int_tuple(*v, option, 0, kMaxInt) : fallback;
}

}  // namespace

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

ResizeOptions resize_options(const BenchCase& c) {
  ResizeOptions opt;
  const auto word = [&c](const char* option, auto parse) {
    try {
      return parse(*c.get(option));
    } catch (const Error& e) {
      throw UsageError(std::string(option) + ": " + e.what());
    }
  };
  opt.mode = word("--mode", parse_resize_mode);
  if (const auto s = c.get("--sizes")) opt.sizes = parse_int_tuple(*s, "--sizes", 0, kMaxInt);
  if (const auto s = c.get("--scales")) opt.scales = parse_real_tuple(*s, "--scales");
  if (c.has("--coordinate-mode"))
    opt.coordinate_mode = word("--coordinate-mode", parse_coordinate_mode);
  if (c.has("--nearest-mode")) opt.nearest_mode = word("--nearest-mode", parse_nearest_mode);
  if (const auto a = c.get("--cubic-coeff-a"))
    opt.cubic_coeff_a = parse_real(*a, "--cubic-coeff-a");
  opt.exclude_outside = c.has("--exclude-outside");
  opt.antialias = c.has("--antialias");
  if (const auto r = c.get("--roi")) opt.roi = parse_real_tuple(*r, "--roi");
  if (const auto v = c.get("--extrapolation-value"))
    opt.extrapolation_value = parse_real(*v, "--extrapolation-value");
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

std::pair<Shape, std::uint64_t> describe(const BenchCase& c) {
  const auto bytes = [&c](const Shape& s, DType dtype) {
    return static_cast<std::uint64_t>(bytes_of(dtype, s));
  };
  const std::uint64_t in = bytes(c.shape, c.dtype);
  if (c.op == "interpolate") {
    const Shape out = interpolate_output_shape(c.shape, interpolate_options(c));
    return {out, in + bytes(out, c.dtype)};
  }
  if (c.op == "resize") {
    const Shape out = resize_output_shape(c.shape, resize_options(c));
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

}  // namespace bench
}  // namespace cli
}  // namespace ups
