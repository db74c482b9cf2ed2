// Device side of the shared-math tests: kernels that call the host/device functions of
// kernels/common/hd.hpp and kernels/interpolate/interp_math.hpp on many inputs. Compiled with
// the test suite's default nvcc flags, i.e. as the library's own kernels are.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gpu_support.hpp"
#include "interp_math_device.hpp"

namespace ups_test {
namespace device_math {
namespace {

namespace kern = ups::kern;

template <class In, class Out, class F>
__global__ void map_kernel(const In* __restrict__ in, Out* __restrict__ out, std::int64_t n, F f) {
  const std::int64_t stride = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    out[i] = f(in[i]);
  }
}

// Runs f over `in` on the device (on a stream of its own) and returns the results.
template <class Out, class In, class F>
std::vector<Out> run_map(const std::vector<In>& in, F f) {
  std::vector<Out> out(in.size());
  if (in.empty()) return out;
  CudaStream stream;
  DeviceBuffer d_in(in.size() * sizeof(In));
  DeviceBuffer d_out(out.size() * sizeof(Out));
  upload_bytes(d_in.get(), in.data(), d_in.size(), stream.get());
  const auto n = static_cast<std::int64_t>(in.size());
  constexpr int kBlock = 256;
  const auto blocks =
      static_cast<unsigned>(std::min<std::int64_t>((n + kBlock - 1) / kBlock, 4096));
  map_kernel<In, Out, F>
      <<<blocks, kBlock, 0, stream.get()>>>(d_in.as<const In>(), d_out.as<Out>(), n, f);
  UPS_TEST_CUDA_CHECK(cudaGetLastError());
  download_bytes(out.data(), d_out.get(), d_out.size(), stream.get());  // synchronises
  return out;
}

struct HalfToFloat {
  __device__ std::uint32_t operator()(std::uint16_t b) const {
    return kern::bit_cast_hd<std::uint32_t>(kern::half_to_float(kern::half_t{b}));
  }
};
struct FloatToHalf {
  __device__ std::uint16_t operator()(std::uint32_t b) const {
    return kern::float_to_half(kern::bit_cast_hd<float>(b)).bits;
  }
};
struct Bf16ToFloat {
  __device__ std::uint32_t operator()(std::uint16_t b) const {
    return kern::bit_cast_hd<std::uint32_t>(kern::bf16_to_float(kern::bf16_t{b}));
  }
};
struct FloatToBf16 {
  __device__ std::uint16_t operator()(std::uint32_t b) const {
    return kern::float_to_bf16(kern::bit_cast_hd<float>(b)).bits;
  }
};
struct NearestIndex {
  bool exact;
  __device__ std::int64_t operator()(const NearestQuery& q) const {
    return exact ? kern::nearest_exact_index(q.dst, q.in, q.scale)
                 : kern::nearest_index(q.dst, q.in, q.out, q.scale);
  }
};
struct NearestIndexGeneral {
  bool exact;
  template <class Acc>
  __device__ std::int64_t operator()(const GeneralNearestQuery<Acc>& q) const {
    return exact ? kern::nearest_exact_index_general<Acc>(q.dst, q.in, q.scale)
                 : kern::nearest_index_general<Acc>(q.dst, q.in, q.scale);
  }
};
struct LinearTapsOp {
  template <class Acc>
  __device__ kern::LinearTaps<Acc> operator()(const TapQuery<Acc>& q) const {
    return kern::linear_taps<Acc>(q.scale, q.dst, q.in, q.out, q.align_corners);
  }
};
struct CubicTapsOp {
  template <class Acc>
  __device__ kern::CubicTaps<Acc> operator()(const TapQuery<Acc>& q) const {
    return kern::cubic_taps<Acc>(q.scale, q.dst, q.in, q.align_corners);
  }
};

// x * y + z as the surrounding device code would evaluate it.
__global__ void multiply_add_kernel(const float* in, float* out) {
  out[0] = in[0] * in[1] + in[2];
}

}  // namespace

bool contracts_multiply_add() {
  // (1 + 2^-13)^2 = 1 + 2^-12 + 2^-26: rounded to f32 the 2^-26 is lost, so the unfused
  // evaluation gives exactly 0 and the fused one 2^-26.
  const float x = 1.0f + 0x1p-13f;
  const std::vector<float> in = {x, x, -(1.0f + 0x1p-12f)};
  CudaStream stream;
  DeviceBuffer d_in(in.size() * sizeof(float));
  DeviceBuffer d_out(sizeof(float));
  upload_bytes(d_in.get(), in.data(), d_in.size(), stream.get());
  multiply_add_kernel<<<1, 1, 0, stream.get()>>>(d_in.as<const float>(), d_out.as<float>());
  UPS_TEST_CUDA_CHECK(cudaGetLastError());
  float result = 0.0f;
  download_bytes(&result, d_out.get(), sizeof(float), stream.get());
  return result != 0.0f;
}

std::vector<std::uint32_t> half_to_float(const std::vector<std::uint16_t>& half_bits) {
  return run_map<std::uint32_t>(half_bits, HalfToFloat{});
}
std::vector<std::uint16_t> float_to_half(const std::vector<std::uint32_t>& float_bits) {
  return run_map<std::uint16_t>(float_bits, FloatToHalf{});
}
std::vector<std::uint32_t> bf16_to_float(const std::vector<std::uint16_t>& bf16_bits) {
  return run_map<std::uint32_t>(bf16_bits, Bf16ToFloat{});
}
std::vector<std::uint16_t> float_to_bf16(const std::vector<std::uint32_t>& float_bits) {
  return run_map<std::uint16_t>(float_bits, FloatToBf16{});
}
std::vector<std::int64_t> nearest_indices(const std::vector<NearestQuery>& queries, bool exact) {
  return run_map<std::int64_t>(queries, NearestIndex{exact});
}
std::vector<std::int64_t> nearest_indices_general(
    const std::vector<GeneralNearestQuery<float>>& queries, bool exact) {
  return run_map<std::int64_t>(queries, NearestIndexGeneral{exact});
}
std::vector<std::int64_t> nearest_indices_general(
    const std::vector<GeneralNearestQuery<double>>& queries, bool exact) {
  return run_map<std::int64_t>(queries, NearestIndexGeneral{exact});
}
std::vector<kern::LinearTaps<float>> linear_taps(const std::vector<TapQuery<float>>& queries) {
  return run_map<kern::LinearTaps<float>>(queries, LinearTapsOp{});
}
std::vector<kern::LinearTaps<double>> linear_taps(const std::vector<TapQuery<double>>& queries) {
  return run_map<kern::LinearTaps<double>>(queries, LinearTapsOp{});
}
std::vector<kern::CubicTaps<float>> cubic_taps(const std::vector<TapQuery<float>>& queries) {
  return run_map<kern::CubicTaps<float>>(queries, CubicTapsOp{});
}
std::vector<kern::CubicTaps<double>> cubic_taps(const std::vector<TapQuery<double>>& queries) {
  return run_map<kern::CubicTaps<double>>(queries, CubicTapsOp{});
}

}  // namespace device_math
}  // namespace ups_test
