// fileio.cpp: whole-file reads and atomic writes.
#include "nl/io/fileio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

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

// realpath(), or "" when the path does not resolve (used for the policy's roots, which
// must exist).
std::string resolved(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

// The absolute path the kernel would reach when opening `path`, for a file that may not
// exist yet: resolved component by component as the kernel does, following every
// symbolic link, including a link whose target does not exist yet (a dangling link in
// the output folder pointing outside it resolves to that outside target). Components
// after the first missing one are taken literally ("." and ".." still apply: a missing
// component cannot be a link). "" when the path is empty, names nothing (ends in "."
// or ".." after a missing component), or loops through more than 40 links (ELOOP).
std::string resolved_target(const std::string& path) {
  if (path.empty()) return {};
  std::vector<std::string> todo;  // components still to walk, the next one last
  auto push_components = [&](const std::string& p) {
    std::vector<std::string> parts;
    std::size_t at = 0;
    while (at <= p.size()) {
      const std::size_t slash = std::min(p.find('/', at), p.size());
      if (slash > at) parts.push_back(p.substr(at, slash - at));
      at = slash + 1;
    }
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
  };
  std::string prefix;  // resolved so far, absolute, "" meaning "/"
  if (path[0] != '/') {
    char buf[PATH_MAX];
    if (::getcwd(buf, sizeof buf) == nullptr) return {};
    prefix = buf;
    if (prefix == "/") prefix.clear();
  }
  push_components(path);
  int links = 0;
  bool missing = false;  // a component did not exist: the rest is literal
  while (!todo.empty()) {
    const std::string c = std::move(todo.back());
    todo.pop_back();
    if (c == ".") continue;
    if (c == "..") {
      const std::size_t slash = prefix.find_last_of('/');
      prefix = slash == std::string::npos ? std::string() : prefix.substr(0, slash);
      continue;
    }
    const std::string candidate = prefix + "/" + c;
    if (candidate.size() >= PATH_MAX) return {};
    struct stat st {};
    if (missing || ::lstat(candidate.c_str(), &st) != 0) {
      missing = true;
      prefix = candidate;
      continue;
    }
    if (!S_ISLNK(st.st_mode)) {
      prefix = candidate;
      continue;
    }
    if (++links > 40) return {};
    char target[PATH_MAX];
    const ssize_t k = ::readlink(candidate.c_str(), target, sizeof target - 1);
    if (k <= 0) return {};
    target[k] = '\0';
    if (target[0] == '/') prefix.clear();
    push_components(target);
  }
  if (prefix.empty()) return "/";
  // A path ending in "." or ".." names a folder, never a file to create.
  const std::size_t last = path.find_last_not_of('/');
  const std::string tail = last == std::string::npos ? std::string() : path.substr(0, last + 1);
  const std::size_t slash = tail.find_last_of('/');
  const std::string base = slash == std::string::npos ? tail : tail.substr(slash + 1);
  if (missing && (base == "." || base == "..")) return {};
  return prefix;
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
  // The whole target first, before anything is looked at: outside the output folder the
  // answer is the same whether the path exists or not (no existence oracle).
  check_write_access(path);
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
