// fc/clean.cpp: head motion (canonical parameters, Friston 24, framewise displacement,
// scrubbing, exclusion), polynomial detrending, nuisance regression, the cleaning
// pipeline and mask means of 4-D volumes. Band-pass filters are in fc/filter.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <sstream>

#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"

namespace nl::fc {

namespace {

void check_motion_columns(const Matrix& m, const char* what) {
  if (m.cols() != 6)
    throw ValueError(fmt::format("{}: realignment parameters must have 6 columns, got {}", what, m.cols()));
}

}  // namespace

// ---------------------------------------------------------------- head motion

// Through nl::read_file, so the file-access checks every engine reader makes apply.
Matrix read_motion(const std::string& path) {
  const std::string text = read_file(path);
  record_input(path, text);
  std::istringstream in(text);
  std::vector<double> values;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::replace(line.begin(), line.end(), ',', ' ');
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream ss(line);
    std::string tok;
    int count = 0;
    while (ss >> tok) {
      char* end = nullptr;
      const double x = std::strtod(tok.c_str(), &end);
      if (end == tok.c_str() || *end != '\0')
        throw FileError(fmt::format("motion file '{}' line {}: a value is not a number", path, lineno));
      values.push_back(x);
      ++count;
    }
    if (count != 6)
      throw FileError(fmt::format("motion file '{}' line {}: {} values, expected 6 realignment parameters", path,
                                  lineno, count));
  }
  if (values.empty()) throw FileError(fmt::format("motion file '{}' has no data", path));
  const auto n = static_cast<Index>(values.size() / 6);
  Matrix m(n, 6);
  for (Index t = 0; t < n; ++t)
    for (Index c = 0; c < 6; ++c) m(t, c) = values[static_cast<std::size_t>(t * 6 + c)];
  return m;
}

Matrix canonical_motion(const Matrix& params, MotionFormat format) {
  check_motion_columns(params, "motion");
  Matrix out(params.rows(), 6);
  switch (format) {
    case MotionFormat::Spm:
      out = params;
      break;
    case MotionFormat::Fsl:
      out.leftCols(3) = params.rightCols(3);
      out.rightCols(3) = params.leftCols(3);
      break;
    case MotionFormat::Afni: {
      // roll (about I-S = z), pitch (about R-L = x), yaw (about A-P = y), in degrees;
      // dS (z), dL (x), dP (y) in mm.
      const double rad = std::numbers::pi / 180.0;
      out.col(0) = params.col(4);
      out.col(1) = params.col(5);
      out.col(2) = params.col(3);
      out.col(3) = params.col(1) * rad;
      out.col(4) = params.col(2) * rad;
      out.col(5) = params.col(0) * rad;
      break;
    }
  }
  return out;
}

Matrix friston24(const Matrix& motion) {
  check_motion_columns(motion, "friston24");
  const Index n = motion.rows();
  Matrix d = Matrix::Zero(n, 6);
  if (n > 1) d.bottomRows(n - 1) = motion.bottomRows(n - 1) - motion.topRows(n - 1);
  Matrix out(n, 24);
  out.middleCols(0, 6) = motion;
  out.middleCols(6, 6) = motion.array().square().matrix();
  out.middleCols(12, 6) = d;
  out.middleCols(18, 6) = d.array().square().matrix();
  return out;
}

std::vector<std::string> friston24_names() {
  static const char* const base[] = {"trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"};
  std::vector<std::string> names;
  for (const char* suffix : {"", "_power2", "_derivative1", "_derivative1_power2"})
    for (const char* b : base) names.push_back(std::string(b) + suffix);
  return names;
}

Vector framewise_displacement(const Matrix& motion, double radius) {
  check_motion_columns(motion, "framewise_displacement");
  if (!(radius > 0)) throw ValueError(fmt::format("framewise_displacement: radius must be positive, got {}", radius));
  const Index n = motion.rows();
  Vector fd = Vector::Zero(n);
  for (Index t = 1; t < n; ++t) {
    double s = 0;
    for (Index c = 0; c < 3; ++c) s += std::abs(motion(t, c) - motion(t - 1, c));
    for (Index c = 3; c < 6; ++c) s += radius * std::abs(motion(t, c) - motion(t - 1, c));
    fd(t) = s;
  }
  return fd;
}

