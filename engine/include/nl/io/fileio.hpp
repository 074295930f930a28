// nl/io/fileio.hpp: whole-file reads and atomic writes, with errors that name the file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nl {

// The whole file as bytes. FileError naming path when it cannot be opened or read.
std::string read_file(const std::string& path);

// Writes data to a temporary file next to path (same permissions as the file it
// replaces, else 0666 minus the umask), fsyncs it and renames it over path, so readers
// never see half a file and a failed write leaves the old file intact. FileError naming
// path on failure (the temporary file is removed).
void write_file_atomic(const std::string& path, std::string_view data);

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
