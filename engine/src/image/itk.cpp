// image/itk.cpp: resampling through ITK.
//
// A frame of a Volume is handed to ITK without copying: an itk::Image whose pixel
// container points at the Volume's float buffer (not owned). Its geometry is the
// Volume's RAS affine split into origin, spacing (column lengths) and direction
// (unit columns). ITK calls its physical space LPS, but nothing here depends on the
// naming: both input and output are described in the same (RAS) world frame, so world
// positions match exactly as they do through the affines.
#include <fmt/format.h>
#include <itkImage.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMultiThreaderBase.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include <cmath>
#include <cstring>

#include "nl/core/core.hpp"
#include "nl/image/image.hpp"

namespace nl {

namespace {

using Image = itk::Image<float, 3>;

void set_geometry(Image* img, const Grid& g) {
  const Eigen::Vector3d sp = g.spacing(), org = g.origin();
  const Eigen::Matrix3d dir = g.direction();
  Image::SpacingType spacing;
  Image::PointType origin;
  Image::DirectionType direction;
  for (unsigned r = 0; r < 3; ++r) {
    spacing[r] = sp(r);
    origin[r] = org(r);
    for (unsigned c = 0; c < 3; ++c) direction(r, c) = dir(r, c);
  }
  img->SetSpacing(spacing);
  img->SetOrigin(origin);
  img->SetDirection(direction);
}

Image::RegionType region_of(const Grid& g) {
  Image::SizeType size;
  for (unsigned d = 0; d < 3; ++d) size[d] = static_cast<itk::SizeValueType>(g.dims[d]);
  Image::RegionType region;
  region.SetSize(size);
  return region;
}

// An itk::Image over `data` (one frame on grid g), not owning it. ITK never writes to
// an input, so the const_cast is safe.
Image::Pointer wrap(const float* data, const Grid& g) {
  Image::Pointer img = Image::New();
  img->SetRegions(region_of(g));
  img->GetPixelContainer()->SetImportPointer(const_cast<float*>(data), g.voxels(), false);
  set_geometry(img.GetPointer(), g);
  return img;
}

void copy_out(const Image* img, float* dst, std::size_t n) {
  std::memcpy(dst, img->GetBufferPointer(), n * sizeof(float));
}

// ITK follows its own global thread count; keep it in step with nl.threads().
void prepare_itk() {
  itk::Object::GlobalWarningDisplayOff();
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(static_cast<itk::ThreadIdType>(threads()));
}

VolumeInfo computed_info(const VolumeInfo& from, DataType type, bool keep_scaled) {
  VolumeInfo info = from;
  info.source_type = type;
  if (!keep_scaled) info.scaled = false;
  info.path.clear();
  return info;
}

}  // namespace

// Why the checks and the catch-all: ITK reports most problems as itk::ExceptionObject,
// but a NaN in a spacing or direction passes its checks and reaches VNL, whose
// vnl_matrix inverse calls abort(), which no pcall can catch. So both grids are refused
// unless finite and invertible (check_grid) before any ITK object is made, and every
// ITK call, not only Update(), runs inside the try block.
Volume resample(const Volume& v, const Grid& grid, Interpolation interp) {
  check_grid(v.grid(), "resample: the image's grid");
  check_grid(grid, "resample: the target grid");
  // ITK maps the target's corners into the image's index space with 64-bit index
  // arithmetic (ImageRegion::Crop), which overflows (undefined behaviour) for a grid
  // some 1e18 voxels away. Finite affines can still be that far apart: refuse beyond
  // 1e12 voxels, where no overlap is possible for any image that fits in memory.
  for (int corner = 0; corner < 8; ++corner) {
    Eigen::Vector3d ijk;
    for (int a = 0; a < 3; ++a)
      ijk[a] = (corner >> a) & 1 ? static_cast<double>(grid.dims[static_cast<std::size_t>(a)]) - 0.5 : -0.5;
    const Eigen::Vector3d at = v.grid().to_voxel(grid.to_world(ijk));
    if (!at.allFinite() || at.cwiseAbs().maxCoeff() > 1e12)
      throw ValueError(fmt::format(
          "resample: the target grid ({}) lies more than 1e12 voxels from the image's grid ({}) or cannot be "
          "mapped onto it: check the two affines",
          grid.describe(), v.grid().describe()));
  }
  Volume out(grid, v.frames(), v.ndim() == 4, Volume::Uninitialized{});
  const bool nearest = interp == Interpolation::Nearest;
  out.info = computed_info(v.info, nearest ? v.info.source_type : DataType::Float32, nearest);
  prepare_itk();
  using Resample = itk::ResampleImageFilter<Image, Image, double>;
  for (std::int64_t t = 0; t < v.frames(); ++t) {
    check_interrupt();
    try {
      Image::Pointer in = wrap(v.frame_data(t), v.grid());
      Resample::Pointer r = Resample::New();
      r->SetInput(in);
      if (nearest)
        r->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<Image, double>::New());
      else
        r->SetInterpolator(itk::LinearInterpolateImageFunction<Image, double>::New());
      r->SetDefaultPixelValue(0.0f);
      Image::Pointer geometry = Image::New();  // carries the output grid's geometry
      geometry->SetRegions(region_of(grid));
      set_geometry(geometry.GetPointer(), grid);
      r->SetSize(region_of(grid).GetSize());
      r->SetOutputSpacing(geometry->GetSpacing());
      r->SetOutputOrigin(geometry->GetOrigin());
      r->SetOutputDirection(geometry->GetDirection());
      r->Update();
      copy_out(r->GetOutput(), out.frame_data(t), grid.voxels());
    } catch (const itk::ExceptionObject& e) {
      throw ValueError(fmt::format("resampling failed: {}", e.GetDescription()));
    }
  }
  return out;
}

}  // namespace nl
