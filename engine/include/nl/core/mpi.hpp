// nl/core/mpi.hpp: the engine across processes (`mpirun -n N neurolua script.lua`).
//
// Model: every rank runs the same script on the same inputs. The engine's parallel units
// that are independent and seeded by their index (the permutations of a nested CV, of an
// external validation and of a GLM; the outer folds of a nested CV; the bootstrap
// replicates of a ROC band) are split into contiguous blocks, one per rank, and run with
// threads inside each rank (parallel_for); their results are then shared, so that every
// rank holds the whole result and the script goes on identically everywhere. A unit
// computes the same numbers wherever it runs, so the result is bit-identical to one
// process with the same seed, for any number of ranks and threads.
//
// Only rank 0 writes: on the other ranks, files the engine writes (AtomicFile) go to
// /dev/null, and the host silences their standard output and error (repl/main.cpp).
//
// Built with MPI when CMake finds it (NL_HAVE_MPI); MPI is initialised only in a process
// started by an MPI launcher (mpirun, srun: detected from the launcher's environment),
// so `neurolua script.lua` and the loadable module never touch MPI. Without MPI every
// function here is the one-process case: rank 0 of 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nl::mpi {

// Compiled with MPI support.
bool built() noexcept;
// MPI initialised (this process was started by an MPI launcher), even with one rank.
bool active() noexcept;
int rank() noexcept;  // 0 without MPI
int size() noexcept;  // 1 without MPI, and inside a LocalScope (below)
inline bool root() noexcept { return rank() == 0; }
// One line for the REPL and the docs: "rank 0 of 4 (Open MPI v4.1.4, ...)", or why
// there is no MPI ("neurolua was built without MPI: ...", "not started by mpirun").
std::string describe();
// The environment of an MPI launcher is present (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
// PMIX_RANK, SLURM's PMI): then init() initialises MPI.
bool launched_by_mpi() noexcept;

// The host calls init() first thing in main() and finalize() before a successful exit.
// init() without launched_by_mpi() or without MPI support does nothing. With MPI and no
// NEUROLUA_THREADS, each rank's thread count is the cores divided by the ranks on its
// node (at least 1), so that N ranks on one machine do not oversubscribe it.
void init(int* argc, char*** argv);
void finalize() noexcept;
// Ends every rank of the run with `code` (MPI_Abort): for a rank that fails, so that the
// others, which may wait for it in a collective, do not hang. Without MPI: std::exit.
[[noreturn]] void abort(int code) noexcept;

// Waits for every rank.
void barrier();

// The units [begin, end) of rank r when n units are split into size() contiguous blocks
// (the first n % size() ranks get one more).
struct Block {
  std::size_t begin = 0, end = 0;
  std::size_t count() const noexcept { return end - begin; }
};
Block block_of(std::size_t n, int r);
// This rank's block; all of [0, n) inside a LocalScope.
Block my_block(std::size_t n);

// Runs body(i) for i in this rank's block of [0, n) under parallel_for (threads inside
// the rank). Collective: every rank must call it with the same n. When a unit fails on
// any rank, every rank throws: the rank whose failing unit has the lowest index rethrows
// its own exception, the others an error of the same kind (Error, ValueError, FileError,
// Interrupted) with its message, so that all ranks stop at the same point.
// While it runs, the calling thread's ConvergenceTally (if any) is marked as spanning
// ranks: its finish() then sums the counts of every rank.
void distributed_for(std::size_t n, const std::function<void(std::size_t)>& body);

// What distributed_for has run in this process so far: loops, the units this rank ran,
// and the units of those loops in all ranks (for tests and load-balance checks).
struct Counts {
  std::uint64_t loops = 0, units_here = 0, units_total = 0;
};
Counts counts() noexcept;

// While a LocalScope lives, distributed_for on this thread runs every unit here and the
// sharing functions below do nothing (every result is already here): for a caller that
// has already split its work over the ranks (the blocks of a voxel store) and calls code
// that would otherwise split it again. Collectives are then this thread's alone.
class LocalScope {
 public:
  LocalScope() noexcept;
  ~LocalScope();
  LocalScope(const LocalScope&) = delete;
  LocalScope& operator=(const LocalScope&) = delete;

 private:
  bool previous_;
};

// Element-wise maxima over ranks, NaN losing to any number (a rank with no value for an
// entry holds NaN there); exact, so the result does not depend on the order. Collective.
void max(double* data, std::size_t count);

// After distributed_for(n, ...): each rank has filled its block of a unit-major array
// (`width` values per unit); these fill every rank's copy with every block. Collective.
void share_blocks(std::size_t n, std::size_t width, double* data);
void share_blocks(std::size_t n, std::size_t width, std::int64_t* data);
void share_blocks(std::size_t n, std::size_t width, char* data);
// Variable-size units: units[i] for i in this rank's block are set; afterwards every
// rank has them all.
void share_units(std::size_t n, std::vector<std::string>& units);
// Element-wise sums over ranks of integer counts (exact, so order-free). Collective.
void sum(std::int64_t* data, std::size_t count);
// Every rank's values, concatenated in rank order. Collective.
void concat(std::vector<double>& values);
// Rank `from`'s bytes on every rank. Collective.
void broadcast(std::string& bytes, int from);

}  // namespace nl::mpi
