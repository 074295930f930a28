// stats/lmm_model.cpp: the table interface of linear mixed models: the model matrices
// from a Table by R's model.matrix rules (treatment contrasts, interactions, na.omit),
// result tables and the printed summary.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

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

// The table, the rows used and the variables met so far, with their levels: computed
// over the rows (fitting) or given (prediction: the fit's levels).
class Frame {
 public:
  Frame(const Table& table, std::vector<std::size_t> rows, const std::map<std::string, std::vector<std::string>>* given)
      : table_(table), rows_(std::move(rows)), given_(given) {}

  const std::vector<std::size_t>& rows() const { return rows_; }
  Index n() const { return static_cast<Index>(rows_.size()); }

  const Column& column(const std::string& name, const char* role) const {
    try {
      return *table_.column(name);
    } catch (const ValueError& e) {
      throw ValueError(fmt::format("lmm: {} '{}': {}", role, name, e.what()));
    }
  }

  Variable& var(const std::string& name, const char* role) {
    auto it = vars_.find(name);
    if (it != vars_.end()) return it->second;
    Variable v;
    v.name = name;
    v.col = &column(name, role);
    v.categorical = v.col->type() != ColumnType::Number;
    if (v.categorical) {
      if (given_) {
        const auto g = given_->find(name);
        if (g == given_->end()) throw ValueError(fmt::format("lmm: column '{}' was not a factor of the fit", name));
        v.levels = g->second;
        std::map<std::string, int> index;
        for (std::size_t l = 0; l < v.levels.size(); ++l) index[v.levels[l]] = static_cast<int>(l);
        for (std::size_t r : rows_) {
          const std::string x = level_text(*v.col, r);
          const auto f = index.find(x);
          if (f == index.end())
            throw ValueError(fmt::format("lmm: column '{}' row {}: level '{}' is not a level of the fit", name, r + 1, x));
          v.code.push_back(f->second);
        }
      } else {
        levels_of(*v.col, rows_, v.levels, v.code);
      }
    }
    return vars_.emplace(name, std::move(v)).first->second;
  }

  // Numeric values of a variable over the rows used.
  Vector numbers(const Variable& v) const {
    Vector x(n());
    for (Index i = 0; i < n(); ++i) x(i) = v.col->numeric(rows_[static_cast<std::size_t>(i)]);
    return x;
  }

 private:
  const Table& table_;
  std::vector<std::size_t> rows_;
  const std::map<std::string, std::vector<std::string>>* given_;
  std::map<std::string, Variable> vars_;
};

// Terms as variable lists (variables in order of first appearance, R's terms()),
// ordered by their number of variables, then as given.
std::vector<std::vector<std::string>> parse_terms(const std::vector<std::string>& labels, const char* what) {
  std::vector<std::string> order;
  std::vector<std::vector<std::string>> terms;
  std::set<std::set<std::string>> seen;
  for (const auto& t : labels) {
    std::vector<std::string> term;
    for (const auto& f : split_term(t)) {
      if (std::find(term.begin(), term.end(), f) != term.end())
        throw ValueError(fmt::format("lmm: {} term '{}' names '{}' twice", what, t, f));
      if (std::find(order.begin(), order.end(), f) == order.end()) order.push_back(f);
      term.push_back(f);
    }
    std::sort(term.begin(), term.end(), [&](const std::string& a, const std::string& b) {
      return std::find(order.begin(), order.end(), a) < std::find(order.begin(), order.end(), b);
    });
    if (!seen.insert(std::set<std::string>(term.begin(), term.end())).second)
      throw ValueError(fmt::format("lmm: {} term '{}' is given twice", what, t));
    terms.push_back(term);
  }
  std::stable_sort(terms.begin(), terms.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
  return terms;
}

struct Design {
  Matrix X;
  std::vector<std::string> names;
  std::vector<int> assign;  // the term of each column, -1 for the intercept
  std::vector<std::vector<std::string>> terms;
};

// R's model.matrix for terms (+ an intercept), coding factors by the rules in lmm.hpp.
Design design(Frame& frame, const std::vector<std::vector<std::string>>& terms, bool intercept, const char* role) {
  const Index n = frame.n();
  Design d;
  d.terms = terms;
  std::vector<Piece> columns;
  if (intercept) columns.push_back({"(Intercept)", Vector::Ones(n)}), d.assign.push_back(-1);
  auto in_model = [&](std::vector<std::string> t) {
    if (t.empty()) return intercept;
    for (const auto& u : terms)
      if (std::set<std::string>(u.begin(), u.end()) == std::set<std::string>(t.begin(), t.end())) return true;
    return false;
  };
  for (std::size_t ti = 0; ti < terms.size(); ++ti) {
    const auto& term = terms[ti];
    std::vector<std::vector<Piece>> parts;
    for (const auto& vname : term) {
      const Variable& var = frame.var(vname, role);
      std::vector<Piece> p;
      if (!var.categorical) {
        p.push_back({var.name, frame.numbers(var)});
      } else {
        std::vector<std::string> rest;
        for (const auto& w : term)
          if (w != vname) rest.push_back(w);
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
      d.assign.push_back(static_cast<int>(ti));
      std::size_t f = 0;
      while (f < parts.size() && ++idx[f] == parts[f].size()) idx[f++] = 0;
      if (f == parts.size()) break;
    }
  }
  d.X.resize(n, static_cast<Index>(columns.size()));
  for (std::size_t j = 0; j < columns.size(); ++j) {
    d.X.col(static_cast<Index>(j)) = columns[j].values;
    d.names.push_back(columns[j].name);
  }
  return d;
}

// The grouping factor of a random term: a column or an interaction "a:b" of columns;
// level text "A:a"; codes over the rows used (given levels: unknown ones get -1).
void group_codes(Frame& frame, const std::string& group, const std::vector<std::string>* given,
                 std::vector<std::string>& levels, std::vector<Index>& code) {
  const auto parts = split_term(group);
  std::vector<std::string> text(frame.rows().size());
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const Column& c = frame.column(parts[k], "grouping column");
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (k) text[i] += ':';
      text[i] += level_text(c, frame.rows()[i]);
    }
  }
  if (given) {
    levels = *given;
  } else if (parts.size() == 1) {  // one column: its own order (false < true, numbers ascending)
    std::vector<int> ignored;
    levels_of(frame.column(parts[0], "grouping column"), frame.rows(), levels, ignored);
  } else {  // an interaction: its level texts, bytewise
    levels = text;
    std::sort(levels.begin(), levels.end());
    levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  }
  std::map<std::string, Index> index;
  for (std::size_t l = 0; l < levels.size(); ++l) index[levels[l]] = static_cast<Index>(l);
  code.clear();
  for (const auto& t : text) {
    const auto it = index.find(t);
    code.push_back(it == index.end() ? -1 : it->second);
  }
}

}  // namespace

