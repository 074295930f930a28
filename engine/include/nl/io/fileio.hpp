// nl/io/fileio.hpp: whole-file reads and atomic writes, with errors that name the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct stat;

namespace nl {

// The whole file as bytes. FileError naming path when it cannot be opened or read,
// when it is not a regular file (a FIFO would block forever, /dev/zero never ends: both
// are refused before any byte is read), when it is empty-named, or when it holds more
// than max_bytes (default: the memory budget, nl/core/memory.hpp), checked on its size
// and again on the bytes actually read (a file that grows while it is read).
std::string read_file(const std::string& path);
std::string read_file(const std::string& path, std::uint64_t max_bytes);

// Opens path read-only without blocking and refuses anything but a regular file
// ("<path>: not a regular file (a FIFO); ..."); the descriptor is then blocking again.
// Fills *st when given. The caller closes the descriptor.
int open_regular_file(const std::string& path, struct stat* st = nullptr);
// The kind of a non-regular file for messages: "a directory", "a FIFO", ...
std::string file_kind(unsigned mode);

// A file written atomically: the data go to a hidden temporary file in the target's
// folder, `.<name>.nl-tmp-<pid>-XXXXXX` (the name shortened so that a 255-byte target
// name still works), locked (flock) for as long as this object holds it; commit()
// fsyncs it, gives it the permissions of the file it replaces (else 0666 minus the
// umask), renames it over the target and fsyncs the folder, so that after a crash or
// power loss the target is the old file or the new one, never a mix. Destroyed without
// commit, the temporary file is removed. A run killed meanwhile leaves it behind; the
// first write of a later run into that folder removes such files whose lock is free
// (their writer is gone), never one another process still writes.
// FileError naming path for an empty name, a name that is a folder, or a failure.
class AtomicFile {
 public:
  // every_rank: write on every MPI rank (a rank's own checkpoint); by default ranks other
  // than 0 write to /dev/null (nl/core/mpi.hpp).
  explicit AtomicFile(const std::string& path, bool every_rank = false);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  int fd() const noexcept { return fd_; }
  const std::string& temp_path() const noexcept { return temp_; }
  const std::string& path() const noexcept { return path_; }
  // Appends data (FileError naming the target on failure).
  void write(std::string_view data);
  void commit();

 private:
  std::string path_, temp_;
  int fd_ = -1;
};

// Writes data through an AtomicFile. FileError naming path on failure (the temporary
// file is removed, the old file is intact).
void write_file_atomic(const std::string& path, std::string_view data, bool every_rank = false);

// The hidden temporary name AtomicFile uses for path, without the random part:
// "<dir>/.<name, shortened>.nl-tmp-<pid>-". For tests.
std::string atomic_temp_prefix(const std::string& path, long pid);

// Creates the directory and its missing parents (mkdir -p; an existing directory is
// fine), each with the file-access check below. FileError naming the path when a
// component exists and is not a directory or cannot be created.
void make_directories(const std::string& path);

// ---------------------------------------------------------------- file-access policy

// A process-wide confinement of the files the engine opens (`neurolua --sandbox`).
// Once installed it cannot be changed or removed. Paths are resolved (symbolic links,
// "..", relative to the working directory) before they are compared with the roots, so
// a link or a "../" cannot lead outside them. Every engine function that opens a file
// (tables, volumes, label tables, model files, the simulator's output) asks first.
struct FilePolicy {
  std::vector<std::string> read_roots;   // directories whose files may be read
  std::vector<std::string> write_roots;  // directories whose files may be written (and read)
};

// Installs the policy (roots are resolved now and must exist). Throws ValueError when
// a policy is already installed or a root does not exist.
void install_file_policy(const FilePolicy& policy);
bool file_policy_active() noexcept;

// Throw FileError "<path>: reading outside the allowed folders is not permitted in the
// sandbox (allowed: ...)" (or writing) when a policy is active and refuses the path.
void check_read_access(const std::string& path);
void check_write_access(const std::string& path);

}  // namespace nl
