-- neurolua/repl.lua: tab completion, printing of results and the pager of the REPL.
--
-- complete(word) returns the sorted candidate completions of a word such as "pri",
-- "nl.matrix.ze", "m:so", "t.Le" or 't["Left-H'. The word is split at its last "." or
-- ":" (or at a "[" that opens a bracketed name); the part before is resolved by plain
-- field look-ups from the globals (no calls, so completion has no side effects), and
-- the names offered are the keys of tables, the methods of neurolua objects (their
-- metatable's __methods) and, where a type defines __fields, its dynamic fields (the
-- columns of a Table). After ":" only methods are offered. A name that is not a Lua
-- identifier (the FreeSurfer column "Left-Hippocampus") is offered in bracket form,
-- t["Left-Hippocampus"], after "." as after '["'.
local M = {}

local keywords = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
  "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
  "while",
}

local function is_ident(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

local function add_keys(set, t, want_functions)
  for k, v in next, t do
    if type(k) == "string" and (not want_functions or type(v) == "function") then set[k] = true end
  end
end

-- Names offered after `value.` or `value:` (any string; the caller spells them).
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
          if type(k) == "string" then set[k] = true end
        end
      end
    end
  end
  return set
end

-- The data fields of value (the keys of a table, the __fields of an object), for the
-- bracket form: methods are left out.
local function data_fields_of(value)
  local set = {}
  if type(value) == "table" then add_keys(set, value, false) end
  local mt = getmetatable(value)
  local fields = type(mt) == "table" and rawget(mt, "__fields")
  if type(fields) == "function" then
    local ok, list = pcall(fields, value)
    if ok and type(list) == "table" then
      for _, k in ipairs(list) do
        if type(k) == "string" then set[k] = true end
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

-- name as a Lua string literal in quote q: "Left-Hippocampus", "it\"s".
local function quoted(name, q)
  return q .. name:gsub("\\", "\\\\"):gsub(q, "\\" .. q):gsub("\n", "\\n") .. q
end

local function sorted_keys(set, partial, hide_private)
  local out = {}
  for k in pairs(set) do
    if k:sub(1, #partial) == partial and not (hide_private and k:match("^_") and not partial:match("^_")) then
      out[#out + 1] = k
    end
  end
  table.sort(out)
  return out
end

function M.complete(word, env)
  env = env or _G
  -- base["partial, base['partial or base[ : names in bracket form
  local bbase, q, bpartial = word:match("^([%a_][%w_.]*)%[([\"']?)(.*)$")
  if bbase and (q ~= "" or bpartial == "") and not (q ~= "" and bpartial:find(q, 1, true)) then
    local value = resolve(bbase, env)
    if value == nil then return {} end
    local out = {}
    for _, k in ipairs(sorted_keys(data_fields_of(value), bpartial, false)) do
      out[#out + 1] = bbase .. "[" .. quoted(k, q ~= "" and q or '"') .. "]"
    end
    return out
  end
  local base, sep, partial = word:match("^(.*)([.:])([^.:]*)$")
  local out = {}
  if base then
    if not base:match("^[%a_][%w_.]*$") then return {} end
    local value = resolve(base, env)
    if value == nil then return {} end
    for _, k in ipairs(sorted_keys(fields_of(value, sep == ":"), partial, true)) do
      if is_ident(k) then
        out[#out + 1] = base .. sep .. k
      elseif sep == "." then
        out[#out + 1] = base .. "[" .. quoted(k, '"') .. "]"
      end
    end
  else
    if not word:match("^[%w_]*$") then return {} end
    local set = fields_of(env, false)
    for _, k in ipairs(keywords) do set[k] = true end
    for _, k in ipairs(sorted_keys(set, word, true)) do
      if is_ident(k) then out[#out + 1] = k end
    end
  end
  table.sort(out)
  return out
end

-- ---------------------------------------------------------------- printing results

-- show(value [, {depth = 2, items = 20, width = 100}]) -> a readable one- or many-line
-- text of a value: plain Lua tables (lists, records and their nesting) are written
-- out, limited in depth and length; anything with a __tostring (neurolua objects,
-- records) prints as it does with print; numbers with up to 6 significant digits when
-- they are not integers.
local function scalar(v)
  local t = type(v)
  if t == "string" then return string.format("%q", v):gsub("\\\n", "\\n") end
  if math.type(v) == "float" then
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
    if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%.1f", v) end
    return string.format("%.6g", v)
  end
  return tostring(v)
end

local function plain(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  return mt == nil or (rawget(mt, "__tostring") == nil and type(mt) == "table")
end

local function show(v, o, level, seen)
  if not plain(v) then
    if type(v) == "table" or type(v) == "userdata" then
      local s = tostring(v)
      if level > 0 and s:find("\n") then
        -- nested: one line; neurolua objects end with a summary such as [Matrix 2x1]
        local last = s:match("([^\n]*)\n?$")
        s = last:match("^%[.*%]$") and last or s:match("^[^\n]*") .. " ..."
      end
      return s
    end
    return scalar(v)
  end
  if seen[v] then return "<cycle>" end
  if level >= o.depth then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    return n == 0 and "{}" or string.format("{...%d %s}", n, n == 1 and "entry" or "entries")
  end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, math.min(n, o.items) do parts[#parts + 1] = show(v[i], o, level + 1, seen) end
  if n > o.items then parts[#parts + 1] = string.format("... (%d more)", n - o.items) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta == "number" or (ta == "string" and tb ~= "number") end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  local shown = 0
  for _, k in ipairs(keys) do
    shown = shown + 1
    if shown > o.items then
      parts[#parts + 1] = string.format("... (%d more keys)", #keys - o.items)
      break
    end
    local name = is_ident(k) and k or "[" .. scalar(k) .. "]"
    parts[#parts + 1] = name .. " = " .. show(v[k], o, level + 1, seen)
  end
  seen[v] = nil
  if #parts == 0 then return "{}" end
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if #one <= o.width - 2 * level and not one:find("\n") then return one end
  local pad = string.rep("  ", level + 1)
  -- several short entries per line, one entry per line when they are long
  local lines, cur = {}, ""
  for i, p in ipairs(parts) do
    local piece = p .. (i < #parts and "," or "")
    if p:find("\n") or #p > o.width / 3 then
      if cur ~= "" then lines[#lines + 1], cur = cur, "" end
      lines[#lines + 1] = piece
    elseif cur ~= "" and #pad + #cur + 1 + #piece > o.width then
      lines[#lines + 1], cur = cur, piece
    else
      cur = cur == "" and piece or cur .. " " .. piece
    end
  end
  if cur ~= "" then lines[#lines + 1] = cur end
  return "{\n" .. pad .. table.concat(lines, "\n" .. pad) .. "\n" .. string.rep("  ", level) .. "}"
end

function M.show(v, opts)
  if opts ~= nil and type(opts) ~= "table" then error("bad argument #2 to 'show' (options must be a table)", 2) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "depth" and k ~= "items" and k ~= "width" then
      error(string.format("unknown option '%s' for show; expected one of: depth, items, width", tostring(k)), 2)
    end
  end
  local o = { depth = opts.depth or 2, items = opts.items or 20, width = opts.width or 100 }
  for k, x in pairs(o) do
    if math.type(x) ~= "integer" or x < 1 then
      error(string.format("option '%s' must be a positive integer, got %s", k, tostring(x)), 2)
    end
  end
  return show(v, o, 0, {})
end

-- ---------------------------------------------------------------- the pager

-- Set by `neurolua --sandbox`: help never starts a pager there (io.popen is refused in
-- the sandbox as well, so clearing this flag runs nothing either).
M.sandboxed = false

local function on_path(program)
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local f = io.open(dir .. "/" .. program, "rb")
    if f then
      f:close()
      return true
    end
  end
  return false
end

-- The pager command: $PAGER when set, else "less -FRX" when less is on the PATH, else
-- nil (no pager).
function M.pager_command()
  local pager = os.getenv("PAGER")
  if pager and pager ~= "" then return pager end
  if on_path("less") then return "less -FRX" end
  return nil
end

-- page(text): prints text, through the pager when standard output is a terminal, the
-- text has at least as many lines as the terminal, and this is not a sandbox;
-- otherwise (or when the pager cannot be started) prints it all at once.
function M.page(text)
  local _, rows, tty = require("neurolua").terminal_size()
  local lines = select(2, text:gsub("\n", "")) + 1
  local command = tty and not M.sandboxed and lines >= rows and M.pager_command()
  if command then
    io.stdout:flush()
    local ok, pipe = pcall(io.popen, command, "w")
    if ok and pipe then
      pipe:write(text, "\n")
      pipe:close()
      return
    end
  end
  print(text)
end

-- The REPL prints the results of an expression with show (plain tables written out).
function M.print_results(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do out[i] = M.show((select(i, ...))) end
  print(table.concat(out, "\t"))
end

return M
