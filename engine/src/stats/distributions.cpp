// stats/distributions.cpp: Boost.Math behind nl/stats/distributions.hpp.
#include "nl/stats/distributions.hpp"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/fisher_f.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "nl/core/core.hpp"

namespace nl::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Boost raises std::domain_error for invalid parameters; the callers below check them
// first, so an error here would be a bug, not bad input: keep Boost's default policy.
void require_df(double df, const char* what) {
  if (!(df > 0)) throw ValueError(std::string(what) + " must be positive");
}

}  // namespace

double t_upper(double t, double df) {
  if (std::isnan(t) || std::isnan(df)) return kNaN;
  require_df(df, "degrees of freedom of t");
  if (std::isinf(t)) return t > 0 ? 0.0 : 1.0;
  if (std::isinf(df)) return normal_upper(t);
  return boost::math::cdf(boost::math::complement(boost::math::students_t_distribution<double>(df), t));
}

double t_pvalue(double t, double df, Tail tail) {
  switch (tail) {
    case Tail::Right: return t_upper(t, df);
    case Tail::Left: return t_upper(-t, df);
    case Tail::Two: break;
  }
  if (std::isnan(t)) return kNaN;
  return std::min(1.0, 2.0 * t_upper(std::fabs(t), df));
}

double t_quantile(double q, double df) {
  if (std::isnan(q) || std::isnan(df)) return kNaN;
  require_df(df, "degrees of freedom of t");
  if (!(q > 0 && q < 1)) throw ValueError("t quantile: probability must be in (0, 1)");
  if (std::isinf(df)) return normal_quantile(q);
  return boost::math::quantile(boost::math::students_t_distribution<double>(df), q);
}

double f_upper(double f, double df1, double df2) {
  if (std::isnan(f) || std::isnan(df1) || std::isnan(df2)) return kNaN;
  require_df(df1, "numerator degrees of freedom of F");
  require_df(df2, "denominator degrees of freedom of F");
  if (f <= 0) return 1.0;
  if (std::isinf(f)) return 0.0;
  return boost::math::cdf(boost::math::complement(boost::math::fisher_f_distribution<double>(df1, df2), f));
}

double f_quantile(double q, double df1, double df2) {
  if (std::isnan(q) || std::isnan(df1) || std::isnan(df2)) return kNaN;
  require_df(df1, "numerator degrees of freedom of F");
  require_df(df2, "denominator degrees of freedom of F");
  if (!(q > 0 && q < 1)) throw ValueError("F quantile: probability must be in (0, 1)");
  return boost::math::quantile(boost::math::fisher_f_distribution<double>(df1, df2), q);
}

double chi2_upper(double x, double df) {
  if (std::isnan(x) || std::isnan(df)) return kNaN;
  require_df(df, "degrees of freedom of chi-squared");
  if (x <= 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return boost::math::cdf(boost::math::complement(boost::math::chi_squared_distribution<double>(df), x));
}

double normal_upper(double z) {
  if (std::isnan(z)) return kNaN;
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

double pearson3_upper(double x, double mean, double sd, double skew) {
  if (std::isnan(x) || std::isnan(mean) || std::isnan(sd) || std::isnan(skew)) return kNaN;
  if (!(sd > 0)) return x > mean ? 0.0 : 1.0;  // a point mass
  if (std::fabs(skew) < 1e-8) return normal_upper((x - mean) / sd);
  // X = zeta + sign(skew) * G with G ~ Gamma(alpha, scale 1/beta):
  // alpha = 4 / skew^2, beta = 2 / (sd |skew|), zeta = mean - 2 sd / skew.
  const double alpha = 4.0 / (skew * skew), beta = 2.0 / (sd * std::fabs(skew));
  const double zeta = mean - 2.0 * sd / skew;
  if (skew > 0) {
    if (x <= zeta) return 1.0;
    return boost::math::gamma_q(alpha, (x - zeta) * beta);
  }
  if (x >= zeta) return 0.0;
  return boost::math::gamma_p(alpha, (zeta - x) * beta);
}

double normal_quantile(double q) {
  if (std::isnan(q)) return kNaN;
  if (!(q > 0 && q < 1)) throw ValueError("normal quantile: probability must be in (0, 1)");
  return boost::math::quantile(boost::math::normal_distribution<double>(), q);
}

}  // namespace nl::stats
