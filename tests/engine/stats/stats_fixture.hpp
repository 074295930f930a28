// tests/engine/stats/stats_fixture.hpp: reads the named-matrix fixture files of tests/data/{glm,
// permutation,stats}: "# comment" lines, then blocks "matrix NAME ROWS COLS" followed by
// ROWS lines of COLS numbers ("nan" allowed).
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "nl/core/linalg.hpp"

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

}  // namespace nl_test
