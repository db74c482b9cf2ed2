// kern::FastDivmod (kernels/common/fast_divmod.hpp), the division by a run-time constant of the
// 32-bit CUDA index variants, against the division operator: every divisor class (1, powers of
// two, their neighbours, random, the largest) with dividends at the edges and at random.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "common/fast_divmod.hpp"

namespace kern = ups::kern;

namespace {

void check_divisor(std::uint32_t d, std::mt19937_64& rng) {
  const kern::FastDivmod f(d);
  const std::uint32_t kMax = 0x7fffffffu;
  std::vector<std::uint32_t> dividends = {0, 1, d - 1, d, d + 1, kMax, kMax - 1};
  // Multiples of d and their neighbours near the top of the range, where a wrong magic number
  // is off by one first.
  const std::uint32_t top = kMax / d * d;
  for (std::uint32_t k : {top, top - d}) {
    dividends.push_back(k);
    if (k > 0) dividends.push_back(k - 1);
    if (k < kMax) dividends.push_back(k + 1);
  }
  for (int i = 0; i < 200; ++i)
    dividends.push_back(static_cast<std::uint32_t>(rng() % (std::uint64_t(kMax) + 1)));
  for (std::uint32_t n : dividends) {
    if (n > kMax) continue;
    std::uint32_t q = 0, r = 0;
    f.divmod(n, &q, &r);
    if (q != n / d || r != n % d) {
      INFO("divisor " << d << " dividend " << n << ": got " << q << " r " << r);
      REQUIRE(q == n / d);
      REQUIRE(r == n % d);
    }
    REQUIRE(f.div(n) == n / d);
  }
}

}  // namespace

TEST_CASE("FastDivmod equals division for dividends below 2^31", "[math][divmod]") {
  std::mt19937_64 rng(5);
  std::vector<std::uint32_t> divisors = {1, 2, 3, 5, 6, 7, 9, 10, 12, 25, 100, 641, 0x7fffffffu};
  for (int b = 1; b < 31; ++b) {
    const std::uint32_t p = std::uint32_t(1) << b;
    divisors.insert(divisors.end(), {p - 1, p, p + 1});
  }
  for (int i = 0; i < 2000; ++i) {
    // Log-uniform: small divisors are the common case (plane sizes, widths).
    const int bits = 1 + static_cast<int>(rng() % 31);
    divisors.push_back(
        1 + static_cast<std::uint32_t>(rng() % (std::uint64_t(1) << bits) % 0x7fffffffu));
  }
  for (std::uint32_t d : divisors)
    check_divisor(d, rng);
}

TEST_CASE("FastDivmod: every dividend of small divisors", "[math][divmod]") {
  for (std::uint32_t d = 1; d <= 64; ++d) {
    const kern::FastDivmod f(d);
    std::uint32_t wrong = 0;
    for (std::uint32_t n = 0; n < 1u << 16; ++n)
      wrong += f.div(n) != n / d;
    INFO("divisor " << d);
    REQUIRE(wrong == 0);
  }
}
