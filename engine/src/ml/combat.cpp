// ml/combat.cpp: ComBat site harmonization (nl/ml/combat.hpp), sva::ComBat's algorithm
// with features as columns (sva has them as rows). Serialization is at the end.
#include "nl/ml/combat.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "nl/core/core.hpp"
#include "nl/core/warnings.hpp"
#include "nl/io/serial.hpp"

namespace nl::ml {

namespace {

using Eigen::Index;

constexpr double kPi = 3.141592653589793238462643383279502884;

// R's var(): denominator n - 1.
double var1(const Vector& v) {
  const double m = v.mean();
  return (v.array() - m).square().sum() / static_cast<double>(v.size() - 1);
}

// sva's aprior / bprior: inverse-gamma hyper-parameters by the method of moments.
double aprior(const Vector& d) {
  const double m = d.mean(), s2 = var1(d);
  return (2 * s2 + m * m) / s2;
}
double bprior(const Vector& d) {
  const double m = d.mean(), s2 = var1(d);
  return (m * s2 + m * m * m) / s2;
}

double postmean(double g_hat, double g_bar, double n, double d_star, double t2) {
  return (t2 * n * g_hat + d_star * g_bar) / (t2 * n + d_star);
}
double postvar(double sum2, double n, double a, double b) { return (0.5 * sum2 + b) / (n / 2 + a - 1); }

// sva's it.sol (conv = 1e-4): s is n x m (the site's rows, the estimated features).
// Its change criterion divides by the signed old value, as sva's does.
void it_sol(const Matrix& s, const Vector& g_hat, const Vector& d_hat, double g_bar, double t2, double a, double b,
            Vector& g_out, Vector& d_out) {
  const auto n = static_cast<double>(s.rows());
  Vector g_old = g_hat, d_old = d_hat, g_new(g_hat.size()), d_new(g_hat.size());
  double change = 1;
  for (int count = 0; change > 1e-4; ++count) {
    if (count == 100000) throw ValueError("combat: the empirical Bayes iteration did not converge in 100000 steps");
    change = -std::numeric_limits<double>::infinity();
    for (Index j = 0; j < g_hat.size(); ++j) {
      g_new(j) = postmean(g_hat(j), g_bar, n, d_old(j), t2);
      const double sum2 = (s.col(j).array() - g_new(j)).square().sum();
      d_new(j) = postvar(sum2, n, a, b);
      const double c = std::max(std::abs(g_new(j) - g_old(j)) / g_old(j), std::abs(d_new(j) - d_old(j)) / d_old(j));
      if (std::isnan(c))
        throw ValueError("combat: the empirical Bayes iteration is undefined (a zero or non-finite estimate); check "
                         "for constant features inside a site");
      change = std::max(change, c);
    }
    g_old = g_new;
    d_old = d_new;
  }
  g_out = g_new;
  d_out = d_new;
}

// sva's int.eprior: for each feature, the posterior means of gamma and delta under the
// empirical distribution of the other features' (gamma.hat, delta.hat) pairs.
void int_eprior(const Matrix& s, const Vector& g_hat, const Vector& d_hat, Vector& g_out, Vector& d_out) {
  const Index m = g_hat.size();
  const auto n = static_cast<double>(s.rows());
  g_out.resize(m);
  d_out.resize(m);
  for (Index i = 0; i < m; ++i) {
    double sg = 0, sd = 0, sl = 0;
    for (Index k = 0; k < m; ++k) {
      if (k == i) continue;
      const double sum2 = (s.col(i).array() - g_hat(k)).square().sum();
      double lh = 1 / std::pow(2 * kPi * d_hat(k), n / 2) * std::exp(-sum2 / (2 * d_hat(k)));
      if (std::isnan(lh)) lh = 0;  // LH[LH == "NaN"] = 0
      sg += g_hat(k) * lh;
      sd += d_hat(k) * lh;
      sl += lh;
    }
    g_out(i) = sg / sl;
    d_out(i) = sd / sl;
  }
}

}  // namespace

// ---------------------------------------------------------------- one site

CombatSite combat_site(const Matrix& s, const std::vector<Index>& use, bool parametric, bool mean_only) {
  const Index p = s.cols();
  const auto m = static_cast<Index>(use.size());
  Matrix su = s(Eigen::all, use);
  CombatSite out;
  Vector g_hat = su.colwise().mean().transpose();
  Vector d_hat = Vector::Ones(m);
  if (!mean_only)
    for (Index j = 0; j < m; ++j) d_hat(j) = var1(su.col(j));
  out.gamma_bar = g_hat.mean();
  out.t2 = var1(g_hat);
  if (!mean_only) {
    out.a_prior = aprior(d_hat);
    out.b_prior = bprior(d_hat);
  } else {
    out.a_prior = out.b_prior = std::numeric_limits<double>::quiet_NaN();  // not used (sva computes them from ones)
  }
  Vector g_star, d_star;
  if (parametric) {
    if (mean_only) {
      g_star.resize(m);
      for (Index j = 0; j < m; ++j) g_star(j) = postmean(g_hat(j), out.gamma_bar, 1, 1, out.t2);
      d_star = Vector::Ones(m);
    } else {
      it_sol(su, g_hat, d_hat, out.gamma_bar, out.t2, out.a_prior, out.b_prior, g_star, d_star);
    }
  } else {
    int_eprior(su, g_hat, d_hat, g_star, d_star);
  }
  out.gamma_hat = Vector::Zero(p);
  out.delta_hat = Vector::Ones(p);
  out.gamma_star = Vector::Zero(p);
  out.delta_star = Vector::Ones(p);
  for (Index j = 0; j < m; ++j) {
    const Index c = use[static_cast<std::size_t>(j)];
    out.gamma_hat(c) = g_hat(j);
    out.delta_hat(c) = d_hat(j);
    out.gamma_star(c) = g_star(j);
    out.delta_star(c) = d_star(j);
  }
  return out;
}

// ---------------------------------------------------------------- the step

namespace {
CovariateCoder make_coder(const CombatOptions& o) {
  if (o.batch.empty()) throw ValueError("combat: name the site column (batch = \"site\")");
  if (std::find(o.covariates.begin(), o.covariates.end(), o.batch) != o.covariates.end())
    throw ValueError(fmt::format("combat: the site column '{}' is also listed among the covariates to preserve",
                                 o.batch));
  try {
    return CovariateCoder(o.covariates);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("combat: {}", e.what()));
  }
}

// The site of every row: the batch column must be a complete text column.
std::vector<std::string> site_values(const Table* cov, const std::string& batch) {
  if (!cov) throw ValueError(fmt::format("combat: covariates are required (a Table with the site column '{}')", batch));
  const ColumnPtr* c = cov->find(batch);
  if (!c)
    throw ValueError(fmt::format("combat: the site column '{}' is not among the covariates (columns: {})", batch,
                                 fmt::join(cov->names(), ", ")));
  const Column& col = **c;
  if (col.type() != ColumnType::String)
    throw ValueError(fmt::format("combat: the site column '{}' must be text (string), not {}", batch,
                                 type_name(col.type())));
  std::vector<std::string> v(col.size());
  for (std::size_t i = 0; i < col.size(); ++i) {
    if (col.is_missing(i)) throw ValueError(fmt::format("combat: the site column '{}' is missing in row {}", batch, i + 1));
    v[i] = col.string(i);
  }
  return v;
}

void check_finite(const Matrix& X, const char* what) {
  for (Index j = 0; j < X.cols(); ++j)
    for (Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("combat: {} feature column {} is not finite in row {}", what, j + 1, i + 1));
}
}  // namespace

