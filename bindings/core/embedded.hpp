// Files compiled into the binary by cmake/embed_files.cmake: the Lua standard library
// (stdlib/...) and the reference docs (docs/reference/...), keyed by their path
// relative to the source root.
#pragma once
#include <cstddef>

namespace nl::embedded {
struct File {
  const char* path;
  const unsigned char* data;
  std::size_t size;
};
extern const File files[];
extern const std::size_t file_count;
}  // namespace nl::embedded
