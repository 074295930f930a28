// core.cpp: interruption flag, xoshiro256++ streams, the parallel-for.
#include "nl/core/core.hpp"
#include "nl/core/memory.hpp"
#include "nl/core/warnings.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace nl {

// ---------------------------------------------------------------- interruption

namespace {
std::atomic<bool> g_interrupt{false};
static_assert(std::atomic<bool>::is_always_lock_free, "signal handler needs a lock-free flag");
std::atomic<void (*)()> g_oom_handler{nullptr};
}  // namespace

void set_out_of_memory_handler(void (*handler)()) noexcept { g_oom_handler.store(handler); }
void note_out_of_memory() noexcept {
  if (auto* h = g_oom_handler.load()) h();
}
void request_interrupt() noexcept { g_interrupt.store(true, std::memory_order_relaxed); }
void clear_interrupt() noexcept { g_interrupt.store(false, std::memory_order_relaxed); }
bool interrupt_requested() noexcept { return g_interrupt.load(std::memory_order_relaxed); }
// The request is not cleared here: every worker of a parallel_for and every enclosing
// loop must stop too (nl/core/progress.hpp); the host clears it when the run has ended.
void check_interrupt() {
  if (g_interrupt.load(std::memory_order_relaxed)) throw Interrupted();
}

// ---------------------------------------------------------------- memory budget

namespace {
std::atomic<std::uint64_t> g_budget{0};

std::uint64_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return std::uint64_t{8} << 30;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}
}  // namespace

namespace {
std::atomic<std::uint64_t> g_ceiling{0};
}  // namespace

std::uint64_t memory_budget() noexcept {
  const std::uint64_t b = g_budget.load(), c = g_ceiling.load();
  const std::uint64_t budget = b ? b : physical_memory();
  return c ? std::min(budget, c) : budget;
}

void set_memory_ceiling(std::uint64_t bytes) noexcept { g_ceiling.store(bytes); }
std::uint64_t memory_ceiling() noexcept { return g_ceiling.load(); }

void set_memory_budget(std::uint64_t bytes) noexcept { g_budget.store(bytes); }

std::string format_bytes(double b) {
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (b >= 1024 && u < 6) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} bytes", b) : fmt::format("{:.1f} {}", b, units[u]);
}

// ---------------------------------------------------------------- random streams

namespace {
std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

// Each (seed, stream) pair gets its own splitmix64 sequence: the stream number is mixed
// in first, so streams 0, 1, 2, ... of one seed are unrelated generators.
Rng::Rng(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t x = seed;
  std::uint64_t mix = splitmix64(x) ^ (stream * 0xD1B54A32D192ED03ull);
  for (auto& s : s_) s = splitmix64(mix);
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

// ---------------------------------------------------------------- SIMD

namespace {
bool cpu_has_avx() noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx");
#else
  return false;
#endif
}
const bool g_cpu_avx = cpu_has_avx();
std::atomic<bool> g_use_avx{g_cpu_avx};
}  // namespace

bool simd_avx() noexcept { return g_use_avx.load(std::memory_order_relaxed); }
void set_simd_avx(bool on) noexcept { g_use_avx.store(on && g_cpu_avx, std::memory_order_relaxed); }

// ---------------------------------------------------------------- parallel-for

namespace {
int hardware_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(std::min<unsigned>(hw, kMaxThreads)) : 1;
}
// Why here and not in threads(): the count is read once, by a static initializer,
// before any warning sink exists; the message waits for take_threads_env_warning().
std::string g_threads_env_warning;
int initial_threads() {
  const char* env = std::getenv("NEUROLUA_THREADS");
  return env ? parse_thread_count(env, hardware_threads(), g_threads_env_warning) : hardware_threads();
}
std::atomic<int> g_threads{initial_threads()};
thread_local bool t_in_parallel = false;
thread_local bool t_serial = false;  // SerialScope

// Marks the current thread as running parallel tasks for its lifetime.
struct RegionGuard {
  bool saved;
  RegionGuard() : saved(t_in_parallel) { t_in_parallel = true; }
  ~RegionGuard() { t_in_parallel = saved; }
};
// Worker threads kept between parallel_for calls: starting and joining a thread costs
// about 50 us on the project's machine, which a fit calling parallel_for twice in about
// a millisecond (ROBPCA) would pay on every call. One job at a time: a job runs `job` on
// `extra` pool threads while the caller runs it too, and returns when all have
// finished. A second caller meanwhile (another thread of the host program) gets false
// and starts threads of its own.
class WorkerPool {
 public:
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

