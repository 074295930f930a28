// Tests of nl/stats/permutation (Freedman-Lane) against a plain numpy implementation
// (tests/data/permutation/make_fixtures.py): with the same rearrangements, statistics to
// 1e-10 and p-values exactly; with independent random rearrangements, p-values within
// Monte-Carlo error. Also: exhaustive enumeration, blocks, sign flipping, determinism
// over thread counts, and a brute-force refit for the combined scheme.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <set>
#include <string>

#include "nl/core/core.hpp"
#include "nl/stats/glm.hpp"
#include "nl/stats/permutation.hpp"
#include "stats_fixture.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using nl_test::read_fixture;
using nl_test::rel_close;
namespace st = nl::stats;
using Fixture = std::map<std::string, Matrix>;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const nl::ValueError& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<int> blocks_of(const Fixture& f) {
  const Matrix& b = f.at("blocks");
  std::vector<int> out;
  for (Eigen::Index i = 0; i < b.rows(); ++i) out.push_back(static_cast<int>(b(i, 0)));
  return out;
}

std::vector<st::Shuffle> shuffles_of(const Fixture& f) {
  const Matrix& P = f.at("perm");
  const Matrix& S = f.at("sign");
  std::vector<st::Shuffle> out(static_cast<std::size_t>(P.rows()));
  for (Eigen::Index k = 0; k < P.rows(); ++k)
    for (Eigen::Index i = 0; i < P.cols(); ++i) {
      out[static_cast<std::size_t>(k)].perm.push_back(static_cast<Eigen::Index>(P(k, i)));
      out[static_cast<std::size_t>(k)].sign.push_back(static_cast<signed char>(S(k, i)));
    }
  return out;
}

st::Tail tail_of(const std::string& t) {
  return t == "right" ? st::Tail::Right : t == "left" ? st::Tail::Left : st::Tail::Two;
}

// Monte-Carlo agreement: both estimate the same p from N1 and N2 rearrangements; their
// difference has standard deviation sqrt(p (1 - p) (1/N1 + 1/N2)). Allow 4.5 of those
// (a false alarm has probability ~7e-6 per comparison) plus 2/N1 for the identity,
// which both count, and the discreteness of a count.
void check_mc(const Vector& got, const Matrix& want, double N1, double N2, const char* what) {
  for (Eigen::Index j = 0; j < want.rows(); ++j) {
    const double p = std::max(want(j, 0), 1.0 / N2);
    const double tol = 4.5 * std::sqrt(p * (1 - p) * (1 / N1 + 1 / N2)) + 2 / N1;
    INFO(what << " column " << j + 1 << ": got " << got(j) << ", numpy " << want(j, 0) << ", tolerance " << tol);
    CHECK(std::fabs(got(j) - want(j, 0)) <= tol);
  }
}

void check_case(const std::string& name, st::Exchange scheme, const std::vector<std::string>& tails) {
  const Fixture f = read_fixture("permutation/" + name + ".txt");
  const auto shuffles = shuffles_of(f);
  for (const auto& tail : tails) {
    INFO(name << ", tail " << tail);
    st::PermutationOptions o;
    o.scheme = scheme;
    o.blocks = blocks_of(f);
    o.tail = tail_of(tail);
    const auto given = st::freedman_lane(f.at("Y"), f.at("X"), f.at("C"), o, shuffles);
    CHECK(given.permutations == static_cast<int>(shuffles.size()));
    const Matrix& stat = f.at("stat");
    for (Eigen::Index j = 0; j < stat.rows(); ++j) {
      CHECK(rel_close(given.stat(j), stat(j, 0), 1e-10));
      CHECK(given.p_unc(j) == f.at("given_unc_" + tail)(j, 0));
      CHECK(given.p_fwe(j) == f.at("given_fwe_" + tail)(j, 0));
    }
    const Matrix& maxima = f.at("given_max_" + tail);
    for (Eigen::Index k = 0; k < maxima.rows(); ++k) CHECK(rel_close(given.max_stat(k), maxima(k, 0), 1e-9));

    o.permutations = 5000;
    o.seed = 11;
    const auto mc = st::freedman_lane(f.at("Y"), f.at("X"), f.at("C"), o);
    CHECK(mc.permutations == 5000);
    CHECK_FALSE(mc.exhaustive);
    check_mc(mc.p_unc, f.at("mc_unc_" + tail), 5000, 20000, "uncorrected");
    check_mc(mc.p_fwe, f.at("mc_fwe_" + tail), 5000, 20000, "FWE");
  }
}

}  // namespace

TEST_CASE("Freedman-Lane equals numpy: two-sample with covariates, three tails", "[stats][permutation]") {
  check_case("two_sample", st::Exchange::Permute, {"two", "right", "left"});
}

