// nl/io/checkpoint.hpp: resumable long runs (permutation tests).
//
// A checkpointed computation runs its units (permutations, batches of rearrangements)
// in order, in rounds: each round is an mpi::distributed_for over the next units, after
// which every rank holds the round's results and rank 0, when `every` seconds have
// passed since its last write, writes the state of the finished prefix atomically (a
// neurolua container of kind "ckpt"). A run killed at any
// moment leaves either no file or the state after a whole round; started again with the
// same checkpoint path, it loads that state, skips the finished units and ends with the
// same result, bit for bit, as a run never interrupted: each unit depends on its index
// only, counts are integers (their sums do not depend on the order) and the rest is kept
// per unit. The number of ranks and threads may differ between the runs.
//
// The file carries a fingerprint of the run (the data, the options and the seed, as the
// caller defines it); a checkpoint from another run is a FileError naming the file, never
// silently mixed in. It is removed when the run finishes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace nl {

struct CheckpointOptions {
  std::string path;      // empty: no checkpoint
  double every = 60.0;   // seconds between writes (rounds last about this long)
};

class Checkpoint {
 public:
  // Loads `options.path` when it exists (on every rank: a shared file system). kind
  // names the computation in messages ("permutation test"); fingerprint identifies the
  // run. FileError: an unreadable or damaged file, or one written by another run.
  Checkpoint(CheckpointOptions options, std::string kind, std::string fingerprint, std::size_t units);

  bool active() const noexcept { return !options_.path.empty(); }
  const std::string& path() const noexcept { return options_.path; }
  // Units finished by earlier runs (a prefix 0..done-1) and the state saved with them.
  std::size_t done() const noexcept { return done_; }
  const std::string& state() const noexcept { return state_; }

  // True on rank 0 when `every` seconds have passed since the last write (or the start):
  // then build the state and save() it.
  bool due() const;
  // Rank 0 writes the state of units 0..done-1 (other ranks do nothing).
  void save(std::size_t done, std::string_view state) const;
  // Rank 0 removes the file (after the run has finished).
  void remove() const;

  // Runs units [first, n): all at once without a checkpoint; with one, in rounds of
  // about `every` seconds (sized from the speed of the earlier rounds, the same on every
  // rank). body(i) runs unit i (mpi::distributed_for: ranks and threads); after each
  // round, round_done(begin, end) runs on every rank (collective: share the round's
  // results, then save()).
  void run(std::size_t first, std::size_t n, const std::function<void(std::size_t)>& body,
           const std::function<void(std::size_t, std::size_t)>& round_done) const;

 private:
  CheckpointOptions options_;
  std::string kind_, fingerprint_;
  std::size_t units_ = 0, done_ = 0;
  std::string state_;
  mutable double last_save_ = 0;  // seconds on a steady clock
};

// FNV-1a, 64 bits, over raw bytes: a cheap fingerprint of the data a run reads (not a
// cryptographic hash: it tells runs apart, it does not authenticate them).
class Fingerprint {
 public:
  Fingerprint& add(const void* data, std::size_t bytes) noexcept;
  template <class T>
  Fingerprint& value(const T& v) noexcept {
    return add(&v, sizeof v);
  }
  Fingerprint& text(std::string_view s) noexcept {
    value(s.size());
    return add(s.data(), s.size());
  }
  std::string hex() const;

 private:
  std::uint64_t h_ = 14695981039346656037ull;
};

}  // namespace nl
