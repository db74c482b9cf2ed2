// The per-coordinate tap functions of kernels/interpolate/interp_taps.hpp: adaptive_window (area
// windows without 64-bit division, used by the CUDA tables) against adaptive_start and
// adaptive_end, including sizes near 2^31.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

#include "interpolate/interp_math.hpp"
#include "interpolate/interp_taps.hpp"

namespace kern = ups::kern;

TEST_CASE("adaptive_window equals adaptive_start and adaptive_end", "[math][area]") {
  std::mt19937_64 rng(11);
  const std::int64_t kMax = (std::int64_t(1) << 31) - 1;
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    std::int64_t out, in;
    switch (i % 4) {
      case 0:  // small sizes, every coordinate reachable
        out = 1 + static_cast<std::int64_t>(rng() % 300);
        in = 1 + static_cast<std::int64_t>(rng() % 300);
        break;
      case 1:  // near the limit
        out = kMax - static_cast<std::int64_t>(rng() % 1000);
        in = kMax - static_cast<std::int64_t>(rng() % 1000);
        break;
      default:
        out = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(kMax));
        in = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(kMax));
    }
    const std::int64_t dst = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(out));
    for (std::int64_t o : {dst, std::int64_t(0), out - 1}) {
      std::int64_t s, e;
      kern::adaptive_window(o, out, in, 1.0 / static_cast<double>(out), &s, &e);
      INFO("dst " << o << " out " << out << " in " << in);
      REQUIRE(s == kern::adaptive_start(o, out, in));
      REQUIRE(e == kern::adaptive_end(o, out, in));
      ++checked;
    }
  }
  CHECK(checked == 600000);
}
