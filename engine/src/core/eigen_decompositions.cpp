// core/eigen_decompositions.cpp: the one instantiation of Eigen's eigen-solver, QR,
// Cholesky and LU decompositions of MatrixXd (nl/core/eigen_extern.hpp).
#include <Eigen/Dense>

template class Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>;
template class Eigen::ColPivHouseholderQR<Eigen::MatrixXd>;
template class Eigen::HouseholderQR<Eigen::MatrixXd>;
template class Eigen::LLT<Eigen::MatrixXd>;
template class Eigen::LDLT<Eigen::MatrixXd>;
template class Eigen::PartialPivLU<Eigen::MatrixXd>;
template class Eigen::FullPivLU<Eigen::MatrixXd>;
template class Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>;
