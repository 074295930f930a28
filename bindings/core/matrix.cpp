// matrix.cpp: nl.matrix, the Lua face of Eigen's MatrixXd ("neurolua.Matrix").
//
// Indices are 1-based in Lua and 0-based in Eigen; every index is range-checked here,
// before Eigen sees it. Operators broadcast a scalar, a 1 x cols row or a rows x 1
// column over a matrix; anything else must match in shape.
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "core/common.hpp"
#include "core/fields.hpp"
#include "core/types.hpp"
#include "nl/core/arith.hpp"
#include "nl/core/linalg.hpp"

namespace nl::bind {

namespace {

using nl::Matrix;
using Index = Eigen::Index;

// ---------------------------------------------------------------- helpers

// A dimension argument: integer in [0, 2^31).
Index check_dim(lua_State* L, int idx, const char* what) {
  return static_cast<Index>(check_range(L, idx, 0, 0x7fffffff, what));
}

// Validates a 1-based row index against m and returns it 0-based.
Index check_row(lua_State* L, int idx, const Matrix& m) {
  return static_cast<Index>(check_range(L, idx, 1, m.rows(), "row index") - 1);
}
Index check_col(lua_State* L, int idx, const Matrix& m) {
  return static_cast<Index>(check_range(L, idx, 1, m.cols(), "column index") - 1);
}

// Index-list arguments: a table {i, j, ...} or two integers (an inclusive range
// first..last). validate_indices raises on any bad entry and returns the count; only
// then does the caller create its vector and fill it with read_indices (0-based),
// which cannot raise. Two passes keep C++ objects out of frames that may longjmp.
lua_Integer validate_indices(lua_State* L, int idx, Index limit, const char* what) {
  if (lua_type(L, idx) == LUA_TTABLE) {
    const lua_Integer n = luaL_len(L, idx);
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, idx, k);
      int isint = 0;
      const lua_Integer v = lua_tointegerx(L, -1, &isint);
      lua_pop(L, 1);
      if (!isint)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s list entry %I is not an integer", what, k));
      if (v < 1 || v > limit)
        luaL_argerror(L, idx, lua_pushfstring(L, "%s %I out of range [1, %I]", what, v, (lua_Integer)limit));
    }
    return n;
  }
  const lua_Integer first = check_range(L, idx, 1, limit, what);
  const lua_Integer last = check_range(L, idx + 1, first, limit, what);
  return last - first + 1;
}

// The list is checked again as it is read: Lua code (a __gc finalizer run by the
// allocation between the passes) may have changed it; that throws ArgError.
void read_indices(lua_State* L, int idx, std::vector<Index>& out, Index limit) {
  if (lua_type(L, idx) == LUA_TTABLE) {
    for (std::size_t k = 0; k < out.size(); ++k) {
      lua_rawgeti(L, idx, static_cast<lua_Integer>(k + 1));
      int isint = 0;
      const lua_Integer v = lua_tointegerx(L, -1, &isint);
      lua_pop(L, 1);
      if (!isint || v < 1 || v > limit) throw ArgError(idx, "the index list changed while it was being read");
      out[k] = static_cast<Index>(v - 1);
    }
    return;
  }
  const auto first = static_cast<Index>(lua_tointeger(L, idx));
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = first - 1 + static_cast<Index>(k);
}

// ---------------------------------------------------------------- construction

