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
#include <cstring>
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

// gate(path [, mode]) -> path | nil, message. The one gate every Lua function that takes
// a path goes through. The path is coerced once, as the io library itself would (a number
// becomes its text, "123" or "inf"; anything else is a bad argument, raised), and the
// text returned is what the caller must pass on: the check and the open see the same
// string. The engine's policy (nl::check_read_access, or nl::check_write_access when the
// mode has w, a or +) then decides; its refusal is the same whether or not the path exists.
int gate(lua_State* L) {
  const int t = lua_type(L, 1);
  if (t != LUA_TSTRING && t != LUA_TNUMBER) return luaL_typeerror(L, 1, "string");
  const char* path = lua_tostring(L, 1);  // a number is converted in place
  const char* mode = luaL_optstring(L, 2, "r");
  const bool writes = std::strpbrk(mode, "wa+") != nullptr;
  if (writes) push_check<nl::check_write_access>(L, path);
  else push_check<nl::check_read_access>(L, path);
  if (!lua_isnil(L, -1)) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;  // nil, message
  }
  lua_settop(L, 1);
  return 1;
}

// The Lua layer, run with (gate, allowed environment variables) as arguments.
const char* const kSandbox = R"lua(
local gate, allowed_env = ...
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
local raw_input, raw_output, raw_getenv = io.input, io.output, os.getenv
local format, gsub, select, type = string.format, string.gsub, select, type

-- The environment is not the script's to read: only variables named with --env.
function os.getenv(name)
  if type(name) ~= "string" and type(name) ~= "number" then
    error(format("bad argument #1 to 'getenv' (string expected, got %s)", type(name)), 2)
  end
  name = tostring(name)
  if allowed_env[name] then return raw_getenv(name) end
  return nil
end

-- gate(path) for a function that raises on a refused path.
local function checked(path, mode)
  local p, err = gate(path, mode)
  if p == nil then error(err, 3) end
  return p
end

-- Text chunks only, whatever their source: a binary chunk can crash the interpreter.
-- An explicit nil env would give the chunk no globals: pass env only when given.
function load(chunk, name, mode, ...)
  if select("#", ...) > 0 then return raw_load(chunk, name, "t", ...) end
  return raw_load(chunk, name, "t")
end
function loadfile(path, mode, ...)
  if path ~= nil then
    local p, err = gate(path)
    if p == nil then return nil, err end
    path = p
  end
  if select("#", ...) > 0 then return raw_loadfile(path, "t", ...) end
  return raw_loadfile(path, "t")
end
function dofile(path)
  local f, err = loadfile(path)
  if not f then error(err, 2) end
  return f()
end

function io.open(path, mode)
  local p, err = gate(path, mode)
  if p == nil then return nil, err end
  return raw_open(p, mode)
end
function io.lines(path, ...)
  if path ~= nil then path = checked(path) end
  return raw_lines(path, ...)
end
function io.input(file)
  if type(file) == "string" or type(file) == "number" then file = checked(file) end
  return raw_input(file)
end
function io.output(file)
  if type(file) == "string" or type(file) == "number" then file = checked(file, "w") end
  return raw_output(file)
end

-- package.searchpath through the gate. A candidate the policy refuses is reported like a
-- missing one, with the reason, whether or not it exists.
function package.searchpath(name, path, sep, rep)
  if type(name) ~= "string" then error("bad argument #1 to 'searchpath' (string expected)", 2) end
  if type(path) ~= "string" then error("bad argument #2 to 'searchpath' (string expected)", 2) end
  sep, rep = sep or ".", rep or "/"
  if sep ~= "" then
    local pattern = sep:gsub("%p", "%%%0")
    name = name:gsub(pattern, (rep:gsub("%%", "%%%%")))
  end
  local tried = {}
  for template in path:gmatch("[^;]+") do
    local candidate = template:gsub("%?", (name:gsub("%%", "%%%%")))
    local p = gate(candidate)
    if p == nil then
      tried[#tried + 1] = "\n\tno file '" .. candidate .. "' (outside the allowed folders)"
    else
      local f = raw_open(p, "r")
      if f then
        f:close()
        return p
      end
      tried[#tried + 1] = "\n\tno file '" .. candidate .. "'"
    end
  end
  return nil, table.concat(tried)
end

-- require: preloaded and embedded modules as before; Lua files only through the gate.
local searchpath = package.searchpath
local searchers = package.searchers
local kept = { searchers[1], searchers[2] }
kept[3] = function(name)
  local path, err = searchpath(name, package.path)
  if not path then return err end
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
  lua_pushcfunction(L, gate);
  lua_createtable(L, 0, static_cast<int>(o.env.size()));
  for (const auto& name : o.env) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, name.c_str());
  }
  lua_call(L, 2, 0);
}

}  // namespace nl::repl
