// fuzz_nifti.cpp: the NIfTI-1/NIfTI-2 header checks and voxel reader
// (nl::load_volume, .nii and, through zlib, .nii.gz) on arbitrary bytes.
//
// The memory budget is lowered to 64 MB, so a header promising more is refused by the
// budget check instead of exhausting the fuzzer's memory; anything under it that the
// reader accepts must give a volume of the promised size, on a grid that resampling and
// smoothing can use without aborting; the exact label reader must agree on the size.
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "nl/core/core.hpp"
#include "nl/image/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nl::fuzz::setup();
  static const bool once = [] {
    nl::set_memory_budget(std::uint64_t{64} << 20);
    return true;
  }();
  (void)once;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const nl::Volume v = nl::load_volume(nl::fuzz::write_scratch("in.nii", bytes));
    nl::fuzz::require(v.nx() >= 1 && v.ny() >= 1 && v.nz() >= 1 && v.frames() >= 1, "positive dimensions");
    nl::fuzz::require(v.size() == v.voxels() * static_cast<std::size_t>(v.frames()), "every voxel allocated");
    // Whatever geometry the reader accepts must be usable: resampling (ITK, whose VNL
    // aborts on a NaN or singular matrix) and smoothing either work or raise.
    nl::fuzz::require(nl::grid_problem(v.grid()).empty(), "a loaded grid is usable");
    // (The libFuzzer build is clang's, which Debian's ITK headers refuse: resampling is
    // exercised by the replay of this corpus in the GCC build, ctest fuzz.replay_nifti.)
    if (v.voxels() <= 4096 && v.frames() <= 4) {
      try {
#ifndef NL_FUZZ_NO_ITK
        nl::resample(v, v.grid(), nl::Interpolation::Linear);
#endif
        nl::smooth(v, {3, 3, 3});
      } catch (const nl::Error&) {
      }
    }
  } catch (const nl::Error&) {
  }
  try {  // the exact label reader takes the same header path
    const nl::LabelImage l = nl::load_label_image(nl::fuzz::write_scratch("in.nii", bytes));
    nl::fuzz::require(l.labels.size() == l.volume.size(), "one exact label per voxel");
  } catch (const nl::Error&) {
  }
  return 0;
}
