// The thread pool and loops of the CPU backend (src/cpu/parallel.hpp), in particular when threads
// cannot be started: a pool whose spawner fails after a given number of threads stands in for a
// system out of threads. The loops must still run every piece of work exactly once, cut the work
// the same way, and report exceptions as exceptions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "cpu/parallel.hpp"
#include "ups/error.hpp"

namespace {

// Starts the first `allowed` threads, then throws what std::thread throws when pthread_create
// fails with EAGAIN.
struct FailingSpawner {
  int allowed;
  std::shared_ptr<std::atomic<int>> started = std::make_shared<std::atomic<int>>(0);

  template <class F>
  std::thread operator()(F&& f) const {
    if (started->load() >= allowed) {
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                              "cannot start a thread");
    }
    ++*started;
    return std::thread(std::forward<F>(f));
  }
};

struct Chunk {
  std::int64_t begin, end;
  std::thread::id thread;
};

// Runs parallel_for over [0, n) and records every call of the body.
constexpr std::int64_t kGrain = 16384;

std::vector<Chunk> record_chunks(std::int64_t n, int threads, ups::detail::ThreadPool& pool,
                                 std::vector<int>* hits) {
  std::mutex m;
  std::vector<Chunk> chunks;
  hits->assign(static_cast<std::size_t>(n), 0);
  ups::detail::parallel_for(
      n, threads, kGrain,
      [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i)
          ++(*hits)[static_cast<std::size_t>(i)];  // chunks are disjoint
        // Slow enough that every started thread gets a chunk.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        std::lock_guard<std::mutex> lock(m);
        chunks.push_back({b, e, std::this_thread::get_id()});
      },
      pool);
  return chunks;
}

std::set<std::pair<std::int64_t, std::int64_t>> ranges(const std::vector<Chunk>& chunks) {
  std::set<std::pair<std::int64_t, std::int64_t>> r;
  for (const Chunk& c : chunks)
    r.insert({c.begin, c.end});
  return r;
}

std::size_t distinct_threads(const std::vector<Chunk>& chunks) {
  std::set<std::thread::id> ids;
  for (const Chunk& c : chunks)
    ids.insert(c.thread);
  return ids.size();
}

}  // namespace

TEST_CASE("parallel_for runs every chunk when threads cannot be started", "[parallel]") {
  // 32 chunks (four per thread) of about 20000 elements each: the grain allows them all.
  const int threads = 8;
  const std::int64_t n = 4 * threads * 20000 + 7;
  std::vector<int> hits;
  ups::detail::ThreadPool full(FailingSpawner{threads});
  const std::vector<Chunk> all = record_chunks(n, threads, full, &hits);
  REQUIRE(all.size() == static_cast<std::size_t>(4 * threads));
  CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
  CHECK(distinct_threads(all) == static_cast<std::size_t>(threads));

  for (int allowed = 0; allowed < threads; ++allowed) {
    INFO("threads that start: " << allowed);
    FailingSpawner spawn{allowed};
    ups::detail::ThreadPool pool(spawn);
    for (int call = 0; call < 2; ++call) {  // the second call reuses what the first started
      const std::vector<Chunk> got = record_chunks(n, threads, pool, &hits);
      // Every element exactly once, in the same chunks as with every thread started.
      CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
      CHECK(ranges(got) == ranges(all));
      CHECK(got.size() == all.size());
      CHECK(spawn.started->load() == allowed);
      CHECK(pool.threads() == allowed);
      // The calling thread and the threads that started did the work.
      CHECK(distinct_threads(got) <= static_cast<std::size_t>(allowed) + 1);
      std::size_t on_caller = 0;
      for (const Chunk& c : got)
        on_caller += c.thread == std::this_thread::get_id() ? 1 : 0;
      CHECK(on_caller >= 1);
      if (allowed == 0) CHECK(on_caller == got.size());
    }
  }
}

TEST_CASE("parallel_for reports an exception of any chunk after every chunk ran", "[parallel]") {
  const std::int64_t n = 16 * 20000;
  for (int allowed : {0, 1, 3}) {
    ups::detail::ThreadPool pool(FailingSpawner{allowed});
    for (std::int64_t bad_begin : {std::int64_t(0), n / 2}) {
      INFO("threads that start: " << allowed << ", throwing chunk at " << bad_begin);
      std::atomic<int> calls{0};
      auto run = [&] {
        ups::detail::parallel_for(
            n, 4, kGrain,
            [&](std::int64_t b, std::int64_t) {
              ++calls;
              if (b == bad_begin) throw ups::Error(ups::ErrorCode::kInternal, "chunk failed");
            },
            pool);
      };
      CHECK_THROWS_WITH(run(), "chunk failed");
      // A worker whose chunk threw stops, so a few chunks may be left to the others; none twice.
      CHECK(calls.load() <= 16);
      CHECK(calls.load() >= 1);
    }
    // The pool is usable after an exception.
    std::atomic<std::int64_t> sum{0};
    ups::detail::parallel_for(
        n, 4, kGrain, [&](std::int64_t b, std::int64_t e) { sum += e - b; }, pool);
    CHECK(sum.load() == n);
  }
}

