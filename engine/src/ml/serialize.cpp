// ml/serialize.cpp: saving, reading and back-projecting the preprocessing steps.
//
// A step's record: tag "step", its name, its options, then the fitted flag, the input
// width and (when fitted) the learned state. Doubles are stored bit for bit, so a
// reloaded step maps rows exactly as the saved one did.
#include <fmt/format.h>

#include <cmath>

#include "nl/ml/combat.hpp"
#include "nl/ml/components.hpp"
#include "nl/ml/filter.hpp"
#include "nl/ml/transform.hpp"
#include "nl/io/serial.hpp"

namespace nl::ml {

namespace {

void begin(Writer& w, const Transform& t) {
  w.tag("step");
  w.str(t.name());
}

Index checked_index(Reader& r, const char* what) {
  const std::int64_t v = r.i64();
  if (v < 0) r.fail(fmt::format("negative {}", what));
  return static_cast<Index>(v);
}

}  // namespace

// ---------------------------------------------------------------- contract

void Transform::save_base(Writer& w) const {
  w.boolean(fitted_);
  w.i64(p_in_);
}

void Transform::load_base(Reader& r) {
  fitted_ = r.boolean();
  p_in_ = checked_index(r, "input width");
}

void Transform::check_backproject(const Matrix& w, Eigen::Index p_out) const {
  if (!fitted_) throw ValueError(fmt::format("{}: not fitted (call fit first)", name()));
  if (w.rows() != p_out)
    throw ValueError(fmt::format("{}: weights have {} rows, the step has {} output features", name(), w.rows(), p_out));
}

std::unique_ptr<Transform> read_foreign(Reader& r);  // ml/foreign.cpp

std::unique_ptr<Transform> read_transform(Reader& r) {
  r.tag("step");
  const std::string name = r.str();
  if (name == "foreign") return read_foreign(r);
  std::unique_ptr<Transform> t;
  if (name == "scale") t = std::make_unique<Scale>();
  else if (name == "prune") t = std::make_unique<Prune>();
  else if (name == "impute") t = std::make_unique<Impute>();
  else if (name == "regress_out") t = std::make_unique<RegressOut>(std::vector<std::string>{"placeholder"});
  else if (name == "pca") t = std::make_unique<Pca>();
  else if (name == "robpca") t = std::make_unique<Robpca>(RobpcaOptions{});
  else if (name == "filter") t = std::make_unique<UnivariateFilter>(FilterOptions{FilterScore::FClassif, 1, 0.0});
  else if (name == "combat") t = std::make_unique<Combat>(CombatOptions{"placeholder", {}, true, false, CombatUnseen::Error});
  else r.fail(fmt::format("unknown preprocessing step '{}'", name));
  t->load(r);
  return t;
}

// ---------------------------------------------------------------- scale

void Scale::save(Writer& w) const {
  begin(w, *this);
  w.f64(lo_);
  w.f64(hi_);
  save_base(w);
  if (fitted_) {
    w.vector(min_);
    w.vector(max_);
  }
}

void Scale::load(Reader& r) {
  lo_ = r.f64();
  hi_ = r.f64();
  if (!(lo_ < hi_)) r.fail("scale range is not lo < hi");
  load_base(r);
  if (fitted_) {
    min_ = r.vector();
    max_ = r.vector();
    if (min_.size() != p_in_ || max_.size() != p_in_) r.fail("scale state does not match its input width");
  }
}

Matrix Scale::backproject(const Matrix& w) const {
  check_backproject(w, p_in_);
  Matrix out(w.rows(), w.cols());
  const Vector f = factors();
  for (Eigen::Index j = 0; j < p_in_; ++j) out.row(j) = w.row(j) * f(j);
  return out;
}

Eigen::Index Scale::n_features_out() const { return fitted_ ? p_in_ : 0; }

// ---------------------------------------------------------------- prune

void Prune::save(Writer& w) const {
  begin(w, *this);
  save_base(w);
  if (fitted_) w.indices(keep_);
}

void Prune::load(Reader& r) {
  load_base(r);
  keep_.clear();
  if (fitted_) {
    keep_ = r.indices();
    for (std::size_t k = 0; k < keep_.size(); ++k)
      if (keep_[k] < 0 || keep_[k] >= p_in_ || (k > 0 && keep_[k] <= keep_[k - 1])) r.fail("prune state is invalid");
  }
}

Matrix Prune::backproject(const Matrix& w) const {
  check_backproject(w, static_cast<Eigen::Index>(keep_.size()));
  Matrix out = Matrix::Zero(p_in_, w.cols());
  for (std::size_t k = 0; k < keep_.size(); ++k) out.row(keep_[k]) = w.row(static_cast<Eigen::Index>(k));
  return out;
}

Eigen::Index Prune::n_features_out() const { return fitted_ ? static_cast<Eigen::Index>(keep_.size()) : 0; }

// ---------------------------------------------------------------- impute

// Strategy knn (3) adds its number of neighbours after the fill value and, when
// fitted, the training rows after the statistics; the other strategies are unchanged.
void Impute::save(Writer& w) const {
  begin(w, *this);
  w.u8(static_cast<std::uint8_t>(strategy_));
  w.f64(fill_);
  if (strategy_ == ImputeStrategy::Knn) w.i64(k_);
  save_base(w);
  if (fitted_) w.vector(stat_);
  if (fitted_ && strategy_ == ImputeStrategy::Knn) w.matrix(train_);
}

void Impute::load(Reader& r) {
  const std::uint8_t s = r.u8();
  if (s > static_cast<std::uint8_t>(ImputeStrategy::Knn)) r.fail("unknown impute strategy");
  strategy_ = static_cast<ImputeStrategy>(s);
  fill_ = r.f64();
  if (!std::isfinite(fill_)) r.fail("impute fill value is not finite");
  if (strategy_ == ImputeStrategy::Knn) {
    const std::int64_t k = r.i64();
    if (k < 1 || k > 1000000) r.fail("impute n_neighbors out of range");
    k_ = static_cast<int>(k);
  }
  load_base(r);
  if (fitted_) {
    stat_ = r.vector();
    if (stat_.size() != p_in_) r.fail("impute state does not match its input width");
    if (strategy_ == ImputeStrategy::Knn) {
      train_ = r.matrix();
      if (train_.cols() != p_in_ || train_.rows() < 1) r.fail("impute training rows do not match its input width");
    }
  }
}

Matrix Impute::backproject(const Matrix& w) const {
  check_backproject(w, p_in_);
  return w;
}

// ---------------------------------------------------------------- regress_out

namespace {

void write_rule(Writer& w, const UnseenRule& r) {
  w.u8(static_cast<std::uint8_t>(r.action));
  w.str(r.level);
}

UnseenRule read_rule(Reader& r) {
  UnseenRule rule;
  const std::uint8_t action = r.u8();
  if (action > static_cast<std::uint8_t>(UnseenAction::Level)) r.fail("unknown unseen-level action");
  rule.action = static_cast<UnseenAction>(action);
  rule.level = r.str();
  return rule;
}

}  // namespace

// Format 3: names, the unseen-level policy (the rule for every column, then the rules
// per column), the fitted flag, then whether the means are known, whether the coding
// is a legacy one (fitted before format 3) and per covariate its column, type, levels
// and (when known) the training means of its dummies. Formats 1 and 2 have no policy,
// no means and no legacy flag: such a record reads with the policy Error,
// means_known() false and legacy() true.
void CovariateCoder::save(Writer& w) const {
  w.strings(names_);
  write_rule(w, unseen_.all);
  w.u64(unseen_.columns.size());
  for (const auto& [column, rule] : unseen_.columns) {
    w.str(column);
    write_rule(w, rule);
  }
  w.boolean(fitted_);
  if (!fitted_) return;
  w.boolean(means_known_);
  w.boolean(legacy_);
  w.u64(codings_.size());
  for (const auto& c : codings_) {
    w.str(c.column);
    w.u8(static_cast<std::uint8_t>(c.type));
    w.strings(c.levels);
    if (means_known_) w.doubles(c.mean);
  }
}

void CovariateCoder::load(Reader& r) {
  const bool v3 = r.version() >= 3;
  names_ = r.strings();
  unseen_ = UnseenPolicy();
  if (v3) {
    unseen_.all = read_rule(r);
    const std::size_t n = r.count(8 + 1 + 8);
    for (std::size_t k = 0; k < n; ++k) {
      std::string column = r.str();
      if (!unseen_.columns.emplace(std::move(column), read_rule(r)).second)
        r.fail("a column's unseen rule is repeated");
    }
  }
  fitted_ = r.boolean();
  means_known_ = false;
  legacy_ = false;
  codings_.clear();
  if (fitted_) {
    const bool means = v3 && r.boolean();
    legacy_ = !v3 || r.boolean();
    const std::size_t n = r.count(8 + 1 + 8);
    if (n != names_.size()) r.fail("covariate coding does not match its names");
    for (std::size_t k = 0; k < n; ++k) {
      Coding c;
      c.column = r.str();
      const std::uint8_t type = r.u8();
      if (type > static_cast<std::uint8_t>(ColumnType::Bool)) r.fail("unknown covariate type");
      c.type = static_cast<ColumnType>(type);
      c.levels = r.strings();
      if (means) c.mean = r.doubles();
      if (c.column != names_[k]) r.fail("covariate coding does not match its names");
      if (c.type == ColumnType::String && c.levels.empty()) r.fail("a string covariate has no levels");
      if (c.type != ColumnType::String && !c.levels.empty()) r.fail("a covariate that is not text has levels");
      for (std::size_t j = 1; j < c.levels.size(); ++j)
        if (!(c.levels[j - 1] < c.levels[j])) r.fail("covariate levels are not sorted");
      if (means && c.mean.size() != (c.levels.empty() ? 0 : c.levels.size() - 1))
        r.fail("covariate means do not match the levels");
      for (const double m : c.mean)
        if (!(m >= 0 && m <= 1)) r.fail("a covariate mean is not a proportion");
      codings_.push_back(std::move(c));
    }
    means_known_ = means;
  }
  // The policy's own checks (a column it names, a level among the training levels).
  try {
    check_unseen(unseen_);
  } catch (const ValueError& e) {
    r.fail(e.what());
  }
}

void RegressOut::save(Writer& w) const {
  begin(w, *this);
  coder_.save(w);
  save_base(w);
  if (fitted_) w.matrix(beta_);
}

void RegressOut::load(Reader& r) {
  coder_.load(r);
  if (coder_.names().empty()) r.fail("regress_out names no covariates");
  load_base(r);
  if (fitted_) {
    beta_ = r.matrix();
    const auto q = static_cast<Eigen::Index>(1 + coder_.design_names().size());
    if (beta_.rows() != q || beta_.cols() != p_in_) r.fail("regress_out state does not match its covariates");
  }
}

Matrix RegressOut::backproject(const Matrix& w) const {
  check_backproject(w, p_in_);
  return w;  // X - G beta: the covariate term does not depend on X
}

Eigen::Index RegressOut::n_features_out() const { return fitted_ ? p_in_ : 0; }

// ---------------------------------------------------------------- pca and robpca

void Pca::save(Writer& w) const {
  begin(w, *this);
  w.i64(k_);
  save_base(w);
  if (!fitted_) return;
  w.vector(fit_->center);
  w.matrix(fit_->loadings);
  w.vector(fit_->eigenvalues);
  w.vector(fit_->explained_ratio);
  w.f64(fit_->total_variance);
  w.matrix(fit_->scores);
}

void Pca::load(Reader& r) {
  k_ = checked_index(r, "k");
  load_base(r);
  fit_.reset();
  if (!fitted_) return;
  PcaFit f;
  f.center = r.vector();
  f.loadings = r.matrix();
  f.eigenvalues = r.vector();
  f.explained_ratio = r.vector();
  f.total_variance = r.f64();
  f.scores = r.matrix();
  if (f.center.size() != p_in_ || f.loadings.rows() != p_in_ || f.loadings.cols() < 1)
    r.fail("pca state does not match its input width");
  fit_ = std::move(f);
}

Matrix Pca::backproject(const Matrix& w) const {
  if (!fitted_) throw ValueError("pca: not fitted (call fit first)");
  check_backproject(w, fit_->loadings.cols());
  return fit_->loadings * w;
}

Eigen::Index Pca::n_features_out() const { return fit_ ? fit_->loadings.cols() : 0; }
Eigen::Index Robpca::n_features_out() const { return fit_ ? fit_->loadings.cols() : 0; }

void Robpca::save(Writer& w) const {
  begin(w, *this);
  const RobpcaOptions& o = options_;
  w.i64(o.k);
  w.i64(o.kmax);
  w.f64(o.alpha);
  w.i64(o.ndir);
  w.boolean(o.mcd);
  w.u8(static_cast<std::uint8_t>(o.directions));
  w.u8(static_cast<std::uint8_t>(o.od_cutoff));
  w.f64(o.crit);
  w.i64(o.mcd_nsamp);
  w.u64(o.seed);
  save_base(w);
  if (!fitted_) return;
  const RobpcaFit& f = *fit_;
  w.vector(f.center);
  w.matrix(f.loadings);
  w.vector(f.eigenvalues);
  w.matrix(f.scores);
  w.i64(f.k);
  w.i64(f.h);
  w.i64(f.rank);
  w.boolean(f.mcd_branch);
  w.f64(f.mcd_crit);
  w.vector(f.outlyingness);
  w.indices(f.h0);
  w.vector(f.sd);
  w.vector(f.od);
  w.f64(f.cutoff_sd);
  w.f64(f.cutoff_od);
  w.u64(static_cast<std::uint64_t>(f.outlier.size()));
  for (Eigen::Index i = 0; i < f.outlier.size(); ++i) w.boolean(f.outlier(i));
}

void Robpca::load(Reader& r) {
  RobpcaOptions o;
  o.k = checked_index(r, "k");
  o.kmax = checked_index(r, "kmax");
  o.alpha = r.f64();
  o.ndir = checked_index(r, "ndir");
  o.mcd = r.boolean();
  const std::uint8_t dir = r.u8(), od = r.u8();
  if (dir > static_cast<std::uint8_t>(Directions::Random) || od > static_cast<std::uint8_t>(OdCutoff::UniMcd))
    r.fail("unknown robpca option value");
  o.directions = static_cast<Directions>(dir);
  o.od_cutoff = static_cast<OdCutoff>(od);
  o.crit = r.f64();
  o.mcd_nsamp = checked_index(r, "mcd_nsamp");
  o.seed = r.u64();
  options_ = o;
  load_base(r);
  fit_.reset();
  if (!fitted_) return;
  RobpcaFit f;
  f.center = r.vector();
  f.loadings = r.matrix();
  f.eigenvalues = r.vector();
  f.scores = r.matrix();
  f.k = checked_index(r, "k");
  f.h = checked_index(r, "h");
  f.rank = checked_index(r, "rank");
  f.mcd_branch = r.boolean();
  f.mcd_crit = r.f64();
  f.outlyingness = r.vector();
  f.h0 = r.indices();
  f.sd = r.vector();
  f.od = r.vector();
  f.cutoff_sd = r.f64();
  f.cutoff_od = r.f64();
  const std::size_t n = r.count(1);
  f.outlier.resize(static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) f.outlier(static_cast<Eigen::Index>(i)) = r.boolean();
  if (f.center.size() != p_in_ || f.loadings.rows() != p_in_ || f.loadings.cols() != f.k || f.k < 1)
    r.fail("robpca state does not match its input width");
  fit_ = std::move(f);
}

Matrix Robpca::backproject(const Matrix& w) const {
  if (!fitted_) throw ValueError("robpca: not fitted (call fit first)");
  check_backproject(w, fit_->loadings.cols());
  return fit_->loadings * w;
}

}  // namespace nl::ml
