-- neurolua/repl.lua: tab completion for the REPL.
--
-- complete(word) returns the sorted candidate completions of a word such as "pri",
-- "nl.matrix.ze" or "m:so". The word is split at its last "." or ":"; the part before
-- is resolved by plain field look-ups from the globals (no calls, so completion has no
-- side effects), and the names offered are the keys of tables, the methods of neurolua
-- objects (their metatable's __methods) and, where a type defines __fields, its
-- dynamic fields (the columns of a Table). After ":" only methods are offered.
local M = {}

local keywords = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
  "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
  "while",
}

local function add_keys(set, t, want_functions)
  for k, v in next, t do
    if type(k) == "string" and k:match("^[%a_][%w_]*$")
       and (not want_functions or type(v) == "function") then
      set[k] = true
    end
  end
end

-- Names offered after `value.` or `value:`.
local function fields_of(value, methods_only)
  local set = {}
  if type(value) == "table" then add_keys(set, value, methods_only) end
  local mt = getmetatable(value)
  if type(mt) == "table" then
    if type(rawget(mt, "__methods")) == "table" then add_keys(set, mt.__methods, false) end
    if type(rawget(mt, "__index")) == "table" then add_keys(set, mt.__index, methods_only) end
    local fields = rawget(mt, "__fields")
    if not methods_only and type(fields) == "function" then
      local ok, list = pcall(fields, value)
      if ok and type(list) == "table" then
        for _, k in ipairs(list) do
          if type(k) == "string" and k:match("^[%a_][%w_]*$") then set[k] = true end
        end
      end
    end
  end
  return set
end

-- Resolves "a.b.c" from env without invoking metamethods other than a type's own
-- __index table (methods).
local function resolve(path, env)
  local value = env
  for name in path:gmatch("[^.]+") do
    if type(value) == "table" then
      value = rawget(value, name)
    elseif type(value) == "userdata" then
      local mt = getmetatable(value)
      local methods = type(mt) == "table" and rawget(mt, "__methods")
      value = type(methods) == "table" and rawget(methods, name) or nil
    else
      return nil
    end
    if value == nil then return nil end
  end
  return value
end

function M.complete(word, env)
  env = env or _G
  local base, sep, partial = word:match("^(.*)([.:])([%w_]*)$")
  local set
  if base then
    if not base:match("^[%a_][%w_.]*$") then return {} end
    local value = resolve(base, env)
    if value == nil then return {} end
    set = fields_of(value, sep == ":")
  else
    partial = word
    set = fields_of(env, false)
    for _, k in ipairs(keywords) do set[k] = true end
  end
  local out = {}
  for k in pairs(set) do
    if k:sub(1, #partial) == partial and not (k:match("^_") and not partial:match("^_")) then
      out[#out + 1] = (base and (base .. sep) or "") .. k
    end
  end
  table.sort(out)
  return out
end

return M
