// Tests of nl/ml/estimators.hpp: every model against scikit-learn 1.2.1 on ABIDE volumes
// (tests/data/ml/estimators/, written by tests/data/ml/make_estimator_fixture.py: 20
// standardized aseg volumes, rows 1-100 for training and 101-132 to predict; age as
// the regression target, sex as the label), the optimality conditions of the SVC, the
// determinism of the SVR, and the input checks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/ml/estimators.hpp"

namespace {

using nl::Matrix;
using nl::Vector;
using namespace nl::ml;

// ---------------------------------------------------------------- fixtures

std::string fixture_path(const std::string& name) { return std::string(NL_TEST_DATA) + "/ml/estimators/" + name; }

// data.csv: age, sex, then the 20 standardized volumes; 132 rows.
struct Data {
  Matrix X;    // 132 x 20
  Vector age;  // years
  Vector sex;  // M = +1, F = -1
  static constexpr Eigen::Index n_train = 100;
  Matrix train() const { return X.topRows(n_train); }
  Matrix test() const { return X.bottomRows(X.rows() - n_train); }
};

const Data& data() {
  static const Data d = [] {
    std::ifstream in(fixture_path("data.csv"));
    REQUIRE(in);
    std::string line;
    std::getline(in, line);  // header
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      std::vector<double> r;
      std::stringstream ss(line);
      std::string f;
      while (std::getline(ss, f, ',')) r.push_back(std::strtod(f.c_str(), nullptr));
      rows.push_back(r);
    }
    Data out;
    const auto n = static_cast<Eigen::Index>(rows.size());
    REQUIRE(n == 132);
    REQUIRE(rows[0].size() == 22);
    out.X.resize(n, 20);
    out.age.resize(n);
    out.sex.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const auto& r = rows[static_cast<std::size_t>(i)];
      out.age[i] = r[0];
      out.sex[i] = r[1];
      for (Eigen::Index j = 0; j < 20; ++j) out.X(i, j) = r[static_cast<std::size_t>(j + 2)];
    }
    return out;
  }();
  return d;
}

// reference.txt: "<case>.<name> v1 v2 ..." per line.
const std::map<std::string, std::vector<double>>& references() {
  static const std::map<std::string, std::vector<double>> refs = [] {
    std::map<std::string, std::vector<double>> m;
    std::ifstream in(fixture_path("reference.txt"));
    REQUIRE(in);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::stringstream ss(line);
      std::string key, v;
      ss >> key;
      auto& values = m[key];
      while (ss >> v) values.push_back(std::strtod(v.c_str(), nullptr));
    }
    return m;
  }();
  return refs;
}

Vector want(const std::string& key) {
  const auto it = references().find(key);
  if (it == references().end()) FAIL("no reference " << key);
  return Eigen::Map<const Vector>(it->second.data(), static_cast<Eigen::Index>(it->second.size()));
}
double want1(const std::string& key) { return want(key)[0]; }

// Largest absolute difference relative to the largest reference value (inf-norms).
double rel_diff(const Vector& got, const Vector& want) {
  REQUIRE(got.size() == want.size());
  const double scale = std::max(want.cwiseAbs().maxCoeff(), std::numeric_limits<double>::min());
  return (got - want).cwiseAbs().maxCoeff() / scale;
}

// Run with -s to see the differences achieved.
void check_close(const std::string& what, const Vector& got, const Vector& want, double tol) {
  const double d = rel_diff(got, want);
  INFO(what << ": max relative difference " << d);
  CHECK(d <= tol);
}
void check_close(const std::string& what, double got, double want, double tol) {
  check_close(what, Vector::Constant(1, got), Vector::Constant(1, want), tol);
}

// ---------------------------------------------------------------- linear models

