// stats/lmm_infer.cpp: tests and intervals of fitted linear mixed models: F tests of the
// fixed terms with Satterthwaite df (lmerTest's anova, type 3 and 1), contrasts,
// likelihood-ratio tests (lme4's anova(m0, m1)) and Wald intervals. Profile intervals
// are in stats/lmm_profile.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/fisher_f.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <set>

#include "nl/core/core.hpp"
#include "nl/stats/lmm.hpp"

namespace nl::stats {

namespace {

using Index = Eigen::Index;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// R's zapsmall(x, 7): round to 7 significant digits of the largest |x|.
Matrix zapsmall(const Matrix& x) {
  const double mx = x.cwiseAbs().maxCoeff();
  if (!(mx > 0)) return x;
  const int digits = std::max(0, 7 - static_cast<int>(std::ceil(std::log10(mx))));
  const double scale = std::pow(10.0, digits);
  return x.unaryExpr([&](double v) { return std::nearbyint(v * scale) / scale; });
}

// lmerTest's doolittle(): the unit lower triangular L of an LU decomposition of the
// symmetric x without pivoting, entries below eps zeroed.
Matrix doolittle_L(const Matrix& x, double eps = 1e-6) {
  const Index n = x.rows();
  Matrix L = Matrix::Identity(n, n), U = Matrix::Zero(n, n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < n; ++j) {
      U(i, j) = x(i, j);
      for (Index k = 0; k < i; ++k) U(i, j) -= L(i, k) * U(k, j);
    }
    for (Index j = i + 1; j < n; ++j) {
      L(j, i) = x(j, i);
      for (Index k = 0; k < i; ++k) L(j, i) -= L(j, k) * U(k, i);
      L(j, i) = std::abs(U(i, i)) < eps ? 0.0 : L(j, i) / U(i, i);
    }
  }
  return L.unaryExpr([&](double v) { return std::abs(v) < eps ? 0.0 : v; });
}

std::vector<Index> term_columns(const LmmModel& m, int term) {
  std::vector<Index> cols;
  for (std::size_t j = 0; j < m.fixed_assign.size(); ++j)
    if (m.fixed_assign[j] == term) cols.push_back(static_cast<Index>(j));
  return cols;
}

std::string term_label(const std::vector<std::string>& t) {
  std::string s;
  for (const auto& v : t) s += (s.empty() ? "" : ":") + v;
  return s;
}

// Type 1: rows of t(doolittle(X'X)$L) of each term's columns.
std::vector<Matrix> contrasts_type1(const LmmModel& m) {
  const Matrix& X = m.data.X;
  const Index p = X.cols();
  const Matrix Lt = p == 1 ? Matrix::Ones(1, 1) : Matrix(doolittle_L(X.transpose() * X).transpose());
  std::vector<Matrix> out;
  for (std::size_t t = 0; t < m.fixed_terms.size(); ++t) {
    const auto cols = term_columns(m, static_cast<int>(t));
    Matrix L(static_cast<Index>(cols.size()), p);
    for (std::size_t r = 0; r < cols.size(); ++r) L.row(static_cast<Index>(r)) = Lt.row(cols[r]);
    out.push_back(L);
  }
  return out;
}

// lmerTest's term_contain: t is contained in u when u has all of t's variables and more,
// and both have the same numeric variables.
bool contained(const LmmModel& m, const std::vector<std::string>& t, const std::vector<std::string>& u) {
  const std::set<std::string> a(t.begin(), t.end()), b(u.begin(), u.end());
  if (!std::includes(b.begin(), b.end(), a.begin(), a.end()) || a.size() == b.size()) return false;
  auto numerics = [&](const std::set<std::string>& s) {
    std::set<std::string> out;
    for (const auto& v : s) {
      const auto it = std::find(m.variables.begin(), m.variables.end(), v);
      if (it != m.variables.end() && m.numeric_variable[static_cast<std::size_t>(it - m.variables.begin())]) out.insert(v);
    }
    return out;
  };
  return numerics(a) == numerics(b);
}

// Type 3: lmerTest's extract_contrasts_type3 for a treatment-coded X.
std::vector<Matrix> contrasts_type3(const LmmModel& m, const Matrix& rdX, const std::vector<std::string>& rd_names) {
  const Matrix& X = m.data.X;
  const Index p = X.cols();
  const auto nterms = m.fixed_terms.size();
  if (p <= 1 || nterms <= 1) return contrasts_type1(m);
  // L = t(ginv(X) rdX): rows the columns of rdX, columns those of X.
  Matrix L = zapsmall(X.colPivHouseholderQr().solve(rdX).transpose());
  std::vector<std::size_t> order(nterms);
  for (std::size_t t = 0; t < nterms; ++t) order[t] = t;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return m.fixed_terms[a].size() > m.fixed_terms[b].size(); });
  for (std::size_t t : order) {
    std::vector<Index> by;
    for (std::size_t u = 0; u < nterms; ++u)
      if (contained(m, m.fixed_terms[t], m.fixed_terms[u]))
        for (Index c : term_columns(m, static_cast<int>(u))) by.push_back(c);
    if (by.empty()) continue;
    Matrix B(L.rows(), static_cast<Index>(by.size()));
    for (std::size_t k = 0; k < by.size(); ++k) B.col(static_cast<Index>(k)) = L.col(by[k]);
    const auto cols = term_columns(m, static_cast<int>(t));
    Matrix Y(L.rows(), static_cast<Index>(cols.size()));
    for (std::size_t k = 0; k < cols.size(); ++k) Y.col(static_cast<Index>(k)) = L.col(cols[k]);
    const Matrix R = zapsmall(Y - B * B.colPivHouseholderQr().solve(Y));
    for (std::size_t k = 0; k < cols.size(); ++k) L.col(cols[k]) = R.col(static_cast<Index>(k));
  }
  // Rows of L named as X's columns, in X's order.
  Matrix Lp(p, p);
  for (Index j = 0; j < p; ++j) {
    const auto it = std::find(rd_names.begin(), rd_names.end(), m.fixed_names[static_cast<std::size_t>(j)]);
    if (it == rd_names.end()) throw ValueError(fmt::format("lmm: anova: no type 3 contrast for column '{}'",
                                                           m.fixed_names[static_cast<std::size_t>(j)]));
    Lp.row(j) = L.row(static_cast<Index>(it - rd_names.begin()));
  }
  std::vector<Matrix> out;
  for (std::size_t t = 0; t < nterms; ++t) {
    const auto cols = term_columns(m, static_cast<int>(t));
    std::vector<Index> keep;
    for (Index c : cols)
      if (Lp.col(c).cwiseAbs().sum() > 1e-8) keep.push_back(c);
    Matrix C(static_cast<Index>(keep.size()), p);
    for (std::size_t r = 0; r < keep.size(); ++r) C.row(static_cast<Index>(r)) = Lp.col(keep[r]).transpose();
    out.push_back(C);
  }
  return out;
}

