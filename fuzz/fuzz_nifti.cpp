// fuzz_nifti.cpp: the NIfTI-1/NIfTI-2 header checks and voxel reader
// (nl::load_volume, .nii and, through zlib, .nii.gz) on arbitrary bytes.
//
// The memory budget is lowered to 64 MB, so a header promising more is refused by the
// budget check instead of exhausting the fuzzer's memory; anything under it that the
// reader accepts must give a volume of the promised size.
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
  } catch (const nl::Error&) {
  }
  return 0;
}
