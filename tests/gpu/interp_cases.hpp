// The interpolate cases the GPU suite runs against the CPU backend. Plain C++ (no CUDA), so the
// same lists can drive other harnesses.
#pragma once

#include <cstdint>
#include <vector>

#include "gpu_compare.hpp"
#include "ups/interpolate.hpp"

namespace ups_test {

// The dtypes `mode` supports (ups::interp_mode_traits): f32, f64, f16, bf16, and u8 for the
// nearest modes.
std::vector<ups::DType> dtypes_for(ups::InterpMode mode);

// Every dtype, align_corners and antialias setting the mode allows (ups::interp_mode_traits),
// size or scale kind (integer, fractional, per dim, recomputed, downscale, odd, same size, unit
// sizes) and layout pair (contiguous / channels-last, input and output, mixed) for each input
// rank the mode accepts, with batch n and channels c. Seeds count up from `first_seed`.
std::vector<InterpCase> sweep_cases(ups::InterpMode mode, std::int64_t n, std::int64_t c,
                                    std::uint64_t first_seed);

// Many small planes (N = 8, C = 256, 4x4 -> 8x8 and odd sizes) for every mode, with the same
// option and layout combinations.
std::vector<InterpCase> batch_cases(std::uint64_t first_seed);

}  // namespace ups_test
