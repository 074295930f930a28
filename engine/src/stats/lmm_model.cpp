// stats/lmm_model.cpp: the table interface of linear mixed models: the model matrices
// from a Table by R's model.matrix rules (treatment contrasts, interactions, na.omit),
// result tables and the printed summary.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "nl/core/core.hpp"
#include "nl/stats/lmm.hpp"

namespace nl::stats {

namespace {

using Index = Eigen::Index;

// ---------------------------------------------------------------- variables and terms

struct Variable {
  std::string name;
  const Column* col = nullptr;
  bool categorical = false;
  std::vector<std::string> levels;  // categorical: the levels in the rows used, ascending
  std::vector<int> code;            // categorical: level of each row used
};

std::vector<std::string> split_term(const std::string& term) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = term.find(':', start);
    std::string part = term.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    const auto a = part.find_first_not_of(' '), b = part.find_last_not_of(' ');
    part = a == std::string::npos ? std::string() : part.substr(a, b - a + 1);
    if (part.empty()) throw ValueError(fmt::format("lmm: fixed term '{}' has an empty factor name", term));
    parts.push_back(part);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return parts;
}

bool missing_at(const Column& c, std::size_t i) {
  return c.is_missing(i) || (c.type() == ColumnType::Number && std::isnan(c.number(i)));
}

std::string level_text(const Column& c, std::size_t i) {
  if (c.type() == ColumnType::String) return c.string(i);
  if (c.type() == ColumnType::Bool) return c.boolean(i) ? "true" : "false";
  return format_number(c.number(i));
}

// Levels of a factor-like column over `rows`: strings bytewise, booleans false < true,
// numbers ascending.
void levels_of(const Column& c, const std::vector<std::size_t>& rows, std::vector<std::string>& levels,
               std::vector<int>& code) {
  if (c.type() == ColumnType::Number) {
    std::vector<double> v;
    for (std::size_t r : rows) v.push_back(c.number(r));
    std::vector<double> u = v;
    std::sort(u.begin(), u.end());
    u.erase(std::unique(u.begin(), u.end()), u.end());
    for (double x : u) levels.push_back(format_number(x));
    for (double x : v) code.push_back(static_cast<int>(std::lower_bound(u.begin(), u.end(), x) - u.begin()));
    return;
  }
  std::vector<std::string> v;
  for (std::size_t r : rows) v.push_back(level_text(c, r));
  std::vector<std::string> u = v;
  if (c.type() == ColumnType::Bool) {
    std::sort(u.begin(), u.end(), [](const std::string& a, const std::string& b) { return a == "false" && b == "true"; });
  } else {
    std::sort(u.begin(), u.end());
  }
  u.erase(std::unique(u.begin(), u.end()), u.end());
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < u.size(); ++i) index[u[i]] = static_cast<int>(i);
  levels = u;
  for (const auto& x : v) code.push_back(index[x]);
}

// One design column in the making: its name and values over the rows used.
struct Piece {
  std::string name;
  Vector values;
};

}  // namespace

// ---------------------------------------------------------------- the model

std::string lmm_formula(const LmmSpec& spec) {
  std::string s = spec.y + " ~ ";
  if (!spec.intercept) s += "0 + ";
  for (const auto& t : spec.fixed) s += t + " + ";
  s += "(1";
  for (const auto& r : spec.random) s += " + " + r;
  s += " | " + spec.group + ")";
  return s;
}