TEST_CASE("run_tasks runs every task once when threads cannot be started", "[parallel]") {
  const std::int64_t count = 200;
  const int threads = 6;
  for (int allowed = 0; allowed <= threads; ++allowed) {
    INFO("threads that start: " << allowed);
    std::vector<std::atomic<int>> done(static_cast<std::size_t>(count));
    std::vector<std::atomic<int>> busy(static_cast<std::size_t>(threads));
    std::atomic<int> bad_worker{0}, overlaps{0};
    std::mutex m;
    std::set<std::thread::id> ids;
    FailingSpawner spawn{allowed};
    ups::detail::ThreadPool pool(spawn);
    ups::detail::run_tasks(
        count, threads,
        [&](int worker, std::int64_t task) {
          if (worker < 0 || worker >= threads) {
            ++bad_worker;
            return;
          }
          // Per-worker scratch is safe only if no two calls share a worker at once.
          if (busy[static_cast<std::size_t>(worker)].exchange(1) != 0) ++overlaps;
          ++done[static_cast<std::size_t>(task)];
          {
            std::lock_guard<std::mutex> lock(m);
            ids.insert(std::this_thread::get_id());
          }
          std::this_thread::yield();
          busy[static_cast<std::size_t>(worker)] = 0;
        },
        pool);
    CHECK(bad_worker.load() == 0);
    CHECK(overlaps.load() == 0);
    CHECK(std::all_of(done.begin(), done.end(), [](const std::atomic<int>& d) { return d == 1; }));
    CHECK(ids.size() <= static_cast<std::size_t>(std::min(allowed, threads - 1)) + 1);
  }
}

TEST_CASE("run_tasks stops and rethrows when a task throws", "[parallel]") {
  for (int allowed : {0, 2, 5}) {
    INFO("threads that start: " << allowed);
    ups::detail::ThreadPool pool(FailingSpawner{allowed});
    std::atomic<int> calls{0};
    auto run = [&] {
      ups::detail::run_tasks(
          1000, 6,
          [&](int, std::int64_t task) {
            ++calls;
            if (task == 10) throw ups::Error(ups::ErrorCode::kOutOfMemory, "task failed");
            // Slow enough that the others cannot finish the remaining tasks in the time the
            // exception takes to propagate.
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          },
          pool);
    };
    CHECK_THROWS_WITH(run(), "task failed");
    CHECK(calls.load() < 1000);  // no task starts after the failure is seen
  }
}

TEST_CASE("a nested parallel loop runs on the thread that calls it", "[parallel]") {
  // An inner loop inside the outer loop's work, on a pool thread or on the calling thread, must
  // not wait for the pool the outer loop holds.
  ups::detail::ThreadPool pool;
  std::atomic<std::int64_t> total{0};
  std::atomic<int> moved{0};
  ups::detail::parallel_for(
      8, 4, 1,
      [&](std::int64_t b, std::int64_t e) {
        const auto outer = std::this_thread::get_id();
        for (std::int64_t i = b; i < e; ++i) {
          ups::detail::parallel_for(
              1000, 4, 1,
              [&](std::int64_t ib, std::int64_t ie) {
                total += ie - ib;
                if (std::this_thread::get_id() != outer) ++moved;
              },
              pool);
        }
      },
      pool);
  CHECK(total.load() == 8 * 1000);
  CHECK(moved.load() == 0);
}

TEST_CASE("the pool keeps its threads between calls", "[parallel]") {
  std::atomic<int> spawned{0};
  ups::detail::ThreadPool pool([&](std::function<void()> f) {
    ++spawned;
    return std::thread(std::move(f));
  });
  for (int call = 0; call < 50; ++call) {
    std::atomic<std::int64_t> sum{0};
    ups::detail::parallel_for(
        1 << 20, 3, 1024, [&](std::int64_t b, std::int64_t e) { sum += e - b; }, pool);
    CHECK(sum.load() == (1 << 20));
  }
  CHECK(spawned.load() == 2);  // threads - 1, started once
}