Combat::Combat(CombatOptions options) : o_(std::move(options)), coder_(make_coder(o_)) {}

std::unique_ptr<Transform> Combat::clone() const { return std::make_unique<Combat>(o_); }
std::unique_ptr<Transform> Combat::copy() const { return std::make_unique<Combat>(*this); }

std::string Combat::options() const {
  std::string s = fmt::format("combat{{batch = \"{}\"", o_.batch);
  if (!o_.covariates.empty()) s += fmt::format(", covariates = {{\"{}\"}}", fmt::join(o_.covariates, "\", \""));
  if (!o_.parametric) s += ", parametric = false";
  if (o_.mean_only) s += ", mean_only = true";
  if (o_.unseen == CombatUnseen::Estimate) s += ", unseen = \"estimate\"";
  return s + "}";
}

std::vector<std::string> Combat::covariates_used() const {
  std::vector<std::string> v{o_.batch};
  v.insert(v.end(), o_.covariates.begin(), o_.covariates.end());
  return v;
}

Matrix Combat::coded(const Table& covariates) const {
  try {
    return coder_.apply(covariates);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("combat: {}", e.what()));
  }
}

Matrix Combat::standardize(const Matrix& X, const Matrix& C) const {
  Matrix S = X - C * beta_;
  S.rowwise() -= grand_mean_.transpose();
  S.array().rowwise() /= var_pooled_.transpose().array().sqrt();
  return S;
}

