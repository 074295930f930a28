// nl/core/eigen_extern.hpp: Eigen's dense decompositions of MatrixXd are compiled once,
// in engine/src/core/eigen_svd.cpp and eigen_decompositions.cpp, instead of in every
// file that uses them (each instantiation cost 30-60 s of compile time per file at
// -O3, and more under the sanitizers). Included by nl/core/linalg.hpp. Other matrix
// types (fixed sizes, other options) are instantiated where they are used, as before.
#pragma once

#include <Eigen/Dense>

extern template class Eigen::BDCSVD<Eigen::MatrixXd>;
extern template class Eigen::JacobiSVD<Eigen::MatrixXd>;
extern template class Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>;
extern template class Eigen::ColPivHouseholderQR<Eigen::MatrixXd>;
extern template class Eigen::HouseholderQR<Eigen::MatrixXd>;
extern template class Eigen::LLT<Eigen::MatrixXd>;
extern template class Eigen::LDLT<Eigen::MatrixXd>;
extern template class Eigen::PartialPivLU<Eigen::MatrixXd>;
extern template class Eigen::FullPivLU<Eigen::MatrixXd>;
extern template class Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>;
