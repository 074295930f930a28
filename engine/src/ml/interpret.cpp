// ml/interpret.cpp: weight back-projection, CV ratio and sign consistency.
#include "nl/ml/interpret.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nl/ml/transform.hpp"
#include "nl/stats/multiple.hpp"

namespace nl::ml {

Vector backproject_model(const BaseModel& model, Eigen::Index p_data, bool raw_units) {
  const auto& steps = model.pre.steps;
  const auto& filters = model.model.filters;
  const Eigen::Index width = !filters.empty() ? filters.back()->n_features_out()
                             : steps.empty()  ? p_data
                                              : steps.back()->n_features_out();
  Matrix w = Matrix::Zero(width, 1);
  Vector mw;
  try {
    mw = model_weights(model.model.svc);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("interpret: {}", e.what()));
  }
  if (static_cast<std::size_t>(mw.size()) != model.model.features.size())
    throw ValueError("interpret: a base model's weights do not match its features");
  for (std::size_t k = 0; k < model.model.features.size(); ++k) {
    const Eigen::Index f = model.model.features[k];
    if (f < 0 || f >= width) throw ValueError("interpret: a base model's feature index is out of range");
    w(f, 0) = mw(static_cast<Eigen::Index>(k));
  }
  for (std::size_t k = filters.size(); k-- > 0;) w = filters[k]->backproject(w);
  const std::size_t stop = !raw_units && !steps.empty() && steps.front()->name() == "scale" ? 1 : 0;
  for (std::size_t k = steps.size(); k-- > stop;) w = steps[k]->backproject(w);
  return w.col(0);
}

Interpretation interpret(const NestedCvResult& result, const InterpretOptions& options) {
  if (result.models.empty()) throw ValueError("interpret: the result has no base models");
  if (!(options.fdr > 0 && options.fdr < 1))
    throw ValueError(fmt::format("interpret: the FDR level must be in (0, 1), got {}", options.fdr));
  const Eigen::Index p_data = result.data ? result.data->X.cols()
                                          : (result.models.front().pre.steps.empty()
                                                 ? result.models.front().model.svc.w.size()
                                                 : result.models.front().pre.steps.front()->n_features_in());
  // Identical base models count once: with refit_preprocessing every base model of a
  // CV2 fold trains on the same rows, and those with the same features are one fit.
  Interpretation out;
  for (std::size_t m = 0; m < result.models.size(); ++m) {
    const BaseModel& a = result.models[m];
    bool seen = false;
    for (std::size_t e : out.models) {
      const BaseModel& b = result.models[e];
      if (b.outer == a.outer && b.pre.steps == a.pre.steps && b.model.features == a.model.features &&
          b.model.svc.b == a.model.svc.b && b.model.svc.w == a.model.svc.w && b.model.svc.kernel == a.model.svc.kernel &&
          b.model.filters == a.model.filters) {
        seen = true;
        break;
      }
    }
    if (!seen) out.models.push_back(m);
  }
  const auto M = static_cast<Eigen::Index>(out.models.size());
  out.weights.resize(M, p_data);
  parallel_for(out.models.size(), [&](std::size_t k) {
    out.weights.row(static_cast<Eigen::Index>(k)) =
        backproject_model(result.models[out.models[k]], p_data, options.raw_units).transpose();
  });
  const Eigen::Index p = p_data;
  out.mean = out.weights.colwise().mean().transpose();
  out.sd.resize(p);
  out.cvr.resize(p);
  out.frac_pos.resize(p);
  out.frac_neg.resize(p);
  out.consistency.resize(p);
  for (Eigen::Index j = 0; j < p; ++j) {
    const auto col = out.weights.col(j).array();
    out.sd(j) = M > 1 ? std::sqrt((col - out.mean(j)).square().sum() / static_cast<double>(M - 1))
                      : std::numeric_limits<double>::quiet_NaN();
    const double denom = options.cvr == CvrKind::Sd ? out.sd(j) : 1.96 * out.sd(j) / std::sqrt(static_cast<double>(M));
    // A weight that is the same in every model (0 for an always-pruned region) has no
    // spread: its ratio is undefined (NaN), or 0 when the weight itself is 0.
    out.cvr(j) = denom > 0 ? out.mean(j) / denom : (out.mean(j) == 0 ? 0.0 : std::numeric_limits<double>::quiet_NaN());
    out.frac_pos(j) = (col > 0).cast<double>().mean();
    out.frac_neg(j) = (col < 0).cast<double>().mean();
    out.consistency(j) = std::abs(out.frac_pos(j) - out.frac_neg(j));
  }
  const double mi = out.consistency.mean();
  const double sdi =
      p > 1 ? std::sqrt((out.consistency.array() - mi).square().sum() / static_cast<double>(p - 1)) : 0.0;
  out.z.resize(p);
  out.p.resize(p);
  for (Eigen::Index j = 0; j < p; ++j) {
    out.z(j) = sdi > 0 ? out.consistency(j) / sdi : std::numeric_limits<double>::quiet_NaN();
    out.p(j) = std::isnan(out.z(j)) ? out.z(j) : 0.5 * std::erfc(out.z(j) / std::sqrt(2.0));
  }
  out.q = stats::fdr_bh(out.p);
  out.significant.resize(static_cast<std::size_t>(p));
  for (Eigen::Index j = 0; j < p; ++j) out.significant[static_cast<std::size_t>(j)] = out.q(j) <= options.fdr;
  return out;
}

}  // namespace nl::ml
