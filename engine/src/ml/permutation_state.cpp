// ml/permutation_state.cpp: a nested-CV permutation test's results across MPI ranks and
// in its checkpoint (nl/core/mpi.hpp, nl/io/checkpoint.hpp); used by ml/nested_cv.cpp.
#include <algorithm>
#include <string>

#include "nested_cv_plan.hpp"
#include "nl/core/mpi.hpp"
#include "nl/io/checkpoint.hpp"
#include "nl/io/serial.hpp"

namespace nl::ml::detail {

// Under MPI: the kept null labels and medians of permutations [begin, end), computed in
// blocks over the ranks, on every rank.
void share_null(PermutationResult& r, std::size_t rows, std::size_t begin, std::size_t end) {
  if (mpi::size() <= 1 || r.null_labels.empty()) return;
  const std::size_t n = end - begin;
  for (std::vector<Vector>* v : {&r.null_labels, &r.null_medians}) {
    std::vector<double> flat(n * rows, 0.0);
    const mpi::Block b = mpi::my_block(n);
    for (std::size_t k = b.begin; k < b.end; ++k)
      std::copy((*v)[begin + k].data(), (*v)[begin + k].data() + rows, flat.begin() + static_cast<std::ptrdiff_t>(k * rows));
    mpi::share_blocks(n, rows, flat.data());
    for (std::size_t k = 0; k < n; ++k)
      (*v)[begin + k] = Eigen::Map<const Vector>(flat.data() + k * rows, static_cast<Index>(rows));
  }
}

// The state of permutations 0..done-1 in a checkpoint: their statistics, and their null
// labels and medians when kept.
std::string permutation_state(const PermutationResult& r, std::size_t done) {
  Writer w;
  w.doubles(std::vector<double>(r.bac.begin(), r.bac.begin() + static_cast<std::ptrdiff_t>(done)));
  w.u64(r.null_labels.empty() ? 0 : done);
  for (std::size_t k = 0; k < (r.null_labels.empty() ? 0 : done); ++k) {
    w.vector(r.null_labels[k]);
    w.vector(r.null_medians[k]);
  }
  return w.bytes();
}

void restore_permutations(PermutationResult& r, const Checkpoint& ck) {
  Reader rd(ck.state(), ck.path(), 1);
  const std::vector<double> bac = rd.doubles();
  const std::uint64_t kept = rd.u64();
  if (bac.size() != ck.done() || (kept != 0 && kept != ck.done()) || (kept == 0) != r.null_labels.empty())
    rd.fail("the saved permutations do not match the run");
  std::copy(bac.begin(), bac.end(), r.bac.begin());
  for (std::size_t k = 0; k < kept; ++k) {
    r.null_labels[k] = rd.vector();
    r.null_medians[k] = rd.vector();
  }
  if (!rd.done()) rd.fail("bytes after the saved permutations");
}

}  // namespace nl::ml::detail
