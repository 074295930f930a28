// ml/robpca.cpp: ROBPCA (see nl/ml/robpca.hpp for the algorithm, the contract, the
// paper and every deviation from rrcov::PcaHubert). Names follow rrcov's R code: X is
// the data in the coordinates of the classical PCA, rot maps those back, Xh the h-subset,
// X2 the k-dimensional scores, odh the orthogonal distances of the reweighting step.
#include "nl/ml/robpca.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
#include <numeric>

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"
#include "nl/ml/pca.hpp"

namespace nl::ml {
namespace {

using stats::McdOptions;
using stats::McdResult;

constexpr double kEps = std::numeric_limits<double>::epsilon();

double qnorm(double prob) {
  return boost::math::quantile(boost::math::normal_distribution<double>(), prob);
}

double qchisq(double prob, double df) {
  return boost::math::quantile(boost::math::chi_squared_distribution<double>(df), prob);
}

// ---------------------------------------------------------------- classical PCA with rank

// rrcov's .classPC(x): centre by the column means, then the SVD of the centred data when
// n > p, else the eigen-decomposition of the n x n Gram matrix (cheaper when p is large).
// The rank rules are R's: singular values >= max(n, p) eps s_1 (rankMM), or eigenvalues
// > n eps max(eigenvalue). Eigenvalues are s^2 / (n - 1); loadings are sign-normalised.
// Only the first ncols loadings (and scores) are formed: the callers use no more.
struct ClassPc {
  Vector center;
  Matrix loadings;  // p x min(rank, ncols)
  Vector eigenvalues;  // all rank of them
  Index rank = 0;
  Matrix scores;    // (x - center) loadings, when asked for
};

// Flips loadings column j to make its largest |entry| positive; returns the sign used.
double flip_column(Matrix& L, Index j) {
  Index imax = 0;
  L.col(j).cwiseAbs().maxCoeff(&imax);
  if (L(imax, j) >= 0) return 1.0;
  L.col(j) = -L.col(j);
  return -1.0;
}

void gram_pc(ClassPc& out, const Matrix& xc, const Matrix& G, Index ncols, bool want_scores);

ClassPc class_pc(const Matrix& x, Index ncols = std::numeric_limits<Index>::max(),
                 bool want_scores = false) {
  const Index n = x.rows(), p = x.cols();
  ClassPc out;
  out.center = x.colwise().mean().transpose();
  const Matrix xc = x.rowwise() - out.center.transpose();
  const double denom = static_cast<double>(n - 1);
  if (n > p) {
    // Small p (the k-dimensional score space): the eigen-decomposition of the p x p
    // cross-product is enough unless it is near singular, where only the SVD resolves
    // R's rank threshold.
    Matrix C = Matrix::Zero(p, p);
    C.selfadjointView<Eigen::Lower>().rankUpdate(xc.transpose());
    Eigen::SelfAdjointEigenSolver<Matrix> es(C);
    const Vector ev = es.eigenvalues().reverse();
    if (ev[p - 1] > 1e-8 * ev[0]) {
      out.rank = p;
      out.loadings = es.eigenvectors().rowwise().reverse().leftCols(std::min(p, ncols));
      out.eigenvalues = ev / denom;
    } else {
      Eigen::BDCSVD<Matrix> svd(xc, Eigen::ComputeThinV);
      const Vector& d = svd.singularValues();
      const double tol = static_cast<double>(std::max(n, p)) * kEps * d[0];
      out.rank = d[0] > 0 ? static_cast<Index>((d.array() >= tol).count()) : 0;
      out.loadings = svd.matrixV().leftCols(std::min(out.rank, ncols));
      out.eigenvalues = d.head(out.rank).array().square() / denom;
    }
    for (Index j = 0; j < out.loadings.cols(); ++j) flip_column(out.loadings, j);
    if (want_scores) out.scores = xc * out.loadings;
  } else {
    Matrix G = Matrix::Zero(n, n);
    G.selfadjointView<Eigen::Lower>().rankUpdate(xc);
    gram_pc(out, xc, G, ncols, want_scores);
  }
  return out;
}

// The n <= p branch of class_pc, given the centred rows xc and their Gram matrix G
// (lower triangle read).
void gram_pc(ClassPc& out, const Matrix& xc, const Matrix& G, Index ncols, bool want_scores) {
  const Index n = xc.rows();
  const double denom = static_cast<double>(n - 1);
  // Few components of many (the h-subset PCAs want k of ~n): all eigenvalues but only
  // the top eigenvectors (nl::sym_eigen_top); otherwise the full decomposition.
  Vector evs;
  Matrix Vall;
  if (2 * ncols <= n) {
    SymEigenTop top = sym_eigen_top(G, ncols);
    evs = std::move(top.values);
    Vall = std::move(top.vectors);
  } else {
    Eigen::SelfAdjointEigenSolver<Matrix> es(G);
    evs = es.eigenvalues().reverse();  // descending
    Vall = es.eigenvectors().rowwise().reverse();
  }
  const double tol = static_cast<double>(n) * evs[0] * kEps;
  out.rank = static_cast<Index>((evs.array() > tol).count());
  const Index c = std::min(out.rank, ncols);
  const Matrix V = Vall.leftCols(c);
  const Vector sq = evs.head(c).cwiseSqrt();
  out.loadings = xc.transpose() * V * sq.cwiseInverse().asDiagonal();
  out.eigenvalues = evs.head(out.rank) / denom;
  // Scores x_c P = G V / sqrt(ev) = V sqrt(ev), with the column signs of P.
  if (want_scores) out.scores.resize(n, c);
  for (Index j = 0; j < c; ++j) {
    const double sign = flip_column(out.loadings, j);
    if (want_scores) out.scores.col(j) = V.col(j) * (sign * sq[j]);
  }
}

Matrix rows_of(const Matrix& X, const std::vector<Index>& idx) {
  Matrix out(static_cast<Index>(idx.size()), X.cols());
  for (std::size_t i = 0; i < idx.size(); ++i) out.row(static_cast<Index>(i)) = X.row(idx[i]);
  return out;
}

// class_pc of the rows `idx` of X when the Gram matrix gram = X X' of all rows is known
// (n <= p): the Gram matrix of the subset about its own mean is gram restricted to the
// subset and double-centred, (x_i - m)'(x_j - m) = g_ij - r_i - r_j + s with r_i the
// row means and s their mean, which spares the subset's n^2 p / 2 multiply-adds.
ClassPc class_pc_rows(const Matrix& X, const Matrix* gram, const std::vector<Index>& idx,
                      Index ncols) {
  const Index m = static_cast<Index>(idx.size());
  if (!gram || m > X.cols()) return class_pc(rows_of(X, idx), ncols);
  ClassPc out;
  const Matrix xs = rows_of(X, idx);
  out.center = xs.colwise().mean().transpose();
  const Matrix xc = xs.rowwise() - out.center.transpose();
  Matrix G(m, m);
  for (Index j = 0; j < m; ++j)
    for (Index i = 0; i < m; ++i) G(i, j) = (*gram)(idx[i], idx[j]);
  const Vector rm = G.rowwise().mean();
  const double sm = rm.mean();
  for (Index j = 0; j < m; ++j)
    for (Index i = j; i < m; ++i) G(i, j) = ((G(i, j) - rm[i]) - rm[j]) + sm;
  gram_pc(out, xc, G, ncols, false);
  return out;
}

// Number of eigenvalues of the symmetric tridiagonal matrix (diagonal a, off-diagonal b)
// that are smaller than x: the negative pivots of the LDL' factorisation of T - xI
// (Sturm count, as LAPACK's dlaebz, with a zero pivot nudged to -pivmin).
Index sturm_count(const Vector& a, const Vector& b, double x, double pivmin) {
  const Index n = a.size();
  Index count = 0;
  double q = a[0] - x;
  for (Index i = 0;;) {
    if (std::fabs(q) < pivmin) q = -pivmin;
    count += q < 0;
    if (++i == n) break;
    q = (a[i] - x) - b[i - 1] * b[i - 1] / q;
  }
  return count;
}

// rrcov's rank of centred data from their n x n Gram matrix G (.classPC for n <= p): the
// number of eigenvalues of G above n eps lambda_max. Only the count is needed, so the
// eigenvalues are not computed: G is reduced to tridiagonal form, lambda_max is found by
// bisection on Sturm counts (to a relative accuracy of a few eps), and one more count at
// the threshold gives the rank. This agrees with counting the eigenvalues of a full
// eigen-decomposition except for eigenvalues within rounding of the threshold, where
// neither answer is better (both are rounding noise).
Index gram_rank(const Matrix& G) {
  const Index n = G.rows();
  if (n == 1) return G(0, 0) > 0 ? 1 : 0;
  Eigen::Tridiagonalization<Matrix> tri(G);
  const Vector a = tri.diagonal();
  const Vector b = tri.subDiagonal();
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, bmax = 0.0;
  for (Index i = 0; i < n; ++i) {  // Gershgorin bounds
    const double r = (i > 0 ? std::fabs(b[i - 1]) : 0.0) + (i + 1 < n ? std::fabs(b[i]) : 0.0);
    lo = std::min(lo, a[i] - r);
    hi = std::max(hi, a[i] + r);
    if (i + 1 < n) bmax = std::max(bmax, b[i] * b[i]);
  }
  if (!(hi > 0)) return 0;  // G = 0
  const double pivmin = std::numeric_limits<double>::min() * std::max(1.0, bmax);
  lo = std::max(lo, 0.0);
  // lambda_max in [lo, hi): count(lo) <= n - 1 < count(hi) = n.
  hi *= 1.0 + 4 * kEps;
  for (int it = 0; it < 200 && hi - lo > 2 * kEps * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (sturm_count(a, b, mid, pivmin) == n)
      hi = mid;
    else
      lo = mid;
  }
  const double lmax = 0.5 * (lo + hi);
  const double tol = static_cast<double>(n) * lmax * kEps;
  return n - sturm_count(a, b, tol, pivmin);
}


// Indices of the h smallest values, ties in index order (R's order(v)[1:h]).
std::vector<Index> order_head(const Vector& v, Index h) {
  std::vector<Index> idx(static_cast<std::size_t>(v.size()));
  std::iota(idx.begin(), idx.end(), Index{0});
  std::stable_sort(idx.begin(), idx.end(), [&](Index a, Index b) { return v[a] < v[b]; });
  idx.resize(static_cast<std::size_t>(h));
  return idx;
}

// Numerical rank as robustbase's rankMM.
Index rank_mm(const Matrix& A) {
  if (A.size() == 0) return 0;
  Eigen::BDCSVD<Matrix> svd(A);
  const Vector& d = svd.singularValues();
  if (!(d[0] > 0)) return 0;
  const double tol = static_cast<double>(std::max(A.rows(), A.cols())) * kEps * d[0];
  return static_cast<Index>((d.array() >= tol).count());
}

// ---------------------------------------------------------------- outlyingness

// Pairs of rows (i, j) whose difference x_i - x_j gives a direction. All pairs (in R's
// combn order) when there are at most ndir of them; otherwise ndir pairs from LIBRA's
// generator (rrcov extradir: seed <- (5761 seed + 999) mod 65536, index floor(u n)) or
// from the nl::Rng stream.
std::vector<std::pair<Index, Index>> direction_pairs(Index n, Index ndir, Directions how,
                                                     Rng& rng) {
  std::vector<std::pair<Index, Index>> pairs;
  const double alldir = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  if (alldir <= static_cast<double>(ndir)) {
    for (Index i = 0; i < n; ++i)
      for (Index j = i + 1; j < n; ++j) pairs.emplace_back(i, j);
    return pairs;
  }
  pairs.reserve(static_cast<std::size_t>(ndir));
  if (how == Directions::Libra) {
    std::uint64_t seed = 0;
    const auto draw = [&]() {
      seed = (seed * 5761 + 999) % 65536;
      return static_cast<Index>((seed * static_cast<std::uint64_t>(n)) >> 16);
    };
    for (Index r = 0; r < ndir; ++r) {
      const Index a = draw();
      Index b = draw();
      while (b == a) b = draw();
      pairs.emplace_back(a, b);
    }
  } else {
    for (Index r = 0; r < ndir; ++r) {
      const Index a = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
      Index b = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n - 1)));
      if (b >= a) ++b;
      pairs.emplace_back(a, b);
    }
  }
  return pairs;
}

