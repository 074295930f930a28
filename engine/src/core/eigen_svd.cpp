// core/eigen_svd.cpp: the one instantiation of Eigen's SVDs of MatrixXd
// (nl/core/eigen_extern.hpp).
#include <Eigen/Dense>

template class Eigen::BDCSVD<Eigen::MatrixXd>;
template class Eigen::JacobiSVD<Eigen::MatrixXd>;
