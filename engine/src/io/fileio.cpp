// fileio.cpp: whole-file reads and atomic writes.
#include "nl/io/fileio.hpp"

#include "nl/core/mpi.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
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
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/memory.hpp"

namespace nl {

namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

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

// ---------------------------------------------------------------- reading

std::string file_kind(unsigned mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe), which could block forever";
  if (S_ISCHR(mode)) return "a character device, which may never end";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

int open_regular_file(const std::string& path, struct stat* out) {
  if (path.empty()) throw FileError("cannot read a file with an empty name");
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == EISDIR) throw FileError(fmt::format("{}: is a directory, not a file", path));
    throw FileError(fmt::format("{}: cannot open file ({})", path, errno_text(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw FileError(fmt::format("{}: cannot open file ({})", path, errno_text(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) throw FileError(fmt::format("{}: is a directory, not a file", path));
    throw FileError(fmt::format("{}: is {}; neurolua reads only regular files (copy the data to a file first)",
                                path, file_kind(st.st_mode)));
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  if (out) *out = st;
  return fd;
}

std::string read_file(const std::string& path) { return read_file(path, memory_budget()); }

std::string read_file(const std::string& path, std::uint64_t max_bytes) {
  check_read_access(path);
  struct stat st {};
  const int fd = open_regular_file(path, &st);
  auto too_big = [&](std::uint64_t bytes, const char* how) {
    ::close(fd);
    return FileError(fmt::format("{}: the file {} {} bytes ({}), more than the memory budget of {} (see "
                                 "nl.memory_budget)",
                                 path, how, bytes, format_bytes(static_cast<double>(bytes)),
                                 format_bytes(static_cast<double>(max_bytes))));
  };
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) throw too_big(size, "has");
  std::string text;
  // A regular file's size is only a hint (/proc files say 0, a file may grow): the
  // budget is enforced on what is read.
  text.reserve(static_cast<std::size_t>(size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t k = ::read(fd, buf, sizeof buf);
    if (k == 0) break;
    if (k < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw FileError(fmt::format("{}: cannot read file ({})", path, errno_text(err)));
    }
    if (text.size() + static_cast<std::size_t>(k) > max_bytes)
      throw too_big(text.size() + static_cast<std::size_t>(k), "grew to at least");
    text.append(buf, static_cast<std::size_t>(k));
  }
  ::close(fd);
  return text;
}

// ---------------------------------------------------------------- atomic writes

namespace {

constexpr std::string_view kTempTag = ".nl-tmp-";
constexpr std::size_t kNameMax = 255;  // NAME_MAX of Linux file systems

// (folder with its trailing slash or "", last component)
std::pair<std::string, std::string> split_path(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash + 1), path.substr(slash + 1)};
}

// Folders whose stale temporary files this process has already removed (a forked
// child is another process: it starts afresh).
std::mutex g_swept_mu;
std::set<std::string>& swept_folders() {
  static std::set<std::string> s;
  static pid_t owner = 0;
  if (owner != ::getpid()) {
    s.clear();
    owner = ::getpid();
  }
  return s;
}

// Why a lock and not the pid alone: the folder may be shared with other hosts (a
// cluster's network file system) or other pid namespaces, where a pid says nothing.
// A writer holds an exclusive flock on its temporary file until it is renamed; a free
// lock means its writer is gone. Files of this process are skipped (on NFS flock is a
// POSIX lock, which a process never conflicts with), as are files of other users,
// links and anything that is not a regular file.
void sweep_stale_temps(const std::string& dir) {
  const std::string folder = dir.empty() ? "." : dir;
  {
    std::lock_guard<std::mutex> lk(g_swept_mu);
    if (!swept_folders().insert(folder).second) return;
  }
  DIR* d = ::opendir(folder.c_str());
  if (!d) return;
  const std::string own = fmt::format("{}{}-", kTempTag, ::getpid());
  const uid_t uid = ::geteuid();
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() < 2 || name[0] != '.') continue;
    const std::size_t tag = name.rfind(kTempTag);
    if (tag == std::string_view::npos || tag == 0) continue;
    // <tag><pid>-XXXXXX
    std::string_view rest = name.substr(tag + kTempTag.size());
    const std::size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string_view::npos || rest.size() - dash - 1 != 6) continue;
    if (rest.substr(0, dash).find_first_not_of("0123456789") != std::string_view::npos) continue;
    if (name.substr(tag, own.size()) == own) continue;
    const int fd = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == uid && st.st_nlink > 0 &&
        ::flock(fd, LOCK_EX | LOCK_NB) == 0)
      ::unlinkat(::dirfd(d), e->d_name, 0);
    ::close(fd);  // releases the lock
  }
  ::closedir(d);
}

