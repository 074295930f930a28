// sandbox.hpp: `neurolua --sandbox`, for running a script someone else wrote.
#pragma once

#include <string>
#include <vector>

extern "C" {
#include <lua.h>
}

namespace nl::repl {

struct SandboxOptions {
  std::string out;                 // the one folder files may be written to ("" = none)
  std::vector<std::string> inputs; // folders files may be read from
  std::string script;              // the script's path (its folder becomes readable)
  std::vector<std::string> env;    // environment variables os.getenv may read (--env)
};

// Confines the engine's file access (nl::install_file_policy) and the Lua state: no
// os.execute, io.popen, os.remove, os.rename, os.tmpname, package.loadlib, C modules,
// binary chunks (from any source: the script, -e, stdin, load, loadfile, require) or
// debug library (except debug.traceback); io.open, io.lines, io.input, io.output,
// loadfile, dofile, package.searchpath and require take their path through one gate
// (coerced once, then checked by the engine's policy); os.getenv answers only for the
// variables in `env`. Raises a Lua error (a FileError message) when a folder does not
// exist.
void install_sandbox(lua_State* L, const SandboxOptions& options);

}  // namespace nl::repl