Matrix Combat::unstandardize(const Matrix& S, const Matrix& C) const {
  Matrix X = S;
  X.array().rowwise() *= var_pooled_.transpose().array().sqrt();
  X.rowwise() += grand_mean_.transpose();
  return X + C * beta_;
}

void Combat::fit(const Matrix& X, const Table* covariates) {
  begin_fit(X, covariates);
  const std::vector<std::string> site = site_values(covariates, o_.batch);
  check_finite(X, "training");
  try {
    coder_.fit(*covariates);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("combat: {}", e.what()));
  }
  const Matrix C = coded(*covariates);
  const Index n = X.rows(), p = X.cols(), q = C.cols();

  // Sites, sorted, and each row's site.
  std::map<std::string, std::vector<Index>> rows;
  for (Index i = 0; i < n; ++i) rows[site[static_cast<std::size_t>(i)]].push_back(i);
  if (rows.size() < 2)
    throw ValueError(fmt::format("combat: the training rows come from one site ('{}'); harmonizing needs at least two",
                                 rows.begin()->first));
  std::vector<std::string> sites;
  std::vector<std::vector<Index>> batches;
  for (auto& [name, r] : rows) {
    sites.push_back(name);
    batches.push_back(std::move(r));
  }
  const auto B = static_cast<Index>(sites.size());

  // sva: a feature with zero variance inside a site of >= 2 rows is left unchanged.
  std::vector<Index> use;
  for (Index j = 0; j < p; ++j) {
    bool constant = false;
    for (const auto& b : batches) {
      if (b.size() < 2) continue;
      const Vector v = X(b, j);
      if (var1(v) == 0) constant = true;
    }
    if (!constant) use.push_back(j);
  }
  if (use.empty()) throw ValueError("combat: every feature is constant inside some site; nothing to harmonize");

  // sva: a site with one row makes the fit mean-only.
  bool mean_only = o_.mean_only;
  for (std::size_t b = 0; b < batches.size(); ++b)
    if (batches[b].size() == 1 && !mean_only) {
      mean_only = true;
      warn(fmt::format("combat: site '{}' has one training row, so the fit is mean-only (no scale adjustment), as "
                       "sva::ComBat does",
                       sites[b]));
    }

  // OLS of X on [site dummies, covariates] (sva's B.hat via the normal equations).
  Matrix D = Matrix::Zero(n, B + q);
  for (Index b = 0; b < B; ++b)
    for (const Index i : batches[static_cast<std::size_t>(b)]) D(i, b) = 1;
  D.rightCols(q) = C;
  Eigen::ColPivHouseholderQR<Matrix> qr(D);
  if (qr.rank() < D.cols())
    throw ValueError(fmt::format("combat: the covariates ({}) are confounded with the site column '{}' (or with each "
                                 "other) in the training rows: the design [sites, covariates] has rank {} < {}",
                                 fmt::join(o_.covariates, ", "), o_.batch, qr.rank(), D.cols()));
  const Matrix Bhat = (D.transpose() * D).ldlt().solve(D.transpose() * X);
  Vector gm = Vector::Zero(p);
  for (Index b = 0; b < B; ++b)
    gm += static_cast<double>(batches[static_cast<std::size_t>(b)].size()) / static_cast<double>(n) *
          Bhat.row(b).transpose();
  const Matrix resid = X - D * Bhat;
  grand_mean_ = gm;
  var_pooled_ = resid.array().square().colwise().mean().transpose();
  beta_ = Bhat.bottomRows(q);
  // Features left unchanged keep their scale at 1 so that standardizing them is harmless.
  for (Index j = 0; j < p; ++j)
    if (!(var_pooled_(j) > 0)) var_pooled_(j) = 1;

  const Matrix S = standardize(X, C);
  est_.clear();
  n_.clear();
  for (const auto& b : batches) {
    est_.push_back(combat_site(S(b, Eigen::all), use, o_.parametric, mean_only));
    n_.push_back(static_cast<Index>(b.size()));
  }
  sites_ = std::move(sites);
  use_ = std::move(use);
  mean_only_used_ = mean_only;
  fitted_ = true;
}

