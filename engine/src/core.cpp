// core.cpp: interruption flag, xoshiro256++ streams, the parallel-for.
#include "nl/core.hpp"

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace nl {

// ---------------------------------------------------------------- interruption

namespace {
std::atomic<bool> g_interrupt{false};
static_assert(std::atomic<bool>::is_always_lock_free, "signal handler needs a lock-free flag");
}  // namespace

void request_interrupt() noexcept { g_interrupt.store(true, std::memory_order_relaxed); }
void clear_interrupt() noexcept { g_interrupt.store(false, std::memory_order_relaxed); }
bool interrupt_requested() noexcept { return g_interrupt.load(std::memory_order_relaxed); }
void check_interrupt() {
  if (g_interrupt.exchange(false, std::memory_order_relaxed)) throw Interrupted();
}

// ---------------------------------------------------------------- random streams

namespace {
std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
}  // namespace

// Each (seed, stream) pair gets its own splitmix64 sequence: the stream number is mixed
// in first, so streams 0, 1, 2, ... of one seed are unrelated generators.
Rng::Rng(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t x = seed;
  std::uint64_t mix = splitmix64(x) ^ (stream * 0xD1B54A32D192ED03ull);
  for (auto& s : s_) s = splitmix64(mix);
}

std::uint64_t Rng::next() noexcept {
  const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double Rng::normal() noexcept {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

std::uint64_t Rng::below(std::uint64_t n) noexcept {
  // Lemire (2019), "Fast random integer generation in an interval".
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

// ---------------------------------------------------------------- parallel-for

namespace {
int initial_threads() {
  if (const char* env = std::getenv("NEUROLUA_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}
std::atomic<int> g_threads{initial_threads()};
}  // namespace

int threads() noexcept { return g_threads.load(); }

void set_threads(int n) {
  if (n < 1) throw ValueError("thread count must be at least 1, got " + std::to_string(n));
  g_threads.store(n);
}

void parallel_for(std::size_t n, const std::function<void(std::size_t)>& body) {
  if (n == 0) return;
  const std::size_t workers = std::min<std::size_t>(n, static_cast<std::size_t>(threads()));
  if (workers <= 1) {
    for (std::size_t i = 0; i < n; ++i) {
      check_interrupt();
      body(i);
    }
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::size_t failed_at = n;
  std::exception_ptr failure;
  auto work = [&] {
    for (;;) {
      if (stop.load(std::memory_order_relaxed)) return;
      const std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      if (interrupt_requested()) {
        stop = true;
        return;
      }
      try {
        body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (i < failed_at) {
          failed_at = i;
          failure = std::current_exception();
        }
        stop = true;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  check_interrupt();
}

}  // namespace nl