LmmModel lmm_model(const Table& table, const LmmSpec& spec) {
  LmmModel m;
  m.spec = spec;
  if (spec.y.empty()) throw ValueError("lmm: the response column (y) is not given");
  if (spec.group.empty()) throw ValueError("lmm: the grouping column (group) is not given");

  // Terms as variable lists; variables in order of first appearance (R's terms()).
  std::vector<std::string> var_names;
  std::vector<std::vector<std::size_t>> terms;
  std::set<std::set<std::size_t>> seen;
  for (const auto& t : spec.fixed) {
    std::vector<std::size_t> term;
    for (const auto& f : split_term(t)) {
      auto it = std::find(var_names.begin(), var_names.end(), f);
      if (it == var_names.end()) {
        var_names.push_back(f);
        it = var_names.end() - 1;
      }
      const auto v = static_cast<std::size_t>(it - var_names.begin());
      if (std::find(term.begin(), term.end(), v) != term.end())
        throw ValueError(fmt::format("lmm: fixed term '{}' names '{}' twice", t, f));
      term.push_back(v);
    }
    std::sort(term.begin(), term.end());
    if (!seen.insert(std::set<std::size_t>(term.begin(), term.end())).second)
      throw ValueError(fmt::format("lmm: fixed term '{}' is given twice", t));
    terms.push_back(term);
  }
  std::stable_sort(terms.begin(), terms.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });

  // Columns: look-up (ValueError from the table names the unknown column) and types.
  auto column = [&](const std::string& name, const char* role) -> const Column& {
    try {
      return *table.column(name);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("lmm: {} '{}': {}", role, name, e.what()));
    }
  };
  const Column& ycol = column(spec.y, "response");
  if (ycol.type() != ColumnType::Number)
    throw ValueError(fmt::format("lmm: the response column '{}' must be numeric, it is {}", spec.y, type_name(ycol.type())));
  const Column& gcol = column(spec.group, "grouping column");
  std::vector<Variable> vars(var_names.size());
  for (std::size_t v = 0; v < vars.size(); ++v) {
    vars[v].name = var_names[v];
    vars[v].col = &column(var_names[v], "fixed-effect column");
    vars[v].categorical = vars[v].col->type() != ColumnType::Number;
  }
  std::vector<const Column*> slopes;
  std::set<std::string> slope_names;
  for (const auto& r : spec.random) {
    const Column& c = column(r, "random-slope column");
    if (c.type() != ColumnType::Number)
      throw ValueError(fmt::format("lmm: the random-slope column '{}' must be numeric, it is {}", r, type_name(c.type())));
    if (!slope_names.insert(r).second) throw ValueError(fmt::format("lmm: random slope '{}' is given twice", r));
    slopes.push_back(&c);
  }

  // Rows with every used cell present (na.omit); infinities are errors.
  std::vector<const Column*> used{&ycol, &gcol};
  for (const auto& v : vars) used.push_back(v.col);
  for (const Column* c : slopes) used.push_back(c);
  for (std::size_t i = 0; i < table.nrows(); ++i) {
    bool keep = true;
    for (const Column* c : used) {
      if (missing_at(*c, i)) {
        keep = false;
        break;
      }
      if (c->type() == ColumnType::Number && std::isinf(c->number(i)))
        throw ValueError(fmt::format("lmm: column '{}' row {} is infinite", c->name(), i + 1));
    }
    if (keep) m.rows.push_back(i);
  }
  m.dropped = table.nrows() - m.rows.size();
  const auto n = static_cast<Index>(m.rows.size());
  if (n == 0) throw ValueError("lmm: no row without missing values in the columns used");

  for (auto& v : vars)
    if (v.categorical) levels_of(*v.col, m.rows, v.levels, v.code);

  // The fixed-effects design, term by term (R's model.matrix).
  std::vector<Piece> columns;
  if (spec.intercept) columns.push_back({"(Intercept)", Vector::Ones(n)});
  auto in_model = [&](const std::vector<std::size_t>& t) {
    if (t.empty()) return spec.intercept;
    return std::find(terms.begin(), terms.end(), t) != terms.end();
  };
  for (const auto& term : terms) {
    std::vector<std::vector<Piece>> parts;
    for (std::size_t v : term) {
      const Variable& var = vars[v];
      std::vector<Piece> p;
      if (!var.categorical) {
        Vector x(n);
        for (Index i = 0; i < n; ++i) x(i) = var.col->numeric(m.rows[static_cast<std::size_t>(i)]);
        p.push_back({var.name, x});
      } else {
        std::vector<std::size_t> rest;
        for (std::size_t w : term)
          if (w != v) rest.push_back(w);
        const bool contrasts = in_model(rest);
        if (var.levels.size() < 2 && contrasts)
          throw ValueError(fmt::format("lmm: factor '{}' has only one level ('{}') in the rows used", var.name,
                                       var.levels.empty() ? "" : var.levels[0]));
        for (std::size_t l = contrasts ? 1 : 0; l < var.levels.size(); ++l) {
          Vector x(n);
          for (Index i = 0; i < n; ++i) x(i) = var.code[static_cast<std::size_t>(i)] == static_cast<int>(l) ? 1.0 : 0.0;
          p.push_back({var.name + "[" + var.levels[l] + "]", x});
        }
      }
      parts.push_back(std::move(p));
    }
    // Products over the factors, the first factor varying fastest.
    std::vector<std::size_t> idx(parts.size(), 0);
    for (;;) {
      Piece c{"", Vector::Ones(n)};
      for (std::size_t f = 0; f < parts.size(); ++f) {
        const Piece& pf = parts[f][idx[f]];
        c.name += (f ? ":" : "") + pf.name;
        c.values = c.values.cwiseProduct(pf.values);
      }
      columns.push_back(std::move(c));
      std::size_t f = 0;
      while (f < parts.size() && ++idx[f] == parts[f].size()) idx[f++] = 0;
      if (f == parts.size()) break;
    }
  }
  const auto p = static_cast<Index>(columns.size());
  if (p == 0) throw ValueError("lmm: no fixed effect (no intercept and no term)");
  m.data.X.resize(n, p);
  for (Index j = 0; j < p; ++j) {
    m.data.X.col(j) = columns[static_cast<std::size_t>(j)].values;
    m.fixed_names.push_back(columns[static_cast<std::size_t>(j)].name);
  }
  // Name the first column that depends linearly on the ones before it.
  {
    Matrix Q(n, 0);
    for (Index j = 0; j < p; ++j) {
      Vector x = m.data.X.col(j);
      const double norm = x.norm();
      if (Q.cols() > 0) x -= Q * (Q.transpose() * x), x -= Q * (Q.transpose() * x);
      if (!(x.norm() > 1e-9 * std::max(norm, 1e-300)))
        throw ValueError(fmt::format("lmm: the fixed-effects design is rank deficient: column '{}' is {} the columns "
                                     "before it",
                                     m.fixed_names[static_cast<std::size_t>(j)],
                                     norm == 0 ? "all zero in the rows used, like" : "a linear combination of"));
      Q.conservativeResize(Eigen::NoChange, Q.cols() + 1);
      Q.col(Q.cols() - 1) = x / x.norm();
    }
  }

  m.data.y.resize(n);
  for (Index i = 0; i < n; ++i) m.data.y(i) = ycol.number(m.rows[static_cast<std::size_t>(i)]);
  m.data.Z.resize(n, 1 + static_cast<Index>(slopes.size()));
  m.random_names.push_back("(Intercept)");
  for (Index i = 0; i < n; ++i) {
    m.data.Z(i, 0) = 1.0;
    for (std::size_t k = 0; k < slopes.size(); ++k)
      m.data.Z(i, static_cast<Index>(k + 1)) = slopes[k]->number(m.rows[static_cast<std::size_t>(i)]);
  }
  for (const auto& r : spec.random) m.random_names.push_back(r);
  std::vector<int> gcode;
  levels_of(gcol, m.rows, m.group_levels, gcode);
  m.data.group.assign(gcode.begin(), gcode.end());
  m.data.groups = static_cast<Index>(m.group_levels.size());
  return m;
}

