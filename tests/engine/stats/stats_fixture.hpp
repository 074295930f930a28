// tests/engine/stats/stats_fixture.hpp: reads the named-matrix fixture files of tests/data/{glm,
// permutation,stats}: "# comment" lines, then blocks "matrix NAME ROWS COLS" followed by
// ROWS lines of COLS numbers ("nan" allowed).
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"
#include "nl/stats/permutation.hpp"

namespace nl_test {

inline std::map<std::string, nl::Matrix> read_fixture(const std::string& relpath) {
  const std::string path = std::string(NL_TEST_DATA) + "/" + relpath;
  std::ifstream in(path);
  if (!in) FAIL("cannot open " << path);
  std::map<std::string, nl::Matrix> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream head(line);
    std::string word, name;
    long rows = 0, cols = 0;
    head >> word >> name >> rows >> cols;
    if (word != "matrix") FAIL(path << ": expected 'matrix', got: " << line);
    nl::Matrix M(rows, cols);
    for (long i = 0; i < rows; ++i) {
      if (!std::getline(in, line)) FAIL(path << ": " << name << " is truncated");
      std::istringstream row(line);
      for (long j = 0; j < cols; ++j) {
        std::string tok;
        row >> tok;
        M(i, j) = std::strtod(tok.c_str(), nullptr);
      }
    }
    out[name] = M;
  }
  return out;
}

// |got - want| <= rel * |want| (or both NaN); for want = 0 the bound is rel.
inline bool rel_close(double got, double want, double rel) {
  if (std::isnan(want)) return std::isnan(got);
  return std::fabs(got - want) <= rel * std::max(std::fabs(want), 1e-300) || got == want;
}

// The message of the nl::ValueError fn throws, or "(no error)".
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const nl::ValueError& e) {
    return e.what();
  }
  return "(no error)";
}

// Rearrangements given as a matrix, one per row (row k: the source row of each row).
inline std::vector<nl::stats::Shuffle> shuffles_of_rows(const nl::Matrix& P) {
  std::vector<nl::stats::Shuffle> out(static_cast<std::size_t>(P.rows()));
  for (Eigen::Index k = 0; k < P.rows(); ++k)
    for (Eigen::Index i = 0; i < P.cols(); ++i) out[static_cast<std::size_t>(k)].perm.push_back(static_cast<Eigen::Index>(P(k, i)));
  return out;
}

}  // namespace nl_test
