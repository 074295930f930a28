// fuzz_labels.cpp: the atlas label-table readers (nl::read_labels: mricron .nii.txt,
// CAT12 CSV, neuroparc JSON, plain CSV/TSV) and the regional-value table reader
// (nl::read_roi_table) on arbitrary bytes.
//
// The first byte picks the reader and the file name (a .json name selects the JSON
// reader whatever the content); the rest is the file.
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "nl/atlas/atlas.hpp"
#include "nl/core/core.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nl::fuzz::setup();
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (mode & 1) {
      (void)nl::read_roi_table(nl::fuzz::write_scratch("in.tsv", text));
    } else {
      const auto regions = nl::read_labels(nl::fuzz::write_scratch((mode & 2) ? "in.json" : "in.txt", text));
      nl::fuzz::require(!regions.empty(), "read_labels returns at least one region or throws");
      for (const auto& r : regions) nl::fuzz::require(r.index != 0 && !r.name.empty(), "no background, no empty name");
    }
  } catch (const nl::Error&) {
  }
  return 0;
}