Lmm lmm(const Table& table, const LmmSpec& spec, const LmmOptions& options) {
  Lmm out;
  out.model = lmm_model(table, spec);
  if (out.model.data.groups < 2)
    throw ValueError(fmt::format("lmm: the grouping column '{}' has {} level in the rows used; at least 2 are needed",
                                 spec.group, out.model.data.groups));
  out.fit = fit_lmm(out.model.data, options);
  if (out.model.dropped > 0)
    out.fit.notices.insert(out.fit.notices.begin(),
                           fmt::format("{} row{} with missing values left out", out.model.dropped,
                                       out.model.dropped == 1 ? "" : "s"));
  return out;
}

// ---------------------------------------------------------------- result tables

namespace {

ColumnPtr numbers(const std::string& name, const Vector& v) {
  return std::make_shared<const Column>(Column::numbers(name, std::vector<double>(v.data(), v.data() + v.size())));
}

ColumnPtr strings(const std::string& name, std::vector<std::string> v) {
  return std::make_shared<const Column>(Column::strings(name, std::move(v)));
}

}  // namespace

Table lmm_coefficients(const Lmm& m) {
  Table t;
  t.set(strings("term", m.model.fixed_names));
  t.set(numbers("estimate", m.fit.beta));
  t.set(numbers("se", m.fit.se));
  t.set(numbers("df", m.fit.df));
  t.set(numbers("t", m.fit.t));
  t.set(numbers("p", m.fit.p_value));
  return t;
}

