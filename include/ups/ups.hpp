/// @file ups.hpp
/// @brief Umbrella header: includes the whole public API of ups.
#pragma once

#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"
#include "ups/tensor.hpp"
#include "ups/version.hpp"
