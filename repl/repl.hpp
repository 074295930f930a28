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

// How an error is reported. By default, for users: the message alone, without the
// position when it points into neurolua's own Lua files (the embedded standard library,
// the study scripts under NL_SCRIPTS_DIR), and in a batch run a last line saying how to
// see the traceback. With `traceback` (--traceback, or NEUROLUA_TRACEBACK set to
// anything but "" or "0"), the message with its position and the Lua traceback. Either
// way the last traceback is kept for nl.traceback().
void set_traceback(bool on);
void set_interactive(bool on);
// Pushes nl.traceback, the function that prints the last error's traceback.
void push_traceback_function(lua_State* L);

// The interactive loop. Returns when standard input ends. Line editing, history and
// completion are used when standard input is a terminal.
void run(lua_State* L);

}  // namespace nl::repl