Matrix Combat::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  const std::vector<std::string> site = site_values(covariates, o_.batch);
  check_finite(X, "the");
  const Matrix C = coded(*covariates);
  Matrix S = standardize(X, C);
  // Rows per site; a site not seen in training follows `unseen`.
  std::map<std::string, std::vector<Index>> rows;
  for (Index i = 0; i < X.rows(); ++i) rows[site[static_cast<std::size_t>(i)]].push_back(i);
  if (o_.unseen == CombatUnseen::Error) {
    const ColumnPtr* ids = covariates->find("participant_id");
    std::string text;
    std::size_t k = 0;
    for (const auto& [name, r] : rows) {
      if (std::binary_search(sites_.begin(), sites_.end(), name)) continue;
      std::vector<std::string> some;  // rows (1-based in this call) or participant ids
      for (std::size_t j = 0; j < r.size() && j < 5; ++j) {
        const auto i = static_cast<std::size_t>(r[j]);
        some.push_back(ids && (*ids)->type() == ColumnType::String && !(*ids)->is_missing(i) ? (*ids)->string(i)
                                                                                             : fmt::format("row {}", i + 1));
      }
      text += fmt::format("{}'{}' ({} row{}: {}{})", k++ ? ", " : "", name, r.size(), r.size() == 1 ? "" : "s",
                          fmt::join(some, ", "), r.size() > 5 ? ", ..." : "");
    }
    if (k > 0)
      throw ValueError(fmt::format(
          "combat: site column '{}' has {} not seen in the training rows: {}; the training sites are '{}'. Choose "
          "unseen = \"estimate\" (estimate each new site's location and scale from its own rows, with the training "
          "standardization fixed), or leave those participants out",
          o_.batch, k == 1 ? "a site" : "sites", text, fmt::join(sites_, "', '")));
  }
  for (const auto& [name, r] : rows) {
    const auto it = std::lower_bound(sites_.begin(), sites_.end(), name);
    CombatSite fresh;
    const CombatSite* e = nullptr;
    if (it != sites_.end() && *it == name) {
      e = &est_[static_cast<std::size_t>(it - sites_.begin())];
    } else {
      fresh = combat_site(S(r, Eigen::all), use_, o_.parametric, mean_only_used_ || r.size() == 1);
      e = &fresh;
    }
    for (const Index i : r)
      S.row(i) = ((S.row(i) - e->gamma_star.transpose()).array() / e->delta_star.transpose().array().sqrt()).matrix();
  }
  Matrix out = unstandardize(S, C);
  // Features sva leaves unadjusted pass unchanged (bit for bit).
  std::vector<bool> adjusted(static_cast<std::size_t>(p_in_), false);
  for (const Index j : use_) adjusted[static_cast<std::size_t>(j)] = true;
  for (Index j = 0; j < p_in_; ++j)
    if (!adjusted[static_cast<std::size_t>(j)]) out.col(j) = X.col(j);
  return out;
}

std::vector<StateItem> Combat::state() const {
  if (!fitted_) return {};
  const auto B = static_cast<Index>(sites_.size());
  Matrix gh(B, p_in_), dh(B, p_in_), gs(B, p_in_), ds(B, p_in_), gb(B, 1), t2(B, 1), a(B, 1), b(B, 1), n(B, 1);
  for (Index k = 0; k < B; ++k) {
    const CombatSite& e = est_[static_cast<std::size_t>(k)];
    gh.row(k) = e.gamma_hat.transpose();
    dh.row(k) = e.delta_hat.transpose();
    gs.row(k) = e.gamma_star.transpose();
    ds.row(k) = e.delta_star.transpose();
    gb(k, 0) = e.gamma_bar;
    t2(k, 0) = e.t2;
    a(k, 0) = e.a_prior;
    b(k, 0) = e.b_prior;
    n(k, 0) = static_cast<double>(n_[static_cast<std::size_t>(k)]);
  }
  Matrix adj = Matrix::Zero(1, p_in_);
  for (const Index j : use_) adj(0, j) = 1;
  return {{"grand_mean_", grand_mean_.transpose()}, {"var_pooled_", var_pooled_.transpose()},
          {"beta_", beta_},                         {"gamma_hat_", gh},
          {"delta_hat_", dh},                       {"gamma_star_", gs},
          {"delta_star_", ds},                      {"gamma_bar_", gb},
          {"t2_", t2},                              {"a_prior_", a},
          {"b_prior_", b},                          {"n_", n},
          {"adjusted_", adj}};
}

