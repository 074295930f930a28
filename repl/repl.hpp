// repl.hpp: shared pieces of the neurolua executable.
#pragma once

extern "C" {
#include <lua.h>
}

namespace nl::repl {

// Runs the function on top of the stack (below it: nargs arguments) with a traceback
// message handler and Ctrl-C turned into a Lua error; returns the Lua status.
int docall(lua_State* L, int narg, int nres);

// Whether the last docall that failed was stopped by Ctrl-C (SIGINT); the batch runner
// then exits with status 130, as a shell reports a command killed by SIGINT.
bool interrupted();

// Prints the error message on top of the stack to stderr (prefixed by the program
// name) and pops it. Returns status unchanged.
int report(lua_State* L, int status);

// The interactive loop. Returns when standard input ends. Line editing, history and
// completion are used when standard input is a terminal.
void run(lua_State* L);

}  // namespace nl::repl
