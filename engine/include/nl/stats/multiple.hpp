// nl/stats/multiple.hpp: multiple-comparison corrections.
#pragma once

#include "nl/core/linalg.hpp"

namespace nl::stats {

// Benjamini-Hochberg adjusted p-values ("q-values", R's p.adjust(p, "BH")):
// q_(i) = min_{j >= i} min(1, m p_(j) / j) over the sorted p-values. A hypothesis is
// rejected at FDR level alpha when q <= alpha. NaN p-values are left out of m and get
// NaN.
Vector fdr_bh(const Vector& p);

}  // namespace nl::stats
