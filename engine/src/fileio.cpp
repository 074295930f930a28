// fileio.cpp: whole-file reads and atomic writes.
#include "nl/fileio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <system_error>

#include "nl/core.hpp"

namespace nl {

namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

// Permissions for a new file: those of the file being replaced, else 0666 minus the
// umask (read from /proc, since umask() itself cannot be queried without changing it).
mode_t new_file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return st.st_mode & 07777;
  mode_t mask = 022;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      mask = static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
      break;
    }
  }
  return 0666 & ~mask;
}

}  // namespace

std::string read_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw FileError(fmt::format("{}: is a directory, not a file", path));
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) throw FileError(fmt::format("{}: cannot open file ({})", path, errno_text(errno)));
  std::string text;
  char buf[1 << 16];
  std::size_t k;
  while ((k = std::fread(buf, 1, sizeof buf, f.get())) > 0) text.append(buf, k);
  if (std::ferror(f.get())) throw FileError(fmt::format("{}: cannot read file ({})", path, errno_text(errno)));
  return text;
}

void write_file_atomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw FileError(fmt::format("{}: cannot create file ({})", path, errno_text(errno)));
  int err = 0;
  for (std::size_t done = 0; done < data.size() && !err;) {
    const ssize_t k = ::write(fd, data.data() + done, data.size() - done);
    if (k < 0 && errno != EINTR) err = errno;
    if (k > 0) done += static_cast<std::size_t>(k);
  }
  if (!err && ::fchmod(fd, new_file_mode(path)) != 0) err = errno;
  if (!err && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (err) {
    ::unlink(tmp.c_str());
    throw FileError(fmt::format("{}: cannot write file ({})", path, errno_text(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    throw FileError(fmt::format("{}: cannot replace file ({})", path, errno_text(err)));
  }
}

}  // namespace nl
