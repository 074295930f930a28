// stats/lmm_formula.cpp: R/lme4 model formulas ("fc ~ time * group + (1 + time | subject)")
// parsed into an LmmSpec (the grammar is in nl/stats/lmm.hpp, parse_lmm_formula).
//
// Operators as in R's terms.formula: ':' binds tightest, then '*' and '/', then '+' and
// '-'; a term is a set of variables, written with its variables in order of first
// appearance in the formula; '1' and '0' (or '- 1') set the intercept.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/stats/lmm.hpp"

namespace nl::stats {

namespace {

using Term = std::vector<std::string>;

struct Expr {
  std::vector<Term> terms;
  int intercept = -1;  // -1: not said, 0: removed, 1: added
};

struct Token {
  enum Kind { Name, Number, Op, End } kind = End;
  std::string text;
  std::size_t pos = 0;
};

class Parser {
 public:
  explicit Parser(const std::string& f) : f_(f) { lex(); }

  LmmSpec parse() {
    LmmSpec spec;
    if (peek().kind != Token::Name) fail("a response column name before '~'");
    spec.y = next().text;
    expect("~");
    Expr fixed = sum(true);
    if (peek().kind != Token::End) fail(fmt::format("an operator, not '{}'", peek().text));
    spec.intercept = fixed.intercept != 0;
    for (const auto& t : fixed.terms) spec.fixed.push_back(label(t));
    spec.random_terms = random_;
    if (spec.random_terms.empty()) fail_at(f_.size(), "a random-effect term such as (1 | subject)");
    return spec;
  }

 private:
  const std::string& f_;
  std::vector<Token> toks_;
  std::size_t at_ = 0;
  std::vector<std::string> order_;  // variables in order of first appearance
  std::vector<LmmRandomSpec> random_;

  [[noreturn]] void fail_at(std::size_t pos, const std::string& what) const {
    throw ValueError(fmt::format("lmm: formula '{}': expected {} at character {}", f_, what, pos + 1));
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(peek().pos, what); }

  void lex() {
    std::size_t i = 0;
    while (i < f_.size()) {
      const char c = f_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '.' || c == '_') {
        std::size_t j = i;
        while (j < f_.size() && (std::isalnum(static_cast<unsigned char>(f_[j])) || f_[j] == '.' || f_[j] == '_')) ++j;
        toks_.push_back({Token::Name, f_.substr(i, j - i), i});
        i = j;
      } else if (c == '`') {
        const std::size_t j = f_.find('`', i + 1);
        if (j == std::string::npos || j == i + 1) fail_at(i, "a closing backquote after a non-empty name");
        toks_.push_back({Token::Name, f_.substr(i + 1, j - i - 1), i});
        i = j + 1;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        std::size_t j = i;
        while (j < f_.size() && std::isdigit(static_cast<unsigned char>(f_[j]))) ++j;
        toks_.push_back({Token::Number, f_.substr(i, j - i), i});
        i = j;
      } else if (c == '|' && i + 1 < f_.size() && f_[i + 1] == '|') {
        toks_.push_back({Token::Op, "||", i});
        i += 2;
      } else if (std::string("~+-*:/()|").find(c) != std::string::npos) {
        toks_.push_back({Token::Op, std::string(1, c), i});
        ++i;
      } else {
        fail_at(i, fmt::format("a name or one of ~ + - * : / ( ) | ||, not '{}'", c));
      }
    }
    toks_.push_back({Token::End, "", f_.size()});
  }

  const Token& peek() const { return toks_[at_]; }
  Token next() { return toks_[at_ < toks_.size() - 1 ? at_++ : at_]; }
  bool accept(const char* op) {
    if (peek().kind == Token::Op && peek().text == op) return ++at_, true;
    return false;
  }
  void expect(const char* op) {
    if (!accept(op)) fail(fmt::format("'{}'", op));
  }

  std::string label(const Term& t) const {
    std::string s;
    for (const auto& v : t) s += (s.empty() ? "" : ":") + v;
    return s;
  }

  void add_var(const std::string& v) {
    if (std::find(order_.begin(), order_.end(), v) == order_.end()) order_.push_back(v);
  }
  Term sorted(Term t) const {
    std::sort(t.begin(), t.end(), [&](const std::string& a, const std::string& b) {
      return std::find(order_.begin(), order_.end(), a) < std::find(order_.begin(), order_.end(), b);
    });
    t.erase(std::unique(t.begin(), t.end()), t.end());
    return t;
  }
  static bool same(const Term& a, const Term& b) {
    Term x = a, y = b;
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    return x == y;
  }
  static void add_term(std::vector<Term>& ts, const Term& t) {
    for (const auto& u : ts)
      if (same(u, t)) return;
    ts.push_back(t);
  }