  bool run(std::size_t extra, const std::function<void()>& job) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      try {
        while (threads_.size() < extra) threads_.emplace_back([this] { loop(); });
      } catch (const std::system_error&) {  // no more threads: use those there are
        if (threads_.empty()) return false;
        extra = threads_.size();
      }
      job_ = &job;
      want_ = extra;
      taken_ = done_ = 0;
      ++generation_;
    }
    wake_.notify_all();
    job();
    std::unique_lock<std::mutex> lk(mu_);
    finished_.wait(lk, [this] { return done_ == want_; });
    job_ = nullptr;
    return true;
  }

 private:
  void loop() {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      wake_.wait(lk, [&] { return quit_ || (generation_ != seen && taken_ < want_); });
      if (quit_) return;
      seen = generation_;
      ++taken_;
      const std::function<void()>* job = job_;
      lk.unlock();
      (*job)();  // the job catches its own exceptions
      lk.lock();
      if (++done_ == want_) finished_.notify_all();
    }
  }

  std::mutex busy_;  // held by the caller of the current job
  std::mutex mu_;
  std::condition_variable wake_, finished_;
  std::vector<std::thread> threads_;
  const std::function<void()>* job_ = nullptr;
  std::size_t want_ = 0, taken_ = 0, done_ = 0;
  std::uint64_t generation_ = 0;
  bool quit_ = false;
};

WorkerPool& worker_pool() {
  static WorkerPool pool;
  return pool;
}
}  // namespace

bool in_parallel_region() noexcept { return t_in_parallel; }

SerialScope::SerialScope() noexcept : previous_(t_serial) { t_serial = true; }
SerialScope::~SerialScope() { t_serial = previous_; }

int threads() noexcept { return g_threads.load(); }

std::string take_threads_env_warning() { return std::exchange(g_threads_env_warning, {}); }

int parse_thread_count(std::string_view text, int fallback, std::string& warning) {
  warning.clear();
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  long long n = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  const bool integer = !t.empty() && end == t.data() + t.size() && ec != std::errc::invalid_argument;
  if (integer && ec == std::errc() && n >= 1 && n <= kMaxThreads) return static_cast<int>(n);
  const std::string shown(text.substr(0, 40));
  if (integer && (ec == std::errc::result_out_of_range || n > kMaxThreads) && t.front() != '-') {
    warning = fmt::format("NEUROLUA_THREADS={} is more than the {} threads neurolua allows; using {}", shown,
                          kMaxThreads, kMaxThreads);
    return kMaxThreads;
  }
  warning = fmt::format("NEUROLUA_THREADS={} is not a thread count (a whole number from 1 to {}); using {} "
                        "(the number of cores)",
                        shown.empty() ? "\"\"" : shown, kMaxThreads, fallback);
  return fallback;
}

void set_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw ValueError(fmt::format("thread count must be between 1 and {}, got {}", kMaxThreads, n));
  g_threads.store(n);
}

void parallel_for(std::size_t n, const std::function<void(std::size_t)>& body) {
  if (n == 0) return;
  const std::size_t workers =
      t_in_parallel || t_serial ? 1 : std::min<std::size_t>(n, static_cast<std::size_t>(threads()));
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
  ConvergenceTally* const tally = detail::current_tally();
  auto work = [&] {
    const RegionGuard region;
    // The caller's convergence tally counts the fits of these tasks too.
    ConvergenceTally* const saved_tally = detail::current_tally();
    detail::set_current_tally(tally);
    struct RestoreTally {
      ConvergenceTally* t;
      ~RestoreTally() { detail::set_current_tally(t); }
    } restore{saved_tally};
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
  const std::function<void()> job = work;
  if (!worker_pool().run(workers - 1, job)) {
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }
  if (failure) std::rethrow_exception(failure);
  check_interrupt();
}

}  // namespace nl