TEST_CASE("Freedman-Lane equals numpy: F contrast", "[stats][permutation]") {
  check_case("f_test", st::Exchange::Permute, {"F"});
}

TEST_CASE("Freedman-Lane equals numpy: one-sample sign flipping", "[stats][permutation]") {
  check_case("one_sample", st::Exchange::SignFlip, {"two"});
}

TEST_CASE("Freedman-Lane equals numpy: exchangeability blocks", "[stats][permutation]") {
  check_case("blocks", st::Exchange::Permute, {"two"});
}

TEST_CASE("paired design: all within-subject swaps are enumerated, as numpy", "[stats][permutation]") {
  const Fixture f = read_fixture("permutation/paired.txt");
  for (const std::string tail : {"two", "right"}) {
    st::PermutationOptions o;
    o.blocks = blocks_of(f);
    o.tail = tail_of(tail);
    o.permutations = 5000;
    const auto r = st::freedman_lane(f.at("Y"), f.at("X"), f.at("C"), o);
    CHECK(r.exhaustive);
    CHECK(r.permutations == 1024);
    for (Eigen::Index j = 0; j < f.at("stat").rows(); ++j) {
      INFO("tail " << tail << ", column " << j + 1);
      CHECK(rel_close(r.stat(j), f.at("stat")(j, 0), 1e-10));
      CHECK(r.p_unc(j) == f.at("exact_unc_" + tail)(j, 0));
      CHECK(r.p_fwe(j) == f.at("exact_fwe_" + tail)(j, 0));
    }
  }
}

TEST_CASE("rearrangements: identity first, within blocks, seeded, exhaustive when few", "[stats][permutation]") {
  st::PermutationOptions o;
  o.permutations = 200;
  o.seed = 5;
  o.blocks = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
  bool exhaustive = true;
  const auto a = st::make_shuffles(10, o, &exhaustive);
  CHECK_FALSE(exhaustive);  // 3! 4! 3! = 864 > 200
  REQUIRE(a.size() == 200);
  for (Eigen::Index i = 0; i < 10; ++i) CHECK(a[0].perm[static_cast<std::size_t>(i)] == i);
  std::set<std::vector<Eigen::Index>> distinct;
  for (const auto& s : a) {
    CHECK(s.sign.empty());
    for (std::size_t i = 0; i < 10; ++i) CHECK(o.blocks[i] == o.blocks[static_cast<std::size_t>(s.perm[i])]);
    distinct.insert(s.perm);
  }
  CHECK(distinct.size() > 150);
  CHECK(st::make_shuffles(10, o)[17].perm == a[17].perm);
  o.seed = 6;
  CHECK(st::make_shuffles(10, o)[17].perm != a[17].perm);

  o.permutations = 1000;  // now 864 <= 1000: all of them, each once
  const auto all = st::make_shuffles(10, o, &exhaustive);
  CHECK(exhaustive);
  CHECK(all.size() == 864);
  std::set<std::vector<Eigen::Index>> every;
  for (const auto& s : all) every.insert(s.perm);
  CHECK(every.size() == 864);

  st::PermutationOptions flip;
  flip.scheme = st::Exchange::SignFlip;
  flip.permutations = 64;
  const auto flips = st::make_shuffles(6, flip, &exhaustive);
  CHECK(exhaustive);
  std::set<std::vector<signed char>> signs;
  for (const auto& s : flips) signs.insert(s.sign);
  CHECK(signs.size() == 64);
  CHECK(flips[0].sign == std::vector<signed char>(6, 1));
}

TEST_CASE("Freedman-Lane is bit-identical on 1 and 2 threads and its t is the GLM's", "[stats][permutation]") {
  const Fixture f = read_fixture("permutation/two_sample.txt");
  st::PermutationOptions o;
  o.permutations = 999;
  o.seed = 42;
  const int before = nl::threads();
  nl::set_threads(1);
  const auto one = st::freedman_lane(f.at("Y"), f.at("X"), f.at("C"), o);
  nl::set_threads(2);
  const auto two = st::freedman_lane(f.at("Y"), f.at("X"), f.at("C"), o);
  nl::set_threads(before);
  CHECK(one.max_stat == two.max_stat);
  CHECK(one.p_unc == two.p_unc);
  CHECK(one.p_fwe == two.p_fwe);
  CHECK(one.max_stat(0) == one.stat.cwiseAbs().maxCoeff());
  const auto t = st::t_contrast(st::glm_fit(f.at("X"), f.at("Y")), f.at("C").row(0).transpose());
  for (Eigen::Index j = 0; j < t.t.size(); ++j) CHECK(rel_close(one.stat(j), t.t(j), 1e-10));
  // FWE p is never below the uncorrected p, and the identity bounds both below.
  for (Eigen::Index j = 0; j < t.t.size(); ++j) {
    CHECK(one.p_fwe(j) >= one.p_unc(j));
    CHECK(one.p_unc(j) >= 1.0 / 999);
  }
}

