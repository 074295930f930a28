// fuzz_common.hpp: shared helpers of the libFuzzer harnesses (fuzz/fuzz_*.cpp).
//
// Contract checked by every harness: any byte string given to a reader either parses
// or makes it throw an nl::Error (a FileError naming the file, or a ValueError). Any
// other exception (std::bad_alloc, std::out_of_range, a library's own exception)
// escapes the harness, so libFuzzer reports it as a crash, as it does for the
// sanitizers' findings.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "nl/core/core.hpp"

namespace nl::fuzz {

// Called first in every harness. One worker thread: on fuzz-sized inputs starting
// threads (parallel_for in the model decoder) costs more than the work, and results
// never depend on the thread count. Done on the first input, not by a static
// initializer, which could run before the engine's own globals are initialized
// (AddressSanitizer's initialization-order check caught that).
inline void setup() {
  static const bool once = (nl::set_threads(1), true);
  (void)once;
}

// A private folder for the files a harness must write (the readers take paths),
// created once per process and removed at exit.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string t = std::string(base && *base ? base : "/tmp") + "/nl-fuzz-XXXXXX";
    if (!::mkdtemp(t.data())) throw std::runtime_error("fuzz: cannot create a scratch folder");
    static std::string removed = t;
    std::atexit([] {
      // Only the few fixed names the harnesses use live there.
      for (const char* n : {"/in.txt", "/in.json", "/in.csv", "/in.tsv", "/in.nii", "/in.model"})
        ::unlink((removed + n).c_str());
      ::rmdir(removed.c_str());
    });
    return t;
  }();
  return dir;
}

// Writes bytes to scratch_dir()/name (replacing it) and returns the path.
inline std::string write_scratch(const char* name, std::string_view bytes) {
  const std::string path = scratch_dir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("fuzz: cannot write " + path);
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::fclose(f);
    throw std::runtime_error("fuzz: cannot write " + path);
  }
  std::fclose(f);
  return path;
}

// A harness-internal check: a failed property is a crash.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace nl::fuzz
