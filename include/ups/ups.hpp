/// @file ups.hpp
/// @brief Umbrella header: includes the whole public API of ups.
#pragma once

#include "ups/context.hpp"
#include "ups/conv_transpose.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"
#include "ups/pixel_shuffle.hpp"
#include "ups/resize.hpp"
#include "ups/tensor.hpp"
#include "ups/version.hpp"
