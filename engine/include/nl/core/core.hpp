// nl/core/core.hpp: error types, interruption, seeded random streams, parallel-for.
//
// Everything above the engine (bindings, a future Python front end) relies on three
// promises made here:
//  * engine code reports failure only by throwing an nl::Error subclass;
//  * a long computation polls check_interrupt(), so Ctrl-C can stop it;
//  * randomness comes from explicit Rng streams, one per task, so a result never
//    depends on how many threads ran it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nl {

// ---------------------------------------------------------------- errors

// Base of every error the engine throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value the caller passed is unusable (shape mismatch, singular matrix, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};

// A file is missing, unreadable or malformed. The message names the file and,
// where it applies, the line and column.
class FileError : public Error {
 public:
  using Error::Error;
};

// The user asked to stop (Ctrl-C).
class Interrupted : public Error {
 public:
  Interrupted() : Error("interrupted") {}
};

// ---------------------------------------------------------------- interruption

// Async-signal-safe: may be called from a signal handler.
void request_interrupt() noexcept;
void clear_interrupt() noexcept;
bool interrupt_requested() noexcept;
// Throws Interrupted if an interrupt was requested (and clears the request).
void check_interrupt();

// A host that limits memory (neurolua --max-memory) registers a handler; the bindings
// call note_out_of_memory() when an engine call fails with std::bad_alloc, so the host
// can end the run rather than let the script catch the error and go on.
void set_out_of_memory_handler(void (*handler)()) noexcept;
void note_out_of_memory() noexcept;

// ---------------------------------------------------------------- random streams

// xoshiro256++ (Blackman & Vigna 2019), seeded through splitmix64. Chosen over the
// standard library because std:: distributions are implementation-defined: the same
// seed must give the same numbers on every platform and compiler.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0);

  // next() and below() are defined inline below: solvers draw once per coordinate step,
  // and an out-of-line call there costs more than the draw.
  std::uint64_t next() noexcept;
  // Uniform on [0, 1) with 53 random bits.
  double uniform() noexcept;
  // Standard normal (Marsaglia's polar method; the spare value is kept).
  double normal() noexcept;
  // Uniform integer on [0, n), unbiased (Lemire's method). n > 0.
  std::uint64_t below(std::uint64_t n) noexcept;

  // Fisher-Yates shuffle of v.
  template <class T>
  void shuffle(std::vector<T>& v) noexcept {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

inline std::uint64_t Rng::next() noexcept {
  const auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
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

inline std::uint64_t Rng::below(std::uint64_t n) noexcept {
  // Lemire (2019), "Fast random integer generation in an interval".
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) [[unlikely]] {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

// ---------------------------------------------------------------- SIMD

// A few hot kernels (FAST-MCD's covariances and distances) have a second build for
// x86-64 CPUs with AVX, chosen at run time. Those kernels fix their order of
// operations lane by lane, so results are bit-identical on every CPU; the switch exists
// so that tests can compare the two builds. simd_avx() is true when the CPU has AVX
// and set_simd_avx(false) was not called; set_simd_avx(true) cannot enable AVX on a
// CPU without it.
bool simd_avx() noexcept;
void set_simd_avx(bool on) noexcept;

// ---------------------------------------------------------------- parallel-for

// Number of worker threads used by parallel_for (default: hardware concurrency, or the
// NEUROLUA_THREADS environment variable when set).
// At most kMaxThreads (set_threads raises a ValueError outside 1..kMaxThreads).
constexpr int kMaxThreads = 1024;
int threads() noexcept;
void set_threads(int n);
// NEUROLUA_THREADS read strictly: a whole number from 1 to kMaxThreads (surrounding
// spaces allowed) is the count. A larger one gives kMaxThreads, anything else (text,
// "4x", 0, a negative number, an empty value) gives `fallback`; both set `warning`,
// naming the variable, else it is cleared.
int parse_thread_count(std::string_view text, int fallback, std::string& warning);
// The warning about NEUROLUA_THREADS from start-up ("" when none), once: the host
// shows it when it installs its warning sink.
std::string take_threads_env_warning();

// Runs body(i) for i in [0, n). Tasks must write only to their own outputs; with that,
// the result is the same for any thread count. The first exception (by task index) is
// rethrown after all workers stop; an interrupt stops the remaining tasks.
// Nesting: a parallel_for called from inside the tasks of another one (say, the MCD of a
// ROBPCA fitted in a cross-validation fold) runs its tasks serially on the calling
// thread, so the threads are spent on the outer loop and never oversubscribed.
void parallel_for(std::size_t n, const std::function<void(std::size_t)>& body);

// True while the calling thread runs a task of a multi-threaded parallel_for.
bool in_parallel_region() noexcept;

// While a SerialScope lives, every parallel_for started on this thread runs its tasks
// on it, one after the other: for tasks that call back into a single-threaded host (the
// Lua steps of a pipeline). Results are the same as on any thread count.
class SerialScope {
 public:
  SerialScope() noexcept;
  ~SerialScope();
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  bool previous_;
};

}  // namespace nl
