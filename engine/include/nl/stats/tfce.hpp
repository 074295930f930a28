// nl/stats/tfce.hpp: threshold-free cluster enhancement (Smith & Nichols 2009,
// "Threshold-free cluster enhancement: addressing problems of smoothing, threshold
// dependence and localisation in cluster inference", NeuroImage 44:83-98).
//
// The TFCE score of test p of a statistic map x is the integral over heights h from 0
// to x_p of e_p(h)^E h^H dh, where e_p(h) is the number of tests in p's cluster of
// {x >= h} (clusters joined by the grid's or graph's neighbours, cluster.hpp). It is
// computed, as FSL and every other implementation do, as the sum over the heights
// h_k = k dh (k = 1, 2, ...; h_k <= max x) of e_p(h_k)^E h_k^H dh. The step dh is given,
// or "auto" (dh <= 0): the map's maximum / 100, as FSL randomise and nilearn do, so that
// every map, observed or permuted, is cut at 100 heights.
//
// Two-sided (signed t): the positive part {x >= h} and the negative part {x <= -h} are
// enhanced separately, a cluster never joining tests of opposite signs (as MNE-Python's
// tail = 0); the score is non-negative either way, and dh auto is max |x| / 100.
//
// Defaults follow the paper: E = 0.5, H = 2 for 3-D images; for graphs (connectome
// edges or nodes) E = 1, H = 2, what the field uses for network data.
//
// Computation: one pass over the tests in decreasing order of height with a union-find
// whose roots carry lazy sums (a component whose size does not change over a run of
// heights is charged once, through prefix sums of h^H dh), so the cost is
// O(m log m) whatever the number of heights, instead of one labelling per height.
#pragma once

#include <Eigen/Dense>
#include <vector>

#include "nl/stats/cluster.hpp"

namespace nl::stats {

struct TfceOptions {
  double E = 0.5;
  double H = 2.0;
  double dh = 0;           // <= 0: auto, the map's maximum / 100
  bool two_sided = false;  // x is a signed t: both signs enhanced separately
};

// The TFCE scores of x (grid.tests() values; NaN never joins a cluster and scores 0).
// ValueError: x of the wrong length, E or H negative or not finite, dh not finite.
Eigen::VectorXd tfce(const ClusterGrid& grid, const Eigen::VectorXd& x, const TfceOptions& o);

// The general sum: score_p = sum over k with a_p >= levels[k] of weights[k] e_p(k)^E,
// where a = x (or |x| with two_sided, clusters then joining same-sign tests only) and
// e_p(k) is the size of p's cluster of {a >= levels[k]}. levels ascending. tfce() is
// this with levels k dh and weights h_k^H dh; other weights reproduce other programs'
// conventions in tests. The heights of the auto rule are also given by tfce_levels.
Eigen::VectorXd tfce_sum(const ClusterGrid& grid, const Eigen::VectorXd& x, const std::vector<double>& levels,
                         const std::vector<double>& weights, double E, bool two_sided);

// The heights h_k used for a map whose largest value (|x| two-sided) is `top`.
std::vector<double> tfce_levels(double top, double dh);

}  // namespace nl::stats