// fsync of the folder, so that the rename itself survives a power loss.
int sync_folder(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) err = errno;  // EINVAL: not supported here
  ::close(fd);
  return err;
}

}  // namespace

std::string atomic_temp_prefix(const std::string& path, long pid) {
  auto [dir, base] = split_path(path);
  const std::string tail = fmt::format("{}{}-", kTempTag, pid);
  // "." + base + tail + 6 random characters must fit NAME_MAX; cut base on a UTF-8
  // character boundary.
  const std::size_t room = kNameMax - 1 - tail.size() - 6;
  if (base.size() > room) {
    std::size_t cut = room;
    while (cut > 0 && (static_cast<unsigned char>(base[cut]) & 0xC0) == 0x80) --cut;
    base.resize(cut);
  }
  return dir + "." + base + tail;
}

AtomicFile::AtomicFile(const std::string& path, bool every_rank) : path_(path) {
  if (path.empty()) throw FileError("cannot write a file with an empty name");
  const auto [dir, base] = split_path(path);
  if (base.empty() || base == "." || base == "..")
    throw FileError(fmt::format("{}: is a directory name, not a file name", path));
  check_write_access(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw FileError(fmt::format("{}: is a directory, not a file", path));
  if (!every_rank && !mpi::root()) {
    // Under MPI only rank 0 writes (nl/core/mpi.hpp): the other ranks' bytes go nowhere.
    fd_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw FileError(fmt::format("{}: cannot open /dev/null ({})", path, errno_text(errno)));
    return;
  }
  sweep_stale_temps(dir);
  const std::string prefix = atomic_temp_prefix(path, static_cast<long>(::getpid()));
  for (int attempt = 0;; ++attempt) {
    std::string tmp = prefix + "XXXXXX";
    const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) throw FileError(fmt::format("{}: cannot create file ({})", path, errno_text(errno)));
    // Locked from here on; a sweeper that opened the file before the lock may have
    // removed it meanwhile (nlink 0): then start again.
    struct stat own {};
    if (::flock(fd, LOCK_EX) == 0 && ::fstat(fd, &own) == 0 && own.st_nlink > 0) {
      fd_ = fd;
      temp_ = std::move(tmp);
      return;
    }
    ::close(fd);
    if (attempt == 3) throw FileError(fmt::format("{}: cannot create a temporary file beside it", path));
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(std::string_view data) {
  if (fd_ < 0) throw FileError(fmt::format("{}: already written", path_));
  for (std::size_t done = 0; done < data.size();) {
    const ssize_t k = ::write(fd_, data.data() + done, data.size() - done);
    if (k < 0) {
      if (errno == EINTR) continue;
      throw FileError(fmt::format("{}: cannot write file ({})", path_, errno_text(errno)));
    }
    done += static_cast<std::size_t>(k);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw FileError(fmt::format("{}: already written", path_));
  if (temp_.empty()) {  // a rank other than 0 (see the constructor): never fchmod /dev/null
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int err = 0;
  if (::fchmod(fd_, new_file_mode(path_)) != 0) err = errno;
  if (!err && ::fsync(fd_) != 0) err = errno;
  if (err) throw FileError(fmt::format("{}: cannot write file ({})", path_, errno_text(err)));
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    throw FileError(fmt::format("{}: cannot replace file ({})", path_, errno_text(errno)));
  temp_.clear();
  ::close(fd_);  // the lock goes with it
  fd_ = -1;
  if (const int e = sync_folder(split_path(path_).first))
    throw FileError(fmt::format("{}: written, but its folder could not be synced to disk ({})", path_,
                                errno_text(e)));
}

void write_file_atomic(const std::string& path, std::string_view data, bool every_rank) {
  AtomicFile f(path, every_rank);
  f.write(data);
  f.commit();
}

void make_directories(const std::string& path) {
  if (path.empty()) throw FileError("cannot create a directory with an empty name");
  // The whole target first, before anything is looked at: outside the output folder the
  // answer is the same whether the path exists or not (no existence oracle).
  check_write_access(path);
  if (!mpi::root()) return;  // under MPI only rank 0 writes
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