// The fit with Satterthwaite's ingredients (computed once, on a copy when missing).
const LmmFit& with_parts(const Lmm& m, LmmFit& scratch) {
  if (!m.fit.vcov_jacobian.empty()) return m.fit;
  scratch = m.fit;
  satterthwaite_df(m.model.data, scratch, Vector::Unit(m.fit.p, 0));
  return scratch;
}

double f_upper(double F, double d1, double d2) {
  if (!std::isfinite(F) || !(d1 > 0) || !(d2 > 0)) return kNaN;
  boost::math::fisher_f dist(d1, d2);
  return boost::math::cdf(boost::math::complement(dist, std::max(F, 0.0)));
}

// lmerTest's get_Fstat_ddf.
double combined_ddf(const std::vector<double>& nu) {
  if (nu.size() == 1) return nu[0];
  bool equal = true;
  for (std::size_t i = 1; i < nu.size(); ++i) equal = equal && std::abs(nu[i] - nu[i - 1]) < 1e-8;
  if (equal) {
    double s = 0;
    for (double v : nu) s += v;
    return s / static_cast<double>(nu.size());
  }
  double E = 0;
  for (double v : nu) {
    if (!(v > 2)) return 2.0;
    E += v / (v - 2);
  }
  return 2 * E / (E - static_cast<double>(nu.size()));
}

// lmerTest's contestMD (rhs 0) on a fit with its Satterthwaite ingredients.
LmmFTest ftest(const LmmData& d, const LmmFit& f, const Matrix& L) {
  LmmFTest r;
  r.L = L;
  const double s2 = f.sigma * f.sigma;
  LmmFit fit = f;  // satterthwaite_df takes a mutable fit; the parts are present already
  auto one = [&](const Vector& l) {
    const double est = l.dot(f.beta), v = l.dot(f.vcov * l);
    r.F = est * est / v;
    r.numdf = 1;
    r.dendf = satterthwaite_df(d, fit, l);
  };
  if (L.rows() == 0) {
    r.F = r.numdf = r.dendf = r.p = kNaN;
    return r;
  }
  if (L.rows() == 1) {
    one(L.row(0).transpose());
  } else {
    const Matrix V = L * f.vcov * L.transpose();
    Eigen::SelfAdjointEigenSolver<Matrix> es(V);
    // Descending eigenvalues, as R's eigen().
    const Vector dv = es.eigenvalues().reverse();
    const Matrix P = es.eigenvectors().rowwise().reverse();
    const double tol = std::max(std::sqrt(std::numeric_limits<double>::epsilon()) * dv(0), 0.0);
    Index q = 0;
    while (q < dv.size() && dv(q) > tol) ++q;
    if (q == 0) {
      r.F = r.numdf = r.dendf = r.p = kNaN;
      return r;
    }
    const Matrix PtL = (P.transpose() * L).topRows(q);
    if (q == 1) {
      one(PtL.row(0).transpose());
    } else {
      double t2 = 0;
      std::vector<double> nu;
      for (Index k = 0; k < q; ++k) {
        const double e = PtL.row(k).dot(f.beta);
        t2 += e * e / dv(k);
        nu.push_back(satterthwaite_df(d, fit, PtL.row(k).transpose()));
      }
      r.F = t2 / static_cast<double>(q);
      r.numdf = static_cast<double>(q);
      r.dendf = combined_ddf(nu);
    }
  }
  r.mean_sq = r.F * s2;
  r.sum_sq = r.mean_sq * r.numdf;
  r.p = f_upper(r.F, r.numdf, r.dendf);
  return r;
}

}  // namespace