FrameMask scrub_mask(const Vector& fd, double threshold, int before, int after) {
  if (before < 0 || after < 0)
    throw ValueError(fmt::format("scrub_mask: frames before/after must be >= 0, got {} and {}", before, after));
  const Index n = fd.size();
  FrameMask keep(static_cast<std::size_t>(n), 1);
  if (std::isnan(threshold)) return keep;
  for (Index t = 0; t < n; ++t) {
    if (!(fd(t) > threshold)) continue;
    const Index lo = std::max<Index>(0, t - before), hi = std::min<Index>(n - 1, t + after);
    for (Index u = lo; u <= hi; ++u) keep[static_cast<std::size_t>(u)] = 0;
  }
  return keep;
}

MotionSummary motion_summary(const Matrix& motion, const MotionOptions& o) {
  check_motion_columns(motion, "motion_summary");
  MotionSummary s;
  s.fd = framewise_displacement(motion, o.radius);
  const Index n = motion.rows();
  if (n > 0) {
    s.mean_fd = s.fd.mean();
    s.max_fd = s.fd.maxCoeff();
    s.max_translation = motion.leftCols(3).cwiseAbs().maxCoeff();
    s.max_rotation = motion.rightCols(3).cwiseAbs().maxCoeff() * 180.0 / std::numbers::pi;
  }
  s.exclude = s.max_translation > o.max_translation || s.max_rotation > o.max_rotation;
  s.kept = scrub_mask(s.fd, o.fd_threshold, o.before, o.after);
  s.n_scrubbed = static_cast<Index>(std::count(s.kept.begin(), s.kept.end(), 0));
  return s;
}

// ---------------------------------------------------------------- detrending and regression

Matrix polynomial_basis(Index frames, int order) {
  if (order < 0) throw ValueError(fmt::format("polynomial order must be >= 0, got {}", order));
  if (frames <= order)
    throw ValueError(fmt::format("a polynomial of order {} needs more than {} frames, got {}", order, order, frames));
  // Vandermonde matrix of t in [-1, 1]; its Q factor is an orthonormal basis of the
  // same column space and keeps the regression well conditioned at any order.
  Matrix V(frames, order + 1);
  for (Index t = 0; t < frames; ++t) {
    const double x = frames > 1 ? 2.0 * static_cast<double>(t) / static_cast<double>(frames - 1) - 1.0 : 0.0;
    double p = 1.0;
    for (int k = 0; k <= order; ++k, p *= x) V(t, k) = p;
  }
  Eigen::HouseholderQR<Matrix> qr(V);
  return qr.householderQ() * Matrix::Identity(frames, order + 1);
}

Matrix residualize(const Matrix& Y, const Matrix& D) {
  if (D.rows() != Y.rows())
    throw ValueError(fmt::format("residualize: the design has {} rows, the data {}", D.rows(), Y.rows()));
  if (D.cols() == 0) return Y;
  if (!D.allFinite()) throw ValueError("residualize: the design has non-finite values");
  Eigen::ColPivHouseholderQR<Matrix> qr(D);
  qr.setThreshold(1e-10);
  const Index r = qr.rank();
  if (r == 0) return Y;
  // Thin Q of the independent columns, then Y - Q (Q' Y) as two matrix products.
  const Matrix Q = qr.householderQ() * Matrix::Identity(D.rows(), r);
  const Matrix B = Q.transpose() * Y;
  Matrix out = Y;
  out.noalias() -= Q * B;
  return out;
}

Matrix detrend(const Matrix& Y, int order) { return residualize(Y, polynomial_basis(Y.rows(), order)); }

// ---------------------------------------------------------------- the cleaning pipeline