// Direct refit of Y* = P R_Z Y + H_Z Y for every rearrangement, through glm_fit.
TEST_CASE("Freedman-Lane kernel equals a direct refit for permutations with sign flips in blocks",
          "[stats][permutation]") {
  nl::Rng rng(9);
  const Eigen::Index n = 14, m = 6;
  Matrix X(n, 3), Y(n, m);
  for (Eigen::Index i = 0; i < n; ++i) {
    X(i, 0) = 1;
    X(i, 1) = rng.normal();
    X(i, 2) = i % 2;
    for (Eigen::Index j = 0; j < m; ++j) Y(i, j) = rng.normal() + 0.5 * X(i, 1) + (j == 0 ? X(i, 2) : 0.0);
  }
  Matrix C(1, 3);
  C << 0, 0, 1;
  st::PermutationOptions o;
  o.scheme = st::Exchange::Both;
  o.blocks = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1};
  o.permutations = 300;
  o.seed = 1;
  const auto r = st::freedman_lane(Y, X, C, o);
  const auto shuffles = st::make_shuffles(n, o);
  // H_Z for Z = [1, x1] (the null model of this contrast).
  const Matrix Z = X.leftCols(2);
  const Matrix Hz = Z * nl::pinv(Z);
  const Matrix E = Y - Hz * Y;
  std::vector<std::int64_t> count(static_cast<std::size_t>(m), 0);
  Vector maxima(static_cast<Eigen::Index>(shuffles.size()));
  const Vector T0 = r.stat.cwiseAbs();
  for (std::size_t k = 0; k < shuffles.size(); ++k) {
    Matrix Ys = Hz * Y;
    for (Eigen::Index i = 0; i < n; ++i)
      Ys.row(i) += shuffles[k].sign[static_cast<std::size_t>(i)] * E.row(shuffles[k].perm[static_cast<std::size_t>(i)]);
    const Vector T = st::t_contrast(st::glm_fit(X, Ys), C.row(0).transpose()).t.cwiseAbs();
    maxima(static_cast<Eigen::Index>(k)) = T.maxCoeff();
    CHECK(rel_close(r.max_stat(static_cast<Eigen::Index>(k)), maxima(static_cast<Eigen::Index>(k)), 1e-9));
    for (Eigen::Index j = 0; j < m; ++j) count[static_cast<std::size_t>(j)] += T(j) >= T0(j) * (1 - 1e-10);
  }
  for (Eigen::Index j = 0; j < m; ++j) {
    CHECK(r.p_unc(j) == static_cast<double>(count[static_cast<std::size_t>(j)]) / 300.0);
    CHECK(r.p_fwe(j) == static_cast<double>((maxima.array() >= T0(j) * (1 - 1e-10)).count()) / 300.0);
  }
}

TEST_CASE("Freedman-Lane errors name the argument", "[stats][permutation]") {
  Matrix X = Matrix::Ones(8, 2), Y = Matrix::Random(8, 3);
  for (int i = 0; i < 8; ++i) X(i, 1) = i % 2;
  Matrix C(1, 2);
  C << 0, 1;
  st::PermutationOptions o;
  o.blocks = {0, 1};
  CHECK(error_of([&] { st::freedman_lane(Y, X, C, o); }) == "blocks has 2 entries but the data have 8 rows");
  o.blocks.clear();
  o.permutations = 0;
  CHECK(error_of([&] { st::freedman_lane(Y, X, C, o); }) == "permutations must be at least 1, got 0");
  o.permutations = 10;
  CHECK(error_of([&] { st::freedman_lane(Y.topRows(7), X, C, o); }) == "design has 8 rows but the data have 7");
  std::vector<st::Shuffle> bad(1);
  bad[0].perm = {1, 0, 2, 3, 4, 5, 6, 7};
  CHECK(error_of([&] { st::freedman_lane(Y, X, C, o, bad); }) == "the first rearrangement must be the identity");
  bad[0].perm = {0, 1, 2, 3, 4, 5, 6, 7};
  bad[0].sign = {1, -1, 1, 1, 1, 1, 1, 1};
  CHECK(error_of([&] { st::freedman_lane(Y, X, C, o, bad); }).find("flips signs but the scheme is permutation") !=
        std::string::npos);
}

