// A minimal fork-join loop for the CPU backend.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace ups {
namespace detail {

// Calls body(begin, end) over [0, n) split into at most `threads` contiguous chunks. Small
// ranges run on the calling thread: spawning costs tens of microseconds.
template <class Body>
void parallel_for(std::int64_t n, int threads, Body&& body) {
  constexpr std::int64_t kGrain = 16384;
  const std::int64_t chunks = std::min<std::int64_t>(threads, (n + kGrain - 1) / kGrain);
  if (chunks <= 1) {
    if (n > 0) body(std::int64_t(0), n);
    return;
  }
  const std::int64_t step = (n + chunks - 1) / chunks;
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(chunks - 1));
  for (std::int64_t t = 1; t < chunks; ++t) {
    const std::int64_t b = t * step, e = std::min(n, b + step);
    if (b < e) pool.emplace_back([&body, b, e] { body(b, e); });
  }
  body(std::int64_t(0), std::min(n, step));
  for (auto& th : pool) th.join();
}

}  // namespace detail
}  // namespace ups
