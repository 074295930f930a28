// nl/core/mpi.cpp: see nl/core/mpi.hpp.
#include "nl/core/mpi.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"

#ifdef NL_HAVE_MPI
// The C API only: Open MPI's mpi.h otherwise declares its removed C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace nl::mpi {

namespace {

bool g_active = false;
thread_local bool t_local = false;
Counts g_counts;
int g_rank = 0;
int g_size = 1;
// One rank, or inside a LocalScope: every collective is a no-op (all data are here).
bool alone() noexcept { return g_size <= 1 || t_local; }

#ifdef NL_HAVE_MPI
// Bytes sent per collective call: MPI counts are ints.
constexpr std::size_t kPiece = std::size_t{1} << 30;

enum class Kind : char { Error = 0, Value = 1, File = 2, Interrupt = 3, Other = 4 };

Kind kind_of(const std::exception_ptr& e, std::string& message) {
  try {
    std::rethrow_exception(e);
  } catch (const Interrupted& x) {
    message = x.what();
    return Kind::Interrupt;
  } catch (const ValueError& x) {
    message = x.what();
    return Kind::Value;
  } catch (const FileError& x) {
    message = x.what();
    return Kind::File;
  } catch (const Error& x) {
    message = x.what();
    return Kind::Error;
  } catch (const std::exception& x) {
    message = x.what();
    return Kind::Other;
  } catch (...) {
    message = "unknown error";
    return Kind::Other;
  }
}

[[noreturn]] void throw_kind(Kind k, const std::string& message) {
  switch (k) {
    case Kind::Interrupt: throw Interrupted();
    case Kind::Value: throw ValueError(message);
    case Kind::File: throw FileError(message);
    default: throw Error(message);
  }
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(fmt::format("MPI: {} failed: {}", what, std::string(text, static_cast<std::size_t>(len))));
}

// Rank `from`'s bytes [data, data + bytes) on every rank, in pieces.
void bcast_bytes(void* data, std::size_t bytes, int from) {
  auto* p = static_cast<char*>(data);
  for (std::size_t off = 0; off < bytes; off += kPiece) {
    const auto len = static_cast<int>(std::min(kPiece, bytes - off));
    check(MPI_Bcast(p + off, len, MPI_BYTE, from, MPI_COMM_WORLD), "MPI_Bcast");
  }
}
#endif

void share_bytes(std::size_t n, std::size_t unit_bytes, void* data) {
#ifdef NL_HAVE_MPI
  if (alone()) return;
  for (int r = 0; r < g_size; ++r) {
    const Block b = block_of(n, r);
    bcast_bytes(static_cast<char*>(data) + b.begin * unit_bytes, b.count() * unit_bytes, r);
  }
#else
  (void)n, (void)unit_bytes, (void)data;
#endif
}

}  // namespace