// ---------------------------------------------------------------- the model

std::vector<LmmRandomSpec> lmm_random_terms(const LmmSpec& spec) {
  if (!spec.random_terms.empty()) return spec.random_terms;
  if (spec.group.empty()) return {};
  LmmRandomSpec r;
  r.effects = spec.random;
  r.group = spec.group;
  return {r};
}

namespace {

std::string random_text(const LmmRandomSpec& r) {
  std::string s = r.intercept ? "1" : "0";
  for (const auto& e : r.effects) s += " + " + e;
  return "(" + s + " | " + r.group + ")";
}

}  // namespace

std::string lmm_formula(const LmmSpec& spec) {
  std::string s = spec.y + " ~ ";
  if (!spec.intercept) s += "0 + ";
  for (const auto& t : spec.fixed) s += t + " + ";
  const auto terms = lmm_random_terms(spec);
  for (std::size_t k = 0; k < terms.size(); ++k) s += (k ? " + " : "") + random_text(terms[k]);
  return s;
}

LmmModel lmm_model(const Table& table, const LmmSpec& spec) {
  LmmModel m;
  m.spec = spec;
  if (spec.y.empty()) throw ValueError("lmm: the response column (y) is not given");
  const std::vector<LmmRandomSpec> rterms = lmm_random_terms(spec);
  if (rterms.empty()) throw ValueError("lmm: no random-effect term (group, or a (effects | group) term in the formula)");
  if (!spec.random_terms.empty() && (!spec.group.empty() || !spec.random.empty()))
    throw ValueError("lmm: give the random effects either as random terms or as group/random, not both");

  const auto fixed_terms = parse_terms(spec.fixed, "fixed");
  std::vector<std::vector<std::vector<std::string>>> random_terms;
  for (const auto& r : rterms) {
    if (r.group.empty()) throw ValueError("lmm: a random term has no grouping factor");
    if (r.effects.empty() && !r.intercept) throw ValueError(fmt::format("lmm: random term {} has no effect", random_text(r)));
    random_terms.push_back(parse_terms(r.effects, "random"));
  }

  // Rows with every used cell present (na.omit); infinities are errors.
  Frame all(table, {}, nullptr);
  std::vector<const Column*> used{&all.column(spec.y, "response")};
  const Column& ycol = *used[0];
  if (ycol.type() != ColumnType::Number)
    throw ValueError(fmt::format("lmm: the response column '{}' must be numeric, it is {}", spec.y, type_name(ycol.type())));
  auto use = [&](const std::vector<std::vector<std::string>>& terms, const char* role) {
    for (const auto& t : terms)
      for (const auto& v : t) used.push_back(&all.column(v, role));
  };
  use(fixed_terms, "fixed-effect column");
  for (std::size_t k = 0; k < rterms.size(); ++k) {
    use(random_terms[k], "random-effect column");
    for (const auto& g : split_term(rterms[k].group)) used.push_back(&all.column(g, "grouping column"));
  }
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
  Frame frame(table, m.rows, nullptr);

  // The fixed-effects design (R's model.matrix).
  Design X = design(frame, fixed_terms, spec.intercept, "fixed-effect column");
  const auto p = X.X.cols();
  if (p == 0) throw ValueError("lmm: no fixed effect (no intercept and no term)");
  m.data.X = std::move(X.X);
  m.fixed_names = X.names;
  m.fixed_assign = X.assign;
  m.fixed_terms = X.terms;
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
  // lmerTest's get_rdX (type 3 contrasts): the intercept, then each term alone.
  m.rdX = spec.intercept ? Matrix::Ones(n, 1) : Matrix(n, 0);
  if (spec.intercept) m.rdX_names.push_back("(Intercept)");
  for (const auto& t : fixed_terms) {
    const Design B = design(frame, {t}, false, "fixed-effect column");
    m.rdX.conservativeResize(Eigen::NoChange, m.rdX.cols() + B.X.cols());
    m.rdX.rightCols(B.X.cols()) = B.X;
    m.rdX_names.insert(m.rdX_names.end(), B.names.begin(), B.names.end());
  }
  m.data.y.resize(n);
  for (Index i = 0; i < n; ++i) m.data.y(i) = ycol.number(m.rows[static_cast<std::size_t>(i)]);

  // Random terms, then lme4's order: by decreasing number of levels, stable.
  struct Built {
    LmmTerm term;
    std::string group;
    std::vector<std::string> names, levels;
  };
  std::vector<Built> built;
  for (std::size_t k = 0; k < rterms.size(); ++k) {
    Design Z = design(frame, random_terms[k], rterms[k].intercept, "random-effect column");
    Built b;
    b.term.Z = std::move(Z.X);
    b.names = Z.names;
    b.group = rterms[k].group;
    group_codes(frame, b.group, nullptr, b.levels, b.term.level);
    b.term.levels = static_cast<Index>(b.levels.size());
    if (b.term.levels < 2)
      throw ValueError(fmt::format("lmm: the grouping column '{}' has {} level in the rows used; at least 2 are needed",
                                   b.group, b.term.levels));
    const Index Q = b.term.levels * b.term.Z.cols();
    if (n <= Q)
      throw ValueError(fmt::format("lmm: random term {}: {} observations for {} random effects ({} levels x {}); the "
                                   "model is not identifiable (lme4 refuses it too): simplify the random effects",
                                   random_text(rterms[k]), n, Q, b.term.levels, b.term.Z.cols()));
    built.push_back(std::move(b));
  }
  std::stable_sort(built.begin(), built.end(), [](const Built& a, const Built& b) { return a.term.levels > b.term.levels; });
  std::map<std::string, int> seen;
  for (auto& b : built) {
    const int k = seen[b.group]++;
    m.term_labels.push_back(k == 0 ? b.group : fmt::format("{}.{}", b.group, k));
    m.term_groups.push_back(b.group);
    m.random_names.push_back(b.names);
    m.group_levels.push_back(b.levels);
    m.data.terms.push_back(std::move(b.term));
  }
  // Variables: which are numeric, and every factor's levels (for prediction).
  auto note_vars = [&](const std::vector<std::vector<std::string>>& terms) {
    for (const auto& t : terms)
      for (const auto& v : t) {
        if (std::find(m.variables.begin(), m.variables.end(), v) != m.variables.end()) continue;
        const Variable& var = frame.var(v, "column");
        m.variables.push_back(v);
        m.numeric_variable.push_back(!var.categorical);
        if (var.categorical) m.factor_levels[v] = var.levels;
      }
  };
  note_vars(fixed_terms);
  for (const auto& t : random_terms) note_vars(t);
  return m;
}

