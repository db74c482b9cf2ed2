// The CPU backend's threads: a persistent pool and the loops built on it.
//
// Why a pool of its own rather than oneTBB or OpenMP: both end the process when the system
// refuses a worker thread (oneTBB 2021 throws from an internal thread, which terminates; libgomp
// calls gomp_fatal), and a library must not kill its host. This pool starts its threads on first
// use, keeps them for later calls (starting a thread costs tens of microseconds), and when a
// thread cannot be started it runs the work with the threads it has: the calling thread takes
// whatever no worker takes. How work is cut into pieces depends only on the problem and the
// requested thread count, never on how many threads run, so results do not change either.
//
// One call uses the pool at a time; a second caller waits for it. A call from inside another
// call's work (nested parallelism, on a pool thread or on the calling thread) runs on that thread
// alone. After fork() the child gets a fresh pool
// (the parent's threads do not exist there), so forked workers (Python's multiprocessing, data
// loaders) can use ups at once.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ups {
namespace detail {

class ThreadPool {
 public:
  // Starts a thread running its argument; tests substitute one that fails on purpose.
  using Spawn = std::function<std::thread(std::function<void()>)>;

  explicit ThreadPool(Spawn spawn = {}) : spawn_(std::move(spawn)) {}
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_)
      t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The process-wide pool (never destroyed: threads may still wait in it at exit).
  static ThreadPool& global() {
    static std::once_flag once;
    std::call_once(once, [] {
      global_slot().store(new ThreadPool());
      // The child of a fork has none of the parent's threads, and the parent's mutexes may be
      // held: it starts over with a pool of its own.
      pthread_atfork(nullptr, nullptr, [] { global_slot().store(new ThreadPool()); });
    });
    return *global_slot().load();
  }

  // Calls fn(w) once for every w in [0, workers): w = 0 on the calling thread, the others on
  // pool threads as they become free (or on the calling thread when there are none). Returns
  // after every call has finished, then rethrows the first exception any of them threw.
  template <class Fn>
  void fork_join(int workers, Fn&& fn) {
    if (workers <= 1 || in_pool_thread()) {
      std::exception_ptr error;
      for (int w = 0; w < std::max(workers, 1); ++w) {
        try {
          fn(w);
        } catch (...) {
          if (!error) error = std::current_exception();
        }
      }
      if (error) std::rethrow_exception(error);
      return;
    }
    std::lock_guard<std::mutex> one_call(call_mutex_);
    // Loops nested in this call's work run inline, on this thread as on the pool's.
    struct Nested {
      Nested() { in_pool_thread() = true; }
      ~Nested() { in_pool_thread() = false; }
    } nested;
    const int helpers = std::min(workers - 1, grow(workers - 1));
    Job job;
    job.fn = [](void* f, int w) { (*static_cast<std::remove_reference_t<Fn>*>(f))(w); };
    job.obj = const_cast<void*>(static_cast<const void*>(&fn));
    job.workers = workers;
    job.next.store(1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      helpers_ = helpers;
      pending_ = helpers;
      ++generation_;
    }
    if (helpers > 0) wake_.notify_all();
    job.run(0);
    job.drain();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_ == 0; });
      job_ = nullptr;
    }
    if (job.error) std::rethrow_exception(job.error);
  }

  // Threads started so far.
  int threads() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(threads_.size());
  }

 private:
  struct Job {
    void (*fn)(void*, int) = nullptr;
    void* obj = nullptr;
    int workers = 0;
    std::atomic<int> next{1};
    std::mutex error_mutex;
    std::exception_ptr error;

    void run(int w) {
      try {
        fn(obj, w);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
    void drain() {
      for (int w = next++; w < workers; w = next++)
        run(w);
    }
  };

  static std::atomic<ThreadPool*>& global_slot() {
    static std::atomic<ThreadPool*> slot{nullptr};
    return slot;
  }
  static bool& in_pool_thread() {
    thread_local bool flag = false;
    return flag;
  }

  // Starts threads until there are `want` (or the system refuses one); returns how many run.
  int grow(int want) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (static_cast<int>(threads_.size()) < want && !refused_) {
      const int id = static_cast<int>(threads_.size());
      auto body = [this, id] { worker_loop(id); };
      try {
        threads_.push_back(spawn_ ? spawn_(body) : std::thread(body));
      } catch (...) {
        // No more threads (std::system_error) or no memory for one (std::bad_alloc). Do not
        // try again on every call: a failed attempt can cost as much as the work.
        refused_ = true;
      }
    }
    return static_cast<int>(threads_.size());
  }

  void worker_loop(int id) {
    in_pool_thread() = true;
    std::uint64_t seen = 0;
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (id >= helpers_) continue;  // this call asked for fewer threads
        job = job_;
      }
      job->drain();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }

  Spawn spawn_;
  std::mutex call_mutex_;  // one fork_join at a time
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> threads_;
  bool refused_ = false;
  bool stop_ = false;
  std::uint64_t generation_ = 0;
  Job* job_ = nullptr;
  int helpers_ = 0;  // threads [0, helpers_) take part in the current call
  int pending_ = 0;  // of those, the ones still working on it
};

// Calls fn(w) for every w in [0, workers), on the global pool unless another is given.
template <class Fn>
void fork_join(int workers, Fn&& fn, ThreadPool& pool = ThreadPool::global()) {
  pool.fork_join(workers, std::forward<Fn>(fn));
}

// Calls body(begin, end) over [0, n) split into contiguous chunks of at least `grain` items,
// about four per thread so that uneven chunks balance out, on at most `threads` threads. The
// chunks depend only on n, threads and grain. Small ranges run on the calling thread.
template <class Body>
void parallel_for(std::int64_t n, int threads, std::int64_t grain, Body&& body,
                  ThreadPool& pool = ThreadPool::global()) {
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  const std::int64_t most = (n + grain - 1) / grain;
  const std::int64_t chunks = std::min<std::int64_t>(most, threads <= 1 ? 1 : 4 * threads);
  if (chunks <= 1) {
    body(std::int64_t(0), n);
    return;
  }
  const std::int64_t step = (n + chunks - 1) / chunks;
  std::atomic<std::int64_t> next{0};
  pool.fork_join(static_cast<int>(std::min<std::int64_t>(threads, chunks)), [&](int) {
    for (std::int64_t c = next++; c < chunks; c = next++) {
      const std::int64_t b = c * step, e = std::min(n, b + step);
      if (b < e) body(b, e);
    }
  });
}

// parallel_for with the default grain of elementwise loops.
template <class Body>
void parallel_for(std::int64_t n, int threads, Body&& body) {
  parallel_for(n, threads, 16384, std::forward<Body>(body));
}

// Runs fn(worker, task) for task in [0, count) on up to `threads` workers with dynamic
// scheduling; worker in [0, threads) indexes per-worker scratch, and no two calls with the same
// worker overlap in time. After a task throws no new task starts; the first exception is
// rethrown once every worker has stopped.
template <class Fn>
void run_tasks(std::int64_t count, int threads, Fn&& fn, ThreadPool& pool = ThreadPool::global()) {
  const int workers =
      static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, count)));
  if (workers <= 1) {
    for (std::int64_t t = 0; t < count; ++t)
      fn(0, t);
    return;
  }
  std::atomic<std::int64_t> next{0};
  pool.fork_join(workers, [&](int worker) {
    try {
      for (std::int64_t t = next++; t < count; t = next++)
        fn(worker, t);
    } catch (...) {
      next = count;
      throw;
    }
  });
}

}  // namespace detail
}  // namespace ups