TEST_CASE("linear SVR equals scikit-learn LinearSVR on ABIDE age", "[estimators]") {
  const Data& d = data();
  for (const std::string c : {"svr_bias", "svr_nobias"}) {
    SECTION(c) {
      LinearSvrOptions o;
      o.C = want1(c + ".C");
      o.epsilon = want1(c + ".epsilon");
      o.bias = want1(c + ".bias");
      o.eps = 1e-10;
      o.max_iter = 1'000'000;
      nl::Rng rng(1);
      const LinearSvcModel m = fit_linear_svr(d.train(), d.age.head(Data::n_train), o, rng);
      CHECK(m.converged);
      CHECK(m.alpha.size() == Data::n_train);
      check_close(c + " w", m.w, want(c + ".w"), 1e-9);
      check_close(c + " b", m.b, want1(c + ".b"), 1e-9);
      check_close(c + " predictions", decision(m, d.test()), want(c + ".pred"), 1e-9);
      // The dual: w = sum_i beta_i x_i.
      check_close(c + " w from the dual", d.train().transpose() * m.alpha, m.w, 1e-12);
    }
  }
}

TEST_CASE("linear SVR gives the same weights bit for bit for the same stream", "[estimators]") {
  const Data& d = data();
  LinearSvrOptions o;
  o.C = 0.1;
  o.epsilon = 1.0;
  o.bias = 1.0;
  o.eps = 1e-4;
  nl::Rng r1(42), r2(42), r3(43);
  const auto a = fit_linear_svr(d.train(), d.age.head(Data::n_train), o, r1);
  const auto b = fit_linear_svr(d.train(), d.age.head(Data::n_train), o, r2);
  const auto c = fit_linear_svr(d.train(), d.age.head(Data::n_train), o, r3);
  CHECK(a.w == b.w);
  CHECK(a.b == b.b);
  CHECK(a.iterations == b.iterations);
  // Another stream: another path to the same (unique) optimum.
  check_close("other stream", c.w, a.w, 1e-3);
}

TEST_CASE("logistic regression equals scikit-learn liblinear on ABIDE sex", "[estimators]") {
  const Data& d = data();
  for (const std::string c : {"logistic", "logistic_cw"}) {
    SECTION(c) {
      LogisticOptions o;
      o.Cp = want1(c + ".Cp");
      o.Cn = want1(c + ".Cn");
      o.bias = 1.0;
      // scikit-learn's tol. LIBLINEAR's TRON (and so scikit-learn's and ours) stops short
      // of a gradient ratio this small, when a step's actual and predicted reductions
      // fall below 1e-12 |f| (which counts as converged); both stop at the same iterate.
      o.eps = 1e-12;
      const Vector y = d.sex.head(Data::n_train);
      const LinearSvcModel m = fit_logistic(d.train(), y, o);
      CHECK(m.alpha.size() == 0);
      // Optimality on its own: the gradient w + X'(C (sigma(y f) - 1) y) of the objective
      // (the bias weight included) is small against its value at w = 0.
      const Vector f = decision(m, d.train());
      Vector r(y.size()), r0(y.size());
      for (Eigen::Index i = 0; i < y.size(); ++i) {
        const double C = y[i] > 0 ? o.Cp : o.Cn;
        r[i] = C * (1.0 / (1.0 + std::exp(-y[i] * f[i])) - 1.0) * y[i];
        r0[i] = -0.5 * C * y[i];
      }
      Vector g(21), g0(21);
      g << m.w + d.train().transpose() * r, m.b + r.sum();
      g0 << d.train().transpose() * r0, r0.sum();
      CHECK(g.norm() <= 1e-7 * g0.norm());
      check_close(c + " w", m.w, want(c + ".w"), 1e-10);
      check_close(c + " b", m.b, want1(c + ".b"), 1e-10);
      check_close(c + " decision", decision(m, d.test()), want(c + ".decision"), 1e-10);
      check_close(c + " probability", logistic_probability(m, d.test()), want(c + ".proba"), 1e-10);
    }
  }
}

