// stats/mcd_constants.cpp: the MCD's subset size and correction factors (see
// nl/stats/mcd.hpp): h(alpha, n, p), the consistency factor and the small-sample
// factors of robustbase's .MCDcnp2 / .MCDcnp2.rew, with their simulated tables.
#include "nl/stats/mcd.hpp"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>

namespace nl::stats {
namespace {
// ---------------------------------------------------------------- small-sample factors

// fp(n) = 1 - exp(c1) / n^c2 with (c1, c2) solving the two-point fit of .MCDcnp2 for
// p > 2; column i of the R coefficient matrix is (a_i, b_i, e_i).
double fp_fit(double a1, double b1, double e1, double a2, double b2, double e2, double p,
              double n) {
  const double y1 = std::log(-a1 / std::pow(p, b1)), y2 = std::log(-a2 / std::pow(p, b2));
  const double m1 = -std::log(e1 * p * p), m2 = -std::log(e2 * p * p);
  const double c2 = (y1 - y2) / (m1 - m2);  // solve [1 m1; 1 m2] (c1, c2)' = (y1, y2)'
  const double c1 = y1 - m1 * c2;
  return 1.0 - std::exp(c1) / std::pow(n, c2);
}

// robustbase's MCDcnp2s tables (simulated 1/factor for alpha = 0.5), p = 1..9.
struct SimRow {
  int n_min, n_max;
  double v[7];
};
constexpr SimRow kSimRaw[9] = {
    {1, 2, {1, 3.075819}},
    {4, 6, {3.15342, 1.799889, 2.258497}},
    {6, 10, {2.12777, 2.718898, 1.993509, 2.220433, 1.820585}},
    {8, 13, {2.950549, 2.145387, 2.382224, 1.927077, 2.032489, 1.8371}},
    {10, 16, {2.229573, 2.494447, 2.016117, 2.190061, 1.877996, 1.978964, 1.767284}},
    {12, 18, {2.580264, 2.109121, 2.240741, 1.944719, 2.043397, 1.821808, 1.89725}},
    {14, 20, {2.165233, 2.320281, 2.007836, 2.086471, 1.884052, 1.950563, 1.76926}},
    {16, 20, {2.340443, 2.048262, 2.161097, 1.926082, 1.995422}},
    {18, 20, {2.093386, 2.185793, 1.948989}}};
constexpr SimRow kSimRew[9] = {
    {1, 2, {1, 0.984724}},
    {4, 6, {2.216302, 1.418526, 1.635601}},
    {6, 10, {1.73511, 2.06681, 1.545905, 1.659655, 1.456835}},
    {8, 13, {2.388892, 1.847626, 1.96998, 1.630723, 1.701272, 1.521008}},
    {10, 16, {1.968153, 2.168931, 1.784373, 1.894409, 1.667912, 1.693007, 1.545176}},
    {12, 18, {2.275891, 1.866587, 2.014249, 1.750567, 1.829363, 1.650019, 1.689043}},
    {14, 20, {1.95771, 2.074066, 1.847385, 1.905408, 1.71393, 1.768425, 1.63908}},
    {16, 20, {2.164121, 1.871024, 1.979485, 1.782417, 1.84489}},
    {18, 20, {1.938822, 2.050409, 1.834863}}};

double sim_lookup(const SimRow* table, Index p, Index n) {
  if (p < 1 || p > 9) return std::numeric_limits<double>::quiet_NaN();
  const SimRow& row = table[p - 1];
  if (n < row.n_min || n > row.n_max) return std::numeric_limits<double>::quiet_NaN();
  return row.v[n - row.n_min];
}

// The common tail of .MCDcnp2 and .MCDcnp2.rew: interpolate 1/factor in alpha between
// the fits at 0.5 and 0.875 (and linearly up to 1 at alpha = 1).
double interpolate_factor(double fp500, double fp875, double alpha) {
  const double fp = alpha <= 0.875 ? fp500 + (fp875 - fp500) / 0.375 * (alpha - 0.5)
                                   : fp875 + (1.0 - fp875) / 0.125 * (alpha - 0.875);
  return 1.0 / fp;
}

}  // namespace

// ---------------------------------------------------------------- constants

Index h_alpha_n(double alpha, Index n, Index p) {
  const Index n2 = (n + p + 1) / 2;
  return static_cast<Index>(
      std::floor(2.0 * static_cast<double>(n2) - static_cast<double>(n) +
                 2.0 * static_cast<double>(n - n2) * alpha));
}

double mcd_consistency(Index p, double alpha) {
  const boost::math::chi_squared_distribution<double> chi2(static_cast<double>(p));
  const double q = boost::math::quantile(chi2, alpha);
  return alpha / boost::math::gamma_p(static_cast<double>(p) / 2.0 + 1.0, q / 2.0);
}

double mcd_small_sample_raw(Index p, Index n, double alpha) {
  const double dn = static_cast<double>(n), dp = static_cast<double>(p);
  double fp500, fp875;
  if (p > 2) {
    fp500 = fp_fit(-1.42764571687802, 1.26263336932151, 2, -1.06141115981725, 1.28907991440387,
                   3, dp, dn);
    fp875 = fp_fit(-0.455179464070565, 1.11192541278794, 2, -0.294241208320834,
                   1.09649329149811, 3, dp, dn);
  } else if (p == 2) {
    fp500 = 1 - std::exp(0.673292623522027) / std::pow(dn, 0.691365864961895);
    fp875 = 1 - std::exp(0.446537815635445) / std::pow(dn, 1.06690782995919);
  } else {
    fp500 = 1 - std::exp(0.262024211897096) / std::pow(dn, 0.604756680630497);
    fp875 = 1 - std::exp(-0.351584646688712) / std::pow(dn, 1.01646567502486);
  }
  if (alpha == 0.5) {
    const double sim = sim_lookup(kSimRaw, p, n);
    if (!std::isnan(sim)) fp500 = 1.0 / sim;
  }
  return interpolate_factor(fp500, fp875, alpha);
}

double mcd_small_sample_reweighted(Index p, Index n, double alpha) {
  const double dn = static_cast<double>(n), dp = static_cast<double>(p);
  double fp500, fp875;
  if (p > 2) {
    fp500 = fp_fit(-1.02842572724793, 1.67659883081926, 2, -0.26800273450853, 1.35968562893582,
                   3, dp, dn);
    fp875 = fp_fit(-0.544482443573914, 1.25994483222292, 2, -0.343791072183285,
                   1.25159004257133, 3, dp, dn);
  } else if (p == 2) {
    fp500 = 1 - std::exp(3.11101712909049) / std::pow(dn, 1.91401056721863);
    fp875 = 1 - std::exp(0.79473550581058) / std::pow(dn, 1.10081930350091);
  } else {
    fp500 = 1 - std::exp(1.11098143415027) / std::pow(dn, 1.5182890270453);
    fp875 = 1 - std::exp(-0.66046776772861) / std::pow(dn, 0.88939595831888);
  }
  if (alpha == 0.5) {
    const double sim = sim_lookup(kSimRew, p, n);
    if (!std::isnan(sim)) fp500 = 1.0 / sim;
  }
  return interpolate_factor(fp500, fp875, alpha);
}

}  // namespace nl::stats