// nl.matrix(rows_table) | nl.matrix(flat_table, nrows, ncols) | nl.matrix(Matrix)
int construct(lua_State* L) {
  lua_remove(L, 1);  // called through __call: drop the module table
  if (const Matrix* other = test<Matrix>(L, 1)) return push_new<Matrix>(L, [&] { return *other; });
  luaL_checktype(L, 1, LUA_TTABLE);
  const lua_Integer n = luaL_len(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    // Flat list with an explicit shape, filled row by row.
    const Index r = check_dim(L, 2, "row count"), c = check_dim(L, 3, "column count");
    if (static_cast<lua_Integer>(r) * c != n)
      luaL_argerror(L, 1, lua_pushfstring(L, "%I values cannot fill a %Ix%I matrix", n,
                                          (lua_Integer)r, (lua_Integer)c));
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, 1, k);
      if (!lua_isnumber(L, -1))
        luaL_argerror(L, 1, lua_pushfstring(L, "value %I is a %s, not a number", k, luaL_typename(L, -1)));
      lua_pop(L, 1);
    }
    auto* slot = new_object<Matrix>(L);
    protect(L, [&] {
      *slot = std::make_shared<Matrix>(r, c);
      return 0;
    });
    Matrix& m = **slot;
    for (lua_Integer k = 0; k < n; ++k) {
      lua_rawgeti(L, 1, k + 1);
      m(static_cast<Index>(k / c), static_cast<Index>(k % c)) = lua_tonumber(L, -1);  // 0 if it changed
      lua_pop(L, 1);
    }
    return 1;
  }
  // Nested rows; validate everything before allocating.
  lua_Integer cols = -1;
  for (lua_Integer i = 1; i <= n; ++i) {
    if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
      luaL_argerror(L, 1, lua_pushfstring(L, "row %I is a %s, not a table of numbers", i, luaL_typename(L, -1)));
    const lua_Integer len = static_cast<lua_Integer>(lua_rawlen(L, -1));
    if (cols < 0) cols = len;
    if (len != cols)
      luaL_argerror(L, 1, lua_pushfstring(L, "row %I has %I values, row 1 has %I", i, len, cols));
    for (lua_Integer j = 1; j <= len; ++j) {
      lua_rawgeti(L, -1, j);
      if (!lua_isnumber(L, -1))
        luaL_argerror(L, 1, lua_pushfstring(L, "entry (%I, %I) is a %s, not a number", i, j, luaL_typename(L, -1)));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  if (cols < 0) cols = 0;
  auto* slot = new_object<Matrix>(L);
  protect(L, [&] {
    *slot = std::make_shared<Matrix>(static_cast<Index>(n), static_cast<Index>(cols));
    return 0;
  });
  Matrix& m = **slot;
  for (lua_Integer i = 1; i <= n; ++i) {
    // A __gc finalizer run by the allocation above may have changed the rows.
    if (lua_rawgeti(L, 1, i) != LUA_TTABLE) return luaL_error(L, "nl.matrix: the rows changed while being read");
    for (lua_Integer j = 1; j <= cols; ++j) {
      lua_rawgeti(L, -1, j);
      m(static_cast<Index>(i - 1), static_cast<Index>(j - 1)) = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return 1;
}

int zeros(lua_State* L) {
  const Index r = check_dim(L, 1, "row count"), c = check_dim(L, 2, "column count");
  return push_new<Matrix>(L, [&] { return Matrix(Matrix::Zero(r, c)); });
}

int ones(lua_State* L) {
  const Index r = check_dim(L, 1, "row count"), c = check_dim(L, 2, "column count");
  return push_new<Matrix>(L, [&] { return Matrix(Matrix::Ones(r, c)); });
}

int full(lua_State* L) {
  const Index r = check_dim(L, 1, "row count"), c = check_dim(L, 2, "column count");
  const double v = luaL_checknumber(L, 3);
  return push_new<Matrix>(L, [&] { return Matrix(Matrix::Constant(r, c, v)); });
}

int eye(lua_State* L) {
  const Index r = check_dim(L, 1, "row count");
  const Index c = lua_isnoneornil(L, 2) ? r : check_dim(L, 2, "column count");
  return push_new<Matrix>(L, [&] { return Matrix(Matrix::Identity(r, c)); });
}

// rand/randn(rows, cols [, seed]): with a seed, a private stream; without, the
// session stream (nl.seed).
template <bool Normal>
int random(lua_State* L) {
  const Index r = check_dim(L, 1, "row count"), c = check_dim(L, 2, "column count");
  const bool seeded = !lua_isnoneornil(L, 3);
  const lua_Integer seed = seeded ? luaL_checkinteger(L, 3) : 0;
  return push_new<Matrix>(L, [&] {
    nl::Rng local(static_cast<std::uint64_t>(seed));
    nl::Rng& rng = seeded ? local : session_rng();
    Matrix m(r, c);
    // Filled row by row so a matrix reads like the stream it came from.
    for (Index i = 0; i < r; ++i)
      for (Index j = 0; j < c; ++j) m(i, j) = Normal ? rng.normal() : rng.uniform();
    return m;
  });
}

// Matrix arguments idx.. , or one table of matrices at idx. validate_matrices raises
// on a non-matrix and returns the count; matrix_at then reads entry k (0-based) without
// raising. The matrices stay referenced by the stack or the table while in use.
int validate_matrices(lua_State* L, int idx) {
  if (lua_type(L, idx) == LUA_TTABLE) {
    const lua_Integer n = luaL_len(L, idx);
    for (lua_Integer k = 1; k <= n; ++k) {
      lua_rawgeti(L, idx, k);
      if (!test<Matrix>(L, -1)) luaL_argerror(L, idx, lua_pushfstring(L, "entry %I is not a neurolua.Matrix", k));
      lua_pop(L, 1);
    }
    return static_cast<int>(n);
  }
  const int top = lua_gettop(L);
  for (int i = idx; i <= top; ++i) check<Matrix>(L, i);
  return top - idx + 1;
}

const Matrix* matrix_at(lua_State* L, int idx, int k) {
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_rawgeti(L, idx, k + 1);
    const Matrix* m = test<Matrix>(L, -1);
    lua_pop(L, 1);
    return m;
  }
  return test<Matrix>(L, idx + k);
}

template <bool Horizontal>
int concat(lua_State* L) {
  const int count = validate_matrices(L, 1);
  return push_new<Matrix>(L, [&] {
    std::vector<const Matrix*> ptrs(static_cast<std::size_t>(count));
    for (int k = 0; k < count; ++k)
      if (!(ptrs[static_cast<std::size_t>(k)] = matrix_at(L, 1, k)))
        throw ArgError(1, "the list of matrices changed while it was being read");
    if (ptrs.empty()) return Matrix(0, 0);
    Index rows = 0, cols = 0;
    for (std::size_t k = 0; k < ptrs.size(); ++k) {
      const Matrix& m = *ptrs[k];
      if (Horizontal) {
        if (k > 0 && m.rows() != rows)
          throw ArgError(static_cast<int>(k + 1), fmt::format("hcat: matrix {} has {} rows, the first has {}",
                                                              k + 1, m.rows(), rows));
        rows = m.rows();
        cols += m.cols();
      } else {
        if (k > 0 && m.cols() != cols)
          throw ArgError(static_cast<int>(k + 1), fmt::format("vcat: matrix {} has {} columns, the first has {}",
                                                              k + 1, m.cols(), cols));
        cols = m.cols();
        rows += m.rows();
      }
    }
    Matrix out(rows, cols);
    Index at = 0;
    for (const Matrix* m : ptrs) {
      if (Horizontal) {
        out.middleCols(at, m->cols()) = *m;
        at += m->cols();
      } else {
        out.middleRows(at, m->rows()) = *m;
        at += m->rows();
      }
    }
    return out;
  });
}

// ---------------------------------------------------------------- shape and access

int m_rows(lua_State* L) {
  lua_pushinteger(L, check<Matrix>(L, 1).rows());
  return 1;
}

int m_cols(lua_State* L) {
  lua_pushinteger(L, check<Matrix>(L, 1).cols());
  return 1;
}

int m_shape(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  lua_pushinteger(L, m.rows());
  lua_pushinteger(L, m.cols());
  return 2;
}

int m_get(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  const Index i = check_row(L, 2, m), j = check_col(L, 3, m);
  lua_pushnumber(L, m(i, j));
  return 1;
}

int m_set(lua_State* L) {
  forbid_reentrant_change(L, "Matrix");
  Matrix& m = check<Matrix>(L, 1);
  const Index i = check_row(L, 2, m), j = check_col(L, 3, m);
  m(i, j) = luaL_checknumber(L, 4);
  lua_settop(L, 1);
  return 1;
}

// Pushes row i (0-based) as a Lua array.
void push_row_table(lua_State* L, const Matrix& m, Index i) {
  lua_createtable(L, static_cast<int>(m.cols()), 0);
  for (Index j = 0; j < m.cols(); ++j) {
    lua_pushnumber(L, m(i, j));
    lua_rawseti(L, -2, j + 1);
  }
}

// m[i] -> row i as a Lua table; m.name -> method; any other name raises.
int m_index(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    int isint = 0;
    const lua_Integer i = lua_tointegerx(L, 2, &isint);
    if (!isint || i < 1 || i > m.rows()) return 0;  // like a Lua array: nil outside
    push_row_table(L, m, static_cast<Index>(i - 1));
    return 1;
  }
  if (push_method(L, 2)) return 1;
  return no_field(L, 1, 2);
}

int m_newindex(lua_State* L) {
  return luaL_error(L, "cannot assign to a field of a neurolua.Matrix; use m:set(i, j, v)");
}

int m_row(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  const Index i = check_row(L, 2, m);
  return push_new<Matrix>(L, [&] { return Matrix(m.row(i)); });
}

int m_col(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  const Index j = check_col(L, 2, m);
  return push_new<Matrix>(L, [&] { return Matrix(m.col(j)); });
}

int m_rows_at(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  const lua_Integer n = validate_indices(L, 2, m.rows(), "row index");
  return push_new<Matrix>(L, [&] {
    std::vector<Index> idx(static_cast<std::size_t>(n));
    read_indices(L, 2, idx, m.rows());
    return Matrix(m(idx, Eigen::all));
  });
}

int m_cols_at(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  const lua_Integer n = validate_indices(L, 2, m.cols(), "column index");
  return push_new<Matrix>(L, [&] {
    std::vector<Index> idx(static_cast<std::size_t>(n));
    read_indices(L, 2, idx, m.cols());
    return Matrix(m(Eigen::all, idx));
  });
}

// m:block(i, j, nrows, ncols): the nrows x ncols block whose top-left entry is (i, j).
int m_block(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  const Index i = check_row(L, 2, m), j = check_col(L, 3, m);
  const Index h = static_cast<Index>(check_range(L, 4, 0, m.rows() - i, "block height"));
  const Index w = static_cast<Index>(check_range(L, 5, 0, m.cols() - j, "block width"));
  return push_new<Matrix>(L, [&] { return Matrix(m.block(i, j, h, w)); });
}

int m_to_table(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  lua_createtable(L, static_cast<int>(m.rows()), 0);
  for (Index i = 0; i < m.rows(); ++i) {
    push_row_table(L, m, i);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

int m_clone(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  return push_new<Matrix>(L, [&] { return m; });
}

// ---------------------------------------------------------------- linear algebra

int m_transpose(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  return push_new<Matrix>(L, [&] { return Matrix(m.transpose()); });
}

int m_solve(lua_State* L) {
  const Matrix& a = check<Matrix>(L, 1);
  const Matrix& b = check<Matrix>(L, 2);
  if (a.rows() != b.rows())
    luaL_argerror(L, 2, lua_pushfstring(L, "matrix dimensions %dx%d and %dx%d do not agree", (int)a.rows(),
                                        (int)a.cols(), (int)b.rows(), (int)b.cols()));
  return push_new<Matrix>(L, [&] { return nl::solve(a, b); });
}

int m_inverse(lua_State* L) {
  const Matrix& a = check<Matrix>(L, 1);
  return push_new<Matrix>(L, [&] { return nl::inverse(a); });
}

int m_pinv(lua_State* L) {
  const Matrix& a = check<Matrix>(L, 1);
  const double rcond = luaL_optnumber(L, 2, -1.0);  // -1: the engine's default
  if (!lua_isnoneornil(L, 2) && !(std::isfinite(rcond) && rcond >= 0))
    return luaL_argerror(L, 2, lua_pushfstring(L, "rcond must be a finite number >= 0, got %s",
                                               std::isnan(rcond) ? "NaN" : lua_tostring(L, 2)));
  return push_new<Matrix>(L, [&] { return nl::pinv(a, rcond); });
}

int m_det(lua_State* L) {
  const Matrix& a = check<Matrix>(L, 1);
  return protect(L, [&] {
    lua_pushnumber(L, nl::det(a));
    return 1;
  });
}

int m_trace(lua_State* L) {
  lua_pushnumber(L, check<Matrix>(L, 1).trace());
  return 1;
}

// m:norm(): Frobenius norm.
int m_norm(lua_State* L) {
  lua_pushnumber(L, check<Matrix>(L, 1).norm());
  return 1;
}

// ---------------------------------------------------------------- reductions

// m:sum() -> number; m:sum(1) -> 1 x cols; m:sum(2) -> rows x 1.
template <nl::Reduction R>
int m_reduce(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_pushnumber(L, nl::reduce_all(m, R));
    return 1;
  }
  const int dim = static_cast<int>(check_range(L, 2, 1, 2, "dimension"));
  return push_new<Matrix>(L, [&] { return nl::reduce(m, R, dim); });
}

// ---------------------------------------------------------------- elementwise

template <double (*F)(double)>
int m_map(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  return push_new<Matrix>(L, [&] { return Matrix(m.unaryExpr([](double x) { return F(x); })); });
}

double f_abs(double x) { return std::fabs(x); }
double f_sqrt(double x) { return std::sqrt(x); }
double f_exp(double x) { return std::exp(x); }
double f_log(double x) { return std::log(x); }

int m_pow(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  const double p = luaL_checknumber(L, 2);
  return push_new<Matrix>(L, [&] { return Matrix(m.array().pow(p)); });
}

// ---------------------------------------------------------------- operators

const char* op_symbol(nl::ArithOp op) {
  switch (op) {
    case nl::ArithOp::Add: return "+";
    case nl::ArithOp::Sub: return "-";
    case nl::ArithOp::Mul: return "cmul";
    case nl::ArithOp::Div: return "cdiv";
  }
  return "?";
}

// Shared body of + - cmul cdiv: operands may be numbers or matrices (in either order).
int binary(lua_State* L, nl::ArithOp op) {
  const Matrix* a = test<Matrix>(L, 1);
  const Matrix* b = test<Matrix>(L, 2);
  if (!a && !lua_isnumber(L, 1))
    luaL_typeerror(L, 1, "neurolua.Matrix or number");
  if (!b && !lua_isnumber(L, 2))
    luaL_typeerror(L, 2, "neurolua.Matrix or number");
  if (!a && !b) luaL_typeerror(L, 1, "neurolua.Matrix");  // the metamethod called directly with two numbers
  if (a && b && !nl::broadcastable(*a, *b))
    return luaL_error(L, "matrix dimensions %dx%d and %dx%d do not agree for '%s'", (int)a->rows(), (int)a->cols(),
                      (int)b->rows(), (int)b->cols(), op_symbol(op));
  const double sa = a ? 0.0 : lua_tonumber(L, 1);
  const double sb = b ? 0.0 : lua_tonumber(L, 2);
  return push_new<Matrix>(L, [&] {
    if (a && b) return nl::elementwise(*a, *b, op);
    return a ? nl::elementwise(*a, sb, op, false) : nl::elementwise(*b, sa, op, true);
  });
}

int m_add(lua_State* L) { return binary(L, nl::ArithOp::Add); }
int m_sub(lua_State* L) { return binary(L, nl::ArithOp::Sub); }
int m_cmul(lua_State* L) { return binary(L, nl::ArithOp::Mul); }
int m_cdiv(lua_State* L) { return binary(L, nl::ArithOp::Div); }

// a * b: matrix product, or scaling when one side is a number.
int m_mul(lua_State* L) {
  const Matrix* a = test<Matrix>(L, 1);
  const Matrix* b = test<Matrix>(L, 2);
  if (a && b) {
    if (a->cols() != b->rows())
      return luaL_error(L, "matrix product: dimensions %dx%d and %dx%d do not agree (columns of the left must equal rows of the right)",
                        (int)a->rows(), (int)a->cols(), (int)b->rows(), (int)b->cols());
    return push_new<Matrix>(L, [&] { return Matrix(*a * *b); });
  }
  return binary(L, nl::ArithOp::Mul);
}

// a / s and s / a are elementwise; matrix / matrix is refused (ambiguous).
int m_div(lua_State* L) {
  if (test<Matrix>(L, 1) && test<Matrix>(L, 2))
    return luaL_error(L, "matrix / matrix is not defined: use a:cdiv(b) for elementwise division or b:solve(a) to solve");
  return binary(L, nl::ArithOp::Div);
}

int m_unm(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  return push_new<Matrix>(L, [&] { return Matrix(-m); });
}

int m_eq(lua_State* L) {
  const Matrix* a = test<Matrix>(L, 1);
  const Matrix* b = test<Matrix>(L, 2);
  lua_pushboolean(L, a && b && a->rows() == b->rows() && a->cols() == b->cols() && *a == *b);
  return 1;
}

int m_len(lua_State* L) {
  lua_pushinteger(L, check<Matrix>(L, 1).rows());
  return 1;
}

int m_tostring(lua_State* L) {
  const Matrix& m = check<Matrix>(L, 1);
  return protect(L, [&] {
    const std::string s = nl::format_matrix(m);
    lua_pushlstring(L, s.data(), s.size());
    return 1;
  });
}

// ---------------------------------------------------------------- registration

const luaL_Reg functions[] = {
    {"zeros", zeros},
    {"ones", ones},
    {"full", full},
    {"eye", eye},
    {"rand", random<false>},
    {"randn", random<true>},
    {"hcat", concat<true>},
    {"vcat", concat<false>},
    {nullptr, nullptr},
};

const luaL_Reg methods[] = {
    {"rows", m_rows},
    {"cols", m_cols},
    {"shape", m_shape},
    {"get", m_get},
    {"set", m_set},
    {"row", m_row},
    {"col", m_col},
    {"rows_at", m_rows_at},
    {"cols_at", m_cols_at},
    {"block", m_block},
    {"to_table", m_to_table},
    {"clone", m_clone},
    {"t", m_transpose},
    {"transpose", m_transpose},
    {"solve", m_solve},
    {"inverse", m_inverse},
    {"pinv", m_pinv},
    {"det", m_det},
    {"trace", m_trace},
    {"norm", m_norm},
    {"sum", m_reduce<nl::Reduction::Sum>},
    {"mean", m_reduce<nl::Reduction::Mean>},
    {"std", m_reduce<nl::Reduction::Std>},
    {"var", m_reduce<nl::Reduction::Var>},
    {"min", m_reduce<nl::Reduction::Min>},
    {"max", m_reduce<nl::Reduction::Max>},
    {"cmul", m_cmul},
    {"cdiv", m_cdiv},
    {"abs", m_map<f_abs>},
    {"sqrt", m_map<f_sqrt>},
    {"exp", m_map<f_exp>},
    {"log", m_map<f_log>},
    {"pow", m_pow},
    {"hcat", concat<true>},
    {"vcat", concat<false>},
    {nullptr, nullptr},
};

const luaL_Reg metamethods[] = {
    {"__index", m_index},
    {"__fields", no_fields},
    {"__newindex", m_newindex},
    {"__add", m_add},
    {"__sub", m_sub},
    {"__mul", m_mul},
    {"__div", m_div},
    {"__unm", m_unm},
    {"__eq", m_eq},
    {"__len", m_len},
    {"__tostring", m_tostring},
    {nullptr, nullptr},
};

}  // namespace

// Pushes the nl.matrix module: a table of functions, callable as the constructor.
int open_matrix(lua_State* L) {
  register_type<Matrix>(L, methods, metamethods);
  lua_newtable(L);
  set_bindings(L, functions);
  lua_newtable(L);  // its metatable: __call = construct
  push_binding(L, construct);
  lua_setfield(L, -2, "__call");
  lua_pushstring(L, "nl.matrix");
  lua_setfield(L, -2, "__name");
  lua_setmetatable(L, -2);
  return 1;
}

}  // namespace nl::bind
