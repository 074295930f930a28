-- testing.lua: a small test harness for the Lua surface.
--
--   local T = require "testing"
--   T.test("matrix product", function()
--     T.eq(m:rows(), 2)
--     T.near(x, 0.5, 1e-12)
--     T.raises(function() a * b end, "do not agree")
--   end)
--   T.done()   -- prints "N passed, M failed" and exits non-zero on failure
--
-- Helpers: T.tmpname, T.write_file, T.read_file, T.exists, T.fixture (reference
-- files), T.atlas_installed, T.run (a script in a child neurolua), T.skip_rest.
local T = {}
local passed, failed = 0, 0

local function where(level)
  local info = debug.getinfo(level + 1, "Sl")
  return string.format("%s:%d", info.short_src, info.currentline or 0)
end

local function fail(msg, level) error(where(level + 1) .. ": " .. msg, 0) end

function T.eq(got, want, what)
  if got ~= want then
    fail(string.format("%sexpected %s, got %s", what and (what .. ": ") or "", tostring(want), tostring(got)), 2)
  end
end

function T.near(got, want, tol, what)
  tol = tol or 1e-12
  if type(got) ~= "number" or math.abs(got - want) > tol * math.max(1, math.abs(want)) then
    fail(string.format("%sexpected %.17g (tol %g), got %s", what and (what .. ": ") or "", want, tol, tostring(got)), 2)
  end
end

function T.truthy(v, what)
  if not v then fail((what or "expected a true value") .. ", got " .. tostring(v), 2) end
end

-- Calls fn, which must raise an error whose message contains `pattern` (plain text).
-- Returns the message.
function T.raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then fail("expected an error containing '" .. pattern .. "', but the call succeeded", 2) end
  err = tostring(err)
  if not err:find(pattern, 1, true) then
    fail("expected an error containing '" .. pattern .. "', got: " .. err, 2)
  end
  return err
end

-- Path of a temporary file or directory (not created) that is removed at exit, with
-- whatever it then holds (when done() runs).
local temps = {}
function T.tmpname(suffix)
  local p = os.tmpname()
  os.remove(p)
  p = p .. (suffix or "")
  temps[#temps + 1] = p
  return p
end

function T.write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

function T.read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function T.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- A reference file of lines "key v1 v2 ..." (lines starting with # are comments) as
-- {key = {numbers}}.
function T.fixture(path)
  local out = {}
  for line in io.lines(path) do
    if not line:match("^#") then
      local key, rest = line:match("^(%S+)%s*(.*)$")
      local values = {}
      for x in rest:gmatch("%S+") do
        local low = x:lower()
        values[#values + 1] = low == "nan" and 0 / 0 or tonumber(x)
      end
      out[key] = values
    end
  end
  return out
end

-- Whether the data of the named atlas (nl.atlas.available) are installed.
function T.atlas_installed(name)
  local t = require("neurolua").atlas.available()
  for i = 1, #t do
    if t.name[i] == name then return t.installed[i] end
  end
  return false
end

-- Runs a script with the neurolua executable running the test (arg[-1]) and `args` (shell
-- words); returns whether it exited with status 0 and its output (stdout and stderr).
function T.run(script, args)
  local f = assert(io.popen(("'%s' %s %s 2>&1"):format(arg[-1], script, args or "")))
  local text = f:read("a")
  return f:close() == true, text
end

-- Checks a neurolua object of a type with methods and no data fields (a Matrix, a
-- Volume, ...; docs/reference/neurolua.md): its metatable's __name is "neurolua.<Type>",
-- __fields lists nothing, obj[method] is the method, and obj[typo] raises "<Type> has no
-- field '<typo>'; did you mean '<suggestion>'? (fields: none; methods: ...".
function T.methods_only(obj, type_name, method, typo, suggestion)
  local mt = getmetatable(obj)
  T.eq(mt.__name, "neurolua." .. type_name)
  T.eq(#mt.__fields(obj), 0, type_name .. " has no data fields")
  T.eq(type(mt.__tostring), "function", type_name .. " prints")
  T.truthy(obj[method] == mt.__methods[method], type_name .. "." .. method .. " is the method")
  T.raises(function() return obj[typo] end, ("%s has no field '%s'; did you mean '%s'? (fields: none; methods: ")
           :format(type_name, typo, suggestion))
end

function T.test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write("FAIL ", name, "\n  ", tostring(err), "\n")
  end
end

function T.done()
  for _, p in ipairs(temps) do os.execute("rm -rf '" .. p .. "'") end
  print(string.format("%d passed, %d failed", passed, failed))
  os.exit(failed == 0 and 0 or 1)
end

-- Skips the rest of the test file: prints "skip: <why>" and ends it as T.done() does.
function T.skip_rest(why)
  print("skip: " .. why)
  T.done()
end

-- The study report written next to the results: one offline HTML file with the given
-- headings, at least `images` embedded PNG figures and the provenance block.
function T.check_report(path, headings, images)
  local f = assert(io.open(path, "rb"), "no report: " .. path)
  local html = f:read("a")
  f:close()
  for _, h in ipairs(headings) do T.truthy(html:find(h, 1, true), "report has the heading '" .. h .. "'") end
  local _, n = html:gsub("<img alt=\"[^\"]*\" src=\"data:image/png;base64,", "")  -- figures, not the viewer bundle's own icons
  T.truthy(n >= images, ("report embeds %d PNG figures, expected at least %d"):format(n, images))
  T.truthy(html:find('id="provenance"', 1, true), "report has the provenance block")
  T.truthy(not html:find('src="https?://'), "report loads nothing from the network")
  T.truthy(not html:find("src='https?://"), "report loads nothing from the network")
  return html
end

return T