std::vector<LmmFTest> lmm_anova(const Lmm& m, int type) {
  if (type != 1 && type != 3) throw ValueError(fmt::format("lmm: anova type must be 1 or 3, got {}", type));
  LmmFit scratch;
  const LmmFit& f = with_parts(m, scratch);
  std::vector<Matrix> Ls;
  if (type == 1) {
    Ls = contrasts_type1(m.model);
  } else {
    Ls = contrasts_type3(m.model, m.model.rdX, m.model.rdX_names);
  }
  std::vector<LmmFTest> out;
  for (std::size_t t = 0; t < Ls.size(); ++t) {
    LmmFTest r = ftest(m.model.data, f, Ls[t]);
    r.term = term_label(m.model.fixed_terms[t]);
    out.push_back(std::move(r));
  }
  return out;
}

LmmFTest lmm_contrast(const Lmm& m, const Matrix& L) {
  if (L.cols() != m.fit.p)
    throw ValueError(fmt::format("lmm: the contrast has {} columns; the model has {} fixed effects", L.cols(), m.fit.p));
  if (L.rows() == 0) throw ValueError("lmm: the contrast has no row");
  if (!L.allFinite()) throw ValueError("lmm: the contrast has non-finite entries");
  LmmFit scratch;
  return ftest(m.model.data, with_parts(m, scratch), L);
}

LmmLrt lmm_lrt(const Lmm& a, const Lmm& b) {
  if (a.model.data.y.size() != b.model.data.y.size() || a.model.data.y != b.model.data.y)
    throw ValueError(fmt::format("lmm: the models were fitted to different observations ({} and {} rows, or other "
                                 "responses); compare models of the same rows",
                                 a.model.data.y.size(), b.model.data.y.size()));
  LmmLrt r;
  auto ml = [&](const Lmm& m) {
    if (!m.fit.reml) return m.fit;
    r.refitted = true;
    LmmOptions o;
    o.reml = false;
    return fit_lmm(m.model.data, o);
  };
  LmmFit f0 = ml(a), f1 = ml(b);
  auto npar = [](const LmmFit& f) { return static_cast<int>(f.p + f.theta.size() + 1); };
  if (npar(f0) > npar(f1)) std::swap(f0, f1), r.swapped = true;
  r.loglik0 = f0.loglik, r.loglik1 = f1.loglik;
  r.aic0 = f0.aic, r.aic1 = f1.aic, r.bic0 = f0.bic, r.bic1 = f1.bic;
  r.npar0 = npar(f0), r.npar1 = npar(f1);
  r.chisq = 2 * (f1.loglik - f0.loglik);
  r.df = r.npar1 - r.npar0;
  if (r.df > 0 && std::isfinite(r.chisq)) {
    boost::math::chi_squared dist(r.df);
    r.p = boost::math::cdf(boost::math::complement(dist, std::max(r.chisq, 0.0)));
  } else {
    r.p = kNaN;
  }
  return r;
}

LmmInterval lmm_confint(const Lmm& m, const std::string& method, double level) {
  if (!(level > 0 && level < 1)) throw ValueError(fmt::format("lmm: confint level must be in (0, 1), got {}", level));
  if (method == "profile") return lmm_profile(m, level);
  if (method != "Wald" && method != "wald")
    throw ValueError(fmt::format("lmm: confint method must be \"Wald\" or \"profile\", got \"{}\"", method));
  LmmInterval out = lmm_profile_names(m);
  const auto nv = out.names.size() - static_cast<std::size_t>(m.fit.p);
  out.lower = out.upper = Vector::Constant(static_cast<Index>(out.names.size()), kNaN);
  const double z = boost::math::quantile(boost::math::normal(), 0.5 + level / 2);
  for (Index j = 0; j < m.fit.p; ++j) {
    out.lower(static_cast<Index>(nv) + j) = m.fit.beta(j) - z * m.fit.se(j);
    out.upper(static_cast<Index>(nv) + j) = m.fit.beta(j) + z * m.fit.se(j);
  }
  return out;
}

}  // namespace nl::stats