// rrcov's outl(X, maxdir, h): outl_i = max over directions v of |x_i'v - t_v| / s_v,
// (t_v, s_v) = unimcd of the projections. All projections are one matrix product.
Vector outlyingness(const Matrix& X, const Matrix* gram, Index ndir, Index h, Directions how, Rng& rng) {
  const Index n = X.rows(), r = X.cols();
  const auto pairs = direction_pairs(n, ndir, how, rng);
  const Index ndirs = static_cast<Index>(pairs.size());
  // Projections y_i = x_i'(x_a - x_b) / ||x_a - x_b||. With fewer rows than twice the
  // directions they are differences of columns of the Gram matrix X X' (n^2 r / 2
  // multiply-adds instead of n r ndir); the norms are always taken of the differences
  // themselves, so coinciding rows give exactly zero, as in rrcov.
  const Matrix Xt = X.transpose();  // rows of X as contiguous columns
  Vector norms(ndirs);
  for (Index c = 0; c < ndirs; ++c)
    norms[c] = (Xt.col(pairs[c].first) - Xt.col(pairs[c].second)).norm();
  Matrix Y(n, ndirs);
  Index m = 0;
  if (n < 2 * ndirs) {
    Matrix Gown;
    if (!gram) {
      Gown = Matrix::Zero(n, n);
      Gown.selfadjointView<Eigen::Lower>().rankUpdate(X);
      Gown.triangularView<Eigen::StrictlyUpper>() = Gown.transpose();
    }
    const Matrix& G = gram ? *gram : Gown;
    for (Index c = 0; c < ndirs; ++c)
      if (norms[c] > 1e-12)
        Y.col(m++) = (G.col(pairs[c].first) - G.col(pairs[c].second)) / norms[c];
  } else {
    Matrix A(r, ndirs);  // unit directions in columns
    for (Index c = 0; c < ndirs; ++c)
      if (norms[c] > 1e-12)
        A.col(m++) = (Xt.col(pairs[c].first) - Xt.col(pairs[c].second)) / norms[c];
    Y.leftCols(m).noalias() = X * A.leftCols(m);
  }
  // The directions are independent: blocks of them run in parallel (nl::parallel_for),
  // each keeping its own maximum; a direction with zero scale throws from the block that
  // holds it, and parallel_for rethrows the first one, as a sequential loop would.
  const stats::UnimcdSetup setup = stats::unimcd_setup(n, h);
  const Index block = 32;
  const Index nblocks = (m + block - 1) / block;
  std::vector<Vector> part(static_cast<std::size_t>(nblocks));
  parallel_for(static_cast<std::size_t>(nblocks), [&](std::size_t b) {
    Vector& mx = part[b];
    mx = Vector::Zero(n);
    const Index end = std::min(m, static_cast<Index>(b + 1) * block);
    for (Index c = static_cast<Index>(b) * block; c < end; ++c) {
      const stats::UnivariateMcd u = stats::unimcd(Y.col(c), setup);
      if (u.scale < 1e-12) {
        // A zero scale: either h rows coincide (an error, as in rrcov) or they merely lie
        // on a hyperplane orthogonal to this direction, which is then skipped.
        const Mask w = stats::unimcd(Y.col(c), setup, true).weights;
        std::vector<Index> rows;
        for (Index i = 0; i < n; ++i)
          if (w[i]) rows.push_back(i);
        if (rank_mm(rows_of(X, rows)) <= 1)
          throw ValueError(fmt::format(
              "robpca: at least {} observations are identical; the outlyingness is undefined",
              rows.size()));
        continue;
      }
      mx = mx.cwiseMax(((Y.col(c).array() - u.center).abs() / u.scale).matrix());
    }
  });
  Vector outl = Vector::Zero(n);
  for (const Vector& mx : part) outl = outl.cwiseMax(mx);
  return outl;
}

