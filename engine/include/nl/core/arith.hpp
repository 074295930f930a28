// nl/core/arith.hpp: the four elementwise operators that matrices (nl.matrix), table
// columns (nl.table) and volumes (nl.volume) share, and broadcasting for matrices.
#pragma once

#include "nl/core/linalg.hpp"

namespace nl {

enum class ArithOp { Add, Sub, Mul, Div };

// x op y (IEEE arithmetic: a division by zero gives inf or NaN).
template <class T>
constexpr T apply_op(ArithOp op, T x, T y) {
  switch (op) {
    case ArithOp::Add: return x + y;
    case ArithOp::Sub: return x - y;
    case ArithOp::Mul: return x * y;
    case ArithOp::Div: return x / y;
  }
  return T(0);
}

// Whether two matrices combine elementwise: equal shapes, one side a 1 x cols row or a
// rows x 1 column of the other (broadcast along the other dimension), or a 1 x 1
// treated as a scalar.
bool broadcastable(const Matrix& a, const Matrix& b);

// a op b elementwise with broadcasting; ValueError unless broadcastable(a, b).
Matrix elementwise(const Matrix& a, const Matrix& b, ArithOp op);

// a op s (or s op a when scalar_first) for every element.
Matrix elementwise(const Matrix& a, double s, ArithOp op, bool scalar_first);

}  // namespace nl