TEST_CASE("the AVX2 product and the Eigen product give the same statistics", "[stats][permutation]") {
  const Fixture f = read_fixture("permutation/f_test.txt");
  st::PermutationOptions o;
  o.permutations = 300;
  o.seed = 4;
  const auto fast = st::freedman_lane(f.at("Y"), f.at("X"), f.at("C"), o);
  ::setenv("NEUROLUA_NO_SIMD", "1", 1);
  const auto plain = st::freedman_lane(f.at("Y"), f.at("X"), f.at("C"), o);
  ::unsetenv("NEUROLUA_NO_SIMD");
  for (Eigen::Index k = 0; k < fast.max_stat.size(); ++k) CHECK(rel_close(fast.max_stat(k), plain.max_stat(k), 1e-12));
  CHECK(fast.p_unc == plain.p_unc);
  CHECK(fast.p_fwe == plain.p_fwe);
}

TEST_CASE("Freedman-Lane on a rank-deficient design equals the full-rank equivalent", "[stats][permutation]") {
  // [1, g0, g1, age] spans the same space as [g0, g1, age]; g0 - g1 is estimable in both.
  const Fixture f = read_fixture("permutation/two_sample.txt");
  const Matrix& X = f.at("X");  // [g0, g1, age, sex]
  Matrix Xd(X.rows(), 5);
  Xd << Matrix::Ones(X.rows(), 1), X;
  Matrix Cd(1, 5);
  Cd << 0, 1, -1, 0, 0;
  st::PermutationOptions o;
  o.permutations = 500;
  o.seed = 8;
  const auto full = st::freedman_lane(f.at("Y"), X, f.at("C"), o);
  const auto deficient = st::freedman_lane(f.at("Y"), Xd, Cd, o);
  for (Eigen::Index j = 0; j < full.stat.size(); ++j) {
    CHECK(rel_close(deficient.stat(j), full.stat(j), 1e-10));
    CHECK(deficient.p_unc(j) == full.p_unc(j));
    CHECK(deficient.p_fwe(j) == full.p_fwe(j));
  }
  for (Eigen::Index k = 0; k < full.max_stat.size(); ++k) CHECK(rel_close(deficient.max_stat(k), full.max_stat(k), 1e-9));
}

TEST_CASE("the gamma tail approximation of the FWE p equals scipy's Pearson III", "[stats][permutation]") {
  const Fixture g = read_fixture("permutation/gamma.txt");
  const Matrix& grid = g.at("grid");
  for (Eigen::Index r = 0; r < grid.rows(); ++r) {
    INFO("x " << grid(r, 0) << ", skew " << grid(r, 3));
    const double got = st::pearson3_upper(grid(r, 0), grid(r, 1), grid(r, 2), grid(r, 3));
    CHECK(std::fabs(got - grid(r, 4)) <= 1e-12 + 1e-9 * grid(r, 4));
  }
  const Fixture f = read_fixture("permutation/two_sample.txt");
  st::PermutationOptions o;
  const auto r = st::freedman_lane(f.at("Y"), f.at("X"), f.at("C"), o, shuffles_of(f));
  const Matrix& want = g.at("p_fwe_gamma");
  for (Eigen::Index j = 0; j < want.rows(); ++j) CHECK(rel_close(r.p_fwe_gamma(j), want(j, 0), 1e-9));
  // Where the count is 1 / N (no rearrangement reaches the observed), the approximation
  // goes below it.
  for (Eigen::Index j = 0; j < want.rows(); ++j)
    if (r.p_fwe(j) == 1.0 / 400) CHECK(r.p_fwe_gamma(j) < 1.0 / 400);
}

TEST_CASE("the gamma FWE p holds its level under the null", "[stats][permutation]") {
  // 400 null data sets, 16 rows, two groups, 30 correlated columns, 100 permutations
  // each: the rate of min p_fwe_gamma <= 0.05 (Monte-Carlo sd 0.011) and <= 0.01.
  int hits = 0, small = 0;
  const int sets = 400;
  Matrix X = Matrix::Ones(16, 2);
  for (Eigen::Index i = 0; i < 8; ++i) X(i, 1) = 0;
  Matrix C(1, 2);
  C << 0, 1;
  for (int s = 0; s < sets; ++s) {
    nl::Rng rng(77, static_cast<std::uint64_t>(s));
    Matrix Y(16, 30);
    for (Eigen::Index i = 0; i < 16; ++i) {
      const double shared = rng.normal();
      for (Eigen::Index j = 0; j < 30; ++j) Y(i, j) = shared + rng.normal();
    }
    st::PermutationOptions o;
    o.permutations = 100;
    o.seed = static_cast<std::uint64_t>(s) + 1;
    const auto r = st::freedman_lane(Y, X, C, o);
    hits += r.p_fwe_gamma.minCoeff() <= 0.05;
    small += r.p_fwe_gamma.minCoeff() <= 0.01;
  }
  CHECK(static_cast<double>(hits) / sets >= 0.017);
  CHECK(static_cast<double>(hits) / sets <= 0.083);
  CHECK(static_cast<double>(small) / sets <= 0.03);
}