// Cutoff for orthogonal distances: the crit quantile of a normal fitted to od^{2/3}
// (Wilson-Hilferty), back-transformed: (t + s z_crit)^{3/2}; (t, s) from the univariate
// MCD with h points (rrcov .crit.od "umcd", LIBRA) or from median and MAD ("medmad").
double od_cutoff(const Vector& od, double crit, Index h, OdCutoff method) {
  const Vector v = od.array().pow(2.0 / 3.0).matrix();
  double t, s;
  if (method == OdCutoff::UniMcd) {
    const stats::UnivariateMcd u = stats::unimcd(v, h);
    t = u.center;
    s = u.scale;
  } else {
    const auto median = [](std::vector<double> x) {
      const std::size_t n = x.size(), m = n / 2;
      std::nth_element(x.begin(), x.begin() + m, x.end());
      const double hi = x[m];
      return n % 2 ? hi : (*std::max_element(x.begin(), x.begin() + m) + hi) / 2.0;
    };
    std::vector<double> x(v.data(), v.data() + v.size());
    t = median(x);
    for (double& e : x) e = std::fabs(e - t);
    s = 1.4826 * median(x);
  }
  return std::pow(t + s * qnorm(crit), 1.5);
}

void validate(const Matrix& X, const RobpcaOptions& o) {
  const Index n = X.rows();
  if (n < 2) throw ValueError(fmt::format("robpca: need at least 2 observations, got {}", n));
  if (X.cols() < 1) throw ValueError("robpca: X has no columns");
  if (o.k < 1) throw ValueError(fmt::format("robpca: k must be at least 1, got {}", o.k));
  if (o.k >= n)
    throw ValueError(
        fmt::format("robpca: k = {} must be smaller than the number of observations n = {}",
                    o.k, n));
  if (o.k + 2 > n)
    throw ValueError(fmt::format(
        "robpca: k = {} needs at least k + 2 = {} observations for the MCD step, got n = {}",
        o.k, o.k + 2, n));
  if (!(o.alpha >= 0.5 && o.alpha <= 1.0))
    throw ValueError(fmt::format("robpca: alpha must be in [0.5, 1], got {}", o.alpha));
  if (o.ndir < 1) throw ValueError("robpca: ndir must be at least 1");
  if (o.mcd_nsamp < 1) throw ValueError("robpca: mcd_nsamp must be at least 1");
  if (o.kmax < 0) throw ValueError("robpca: kmax must not be negative");
  if (!(o.crit > 0.0 && o.crit < 1.0))
    throw ValueError(fmt::format("robpca: crit must be in (0, 1), got {}", o.crit));
  check_finite(X, "robpca");
}