TEST_CASE("logistic probability neither overflows nor loses the tails", "[estimators]") {
  LinearSvcModel m;
  m.w = Vector::Ones(1);
  Matrix X(4, 1);
  X << -1000.0, -40.0, 0.0, 1000.0;
  const Vector p = logistic_probability(m, X);
  CHECK(p[0] == 0.0);
  CHECK(p[1] == Approx(std::exp(-40.0)).epsilon(1e-12));  // not rounded to 0
  CHECK(p[2] == 0.5);
  CHECK(p[3] == 1.0);
}

TEST_CASE("ridge equals scikit-learn Ridge in the primal and the dual", "[estimators]") {
  const Data& d = data();
  for (const std::string c : {"ridge", "ridge_noint", "ridge_dual"}) {
    SECTION(c) {
      RidgeOptions o;
      o.alpha = want1(c + ".alpha");
      o.fit_intercept = want1(c + ".fit_intercept") != 0.0;
      const auto n = static_cast<Eigen::Index>(want1(c + ".n"));
      const LinearSvcModel m = fit_ridge(d.X.topRows(n), d.age.head(n), o);
      CHECK(m.converged);
      check_close(c + " w", m.w, want(c + ".w"), 1e-11);
      check_close(c + " b", m.b, want1(c + ".b"), 1e-11);
      check_close(c + " predictions", decision(m, d.test()), want(c + ".pred"), 1e-11);
    }
  }
}

// ---------------------------------------------------------------- kernel models

TEST_CASE("kernel ridge equals scikit-learn KernelRidge", "[estimators]") {
  const Data& d = data();
  for (const std::string c : {"kr_rbf", "kr_linear"}) {
    SECTION(c) {
      KernelRidgeOptions o;
      o.alpha = want1(c + ".alpha");
      o.kernel = c == "kr_rbf" ? Kernel::Rbf : Kernel::Linear;
      o.gamma = c == "kr_rbf" ? want1(c + ".gamma") : 1.0;
      const KernelModel m = fit_kernel_ridge(d.train(), d.age.head(Data::n_train), o);
      CHECK(m.n_train == Data::n_train);
      REQUIRE(m.support_rows.size() == static_cast<std::size_t>(Data::n_train));
      CHECK(m.support_rows.back() == Data::n_train - 1);
      CHECK(m.b == 0.0);
      check_close(c + " coef", m.coef, want(c + ".coef"), 1e-10);
      const Vector f = kernel_decision(m, d.test());
      check_close(c + " predictions", f, want(c + ".pred"), 1e-10);
      if (o.kernel == Kernel::Linear) check_close(c + " from the weights", d.test() * kernel_weights(m), f, 1e-12);
    }
  }
}

TEST_CASE("kernel matrix rbf and linear", "[estimators]") {
  Matrix A(2, 2), B(3, 2);
  A << 0, 0, 1, 2;
  B << 0, 0, 1, 2, 3, -1;
  const Matrix L = kernel_matrix(Kernel::Linear, 0.0, A, B);
  CHECK(L(1, 2) == 1.0);
  const Matrix R = kernel_matrix(Kernel::Rbf, 0.5, A, B);
  CHECK(R(0, 0) == 1.0);
  CHECK(R(1, 1) == 1.0);
  CHECK(R(1, 2) == Approx(std::exp(-0.5 * 13.0)).epsilon(1e-14));
  CHECK_THROWS_WITH(kernel_matrix(Kernel::Rbf, 0.0, A, B), "kernel matrix: gamma must be positive and finite, got 0");
  CHECK_THROWS_WITH(kernel_matrix(Kernel::Linear, 1.0, A, Matrix(2, 3)),
                    "kernel matrix: A has 2 columns but B has 3");
}