  Expr plus(Expr a, const Expr& b) const {
    for (const auto& t : b.terms) add_term(a.terms, t);
    if (b.intercept != -1) a.intercept = b.intercept;
    return a;
  }
  Expr colon(const Expr& a, const Expr& b, std::size_t pos) const {
    if (a.intercept != -1 || b.intercept != -1) fail_at(pos, "variables on both sides of ':', '*' or '/', not 0 or 1");
    Expr r;
    for (const auto& x : a.terms)
      for (const auto& y : b.terms) {
        Term t = x;
        t.insert(t.end(), y.begin(), y.end());
        add_term(r.terms, sorted(t));
      }
    return r;
  }

  // sum := prod (('+' | '-') prod)*; random terms are allowed at the top level only.
  Expr sum(bool top) {
    Expr e = prod(top);
    for (;;) {
      if (accept("+")) {
        e = plus(e, prod(top));
      } else if (peek().kind == Token::Op && peek().text == "-") {
        next();
        const Expr r = prod(false);
        if (r.intercept != -1) e.intercept = r.intercept == 1 ? 0 : 1;
        for (const auto& t : r.terms)
          e.terms.erase(std::remove_if(e.terms.begin(), e.terms.end(), [&](const Term& u) { return same(u, t); }),
                        e.terms.end());
      } else {
        return e;
      }
    }
  }

  // prod := inter (('*' | '/') inter)*
  Expr prod(bool top) {
    Expr e = inter(top);
    for (;;) {
      const std::size_t pos = peek().pos;
      if (accept("*")) {
        const Expr b = inter(false);
        e = plus(plus(e, b), colon(e, b, pos));
      } else if (accept("/")) {
        const Expr b = inter(false);
        Term all;
        for (const auto& t : e.terms) all.insert(all.end(), t.begin(), t.end());
        Expr outer;
        outer.terms.push_back(sorted(all));
        e = plus(e, colon(outer, b, pos));
      } else {
        return e;
      }
    }
  }

  // inter := atom (':' atom)*
  Expr inter(bool top) {
    Expr e = atom(top);
    for (;;) {
      const std::size_t pos = peek().pos;
      if (!accept(":")) return e;
      e = colon(e, atom(false), pos);
    }
  }

  Expr atom(bool top) {
    const Token t = next();
    Expr e;
    if (t.kind == Token::Name) {
      add_var(t.text);
      e.terms.push_back({t.text});
      return e;
    }
    if (t.kind == Token::Number) {
      if (t.text != "0" && t.text != "1") fail_at(t.pos, "0 or 1 (the intercept)");
      e.intercept = t.text == "1" ? 1 : 0;
      return e;
    }
    if (t.kind == Token::Op && t.text == "(") {
      Expr inner = sum(false);
      if (peek().kind == Token::Op && (peek().text == "|" || peek().text == "||")) {
        if (!top) fail("')': a random-effect term (e | g) may only be added to the model, not combined");
        const bool uncorrelated = next().text == "||";
        const std::vector<std::string> groups = group();
        expect(")");
        random(inner, groups, uncorrelated);
        return Expr{{}, -1};
      }
      expect(")");
      return inner;
    }
    fail_at(t.pos, t.kind == Token::End ? std::string("a term") : fmt::format("a term, not '{}'", t.text));
  }

  // The grouping part of (e | g): a:b interactions, '/' nesting: a/b = a, a:b.
  std::vector<std::string> group() {
    std::vector<std::string> out;
    std::string prefix;
    for (;;) {
      std::string seg;
      for (;;) {
        const Token t = next();
        if (t.kind != Token::Name) fail_at(t.pos, "a grouping column name");
        seg += (seg.empty() ? "" : ":") + t.text;
        if (!accept(":")) break;
      }
      prefix += (prefix.empty() ? "" : ":") + seg;
      out.push_back(prefix);
      if (!accept("/")) return out;
    }
  }

  void random(const Expr& e, const std::vector<std::string>& groups, bool uncorrelated) {
    for (const auto& g : groups) {
      if (!uncorrelated) {
        LmmRandomSpec r;
        for (const auto& t : e.terms) r.effects.push_back(label(t));
        r.intercept = e.intercept != 0;
        random_.push_back(r);
        random_.back().group = g;
        continue;
      }
      // lme4 1.1's expandDoubleVerts: (1 | g) + (0 + t | g) for each term t.
      if (e.intercept != 0) random_.push_back(LmmRandomSpec{{}, true, g});
      for (const auto& t : e.terms) random_.push_back(LmmRandomSpec{{label(t)}, false, g});
    }
  }
};

}  // namespace

LmmSpec parse_lmm_formula(const std::string& formula) { return Parser(formula).parse(); }

}  // namespace nl::stats