// Eigen-decomposition of a symmetric matrix, eigenvalues descending.
void eigen_desc(const Matrix& S, Vector& values, Matrix& vectors) {
  Eigen::SelfAdjointEigenSolver<Matrix> es(S);
  values = es.eigenvalues().reverse();
  vectors = es.eigenvectors().rowwise().reverse();
}

}  // namespace

// ---------------------------------------------------------------- ROBPCA

RobpcaFit robpca_fit(const Matrix& data, const RobpcaOptions& o) {
  validate(data, o);
  const Index n = data.rows();
  Rng rng(o.seed);
  RobpcaFit fit;

  // Step 0: the affine subspace spanned by the data: its rank r (rrcov's .classPC).
  // rrcov then works in the coordinates of the classical PCA (the scores, n x r); the
  // steps below are equivariant under that rotation, so apart from the low-dimensional
  // MCD branch they work on the centred data themselves (n x p), which spares the
  // eigenvectors of the n x n Gram matrix (the same results up to rounding).
  const Index p = data.cols();
  Vector center = data.colwise().mean().transpose();
  const Matrix Xc0 = data.rowwise() - center.transpose();
  Matrix gram;  // Xc0 Xc0' when n <= p (also the outlyingness projections)
  Index r;
  if (n > p) {
    r = class_pc(data, 0).rank;
  } else {
    gram = Matrix::Zero(n, n);
    gram.selfadjointView<Eigen::Lower>().rankUpdate(Xc0);
    gram.triangularView<Eigen::StrictlyUpper>() = gram.transpose();
    r = gram_rank(gram);
  }
  if (r == 0) throw ValueError("robpca: all data points collapse (the centred data have rank 0)");
  if (o.k > r)
    throw ValueError(fmt::format(
        "robpca: k = {} exceeds the rank {} of the centred data; choose k <= {}", o.k, r, r));
  Index k = o.k;
  const Index kmax = std::max<Index>(std::min(std::max(o.kmax, k), r), 1);
  const Index h = stats::h_alpha_n(o.alpha, n, k);

  if (o.mcd && r <= std::min(n / 5, kmax)) {
    // Step 1: few dimensions: eigenvectors of the reweighted MCD covariance of the
    // scores (this branch needs rrcov's coordinates: the MCD is not rotation invariant).
    const ClassPc pc0 = class_pc(data, std::numeric_limits<Index>::max(), true);
    r = pc0.rank;  // the same count, unless an eigenvalue sits at the threshold
    if (o.k > r)
      throw ValueError(fmt::format(
          "robpca: k = {} exceeds the rank {} of the centred data; choose k <= {}", o.k, r, r));
    const Matrix& X = pc0.scores;
    const Matrix& rot = pc0.loadings;
    McdOptions mo;
    mo.alpha = o.alpha;
    const McdResult mcd = stats::cov_mcd(X, mo, rng);
    Vector ev;
    Matrix U;
    eigen_desc(mcd.cov, ev, U);
    fit.mcd_branch = true;
    fit.mcd_crit = mcd.crit;
    fit.center = pc0.center + rot * mcd.center;
    fit.eigenvalues = ev.head(k);
    fit.loadings = rot * U.leftCols(k);
    fit.h = mcd.h;
  } else {
    // Step 2: the h least outlying rows and their classical PCA.
    const Matrix& X = Xc0;
    fit.outlyingness = outlyingness(X, gram.size() ? &gram : nullptr, o.ndir, h, o.directions, rng);
    fit.h0 = order_head(fit.outlyingness, h);
    const Matrix* G = gram.size() ? &gram : nullptr;
    ClassPc Xh_svd = class_pc_rows(X, G, fit.h0, k);
    // rrcov lowers k silently (here and below) when an h-subset spans fewer dimensions.
    k = std::min(Xh_svd.rank, k);

    // Step 3: reweight by the orthogonal distances to the first k axes.
    if (k != r) {
      const Matrix XRc = X.rowwise() - Xh_svd.center.transpose();
      const Matrix Pk = Xh_svd.loadings.leftCols(k);
      const Vector odh = (XRc - (XRc * Pk) * Pk.transpose()).rowwise().norm();
      const double cutoffodh = od_cutoff(odh, 0.975, h, OdCutoff::UniMcd);
      std::vector<Index> indexset;
      for (Index i = 0; i < n; ++i)
        if (odh[i] <= cutoffodh) indexset.push_back(i);
      if (indexset.size() < 2)
        throw ValueError("robpca: fewer than 2 observations pass the orthogonal-distance cutoff");
      Xh_svd = class_pc_rows(X, G, indexset, k);
      k = std::min(Xh_svd.rank, k);
    }
    center += Xh_svd.center;
    Matrix rot = Xh_svd.loadings.leftCols(k);
    Matrix X2 = (X.rowwise() - Xh_svd.center.transpose()) * rot;

    // Step 4 (rrcov projectMCD): C-steps on the score distances, then the MCD.
    Vector ev = Xh_svd.eigenvalues.head(k);
    Vector mah = (X2.array().square().rowwise() / ev.transpose().array()).rowwise().sum();
    double oldobj = ev.prod();
    std::vector<Index> Hprev;
    bool settled = false;
    for (int iter = 0; iter < 100 && !settled; ++iter) {
      // rrcov stops when |det change| < 1e-12, an absolute test that rounding can keep
      // failing for an unchanged subset; an unchanged subset also ends the loop here
      // (further passes only re-rotate the same solution).
      std::vector<Index> H = order_head(mah, h);
      std::sort(H.begin(), H.end());
      if (H == Hprev) {
        settled = true;
        break;
      }
      const ClassPc pc = class_pc(rows_of(X2, H));
      Hprev = std::move(H);
      const double obj = pc.eigenvalues.prod();
      X2 = ((X2.rowwise() - pc.center.transpose()) * pc.loadings).eval();
      center += rot * pc.center;
      rot = (rot * pc.loadings).eval();
      mah = (X2.array().square().rowwise() / pc.eigenvalues.transpose().array()).rowwise().sum();
      settled = pc.rank == k && std::fabs(oldobj - obj) < 1e-12;
      oldobj = obj;
      if (pc.rank < k) k = pc.rank;
    }
    solver_outcome("ROBPCA", settled, "(100 C-steps in the component space)",
                   "the h-subset kept changing; the components are the last iterate");
    if (n <= k + 1)
      throw ValueError("robpca: too few observations for the MCD in the component space");
    McdOptions mo;
    mo.alpha = o.alpha;
    mo.nsamp = o.mcd_nsamp;
    const McdResult mcd = stats::cov_mcd(X2, mo, rng);
    Matrix P6;
    eigen_desc(mcd.cov, fit.eigenvalues, P6);
    fit.center = center + rot * mcd.center;
    fit.loadings = rot * P6;
    fit.h = h;
    fit.mcd_crit = mcd.crit;
  }
  fit.k = k;
  fit.rank = r;
  sign_flip(fit.loadings);
  const Matrix Xc = data.rowwise() - fit.center.transpose();
  fit.scores = Xc * fit.loadings;

  // Step 5: score and orthogonal distances with their cutoffs (rrcov .distances).
  const double ev0 = fit.eigenvalues.cwiseAbs().maxCoeff();
  Index nk = 0;
  while (nk < k && std::fabs(fit.eigenvalues[nk]) >= static_cast<double>(k) * kEps * ev0) ++nk;
  fit.sd = (fit.scores.leftCols(nk).array().square().rowwise() /
            fit.eigenvalues.head(nk).transpose().array())
               .rowwise()
               .sum()
               .sqrt()
               .matrix();
  fit.cutoff_sd = std::sqrt(qchisq(o.crit, static_cast<double>(k)));
  fit.od = (Xc - fit.scores * fit.loadings.transpose()).rowwise().norm();
  fit.cutoff_od = k != r ? od_cutoff(fit.od, o.crit, fit.h, o.od_cutoff) : 0.0;
  fit.outlier.resize(n);
  for (Index i = 0; i < n; ++i) {
    const bool regular =
        fit.sd[i] <= fit.cutoff_sd && (fit.cutoff_od > 0 ? fit.od[i] <= fit.cutoff_od : true);
    fit.outlier[i] = !regular;
  }
  return fit;
}

Matrix robpca_transform(const RobpcaFit& fit, const Matrix& Y) {
  if (Y.cols() != fit.center.size())
    throw ValueError(fmt::format("robpca transform: expected {} columns, got {}",
                                 fit.center.size(), Y.cols()));
  check_finite(Y, "robpca transform");
  return (Y.rowwise() - fit.center.transpose()) * fit.loadings;
}

}  // namespace nl::ml