Matrix Combat::backproject(const Matrix& w) const {
  check_backproject(w, p_in_);
  if (mean_only_used_) return w;  // each row is only shifted (by its site's and covariates' terms)
  throw ValueError(
      "combat: interpretation through ComBat is not defined: it divides feature j of a row of site b by "
      "sqrt(delta*_bj), a slope that differs between sites, so no single map takes the model's weights back to the "
      "input features (mean_only = true has one: the identity)");
}

// ---------------------------------------------------------------- serialization

// Record: options (batch, covariate coder, parametric, mean_only, unseen), the fitted
// flag and input width, then (fitted) the sites with their row counts and estimates,
// the adjusted features, grand.mean, var.pooled, the covariate effects.
void Combat::save(Writer& w) const {
  w.tag("step");
  w.str(name());
  w.str(o_.batch);
  coder_.save(w);
  w.boolean(o_.parametric);
  w.boolean(o_.mean_only);
  w.u8(static_cast<std::uint8_t>(o_.unseen));
  save_base(w);
  if (!fitted_) return;
  w.boolean(mean_only_used_);
  w.strings(sites_);
  w.indices(n_);
  for (const auto& e : est_) {
    w.vector(e.gamma_hat);
    w.vector(e.delta_hat);
    w.vector(e.gamma_star);
    w.vector(e.delta_star);
    w.doubles({e.gamma_bar, e.t2, e.a_prior, e.b_prior});
  }
  w.indices(use_);
  w.vector(grand_mean_);
  w.vector(var_pooled_);
  w.matrix(beta_);
}

void Combat::load(Reader& r) {
  o_.batch = r.str();
  if (o_.batch.empty()) r.fail("combat names no site column");
  coder_.load(r);
  o_.covariates = coder_.names();
  o_.parametric = r.boolean();
  o_.mean_only = r.boolean();
  const std::uint8_t u = r.u8();
  if (u > static_cast<std::uint8_t>(CombatUnseen::Estimate)) r.fail("unknown combat unseen-site action");
  o_.unseen = static_cast<CombatUnseen>(u);
  load_base(r);
  sites_.clear();
  est_.clear();
  n_.clear();
  use_.clear();
  if (!fitted_) return;
  mean_only_used_ = r.boolean();
  sites_ = r.strings();
  n_ = r.indices();
  if (sites_.size() < 2 || n_.size() != sites_.size()) r.fail("combat state has fewer than two sites");
  for (std::size_t k = 1; k < sites_.size(); ++k)
    if (!(sites_[k - 1] < sites_[k])) r.fail("combat sites are not sorted");
  for (std::size_t k = 0; k < sites_.size(); ++k) {
    CombatSite e;
    e.gamma_hat = r.vector();
    e.delta_hat = r.vector();
    e.gamma_star = r.vector();
    e.delta_star = r.vector();
    const std::vector<double> pri = r.doubles();
    if (pri.size() != 4) r.fail("combat priors are malformed");
    e.gamma_bar = pri[0];
    e.t2 = pri[1];
    e.a_prior = pri[2];
    e.b_prior = pri[3];
    if (e.gamma_hat.size() != p_in_ || e.delta_hat.size() != p_in_ || e.gamma_star.size() != p_in_ ||
        e.delta_star.size() != p_in_)
      r.fail("combat state does not match its input width");
    est_.push_back(std::move(e));
  }
  use_ = r.indices();
  for (std::size_t k = 0; k < use_.size(); ++k)
    if (use_[k] < 0 || use_[k] >= p_in_ || (k > 0 && use_[k] <= use_[k - 1])) r.fail("combat adjusted features are invalid");
  grand_mean_ = r.vector();
  var_pooled_ = r.vector();
  beta_ = r.matrix();
  if (grand_mean_.size() != p_in_ || var_pooled_.size() != p_in_ || beta_.cols() != p_in_ ||
      beta_.rows() != static_cast<Index>(coder_.design_names().size()))
    r.fail("combat state does not match its input width");
}

}  // namespace nl::ml
