// sim/common.cpp: helpers shared by the cohort simulators (see sim/common.hpp).
#include "common.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "nl/core/core.hpp"
#include "nl/io/fileio.hpp"
#include "nl/io/provenance.hpp"

namespace nl::sim::detail {

namespace fs = std::filesystem;

std::string normalize_name(const std::string& s) {
  std::string out;
  bool gap = false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) {
      if (gap && !out.empty()) out += ' ';
      out += static_cast<char>(std::tolower(c));
      gap = false;
    } else {
      gap = true;
    }
  }
  return out;
}

Grid output_grid(const Grid& atlas, double res) {
  const Eigen::Vector3d s = atlas.spacing();
  std::array<std::int64_t, 3> dims{};
  for (int d = 0; d < 3; ++d)
    dims[static_cast<std::size_t>(d)] =
        static_cast<std::int64_t>(std::floor(static_cast<double>(atlas.dims[static_cast<std::size_t>(d)] - 1) * s(d) / res + 1e-9)) + 1;
  Affine A = Affine::Identity();
  A.block<3, 3>(0, 0) = atlas.direction() * res;
  A.block<3, 1>(0, 3) = atlas.origin();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) A(i, j) = static_cast<double>(static_cast<float>(A(i, j)));
  return make_grid(dims, A, 2);
}

namespace {

std::string first_line(const fs::path& p) {
  check_read_access(p.string());
  // (a FIFO or a device standing in for the file is refused rather than read forever)
  const int fd = open_regular_file(p.string());
  std::FILE* f = ::fdopen(fd, "rb");
  if (f == nullptr) {
    ::close(fd);
    throw FileError(fmt::format("{}: cannot open file", p.string()));
  }
  std::string line;
  for (int c; (c = std::fgetc(f)) != EOF && c != '\n';) line.push_back(static_cast<char>(c));
  const bool read = !std::ferror(f);
  std::fclose(f);
  if (read) record_input(p.string());
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

void prepare_output_dir(const std::string& dir_name, bool overwrite, const std::string& header,
                        const std::vector<std::string>& markers, const std::string& what,
                        const std::vector<std::string>& subdirs) {
  // The policy first: outside the output folder, whether the folder exists is no answer.
  check_write_access(dir_name);
  const fs::path dir(dir_name);
  std::error_code ec;
  const auto st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st))
      throw FileError(fmt::format("'{}': exists and is not a directory", dir.string()));
    const bool empty = fs::is_empty(dir, ec);
    if (ec) throw FileError(fmt::format("'{}': cannot read directory ({})", dir.string(), ec.message()));
    if (!empty) {
      bool previous = !markers.empty();
      for (const auto& m : markers) previous = previous && fs::is_regular_file(dir / m, ec);
      previous = previous && first_line(dir / markers.front()) == header;
      if (!overwrite)
        throw FileError(fmt::format("'{}': directory is not empty; {}", dir.string(),
                                    previous ? "it holds a previous simulator output: pass overwrite = true to replace it"
                                             : "choose a new or empty directory"));
      if (!previous)
        throw FileError(fmt::format("'{}': directory is not empty and holds no previous simulator output "
                                    "({}); overwrite = true only replaces a simulator output: choose a new or empty "
                                    "directory",
                                    dir.string(), what));
    }
  } else {
    make_directories(dir.string());
  }
  for (const auto& sub : subdirs) {
    const fs::path p = dir / sub;
    if (fs::exists(p, ec) && !fs::is_directory(p, ec))
      throw FileError(fmt::format("'{}': exists and is not a directory", p.string()));
    make_directories(p.string());
  }
}

}  // namespace nl::sim::detail