// The KKT conditions of the C-SVC dual at tolerance tol: y_i f(x_i) >= 1 where alpha_i
// = 0, <= 1 where alpha_i = C_i, = 1 in between; and y'alpha = 0.
void check_kkt(const KernelModel& m, const Matrix& X, const Vector& y, double Cp, double Cn, double tol) {
  const Vector f = kernel_decision(m, X);
  Vector alpha = Vector::Zero(X.rows());
  for (std::size_t k = 0; k < m.support_rows.size(); ++k)
    alpha[m.support_rows[k]] = m.coef[static_cast<Eigen::Index>(k)] * y[m.support_rows[k]];
  double worst = 0.0;
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    const double C = y[i] > 0 ? Cp : Cn, yf = y[i] * f[i];
    REQUIRE(alpha[i] >= 0.0);
    REQUIRE(alpha[i] <= C);
    if (alpha[i] == 0.0)
      worst = std::max(worst, 1.0 - yf);
    else if (alpha[i] == C)
      worst = std::max(worst, yf - 1.0);
    else
      worst = std::max(worst, std::fabs(yf - 1.0));
  }
  INFO("largest KKT violation " << worst);
  CHECK(worst <= tol);
  CHECK(std::fabs(m.coef.sum()) <= 1e-12 * std::max(Cp, Cn) * static_cast<double>(X.rows()));
}

TEST_CASE("kernel SVC equals scikit-learn SVC on ABIDE sex", "[estimators]") {
  const Data& d = data();
  for (const std::string c : {"svc_rbf", "svc_cw", "svc_linear"}) {
    SECTION(c) {
      KernelSvcOptions o;
      o.Cp = want1(c + ".Cp");
      o.Cn = want1(c + ".Cn");
      o.kernel = c == "svc_linear" ? Kernel::Linear : Kernel::Rbf;
      o.gamma = o.kernel == Kernel::Rbf ? want1(c + ".gamma") : 1.0;
      o.eps = 1e-10;
      const Vector y = d.sex.head(Data::n_train);
      const KernelModel m = fit_kernel_svc(d.train(), y, o);
      CHECK(m.converged);
      CHECK(m.n_train == Data::n_train);
      // Support vectors by training row (scikit-learn's support_, 1-based in the file).
      const Vector want_rows = want(c + ".support");
      REQUIRE(m.support_rows.size() == static_cast<std::size_t>(want_rows.size()));
      for (std::size_t k = 0; k < m.support_rows.size(); ++k)
        CHECK(m.support_rows[k] + 1 == static_cast<Eigen::Index>(want_rows[static_cast<Eigen::Index>(k)]));
      CHECK(m.support.rows() == want_rows.size());
      // scikit-learn's LIBSVM caches Q in float: its solution violates the optimality
      // conditions of the exact problem by ~2e-7 (ours by < 1e-10), hence 2e-6 here.
      check_close(c + " dual coef", m.coef, want(c + ".coef"), 2e-6);
      check_close(c + " b", m.b, want1(c + ".b"), 1e-6);
      const Vector f = kernel_decision(m, d.test());
      check_close(c + " decision", f, want(c + ".decision"), 1e-6);
      check_kkt(m, d.train(), y, o.Cp, o.Cn, 1e-9);
      if (o.kernel == Kernel::Linear) {
        check_close(c + " from the weights", (d.test() * kernel_weights(m)).array() + m.b, f, 1e-12);
      } else {
        CHECK_THROWS_AS(kernel_weights(m), nl::ValueError);
        CHECK_THROWS_WITH(kernel_weights(m), Catch::Matchers::StartsWith("weights are defined for a linear kernel only"));
      }
    }
  }
}

TEST_CASE("kernel SVC without shrinking reaches the same optimum", "[estimators]") {
  const Data& d = data();
  KernelSvcOptions o;
  o.Cp = 2.0;
  o.Cn = 2.0;
  o.gamma = 0.05;
  o.eps = 1e-10;
  const Vector y = d.sex.head(Data::n_train);
  const KernelModel a = fit_kernel_svc(d.train(), y, o);
  o.shrinking = false;
  const KernelModel b = fit_kernel_svc(d.train(), y, o);
  CHECK(a.support_rows == b.support_rows);
  check_close("no shrinking", kernel_decision(b, d.test()), kernel_decision(a, d.test()), 1e-8);
  // A step limit: not an error, just not converged.
  o.max_iter = 3;
  const KernelModel c = fit_kernel_svc(d.train(), y, o);
  CHECK_FALSE(c.converged);
  CHECK(c.iterations == 3);
}

