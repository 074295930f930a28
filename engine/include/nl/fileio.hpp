// nl/fileio.hpp: whole-file reads and atomic writes, with errors that name the file.
#pragma once

#include <string>
#include <string_view>

namespace nl {

// The whole file as bytes. FileError naming path when it cannot be opened or read.
std::string read_file(const std::string& path);

// Writes data to a temporary file next to path (same permissions as the file it
// replaces, else 0666 minus the umask), fsyncs it and renames it over path, so readers
// never see half a file and a failed write leaves the old file intact. FileError naming
// path on failure (the temporary file is removed).
void write_file_atomic(const std::string& path, std::string_view data);

}  // namespace nl
