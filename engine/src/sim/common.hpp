// sim/common.hpp (engine-internal): what the cohort simulators share: region-name
// normalisation, the output grid, and the output-directory policy.
#pragma once

#include <string>
#include <vector>

#include "nl/image/image.hpp"

namespace nl::sim::detail {

// Lower case, runs of characters other than letters and digits as one space, no
// leading or trailing space: "Frontal_Med_Orb_L" -> "frontal med orb l".
std::string normalize_name(const std::string& s);

// The atlas' field of view at `res` mm: same direction and first-voxel centre, voxel
// count per axis floor((n - 1) s / res) + 1. Affine entries are rounded to float32 so
// that the grid read back from a saved image (NIfTI stores the sform as float32) is the
// same grid, and a reloaded image meets the same label index.
Grid output_grid(const Grid& atlas, double res);

// The simulators' directory policy. `dir` is created (with its parents) when missing;
// an existing empty directory is used; a non-empty one is refused unless `overwrite`
// is set AND it holds a previous output of the same simulator: every file of `markers`
// exists and `markers[0]` (participants.tsv) starts with the line `header`. `what`
// describes such an output in the error ("participants.tsv with the simulator's
// columns and ground_truth.tsv"). Then the subdirectories `subdirs` are created.
// Nothing is ever deleted. FileError naming the directory otherwise.
void prepare_output_dir(const std::string& dir, bool overwrite, const std::string& header,
                        const std::vector<std::string>& markers, const std::string& what,
                        const std::vector<std::string>& subdirs);

}  // namespace nl::sim::detail