// ---------------------------------------------------------------- input checks

TEST_CASE("estimators refuse bad input with a message naming it", "[estimators]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Matrix X(4, 2);
  X << 1, 2, 3, 4, 5, 6, 7, 8;
  const Vector y = (Vector(4) << 1, -1, 1, -1).finished();
  const Vector t = (Vector(4) << 0.5, 1.5, 2.5, 3.5).finished();
  Matrix Xn = X;
  Xn(2, 1) = nan;
  Matrix Xi = X;
  Xi(3, 0) = -inf;
  nl::Rng rng(1);

  SECTION("non-finite X") {
    CHECK_THROWS_WITH(fit_linear_svr(Xn, t, {}, rng), "linear SVR: X has a non-finite value (nan) at row 3, column 2");
    CHECK_THROWS_WITH(fit_logistic(Xi, y, {}), "logistic regression: X has a non-finite value (-inf) at row 4, column 1");
    CHECK_THROWS_WITH(fit_ridge(Xn, t, {}), "ridge: X has a non-finite value (nan) at row 3, column 2");
    CHECK_THROWS_WITH(fit_kernel_ridge(Xi, t, {}), "kernel ridge: X has a non-finite value (-inf) at row 4, column 1");
    CHECK_THROWS_WITH(fit_kernel_svc(Xn, y, {}), "kernel SVC: X has a non-finite value (nan) at row 3, column 2");
    CHECK_THROWS_AS(fit_ridge(Matrix(0, 2), Vector(0), {}), nl::ValueError);
    CHECK_THROWS_WITH(fit_ridge(Matrix(0, 2), Vector(0), {}), "ridge: no samples (X has 0 rows)");
  }
  SECTION("non-finite targets") {
    Vector tn = t;
    tn[1] = nan;
    CHECK_THROWS_WITH(fit_linear_svr(X, tn, {}, rng), "linear SVR: y has a non-finite value (nan) at row 2");
    CHECK_THROWS_WITH(fit_ridge(X, tn, {}), "ridge: y has a non-finite value (nan) at row 2");
    CHECK_THROWS_WITH(fit_kernel_ridge(X, tn, {}), "kernel ridge: y has a non-finite value (nan) at row 2");
  }
  SECTION("labels") {
    const Vector y01 = (Vector(4) << 1, 0, 1, 0).finished();
    CHECK_THROWS_WITH(fit_logistic(X, y01, {}), "logistic regression: label 0 of row 2 is not +1 or -1");
    CHECK_THROWS_WITH(fit_kernel_svc(X, y01, {}), "kernel SVC: label 0 of row 2 is not +1 or -1");
    CHECK_THROWS_WITH(fit_kernel_svc(X, Vector::Ones(4), {}),
                      "kernel SVC needs both classes, but the 4 labels have no -1");
    CHECK_THROWS_WITH(fit_kernel_svc(X, -Vector::Ones(4), {}),
                      "kernel SVC needs both classes, but the 4 labels have no +1");
    // One class is a well-posed problem for LIBLINEAR's logistic regression (as for the
    // linear SVC): all decisions positive.
    const LinearSvcModel m = fit_logistic(X, Vector::Ones(4), LogisticOptions{1.0, 1.0, 0.01, 1.0, 1000});
    CHECK((decision(m, X).array() > 0.0).all());
  }
  SECTION("sizes") {
    CHECK_THROWS_WITH(fit_linear_svr(X, t.head(3), {}, rng), "linear SVR: X has 4 rows but y has 3 values");
    CHECK_THROWS_WITH(fit_logistic(X, y.head(2), {}), "logistic regression: X has 4 rows but y has 2 labels");
    CHECK_THROWS_WITH(fit_ridge(X, t.head(3), {}), "ridge: X has 4 rows but y has 3 values");
    CHECK_THROWS_WITH(fit_kernel_ridge(X, t.head(3), {}), "kernel ridge: X has 4 rows but y has 3 values");
    CHECK_THROWS_WITH(fit_kernel_svc(X, y.head(3), {}), "kernel SVC: X has 4 rows but y has 3 labels");
    Vector big_y(5001);
    for (Eigen::Index i = 0; i < big_y.size(); ++i) big_y[i] = i % 2 == 0 ? 1.0 : -1.0;
    CHECK_THROWS_WITH(fit_kernel_svc(Matrix::Zero(5001, 1), big_y, {}),
                      "kernel SVC: 5001 samples are more than the 5000 this solver takes (it keeps the full "
                      "5001 x 5001 kernel matrix in memory)");
    const KernelModel m = fit_kernel_ridge(X, t, {});
    CHECK_THROWS_WITH(kernel_decision(m, Matrix::Zero(2, 3)),
                      "kernel decision: X has 3 columns but the model's support vectors have 2");
    Matrix Xq = X;
    Xq(1, 1) = nan;
    CHECK_THROWS_WITH(kernel_decision(m, Xq), Catch::Matchers::StartsWith(
                                                  "kernel decision: X has a missing value (NaN) at row 2, column 2"));
  }
  SECTION("hyperparameters") {
    LinearSvrOptions svr;
    svr.C = 0.0;
    CHECK_THROWS_WITH(fit_linear_svr(X, t, svr, rng), "linear SVR: C must be positive and finite, got 0");
    svr.C = 1.0;
    svr.epsilon = -1.0;
    CHECK_THROWS_WITH(fit_linear_svr(X, t, svr, rng), "linear SVR: epsilon must be non-negative and finite, got -1");
    svr.epsilon = 0.0;
    svr.max_iter = 0;
    CHECK_THROWS_WITH(fit_linear_svr(X, t, svr, rng), "linear SVR: max_iter must be at least 1, got 0");
    LogisticOptions lo;
    lo.Cn = -2.0;
    CHECK_THROWS_WITH(fit_logistic(X, y, lo), "logistic regression: Cn must be positive and finite, got -2");
    lo.Cn = 1.0;
    lo.bias = nan;
    CHECK_THROWS_WITH(fit_logistic(X, y, lo), "logistic regression: bias must be finite, got nan");
    RidgeOptions ro;
    ro.alpha = 0.0;
    CHECK_THROWS_WITH(fit_ridge(X, t, ro), "ridge: alpha must be positive and finite, got 0");
    KernelRidgeOptions kro;
    kro.alpha = inf;
    CHECK_THROWS_WITH(fit_kernel_ridge(X, t, kro), "kernel ridge: alpha must be positive and finite, got inf");
    kro.alpha = 1.0;
    kro.gamma = -0.5;
    CHECK_THROWS_WITH(fit_kernel_ridge(X, t, kro), "kernel ridge: gamma must be positive and finite, got -0.5");
    kro.kernel = Kernel::Linear;  // gamma is not used
    CHECK_NOTHROW(fit_kernel_ridge(X, t, kro));
    KernelSvcOptions so;
    so.Cp = 0.0;
    CHECK_THROWS_WITH(fit_kernel_svc(X, y, so), "kernel SVC: Cp must be positive and finite, got 0");
    so.Cp = 1.0;
    so.gamma = 0.0;
    CHECK_THROWS_WITH(fit_kernel_svc(X, y, so), "kernel SVC: gamma must be positive and finite, got 0");
    so.gamma = 1.0;
    so.eps = 0.0;
    CHECK_THROWS_WITH(fit_kernel_svc(X, y, so), "kernel SVC: eps must be positive and finite, got 0");
  }
}

}  // namespace