Table lmm_variance(const Lmm& m) {
  const Index q = m.fit.q;
  std::vector<std::string> group, name;
  std::vector<double> var, sd, corr;
  std::vector<std::uint8_t> corr_missing;
  for (Index j = 0; j < q; ++j) {
    group.push_back(m.model.spec.group);
    name.push_back(m.model.random_names[static_cast<std::size_t>(j)]);
    const double v = m.fit.random_cov(j, j);
    var.push_back(v);
    sd.push_back(std::sqrt(v));
    const double d = std::sqrt(m.fit.random_cov(0, 0) * v);
    corr.push_back(j > 0 && d > 0 ? m.fit.random_cov(j, 0) / d : 0.0);
    corr_missing.push_back(j == 0 || !(d > 0));
  }
  group.push_back("Residual");
  name.push_back("");
  var.push_back(m.fit.sigma * m.fit.sigma);
  sd.push_back(m.fit.sigma);
  corr.push_back(0.0);
  corr_missing.push_back(1);
  Table t;
  t.set(strings("group", group));
  t.set(strings("name", name));
  t.set(std::make_shared<const Column>(Column::numbers("variance", var)));
  t.set(std::make_shared<const Column>(Column::numbers("sd", sd)));
  t.set(std::make_shared<const Column>(Column::numbers("corr", corr, corr_missing)));
  return t;
}

Table lmm_ranef(const Lmm& m) {
  Table t;
  t.set(strings(m.model.spec.group, m.model.group_levels));
  for (Index j = 0; j < m.fit.q; ++j) t.set(numbers(m.model.random_names[static_cast<std::size_t>(j)], m.fit.ranef.col(j)));
  return t;
}

// ---------------------------------------------------------------- printing

namespace {

// Rows of cells printed with aligned columns (text left, numbers right).
std::string aligned(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  std::vector<std::size_t> w(right.size(), 0);
  for (const auto& r : rows)
    for (std::size_t j = 0; j < r.size(); ++j) w[j] = std::max(w[j], r[j].size());
  std::string out;
  for (const auto& r : rows) {
    std::string line = " ";
    for (std::size_t j = 0; j < r.size(); ++j) {
      const std::string pad(w[j] - r[j].size(), ' ');
      line += (right[j] ? pad + r[j] : r[j] + pad) + (j + 1 < r.size() ? "  " : "");
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string num(double x, int digits = 5) {
  if (std::isnan(x)) return "NaN";
  return fmt::format("{:.{}g}", x, digits);
}

std::string pvalue(double p) {
  if (std::isnan(p)) return "NaN";
  if (p < 2.2e-16) return "<2.2e-16";
  return fmt::format("{:.3g}", p);
}

}  // namespace

std::string format_lmm(const Lmm& m) {
  const LmmFit& f = m.fit;
  std::string s = fmt::format("Linear mixed model fit by {}\n", f.reml ? "REML" : "maximum likelihood");
  s += "Formula: " + lmm_formula(m.model.spec) + "\n";
  s += fmt::format("{} {}; logLik {}, AIC {}, BIC {}\n", f.reml ? "REML criterion" : "Deviance", num(f.criterion, 8),
                   num(f.loglik, 8), num(f.aic, 8), num(f.bic, 8));
  s += fmt::format("{} observations, {} groups ({})\n", f.n, f.groups, m.model.spec.group);
  for (const auto& note : f.notices) s += "note: " + note + "\n";

  s += "\nRandom effects:\n";
  std::vector<std::vector<std::string>> rows{{"Group", "Name", "Variance", "Std.Dev.", f.q > 1 ? "Corr" : ""}};
  for (Index j = 0; j < f.q; ++j) {
    const double v = f.random_cov(j, j), d = std::sqrt(f.random_cov(0, 0) * v);
    rows.push_back({j == 0 ? m.model.spec.group : "", m.model.random_names[static_cast<std::size_t>(j)], num(v),
                    num(std::sqrt(v)), j > 0 ? (d > 0 ? fmt::format("{:.2f}", f.random_cov(j, 0) / d) : "NaN") : ""});
  }
  rows.push_back({"Residual", "", num(f.sigma * f.sigma), num(f.sigma), ""});
  s += aligned(rows, {false, false, true, true, true});

  const bool satt = f.df_method == DfMethod::Satterthwaite;
  s += fmt::format("\nFixed effects ({}):\n", satt ? "Satterthwaite df" : fmt::format("residual df = {}", f.n - f.p));
  rows = {{"", "Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"}};
  for (Index j = 0; j < f.p; ++j)
    rows.push_back({m.model.fixed_names[static_cast<std::size_t>(j)], num(f.beta(j), 6), num(f.se(j), 5),
                    num(f.df(j), 5), num(f.t(j), 4), pvalue(f.p_value(j))});
  s += aligned(rows, {false, true, true, true, true, true});
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace nl::stats
