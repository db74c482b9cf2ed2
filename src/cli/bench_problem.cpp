// The buffers of `ups bench` and the op calls bound to them. Everything a timed call touches is
// allocated, filled and touched here, before the first warm-up call.
#include "cli/bench_problem.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>

namespace ups {
namespace cli {
namespace bench {

#ifdef UPS_HAVE_CUDA
void cuda_check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  (void)cudaGetLastError();
  throw Error(
      err == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kCudaError,
      std::string(what) + " failed: " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}
#else
[[noreturn]] void no_cuda() {
  throw Error(ErrorCode::kNotCompiled, "this build of the ups program has no CUDA support");
}
#endif

Buffer::Buffer(Device device, std::size_t bytes) : device_(device), bytes_(bytes) {
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

Buffer::~Buffer() {
  if (device_ == Device::kCPU) {
    std::free(data_);
    return;
  }
#ifdef UPS_HAVE_CUDA
  (void)cudaFree(data_);
#endif
}

void Buffer::upload(const void* host) {
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

void SetPolicy::apply(Problem& p, std::size_t set_bytes) const {
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

namespace {

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

void build_interpolate(Problem& p, const BenchCase& c, const SetPolicy& policy) {
  const InterpolateOptions opt = interpolate_options(c);
  p.out_shape = interpolate_output_shape(c.shape, opt);
  const std::size_t in_bytes = bytes_of(c.dtype, c.shape);
  const std::size_t out_bytes = bytes_of(c.dtype, p.out_shape);
  p.bytes = in_bytes + out_bytes;
  policy.apply(p, in_bytes + out_bytes);

  // The backward reads a gradient of the output's shape and writes one of the input's.
  const bool backward = c.has("--backward");
  const auto host = backward ? random_data(c.dtype, numel_of(p.out_shape), 1)
                             : random_data(c.dtype, numel_of(c.shape), 1);
  std::vector<TensorView> src, dst;
  for (std::size_t k = 0; k < p.sets; ++k) {
    Buffer& in = p.allocate(in_bytes);
    Buffer& out = p.allocate(out_bytes);
    (backward ? out : in).upload(host.data());
    src.push_back(view_of(in, p.ctx.device(), c.dtype, c.shape, c.channels_last));
    dst.push_back(view_of(out, p.ctx.device(), c.dtype, p.out_shape, c.channels_last));
  }
  Problem* self = &p;
  if (backward) {
    p.run = [self, src, dst, opt](std::size_t k) {
      interpolate_backward(self->ctx, dst[k], src[k], opt);
    };
  } else {
    p.run = [self, src, dst, opt](std::size_t k) { interpolate(self->ctx, src[k], dst[k], opt); };
  }
}

void build_resize(Problem& p, const BenchCase& c, const SetPolicy& policy) {
  const ResizeOptions opt = resize_options(c);
  p.out_shape = resize_output_shape(c.shape, opt);
  const std::size_t in_bytes = bytes_of(c.dtype, c.shape);
  const std::size_t out_bytes = bytes_of(c.dtype, p.out_shape);
  p.bytes = in_bytes + out_bytes;
  policy.apply(p, in_bytes + out_bytes);
  const auto host = random_data(c.dtype, numel_of(c.shape), 1);
  std::vector<TensorView> src, dst;
  for (std::size_t k = 0; k < p.sets; ++k) {
    Buffer& in = p.allocate(in_bytes);
    Buffer& out = p.allocate(out_bytes);
    in.upload(host.data());
    src.push_back(view_of(in, p.ctx.device(), c.dtype, c.shape, c.channels_last));
    dst.push_back(view_of(out, p.ctx.device(), c.dtype, p.out_shape, c.channels_last));
  }
  Problem* self = &p;
  p.run = [self, src, dst, opt](std::size_t k) { resize(self->ctx, src[k], dst[k], opt); };
}

void build_conv_transpose(Problem& p, const BenchCase& c, const SetPolicy& policy) {
  const ConvTransposeOptions opt = conv_transpose_options(c);
  const Shape w_shape = weight_shape(c);
  p.out_shape = conv_transpose_output_shape(c.shape, w_shape, opt);
  const bool has_bias = c.has("--bias");
  // The backward reads grad_output, the input and the weight, and writes the input's, the
  // weight's and (with --bias) the bias's gradients.
  const bool backward = c.has("--backward");
  const Shape b_shape = {p.out_shape[1]};
  const std::size_t in_bytes = bytes_of(c.dtype, c.shape);
  const std::size_t w_bytes = bytes_of(c.dtype, w_shape);
  const std::size_t b_bytes = has_bias ? bytes_of(c.dtype, b_shape) : 0;
  const std::size_t out_bytes = bytes_of(c.dtype, p.out_shape);
  const std::size_t set_bytes =
      in_bytes + w_bytes + b_bytes + out_bytes + (backward ? in_bytes + w_bytes : 0);
  p.bytes = set_bytes;
  policy.apply(p, set_bytes);

  const auto host_x = random_data(c.dtype, numel_of(c.shape), 1);
  const auto host_w = random_data(c.dtype, numel_of(w_shape), 2);
  const auto host_b = random_data(c.dtype, b_shape[0], 3);
  const auto host_gy =
      backward ? random_data(c.dtype, numel_of(p.out_shape), 4) : std::vector<unsigned char>();
  struct Set {
    TensorView x, w, b, y, gx, gw;
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
      if (!backward) b.upload(host_b.data());
      s.b = view_of(b, dev, c.dtype, b_shape, false);
    }
    Buffer& y = p.allocate(out_bytes);
    if (backward) y.upload(host_gy.data());
    s.y = view_of(y, dev, c.dtype, p.out_shape, c.channels_last);
    if (backward) {
      s.gx = view_of(p.allocate(in_bytes), dev, c.dtype, c.shape, c.channels_last);
      s.gw = view_of(p.allocate(w_bytes), dev, c.dtype, w_shape, false);
    }
    sets.push_back(s);
  }
  // Scratch memory is given to the op up front, so that no call allocates.
  const Set& s0 = sets[0];
  const std::size_t ws =
      backward
          ? conv_transpose_backward_workspace_size(p.ctx, s0.y, s0.x, s0.w, &s0.gx, &s0.gw,
                                                   has_bias ? &s0.b : nullptr, opt)
          : conv_transpose_workspace_size(p.ctx, s0.x, s0.w, has_bias ? &s0.b : nullptr, s0.y, opt);
  if (ws > 0) p.ctx.set_workspace(p.allocate(ws).data(), ws);
  auto algo = std::make_shared<std::string>();
  Problem* self = &p;
  if (backward) {
    p.run = [self, sets, opt, has_bias, algo](std::size_t k) {
      const Set& s = sets[k];
      const ConvTransposeBackwardResult r = conv_transpose_backward(
          self->ctx, s.y, s.x, s.w, &s.gx, &s.gw, has_bias ? &s.b : nullptr, opt);
      *algo =
          std::string(to_string(r.grad_input.algorithm)) + "/" + to_string(r.grad_weight.algorithm);
    };
  } else {
    p.run = [self, sets, opt, has_bias, algo](std::size_t k) {
      const Set& s = sets[k];
      const ConvTransposeResult r =
          conv_transpose(self->ctx, s.x, s.w, has_bias ? &s.b : nullptr, s.y, opt);
      *algo = to_string(r.algorithm);
    };
  }
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

}  // namespace

std::unique_ptr<Problem> build(const BenchCase& c, const Context& ctx, const SetPolicy& policy) {
  auto p = std::make_unique<Problem>(ctx);
  if (c.op == "interpolate") {
    build_interpolate(*p, c, policy);
  } else if (c.op == "resize") {
    build_resize(*p, c, policy);
  } else if (c.op == "conv-transpose") {
    build_conv_transpose(*p, c, policy);
  } else if (c.op == "max-unpool") {
    build_max_unpool(*p, c, policy);
  } else {
    build_shuffle(*p, c, policy, c.op == "pixel-unshuffle");
  }
  return p;
}

}  // namespace bench
}  // namespace cli
}  // namespace ups
