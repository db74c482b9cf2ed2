/// @file op_commands.hpp
/// @brief The commands that run one op of the library on .npy files. Each op's command lives in
/// its own source file and provides its argument table, its run function, the description
/// shown by `ups NAME --help`, and its section of `ups demo` (plus `ups info` where the op has
/// something to list). commands.cpp puts them into the command table.
#pragma once

#include <ostream>

#include "cli/args.hpp"
#include "ups/context.hpp"

namespace ups {
namespace cli {

// ---- interpolate (interpolate_command.cpp) ----------------------------------------------------

/// @brief Paragraphs of `ups interpolate --help`, with the modes of ups::interp_modes().
const char* interpolate_description();
/// @brief The arguments of `ups interpolate`.
ArgSpec interpolate_spec();
/// @brief Runs `ups interpolate`.
int run_interpolate(const ParsedArgs& args);
/// @brief Paragraphs of `ups interpolate-backward --help`.
const char* interpolate_backward_description();
/// @brief The arguments of `ups interpolate-backward`.
ArgSpec interpolate_backward_spec();
/// @brief Runs `ups interpolate-backward`.
int run_interpolate_backward(const ParsedArgs& args);
/// @brief Prints the interpolation examples of the tutorial, numbering them from @p number
/// (which it advances).
void demo_interpolate(std::ostream& os, Context& ctx, int& number);
/// @brief Prints the table of interpolation modes (ups::interp_modes()) for `ups info`.
void info_interpolate(std::ostream& os);

// ---- resize (resize_command.cpp) ----------------------------------------------------------------

/// @brief Paragraphs of `ups resize --help`.
extern const char* const kResizeDescription;
/// @brief The arguments of `ups resize`.
ArgSpec resize_spec();
/// @brief Runs `ups resize`.
int run_resize(const ParsedArgs& args);

// ---- conv-transpose (conv_transpose_command.cpp) ----------------------------------------------

/// @brief Paragraphs of `ups conv-transpose --help`.
extern const char* const kConvTransposeDescription;
/// @brief The arguments of `ups conv-transpose`.
ArgSpec conv_transpose_spec();
/// @brief Runs `ups conv-transpose`.
int run_conv_transpose(const ParsedArgs& args);
/// @brief Paragraphs of `ups conv-transpose-backward --help`.
extern const char* const kConvTransposeBackwardDescription;
/// @brief The arguments of `ups conv-transpose-backward`.
ArgSpec conv_transpose_backward_spec();
/// @brief Runs `ups conv-transpose-backward`.
int run_conv_transpose_backward(const ParsedArgs& args);
/// @brief Prints the transposed-convolution examples of the tutorial, numbering them from
/// @p number (which it advances).
void demo_conv_transpose(std::ostream& os, Context& ctx, int& number);
/// @brief Prints the table of conv_transpose algorithms for `ups info`.
void info_conv_transpose(std::ostream& os);

// ---- max-pool, max-unpool (pool_command.cpp) ----------------------------------------------------

/// @brief Paragraphs of `ups max-pool --help`.
extern const char* const kMaxPoolDescription;
/// @brief Paragraphs of `ups max-unpool --help`.
extern const char* const kMaxUnpoolDescription;
/// @brief The arguments of `ups max-pool`.
ArgSpec max_pool_spec();
/// @brief The arguments of `ups max-unpool`.
ArgSpec max_unpool_spec();
/// @brief Runs `ups max-pool`.
int run_max_pool(const ParsedArgs& args);
/// @brief Runs `ups max-unpool`.
int run_max_unpool(const ParsedArgs& args);
/// @brief Paragraphs of `ups max-pool-backward --help`.
extern const char* const kMaxPoolBackwardDescription;
/// @brief Paragraphs of `ups max-unpool-backward --help`.
extern const char* const kMaxUnpoolBackwardDescription;
/// @brief The arguments of `ups max-pool-backward`.
ArgSpec max_pool_backward_spec();
/// @brief The arguments of `ups max-unpool-backward`.
ArgSpec max_unpool_backward_spec();
/// @brief Runs `ups max-pool-backward`.
int run_max_pool_backward(const ParsedArgs& args);
/// @brief Runs `ups max-unpool-backward`.
int run_max_unpool_backward(const ParsedArgs& args);
/// @brief Prints the tutorial's MaxPool2d / MaxUnpool2d example, numbered @p number (which it
/// advances).
void demo_pool(std::ostream& os, Context& ctx, int& number);

// ---- pixel-shuffle, pixel-unshuffle (shuffle_command.cpp) ---------------------------------------

/// @brief Paragraphs of `ups pixel-shuffle --help`.
extern const char* const kPixelShuffleDescription;
/// @brief Paragraphs of `ups pixel-unshuffle --help`.
extern const char* const kPixelUnshuffleDescription;
/// @brief The arguments of `ups pixel-shuffle`.
ArgSpec pixel_shuffle_spec();
/// @brief The arguments of `ups pixel-unshuffle`.
ArgSpec pixel_unshuffle_spec();
/// @brief Runs `ups pixel-shuffle`.
int run_pixel_shuffle(const ParsedArgs& args);
/// @brief Runs `ups pixel-unshuffle`.
int run_pixel_unshuffle(const ParsedArgs& args);
/// @brief Prints the tutorial's PixelShuffle(3) example, numbered @p number (which it
/// advances).
void demo_pixel_shuffle(std::ostream& os, Context& ctx, int& number);

// ---- bench (bench_command.cpp)
// --------------------------------------------------------------------

/// @brief Paragraphs of `ups bench --help`.
extern const char* const kBenchDescription;
/// @brief The arguments of `ups bench`.
ArgSpec bench_spec();
/// @brief Runs `ups bench`.
int run_bench(const ParsedArgs& args);

}  // namespace cli
}  // namespace ups