Lmm lmm(const Table& table, const LmmSpec& spec, const LmmOptions& options) {
  Lmm out;
  out.model = lmm_model(table, spec);
  out.fit = fit_lmm(out.model.data, options);
  if (out.model.dropped > 0)
    out.fit.notices.insert(out.fit.notices.begin(),
                           fmt::format("{} row{} with missing values left out", out.model.dropped,
                                       out.model.dropped == 1 ? "" : "s"));
  return out;
}

// ---------------------------------------------------------------- prediction

Vector lmm_predict(const Lmm& m, const Table& data, bool random) {
  std::vector<std::size_t> rows(data.nrows());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  Frame frame(data, rows, &m.model.factor_levels);
  const auto& spec = m.model.spec;
  // Missing cells in the columns used raise (predictions are row by row).
  auto check = [&](const std::string& name, const char* role) {
    const Column& c = frame.column(name, role);
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (missing_at(c, i)) throw ValueError(fmt::format("lmm: predict: column '{}' row {} is missing", name, i + 1));
  };
  for (const auto& t : m.model.fixed_terms)
    for (const auto& v : t) check(v, "fixed-effect column");
  const Design X = design(frame, m.model.fixed_terms, spec.intercept, "fixed-effect column");
  if (X.names != m.model.fixed_names) throw ValueError("lmm: predict: the new data give a different fixed-effects design");
  Vector out = X.X * m.fit.beta;
  if (!random) return out;
  const auto rterms = lmm_random_terms(spec);
  // The fit's terms are in lme4's order; match them to the spec's by group and columns.
  std::vector<bool> taken(m.model.term_groups.size(), false);
  for (const auto& r : rterms) {
    const auto terms = parse_terms(r.effects, "random");
    for (const auto& t : terms)
      for (const auto& v : t) check(v, "random-effect column");
    for (const auto& g : split_term(r.group)) check(g, "grouping column");
    const Design Z = design(frame, terms, r.intercept, "random-effect column");
    std::size_t k = 0;
    while (k < taken.size() && (taken[k] || m.model.term_groups[k] != r.group || m.model.random_names[k] != Z.names)) ++k;
    if (k == taken.size()) throw ValueError("lmm: predict: a random term of the fit was not found");
    taken[k] = true;
    std::vector<std::string> levels;
    std::vector<Index> code;
    group_codes(frame, r.group, &m.model.group_levels[k], levels, code);
    for (Index i = 0; i < Z.X.rows(); ++i)
      if (code[static_cast<std::size_t>(i)] >= 0) out(i) += Z.X.row(i).dot(m.fit.ranef[k].row(code[static_cast<std::size_t>(i)]));
  }
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
  std::vector<std::string> group, name;
  std::vector<double> var, sd, corr;
  std::vector<std::uint8_t> corr_missing;
  for (std::size_t k = 0; k < m.fit.random_cov.size(); ++k) {
    const Matrix& C = m.fit.random_cov[k];
    for (Index j = 0; j < C.rows(); ++j) {
      group.push_back(m.model.term_labels[k]);
      name.push_back(m.model.random_names[k][static_cast<std::size_t>(j)]);
      const double v = C(j, j);
      var.push_back(v);
      sd.push_back(std::sqrt(v));
      const double d = std::sqrt(C(0, 0) * v);
      corr.push_back(j > 0 && d > 0 ? C(j, 0) / d : 0.0);
      corr_missing.push_back(j == 0 || !(d > 0));
    }
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

Table lmm_ranef(const Lmm& m, std::size_t k) {
  if (k >= m.fit.ranef.size()) throw ValueError(fmt::format("lmm: no random term {}", k + 1));
  Table t;
  t.set(strings(m.model.term_groups[k], m.model.group_levels[k]));
  for (Index j = 0; j < m.fit.ranef[k].cols(); ++j)
    t.set(numbers(m.model.random_names[k][static_cast<std::size_t>(j)], m.fit.ranef[k].col(j)));
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
  std::string groups;
  for (std::size_t k = 0; k < m.model.term_labels.size(); ++k)
    if (m.model.term_labels[k] == m.model.term_groups[k])
      groups += fmt::format("{}{} {}", groups.empty() ? "" : ", ", m.model.term_groups[k], f.levels[k]);
  s += fmt::format("{} observations; groups: {}\n", f.n, groups);
  for (const auto& note : f.notices) s += "note: " + note + "\n";

  s += "\nRandom effects:\n";
  bool any_corr = false;
  for (const auto& C : f.random_cov) any_corr = any_corr || C.rows() > 1;
  std::vector<std::vector<std::string>> rows{{"Group", "Name", "Variance", "Std.Dev.", any_corr ? "Corr" : ""}};
  for (std::size_t k = 0; k < f.random_cov.size(); ++k) {
    const Matrix& C = f.random_cov[k];
    for (Index j = 0; j < C.rows(); ++j) {
      const double v = C(j, j), d = std::sqrt(C(0, 0) * v);
      rows.push_back({j == 0 ? m.model.term_labels[k] : "", m.model.random_names[k][static_cast<std::size_t>(j)], num(v),
                      num(std::sqrt(v)), j > 0 ? (d > 0 ? fmt::format("{:.2f}", C(j, 0) / d) : "NaN") : ""});
    }
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
