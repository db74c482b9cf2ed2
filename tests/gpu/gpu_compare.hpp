// Running one interpolate call on the CUDA backend and on the CPU backend, and comparing the two
// with the bound each mode and dtype allows. Shared by the GPU test files.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "test_support.hpp"
#include "ups/interpolate.hpp"

namespace ups_test {

// One interpolate call: input shape and dtype, options, the layouts of the CUDA input and output,
// and the seed of the random input.
struct InterpCase {
  ups::Shape in_shape;
  ups::DType dtype = ups::DType::kF32;
  ups::InterpolateOptions options;
  Layout in_layout = Layout::kContiguous;
  Layout out_layout = Layout::kContiguous;
  std::uint64_t seed = 1;
};

// "bilinear f16 [2, 3, 7, 10] size=[14, 20] align_corners=1 antialias=0 channels-last ->
// contiguous": enough to reproduce the case.
std::string describe(const InterpCase& c);

// Whether the library's interpolate kernels are built with nvcc's --fmad=true, which fuses
// a*b+c into one rounding where the CPU backend rounds twice. The build (CMakeLists.txt,
// UPS_INTERP_CUDA_FMAD) compiles the interpolate kernels (kernels/interpolate/*.cu) with
// --fmad=false and the CPU sources with -ffp-contract=off, so neither backend contracts and both
// round identically (the anti-aliasing filter argument is computed in f64 by both,
// AaWindow::raw_weight). So every call must match bit for bit; only if the kernels were built with
// --fmad=true could the non-copying modes differ in the last bits (accumulation_bound says how
// far).
#ifndef UPS_TEST_INTERP_CUDA_FMAD
#error "the build must define UPS_TEST_INTERP_CUDA_FMAD (0 or 1)"
#endif
inline constexpr bool kCudaFusesMultiplyAdd = UPS_TEST_INTERP_CUDA_FMAD != 0;

// True for the modes whose output is a copy of input elements (ups::InterpModeTraits::copies).
bool copies_elements(ups::InterpMode mode);
// True when the CUDA output must equal the CPU output bit for bit: the copying modes, and,
// without multiply-add fusion, every call without antialias.
bool must_match_bitwise(const InterpCase& c);

// The largest |CUDA - CPU| difference the accumulation may produce for this case, before any
// rounding to a 16-bit output type (see the derivation in gpu_compare.cpp).
double accumulation_bound(const InterpCase& c);

// Compares element by element in logical order: |got - want| <= acc_bound, plus one ulp of the
// output type for f16 and bf16. NaN only matches NaN. Returns "" or a description of the
// mismatches.
std::string compare_close(const HostTensor& got, const HostTensor& want, double acc_bound);

// Runs the case on the CPU backend (contiguous input and output: the reference) and on the CUDA
// backend (the case's layouts, guarded device buffers, on `stream`), then checks that the CUDA
// output matches (bitwise for the copying modes, else within accumulation_bound), that nothing
// was written outside the output and that the input is unchanged. Returns "" on success.
std::string run_against_cpu(const InterpCase& c, cudaStream_t stream);

}  // namespace ups_test
