// image/smooth.cpp: Gaussian smoothing (FWHM in mm) by separable convolution.
//
// Kernel along voxel axis d: the sampled Gaussian w[m] = exp(-m^2 / (2 s^2)),
// m = -r..r, normalised to sum 1, with s = fwhm_d / sqrt(8 ln 2) / spacing_d (voxels)
// and r = floor(4 s + 0.5): SciPy's gaussian_filter (truncate = 4), which nilearn's
// smooth_img uses. Outside the image the edge voxel is repeated (SciPy mode "nearest",
// ITK's zero-flux Neumann condition), so a constant image stays constant.
//
// Why not ITK: ITK 5.2's DiscreteGaussianImageFilter took 5.7 s for one 197x233x189
// image at FWHM 8 mm on 2 cores, and its RecursiveGaussianImageFilter (Deriche IIR)
// gave a kernel about 3 % narrower than asked at sigma = 1.7 voxels. This direct
// convolution takes well under a second, parallel over slices, and matches SciPy to
// float precision.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/image/image.hpp"

namespace nl {

namespace {

std::vector<float> gaussian_kernel(double sigma) {
  const auto r = static_cast<std::int64_t>(4.0 * sigma + 0.5);
  std::vector<double> w(static_cast<std::size_t>(2 * r + 1));
  double total = 0;
  for (std::int64_t m = -r; m <= r; ++m) {
    const double x = std::exp(-0.5 * static_cast<double>(m * m) / (sigma * sigma));
    w[static_cast<std::size_t>(m + r)] = x;
    total += x;
  }
  std::vector<float> out(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) out[i] = static_cast<float>(w[i] / total);
  return out;
}

inline std::int64_t clamp(std::int64_t i, std::int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// One pass along axis `axis` of an nx x ny x nz frame, src -> dst. Along x the line is
// padded into a buffer; along y and z whole x-rows are combined, so the inner loop
// runs over contiguous memory and vectorizes.
void convolve_axis(const float* src, float* dst, const std::array<std::int64_t, 3>& n, int axis,
                   const std::vector<float>& w) {
  const std::int64_t nx = n[0], ny = n[1], nz = n[2];
  const auto r = static_cast<std::int64_t>(w.size() / 2);
  const auto row = static_cast<std::size_t>(nx);
  if (axis == 0) {
    parallel_for(static_cast<std::size_t>(ny * nz), [&](std::size_t line) {
      std::vector<float> pad(static_cast<std::size_t>(nx + 2 * r));
      const float* in = src + line * row;
      for (std::int64_t i = -r; i < nx + r; ++i) pad[static_cast<std::size_t>(i + r)] = in[clamp(i, nx)];
      float* out = dst + line * row;
      for (std::int64_t i = 0; i < nx; ++i) {
        float s = 0;
        for (std::size_t m = 0; m < w.size(); ++m) s += w[m] * pad[static_cast<std::size_t>(i) + m];
        out[i] = s;
      }
    });
    return;
  }
  const std::int64_t len = axis == 1 ? ny : nz;
  const std::size_t stride = axis == 1 ? row : row * static_cast<std::size_t>(ny);
  const std::int64_t other = axis == 1 ? nz : ny;  // lines to process independently
  parallel_for(static_cast<std::size_t>(other), [&](std::size_t o) {
    // Base of the plane that holds the lines along `axis` for this index o.
    const std::size_t base = axis == 1 ? o * row * static_cast<std::size_t>(ny) : o * row;
    std::vector<float> acc(row);
    for (std::int64_t j = 0; j < len; ++j) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (std::int64_t m = -r; m <= r; ++m) {
        const float wm = w[static_cast<std::size_t>(m + r)];
        const float* in = src + base + static_cast<std::size_t>(clamp(j + m, len)) * stride;
        for (std::size_t i = 0; i < row; ++i) acc[i] += wm * in[i];
      }
      std::memcpy(dst + base + static_cast<std::size_t>(j) * stride, acc.data(), row * sizeof(float));
    }
  });
}

}  // namespace

Volume smooth(const Volume& v, const std::array<double, 3>& fwhm_mm) {
  for (double f : fwhm_mm)
    if (!(f >= 0) || !std::isfinite(f)) throw ValueError(fmt::format("fwhm must be a finite number >= 0 mm, got {}", f));
  // The kernel width in voxels is fwhm / spacing: a zero or NaN spacing would give an
  // infinite or NaN width and leave the image unsmoothed without a word.
  check_grid(v.grid(), "smooth");
  Volume out(v.grid(), v.frames(), v.ndim() == 4, Volume::Uninitialized{});
  out.info = v.info;
  out.info.source_type = DataType::Float32;
  out.info.scaled = false;
  out.info.path.clear();
  std::memcpy(out.data(), v.data(), v.size() * sizeof(float));
  const Eigen::Vector3d sp = v.grid().spacing();
  const double to_sigma = 1.0 / std::sqrt(8.0 * std::log(2.0));
  std::vector<float> tmp(v.voxels());
  for (std::int64_t t = 0; t < v.frames(); ++t) {
    check_interrupt();
    float* frame = out.frame_data(t);
    for (int d = 0; d < 3; ++d) {
      const double sigma = fwhm_mm[static_cast<std::size_t>(d)] * to_sigma / sp(d);
      if (sigma == 0) continue;
      // The kernel radius is 4 sigma voxels; beyond a million voxels it is no image
      // smoothing, and the conversion to an integer radius would overflow.
      if (!(4.0 * sigma <= 1e6))
        throw ValueError(fmt::format("smooth: fwhm {} mm is {:.3g} voxels of {} mm along axis {}, too wide (the kernel "
                                     "would span more than a million voxels)",
                                     fwhm_mm[static_cast<std::size_t>(d)], fwhm_mm[static_cast<std::size_t>(d)] / sp(d),
                                     sp(d), d + 1));
      convolve_axis(frame, tmp.data(), v.grid().dims, d, gaussian_kernel(sigma));
      std::memcpy(frame, tmp.data(), v.voxels() * sizeof(float));
    }
  }
  return out;
}

}  // namespace nl
