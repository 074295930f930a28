// nl/core.hpp: error types, interruption, seeded random streams, parallel-for.
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

// ---------------------------------------------------------------- random streams

// xoshiro256++ (Blackman & Vigna 2019), seeded through splitmix64. Chosen over the
// standard library because std:: distributions are implementation-defined: the same
// seed must give the same numbers on every platform and compiler.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0);

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

// ---------------------------------------------------------------- parallel-for

// Number of worker threads used by parallel_for (default: hardware concurrency, or the
// NEUROLUA_THREADS environment variable when set).
int threads() noexcept;
void set_threads(int n);

// Runs body(i) for i in [0, n). Tasks must write only to their own outputs; with that,
// the result is the same for any thread count. The first exception (by task index) is
// rethrown after all workers stop; an interrupt stops the remaining tasks.
void parallel_for(std::size_t n, const std::function<void(std::size_t)>& body);

}  // namespace nl
