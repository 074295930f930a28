// io/checkpoint.cpp: see nl/io/checkpoint.hpp.
#include "nl/io/checkpoint.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>

#include "nl/core/core.hpp"
#include "nl/core/mpi.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/serial.hpp"

namespace nl {

namespace {
constexpr std::string_view kKind = "ckpt";
constexpr std::uint32_t kVersion = 1;
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Checkpoint::Checkpoint(CheckpointOptions options, std::string kind, std::string fingerprint, std::size_t units)
    : options_(std::move(options)), kind_(std::move(kind)), fingerprint_(std::move(fingerprint)), units_(units) {
  last_save_ = now_seconds();
  if (!active()) return;
  if (!(options_.every >= 0) || !std::isfinite(options_.every))
    throw ValueError(fmt::format("checkpoint_every must be a number of seconds >= 0, got {}", options_.every));
  struct stat st {};
  if (::stat(options_.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;  // a fresh run
    throw FileError(fmt::format("{}: cannot read the checkpoint ({})", options_.path, std::strerror(errno)));
  }
  std::uint32_t version = 0;
  const std::string payload = load_container(options_.path, kKind, kVersion, version);
  Reader r(payload, options_.path, version);
  r.tag("checkpoint");
  const std::string kind_then = r.str(), print = r.str();
  const std::uint64_t units_then = r.u64(), done = r.u64();
  if (kind_then != kind_ || print != fingerprint_ || units_then != units_)
    throw FileError(fmt::format(
        "{}: this checkpoint belongs to another run ({} of {} units, fingerprint {}; this run is a {} of {} "
        "units, fingerprint {}): the data, the options or the seed differ. Remove the file or give another "
        "checkpoint path",
        options_.path, kind_then, units_then, print, kind_, units_, fingerprint_));
  if (done > units_) r.fail("more units done than the run has");
  done_ = static_cast<std::size_t>(done);
  state_ = r.str();
  if (!r.done()) r.fail("bytes after the state");
}

bool Checkpoint::due() const { return active() && mpi::root() && now_seconds() - last_save_ >= options_.every; }

void Checkpoint::save(std::size_t done, std::string_view state) const {
  if (!active() || !mpi::root()) return;
  last_save_ = now_seconds();
  Writer w;
  w.tag("checkpoint");
  w.str(kind_);
  w.str(fingerprint_);
  w.u64(units_);
  w.u64(done);
  w.str(state);
  save_container(options_.path, kKind, kVersion, w.bytes());
}

void Checkpoint::remove() const {
  if (!active() || !mpi::root()) return;
  check_write_access(options_.path);  // the sandbox's output folder only (nl/io/fileio.hpp)
  if (::unlink(options_.path.c_str()) != 0 && errno != ENOENT)
    throw FileError(fmt::format("{}: cannot remove the finished checkpoint ({})", options_.path, std::strerror(errno)));
}

void Checkpoint::run(std::size_t first, std::size_t n, const std::function<void(std::size_t)>& body,
                     const std::function<void(std::size_t, std::size_t)>& round_done) const {
  if (first >= n) return;
  if (!active()) {
    mpi::distributed_for(n - first, [&](std::size_t i) { body(first + i); });
    round_done(first, n);
    return;
  }
  using Clock = std::chrono::steady_clock;
  // The first round: one unit per thread and rank; then sized from the speed so far, so
  // that a round takes about `every` seconds (a write is due at most once per round).
  double per_unit = 0;  // seconds per unit, measured on rank 0, shared
  std::size_t begin = first;
  std::size_t size = static_cast<std::size_t>(std::max(1, threads())) * static_cast<std::size_t>(mpi::size());
  while (begin < n) {
    const std::size_t end = std::min(n, begin + size);
    const auto t0 = Clock::now();
    mpi::distributed_for(end - begin, [&](std::size_t i) { body(begin + i); });
    // The rounds are sized by the units' own time (not the writes').
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    round_done(begin, end);
    // Rank 0's measure decides for all, so that every rank takes the same rounds.
    std::string bytes(reinterpret_cast<const char*>(&took), sizeof took);
    mpi::broadcast(bytes, 0);
    double t = 0;
    std::memcpy(&t, bytes.data(), sizeof t);
    per_unit = t / static_cast<double>(end - begin);
    const double want = per_unit > 0 ? options_.every / per_unit : static_cast<double>(n);
    size = static_cast<std::size_t>(std::clamp(want, 1.0, static_cast<double>(n)));
    begin = end;
  }
}

Fingerprint& Fingerprint::add(const void* data, std::size_t bytes) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) {
    h_ ^= p[i];
    h_ *= 1099511628211ull;
  }
  return *this;
}

std::string Fingerprint::hex() const { return fmt::format("{:016x}", h_); }

}  // namespace nl