CleanResult clean(const Matrix& Y, const Matrix& motion, const Matrix& confounds, const CleanOptions& o) {
  const Index n = Y.rows();
  if (motion.cols() > 0 && motion.rows() != n)
    throw ValueError(fmt::format("clean: motion has {} rows, the signals {} frames", motion.rows(), n));
  if (confounds.cols() > 0 && confounds.rows() != n)
    throw ValueError(fmt::format("clean: confounds have {} rows, the signals {} frames", confounds.rows(), n));
  if (o.discard < 0 || o.discard >= n)
    throw ValueError(fmt::format("clean: cannot discard {} of {} frames", o.discard, n));
  if (o.detrend < -1) throw ValueError(fmt::format("clean: detrend order must be >= -1, got {}", o.detrend));
  if (o.scrub && motion.cols() == 0) throw ValueError("clean: scrubbing needs the motion parameters");
  if (!Y.allFinite()) throw ValueError("clean: the signals have non-finite values (NaN or inf)");

  const Index m = n - o.discard;
  CleanResult res;
  Matrix R;  // canonical motion after discarding
  if (motion.cols() > 0) {
    R = canonical_motion(motion.bottomRows(m), o.motion_format);
    res.motion = motion_summary(R, o.motion);
  }

  // The nuisance design: trend, motion model, confounds.
  Index k = 0;
  const Index kp = o.detrend >= 0 ? o.detrend + 1 : 0;
  const Index km = R.cols() == 0 ? 0 : o.motion_model == MotionModel::Six ? 6 : o.motion_model == MotionModel::Friston24 ? 24 : 0;
  res.design.resize(m, kp + km + confounds.cols());
  if (kp > 0) res.design.leftCols(kp) = polynomial_basis(m, o.detrend);
  k += kp;
  if (km == 6) res.design.middleCols(k, 6) = R;
  if (km == 24) res.design.middleCols(k, 24) = friston24(R);
  k += km;
  if (confounds.cols() > 0) {
    if (!confounds.allFinite()) throw ValueError("clean: the confounds have non-finite values");
    res.design.rightCols(confounds.cols()) = confounds.bottomRows(m);
  }
  if (m <= res.design.cols())
    throw ValueError(fmt::format("clean: {} frames left after discarding, but {} nuisance regressors", m,
                                 res.design.cols()));

  Matrix S = residualize(Y.bottomRows(m), res.design);
  if (o.bandpass) S = bandpass(S, *o.bandpass);

  res.kept = o.scrub ? res.motion->kept : FrameMask(static_cast<std::size_t>(m), 1);
  const auto kept = static_cast<Index>(std::count(res.kept.begin(), res.kept.end(), 1));
  if (kept == m) {
    res.signals = std::move(S);
  } else {
    res.signals.resize(kept, S.cols());
    for (Index t = 0, r = 0; t < m; ++t)
      if (res.kept[static_cast<std::size_t>(t)]) res.signals.row(r++) = S.row(t);
  }
  return res;
}

// ---------------------------------------------------------------- node signals

Matrix mask_means(const Volume& v, const std::vector<const Volume*>& masks) {
  std::vector<std::vector<std::size_t>> offsets(masks.size());
  for (std::size_t k = 0; k < masks.size(); ++k) {
    const Volume& mask = *masks[k];
    if (mask.frames() != 1)
      throw ValueError(fmt::format("mask {} must have one frame, it has {}", k + 1, mask.frames()));
    if (!mask.grid().same_as(v.grid()))
      throw ValueError(fmt::format("mask {} is on a different grid, {} ({}), than the volume, {} ({}); resample it "
                                   "with mask:resample_to(volume, \"nearest\")",
                                   k + 1, mask.grid().describe(), mask.grid().orientation(), v.grid().describe(),
                                   v.grid().orientation()));
    const float* p = mask.data();
    for (std::size_t i = 0, nv = mask.voxels(); i < nv; ++i)
      if (p[i] != 0) offsets[k].push_back(i);
    if (offsets[k].empty()) throw ValueError(fmt::format("mask {} has no non-zero voxel", k + 1));
  }
  Matrix out(v.frames(), static_cast<Index>(masks.size()));
  parallel_for(static_cast<std::size_t>(v.frames()), [&](std::size_t t) {
    const float* p = v.frame_data(static_cast<std::int64_t>(t));
    for (std::size_t k = 0; k < masks.size(); ++k) {
      double s = 0;
      std::size_t c = 0;
      for (std::size_t i : offsets[k]) {
        const double x = p[i];
        if (std::isnan(x)) continue;
        s += x;
        ++c;
      }
      out(static_cast<Index>(t), static_cast<Index>(k)) = c ? s / static_cast<double>(c) : std::numeric_limits<double>::quiet_NaN();
    }
  });
  return out;
}

}  // namespace nl::fc
