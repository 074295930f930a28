// fileio.cpp: whole-file reads and atomic writes.
#include "nl/io/fileio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fmt/format.h>

#include <climits>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <system_error>

#include "nl/core/core.hpp"

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

// ---------------------------------------------------------------- policy

struct Policy {
  bool active = false;
  std::vector<std::string> read, write;  // resolved roots
};

Policy& policy() {
  static Policy p;
  return p;
}
std::once_flag g_policy_once;

// realpath(), or "" when the path does not resolve.
std::string resolved(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

// The resolved form of a path that may not exist yet: its existing parent resolved,
// then the last component (which must not be "." or "..").
std::string resolved_target(const std::string& path) {
  std::string r = resolved(path);
  if (!r.empty()) return r;
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") return {};
  const std::string parent = resolved(dir);
  if (parent.empty()) return {};
  return parent == "/" ? "/" + base : parent + "/" + base;
}

bool under(const std::string& p, const std::vector<std::string>& roots) {
  for (const auto& r : roots)
    if (p == r || (p.size() > r.size() && p.compare(0, r.size(), r) == 0 && (r == "/" || p[r.size()] == '/')))
      return true;
  return false;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}

}  // namespace

void install_file_policy(const FilePolicy& p) {
  Policy resolved_policy;
  resolved_policy.active = true;
  for (const auto& r : p.read_roots) {
    const std::string x = resolved(r);
    if (x.empty()) throw ValueError(fmt::format("sandbox: input folder '{}' does not exist", r));
    resolved_policy.read.push_back(x);
  }
  for (const auto& r : p.write_roots) {
    const std::string x = resolved(r);
    if (x.empty()) throw ValueError(fmt::format("sandbox: output folder '{}' does not exist", r));
    resolved_policy.write.push_back(x);
    resolved_policy.read.push_back(x);
  }
  bool installed = false;
  std::call_once(g_policy_once, [&] {
    policy() = std::move(resolved_policy);
    installed = true;
  });
  if (!installed) throw ValueError("sandbox: a file policy is already installed");
}

bool file_policy_active() noexcept { return policy().active; }

void check_read_access(const std::string& path) {
  const Policy& p = policy();
  if (!p.active) return;
  const std::string r = resolved_target(path);
  if (r.empty() || !under(r, p.read))
    throw FileError(fmt::format("{}: reading outside the allowed folders is not permitted in the sandbox (allowed: {})",
                                path, joined(p.read)));
}

void check_write_access(const std::string& path) {
  const Policy& p = policy();
  if (!p.active) return;
  const std::string r = resolved_target(path);
  if (r.empty() || !under(r, p.write))
    throw FileError(fmt::format("{}: writing outside the output folder is not permitted in the sandbox (allowed: {})",
                                path, joined(p.write)));
}

std::string read_file(const std::string& path) {
  check_read_access(path);
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
  check_write_access(path);
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

void make_directories(const std::string& path) {
  if (path.empty()) throw FileError("cannot create a directory with an empty name");
  std::size_t at = 0;
  while (at != std::string::npos) {
    at = path.find('/', at + 1);
    const std::string part = path.substr(0, at);
    if (part.empty() || part == "/" ) continue;
    struct stat st {};
    if (::stat(part.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw FileError(fmt::format("{}: exists and is not a directory", part));
      continue;
    }
    check_write_access(part);
    if (::mkdir(part.c_str(), 0777) != 0 && errno != EEXIST)
      throw FileError(fmt::format("{}: cannot create directory ({})", part, errno_text(errno)));
  }
}

}  // namespace nl
