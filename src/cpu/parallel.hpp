// Fork-join loops for the CPU backend.
//
// Starting a thread can fail (std::thread throws when the system is out of threads, or when the
// address space has no room for another stack). The loops then join the threads that did start
// and run the work of the others on the calling thread, so a call still computes its whole
// result. How the work is cut into pieces depends only on the problem and the requested thread
// count, never on how many threads actually started, so results do not change either.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ups {
namespace detail {

// Starts a std::thread running f. Tests substitute a spawner that fails on purpose.
struct ThreadSpawner {
  template <class F>
  std::thread operator()(F&& f) const {
    return std::thread(std::forward<F>(f));
  }
};

// Calls fn(w) once for every w in [0, workers): w = 0 on the calling thread, the others on
// threads of their own when they can be started, and on the calling thread (after fn(0), in
// increasing order) when they cannot. Returns after every call has finished, then rethrows the
// first exception any of them threw.
template <class Fn, class Spawn = ThreadSpawner>
void fork_join(int workers, Fn&& fn, Spawn&& spawn = Spawn{}) {
  std::exception_ptr error;
  std::mutex error_mutex;
  auto guarded = [&](int w) {
    try {
      fn(w);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  int started = 1;  // workers [1, started) run on threads of their own
  try {
    pool.reserve(static_cast<std::size_t>(std::max(workers - 1, 0)));
    for (; started < workers; ++started) {
      const int w = started;
      pool.push_back(spawn([&guarded, w] { guarded(w); }));
    }
  } catch (...) {
    // No more threads (std::system_error) or no memory for one (std::bad_alloc): the workers
    // from `started` on run below, on this thread.
  }
  guarded(0);
  for (int w = started; w < workers; ++w)
    guarded(w);
  for (std::thread& th : pool)
    th.join();
  if (error) std::rethrow_exception(error);
}

// Calls body(begin, end) over [0, n) split into at most `threads` contiguous chunks. Small
// ranges run on the calling thread: spawning costs tens of microseconds. The chunks depend only
// on n and `threads`.
template <class Body, class Spawn = ThreadSpawner>
void parallel_for(std::int64_t n, int threads, Body&& body, Spawn&& spawn = Spawn{}) {
  constexpr std::int64_t kGrain = 16384;
  const std::int64_t chunks = std::min<std::int64_t>(threads, (n + kGrain - 1) / kGrain);
  if (chunks <= 1) {
    if (n > 0) body(std::int64_t(0), n);
    return;
  }
  const std::int64_t step = (n + chunks - 1) / chunks;
  fork_join(
      static_cast<int>(chunks),
      [&](int t) {
        const std::int64_t b = t * step, e = std::min(n, b + step);
        if (b < e) body(b, e);
      },
      std::forward<Spawn>(spawn));
}

// Runs fn(worker, task) for task in [0, count) on up to `threads` workers with dynamic
// scheduling; worker in [0, threads) indexes per-worker scratch, and no two calls with the same
// worker overlap in time. After a task throws no new task starts; the first exception is
// rethrown once every worker has stopped.
template <class Fn, class Spawn = ThreadSpawner>
void run_tasks(std::int64_t count, int threads, Fn&& fn, Spawn&& spawn = Spawn{}) {
  const int workers =
      static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, count)));
  if (workers <= 1) {
    for (std::int64_t t = 0; t < count; ++t)
      fn(0, t);
    return;
  }
  std::atomic<std::int64_t> next{0};
  fork_join(
      workers,
      [&](int worker) {
        try {
          for (std::int64_t t = next++; t < count; t = next++)
            fn(worker, t);
        } catch (...) {
          next = count;
          throw;
        }
      },
      std::forward<Spawn>(spawn));
}

}  // namespace detail
}  // namespace ups
