// sandbox.cpp: `neurolua --sandbox` (see sandbox.hpp and docs/reference/neurolua.md).
//
// Two layers. The engine refuses to open any file outside the allowed folders
// (nl::install_file_policy): every table, volume, label table, model file and
// simulator output passes that check, whatever Lua code asks for it. The Lua layer
// removes what could run programs, load native code or bytecode, reach the functions
// the wrappers hold (the debug library), or touch files without the engine; the io
// functions that stay check their paths with the same policy.
#include "sandbox.hpp"

#include <climits>
#include <cstdlib>
#include <exception>

#include "nl/atlas/atlas.hpp"
#include "nl/io/fileio.hpp"

extern "C" {
#include <lauxlib.h>
}

namespace nl::repl {

namespace {

// Runs Check(path); pushes the error message, or nil when the path is allowed. No
// C++ object outlives this call, so the caller may raise a Lua error (a longjmp).
template <void (*Check)(const std::string&)>
void push_check(lua_State* L, const char* path) {
  try {
    Check(path);
    lua_pushnil(L);
  } catch (const std::exception& e) {
    lua_pushstring(L, e.what());
  }
}

// check(path): raises the policy's error as a Lua error.
template <void (*Check)(const std::string&)>
int check(lua_State* L) {
  push_check<Check>(L, luaL_checkstring(L, 1));
  if (!lua_isnil(L, -1)) return lua_error(L);
  return 0;
}

// The Lua layer, run with (check_read, check_write) as arguments.
const char* const kSandbox = R"lua(
local check_read, check_write = ...
local function refuse(name)
  return function() error("sandbox: " .. name .. " is not permitted", 2) end
end
for _, name in ipairs{ "execute", "remove", "rename", "tmpname" } do os[name] = refuse("os." .. name) end
io.popen = refuse("io.popen")
package.loadlib = refuse("package.loadlib")
package.cpath = ""

local traceback = debug.traceback
debug = { traceback = traceback }
package.loaded.debug = debug

local raw_load, raw_loadfile, raw_open, raw_lines = load, loadfile, io.open, io.lines
local raw_input, raw_output = io.input, io.output
local searchpath, format = package.searchpath, string.format

-- An explicit nil env would give the chunk no globals: pass env only when given.
function load(chunk, name, mode, ...)
  if select("#", ...) > 0 then return raw_load(chunk, name, "t", ...) end
  return raw_load(chunk, name, "t")
end
function loadfile(path, mode, ...)
  if path ~= nil then
    local ok, err = pcall(check_read, path)
    if not ok then return nil, err end
  end
  if select("#", ...) > 0 then return raw_loadfile(path, "t", ...) end
  return raw_loadfile(path, "t")
end
function dofile(path)
  local f, err = loadfile(path)
  if not f then error(err, 2) end
  return f()
end

local function writes(mode)
  return mode:find("[wa+]") ~= nil
end
function io.open(path, mode)
  mode = mode or "r"
  if type(path) == "string" and type(mode) == "string" then
    local ok, err = pcall(writes(mode) and check_write or check_read, path)
    if not ok then return nil, err end
  end
  return raw_open(path, mode)
end
function io.lines(path, ...)
  if path ~= nil then check_read(path) end
  return raw_lines(path, ...)
end
function io.input(file)
  if type(file) == "string" then check_read(file) end
  return raw_input(file)
end
function io.output(file)
  if type(file) == "string" then check_write(file) end
  return raw_output(file)
end

-- require: preloaded and embedded modules as before; Lua files only through the checks.
local searchers = package.searchers
local kept = { searchers[1], searchers[2] }
kept[3] = function(name)
  local path, err = searchpath(name, package.path)
  if not path then return "\n\t" .. err end
  local f, lerr = loadfile(path)
  if not f then error(format("error loading module '%s' from file '%s':\n\t%s", name, path, lerr), 2) end
  return f, path
end
for i = #searchers, 1, -1 do searchers[i] = nil end
for i, s in ipairs(kept) do searchers[i] = s end

-- help's pager starts no program here ($PAGER could name any command).
local ok, repl = pcall(require, "neurolua.repl")
if ok and type(repl) == "table" then repl.sandboxed = true end
)lua";

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Installs the engine's file policy; pushes the error message or nil.
void push_policy(lua_State* L, const SandboxOptions& o) {
  try {
    nl::FilePolicy policy;
    policy.read_roots = o.inputs;
    if (!o.script.empty() && o.script != "-") policy.read_roots.push_back(folder_of(o.script));
    // The atlases nl.atlas.load finds by name (Debian's mricron-data), read-only, when
    // that folder exists.
    char buf[PATH_MAX];
    if (::realpath(nl::atlas_dir().c_str(), buf) != nullptr) policy.read_roots.emplace_back(buf);
    if (!o.out.empty()) policy.write_roots.push_back(o.out);
    nl::install_file_policy(policy);
    lua_pushnil(L);
  } catch (const std::exception& e) {
    lua_pushstring(L, e.what());
  }
}

}  // namespace

void install_sandbox(lua_State* L, const SandboxOptions& o) {
  push_policy(L, o);
  if (!lua_isnil(L, -1)) lua_error(L);
  lua_pop(L, 1);
  ::setenv("NEUROLUA_HISTORY", "", 1);  // the REPL keeps no history file
  if (luaL_loadbuffer(L, kSandbox, std::char_traits<char>::length(kSandbox), "=(sandbox)") != LUA_OK) lua_error(L);
  lua_pushcfunction(L, check<nl::check_read_access>);
  lua_pushcfunction(L, check<nl::check_write_access>);
  lua_call(L, 2, 0);
}

}  // namespace nl::repl