bool built() noexcept {
#ifdef NL_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool active() noexcept { return g_active; }
int rank() noexcept { return g_rank; }
int size() noexcept { return t_local ? 1 : g_size; }

bool launched_by_mpi() noexcept {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

std::string describe() {
#ifdef NL_HAVE_MPI
  if (!g_active)
    return launched_by_mpi() ? "MPI not initialised" : "one process (not started by mpirun; run `mpirun -n N neurolua script.lua`)";
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string v(version, static_cast<std::size_t>(len));
  if (const auto cut = v.find_first_of(",\n"); cut != std::string::npos) v.resize(cut);
  return fmt::format("rank {} of {} ({}; {} thread{} per rank)", g_rank, g_size, v, threads(), threads() == 1 ? "" : "s");
#else
  return "one process (neurolua was built without MPI: install openmpi-bin and libopenmpi-dev and rebuild)";
#endif
}

void init(int* argc, char*** argv) {
#ifdef NL_HAVE_MPI
  if (g_active || !launched_by_mpi()) return;
  int provided = 0;
  // Only the main thread calls MPI (the workers of parallel_for never do).
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
  g_active = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  if (!std::getenv("NEUROLUA_THREADS")) {
    int local = 0;
    for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
      if (const char* s = std::getenv(v); s && local <= 0) local = std::atoi(s);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (local > 0) set_threads(std::clamp(cores / local, 1, kMaxThreads));
  }
#else
  (void)argc, (void)argv;
#endif
}

void finalize() noexcept {
#ifdef NL_HAVE_MPI
  if (!g_active) return;
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
#endif
}

void abort(int code) noexcept {
  std::fflush(nullptr);
#ifdef NL_HAVE_MPI
  if (g_active) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

void barrier() {
#ifdef NL_HAVE_MPI
  if (g_size > 1) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#endif
}

Block block_of(std::size_t n, int r) {
  const auto s = static_cast<std::size_t>(g_size), k = static_cast<std::size_t>(r);
  const std::size_t base = n / s, extra = n % s;
  Block b;
  b.begin = k * base + std::min(k, extra);
  b.end = b.begin + base + (k < extra ? 1 : 0);
  return b;
}

Block my_block(std::size_t n) { return t_local ? Block{0, n} : block_of(n, g_rank); }

Counts counts() noexcept { return g_counts; }

void distributed_for(std::size_t n, const std::function<void(std::size_t)>& body) {
  ++g_counts.loops;
  g_counts.units_total += n;
  g_counts.units_here += my_block(n).count();
  if (alone()) {
    parallel_for(n, body);
    return;
  }
  if (ConvergenceTally* t = detail::current_tally()) t->span_ranks();
  const Block mine = my_block(n);
  std::exception_ptr failure;
  [[maybe_unused]] std::size_t failed_at = n;
  try {
    parallel_for(mine.count(), [&](std::size_t i) { body(mine.begin + i); });
  } catch (...) {
    failure = std::current_exception();
    failed_at = mine.begin;  // parallel_for rethrows the first failure by index; its
                             // exact index is unknown, the block's start orders ranks
  }
#ifdef NL_HAVE_MPI
  unsigned long long local = failed_at, first = 0;
  check(MPI_Allreduce(&local, &first, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  if (first >= n) return;
  // The failing rank with the lowest block says what went wrong.
  int owner = 0;
  for (int r = 0; r < g_size; ++r) {
    const Block b = block_of(n, r);
    if (b.count() > 0 && b.begin == first) {
      owner = r;
      break;
    }
  }
  std::string message;
  char kind = 0;
  if (g_rank == owner) kind = static_cast<char>(kind_of(failure, message));
  check(MPI_Bcast(&kind, 1, MPI_CHAR, owner, MPI_COMM_WORLD), "MPI_Bcast");
  broadcast(message, owner);
  if (g_rank == owner) std::rethrow_exception(failure);
  throw_kind(static_cast<Kind>(kind), message);
#else
  if (failure) std::rethrow_exception(failure);
#endif
}

LocalScope::LocalScope() noexcept : previous_(t_local) { t_local = true; }
LocalScope::~LocalScope() { t_local = previous_; }

void max(double* data, std::size_t count) {
  if (alone()) return;
  std::vector<double> all(data, data + count);
  concat(all);  // every rank's values, rank after rank
  for (std::size_t i = 0; i < count; ++i) {
    double m = std::numeric_limits<double>::quiet_NaN();
    for (int r = 0; r < g_size; ++r) {
      const double v = all[static_cast<std::size_t>(r) * count + i];
      if (!std::isnan(v) && !(v <= m)) m = v;
    }
    data[i] = m;
  }
}

void share_blocks(std::size_t n, std::size_t width, double* data) { share_bytes(n, width * sizeof(double), data); }
void share_blocks(std::size_t n, std::size_t width, std::int64_t* data) {
  share_bytes(n, width * sizeof(std::int64_t), data);
}
void share_blocks(std::size_t n, std::size_t width, char* data) { share_bytes(n, width, data); }

void broadcast(std::string& bytes, int from) {
#ifdef NL_HAVE_MPI
  if (alone()) return;
  unsigned long long len = bytes.size();
  check(MPI_Bcast(&len, 1, MPI_UNSIGNED_LONG_LONG, from, MPI_COMM_WORLD), "MPI_Bcast");
  bytes.resize(static_cast<std::size_t>(len));
  bcast_bytes(bytes.data(), bytes.size(), from);
#else
  (void)bytes, (void)from;
#endif
}

void share_units(std::size_t n, std::vector<std::string>& units) {
  if (alone()) return;
  units.resize(n);
  for (int r = 0; r < g_size; ++r) {
    const Block b = block_of(n, r);
    // One message per rank: each unit's length, then the bytes.
    std::string packed;
    if (r == g_rank) {
      for (std::size_t i = b.begin; i < b.end; ++i) {
        const std::uint64_t len = units[i].size();
        packed.append(reinterpret_cast<const char*>(&len), sizeof len);
        packed += units[i];
      }
    }
    broadcast(packed, r);
    if (r == g_rank) continue;
    std::size_t at = 0;
    for (std::size_t i = b.begin; i < b.end; ++i) {
      std::uint64_t len = 0;
      std::memcpy(&len, packed.data() + at, sizeof len);
      at += sizeof len;
      units[i].assign(packed, at, static_cast<std::size_t>(len));
      at += static_cast<std::size_t>(len);
    }
  }
}

void sum(std::int64_t* data, std::size_t count) {
#ifdef NL_HAVE_MPI
  if (alone()) return;
  constexpr std::size_t piece = kPiece / sizeof(std::int64_t);
  for (std::size_t off = 0; off < count; off += piece) {
    const auto len = static_cast<int>(std::min(piece, count - off));
    check(MPI_Allreduce(MPI_IN_PLACE, data + off, len, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
#else
  (void)data, (void)count;
#endif
}

void concat(std::vector<double>& values) {
  if (alone()) return;
  std::vector<std::string> parts(static_cast<std::size_t>(g_size));
  parts[static_cast<std::size_t>(g_rank)].assign(reinterpret_cast<const char*>(values.data()),
                                                 values.size() * sizeof(double));
  share_units(static_cast<std::size_t>(g_size), parts);
  values.clear();
  for (const std::string& p : parts) {
    const std::size_t k = p.size() / sizeof(double), at = values.size();
    values.resize(at + k);
    std::memcpy(values.data() + at, p.data(), k * sizeof(double));
  }
}

}  // namespace nl::mpi
