-- Run by tests/cli/test_sandbox.sh under `neurolua --sandbox --in IN --out OUT`:
-- every escape attempt must fail with a clear error; the allowed work must succeed.
-- Arguments: IN OUT OUTSIDE (a folder outside both, holding secret.txt).
local T = require "testing"
local IN, OUT, OUTSIDE = ...
local secret = OUTSIDE .. "/secret.txt"
local reading = "reading outside the allowed folders is not permitted in the sandbox"
local writing = "writing outside the output folder is not permitted in the sandbox"

T.test("programs, native code, file removal are gone", function()
  T.raises(function() return os.execute("true") end, "sandbox: os.execute is not permitted")
  T.raises(function() return io.popen("ls") end, "sandbox: io.popen is not permitted")
  T.raises(function() return os.remove(OUT .. "/x") end, "sandbox: os.remove is not permitted")
  T.raises(function() return os.rename(OUT .. "/a", OUT .. "/b") end, "sandbox: os.rename is not permitted")
  T.raises(function() return os.tmpname() end, "sandbox: os.tmpname is not permitted")
  T.raises(function() return package.loadlib("/lib/x86_64-linux-gnu/libc.so.6", "system") end,
    "sandbox: package.loadlib is not permitted")
  package.cpath = "/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;/usr/local/lib/lua/5.4/?.so"
  T.raises(function() return require "lpeg" end, "module 'lpeg' not found")
end)

T.test("no debug library, no binary chunks", function()
  T.eq(debug.getupvalue, nil)
  T.eq(debug.getregistry, nil)
  T.eq(debug.sethook, nil)
  T.truthy(debug.traceback("x"):find("x", 1, true))
  local f, err = load(string.dump(function() return 1 end))
  T.eq(f, nil)
  T.truthy(err:find("attempt to load a binary chunk", 1, true), err)
end)

T.test("Lua file functions check paths", function()
  local f, err = io.open(secret)
  T.eq(f, nil)
  T.truthy(err:find(reading, 1, true), err)
  f, err = io.open(OUT .. "/../escape.txt", "w")
  T.eq(f, nil)
  T.truthy(err:find(writing, 1, true), err)
  f, err = io.open(IN .. "/new.txt", "w")
  T.eq(f, nil, "inputs are read-only")
  T.truthy(err:find(writing, 1, true), err)
  T.raises(function() return io.lines(secret) end, reading)
  T.raises(function() return dofile(secret) end, reading)
  local g, lerr = loadfile(secret)
  T.eq(g, nil)
  T.truthy(lerr:find(reading, 1, true))
  T.raises(function() return io.input(secret) end, reading)
  T.raises(function() return io.output(OUTSIDE .. "/o.txt") end, writing)
  -- Links inside the output folder that point outside do not help.
  f, err = io.open(OUT .. "/link_to_secret")
  T.eq(f, nil)
  T.truthy(err:find(reading, 1, true), err)
  f, err = io.open(OUT .. "/link_to_outside/new.txt", "w")
  T.eq(f, nil)
  T.truthy(err:find(writing, 1, true), err)
  package.path = OUTSIDE .. "/?.lua"
  T.raises(function() return require "secret_module" end, "no file '" .. OUTSIDE .. "/secret_module.lua' (outside the allowed folders)")
  package.path = "./?.lua"
end)

-- Issue 17, item 3: every path-taking function coerces its argument once and checks it
-- through one gate; the script runs with the working folder outside every allowed folder.
T.test("paths that are numbers are checked like text", function()
  local f, err = io.open(123, "w")
  T.eq(f, nil)
  T.truthy(err:find(writing, 1, true), err)
  T.raises(function() return io.output(1 / 0) end, writing)
  T.raises(function() return io.output(-(0 / 0)) end, writing)
  T.raises(function() return io.lines(42) end, reading)
  T.raises(function() return io.input(7) end, reading)
  local g, lerr = loadfile(9)
  T.eq(g, nil)
  T.truthy(lerr:find(reading, 1, true), lerr)
  T.raises(function() return io.open({}, "w") end, "bad argument #1")
  T.raises(function() return io.open(setmetatable({}, { __tostring = function() return OUT .. "/x" end }), "w") end,
    "bad argument #1")
end)

T.test("links are followed component by component, dangling ones too", function()
  -- out/dangling -> outside/created_by_link (missing): opening it for writing would
  -- create the file outside.
  local f, err = io.open(OUT .. "/dangling", "w")
  T.eq(f, nil)
  T.truthy(err:find(writing, 1, true), err)
  f, err = io.open(OUT .. "/dangling_dir/x.txt", "w")
  T.eq(f, nil)
  T.truthy(err:find(writing, 1, true), err)
  f, err = io.open(OUT .. "/chain", "w")  -- out/chain -> out/dangling -> outside
  T.eq(f, nil)
  T.truthy(err:find(writing, 1, true), err)
  f, err = io.open(OUT .. "/loop", "w")  -- out/loop -> out/loop
  T.eq(f, nil)
  T.truthy(err:find(writing, 1, true), err)
  local nl = require "neurolua"
  local t = nl.table.read(IN .. "/t.csv")
  T.raises(function() return t:write(OUT .. "/dangling") end, writing)
  T.raises(function() return nl.mkdir(OUT .. "/dangling_dir/sub") end, writing)
  -- .. after a link goes up from the link's target, as the kernel does.
  -- (out/link_to_outside/.. is the folder holding outside/, not out/.)
  f, err = io.open(OUT .. "/link_to_outside/../outside/x.txt", "w")
  T.eq(f, nil)
  T.truthy(err:find(writing, 1, true), err)
  f = assert(io.open(OUT .. "/link_to_outside/../out/via_parent.txt", "w"), "back inside through the link's parent")
  f:close()
  -- Links that stay inside are fine.
  f = assert(io.open(OUT .. "/inside_link", "w"))  -- out/inside_link -> out/target.txt
  f:write("fine")
  f:close()
  T.eq(io.open(OUT .. "/target.txt"):read("a"), "fine")
end)

T.test("no answer tells whether a path outside exists", function()
  local nl = require "neurolua"
  local exists, missing = OUTSIDE .. "/secret.txt", OUTSIDE .. "/absent.txt"
  local exists_dir, missing_dir = OUTSIDE, OUTSIDE .. "/absent_dir/deeper"
  -- Each probe's answer, with the probed path replaced, must be the same for both.
  local function answer(f, path)
    local ok, a, b = pcall(f, path)
    local text = tostring(ok) .. "|" .. tostring(a) .. "|" .. tostring(b)
    return (text:gsub(path:gsub("%p", "%%%0"), "<path>"))
  end
  local probes = {
    ["io.open"] = function(p) return io.open(p) end,
    ["io.open w"] = function(p) return io.open(p, "w") end,
    ["io.open a"] = function(p) return io.open(p, "a") end,
    ["io.lines"] = function(p) return io.lines(p) end,
    loadfile = function(p) return loadfile(p) end,
    dofile = function(p) return dofile(p) end,
    ["io.input"] = function(p) return io.input(p) end,
    ["io.output"] = function(p) return io.output(p) end,
    ["package.searchpath"] = function(p) return package.searchpath("x", p) end,
    ["nl.mkdir"] = function(p) return nl.mkdir(p) end,
    ["nl.table.read"] = function(p) return nl.table.read(p) end,
    ["nl.volume.load"] = function(p) return nl.volume.load(p) end,
    ["nl.file_sha256"] = function(p) return nl.file_sha256(p) end,
    ["nl.cv.load"] = function(p) return nl.cv.load(p) end,
    ["nl.atlas.read_roi_table"] = function(p) return nl.atlas.read_roi_table(p) end,
    ["t:write"] = function(p) return nl.table.read(IN .. "/t.csv"):write(p) end,
    ["nl.sim.ketamine"] = function(p) return nl.sim.ketamine { dir = p, cohorts = { "external_md" } } end,
  }
  for name, f in pairs(probes) do
    T.eq(answer(f, exists), answer(f, missing), name .. " on a file")
    T.eq(answer(f, exists_dir), answer(f, missing_dir), name .. " on a folder")
  end
end)

T.test("the environment is hidden", function()
  T.eq(os.getenv("HOME"), nil)
  T.eq(os.getenv("PATH"), nil)
  T.eq(os.getenv("NL_SANDBOX_ALLOWED"), nil, "not named with --env in this run")
end)

T.test("no binary chunk from any source", function()
  local dumped = string.dump(function() return 1 end)
  local f, err = load(dumped, "x", "b")
  T.eq(f, nil)
  T.truthy(err:find("attempt to load a binary chunk", 1, true), err)
  -- a module file holding bytecode, on an allowed path
  package.path = IN .. "/?.lua"
  T.raises(function() return require "bytecode_module" end, "attempt to load a binary chunk")
  package.path = "./?.lua"
  T.raises(function() return dofile(IN .. "/bytecode_module.lua") end, "attempt to load a binary chunk")
end)

T.test("neurolua functions check paths", function()
  local nl = require "neurolua"
  T.raises(function() return nl.table.read(secret) end, reading)
  local t = nl.table.read(IN .. "/t.csv")
  T.raises(function() return t:write(OUTSIDE .. "/t.tsv") end, writing)
  T.raises(function() return t:write(IN .. "/t2.tsv") end, writing)
  T.raises(function() return nl.volume.load(secret) end, reading)
  local v = nl.volume.load(IN .. "/v.nii")
  T.raises(function() return v:save(OUTSIDE .. "/v.nii.gz") end, writing)
  T.raises(function() return v:save(OUT .. "/link_to_outside/v.nii.gz") end, writing)
  T.raises(function() return nl.cv.load(secret) end, reading)
  T.raises(function() return nl.mkdir(OUTSIDE .. "/newdir") end, writing)
  T.raises(function() return nl.sim.ketamine{ dir = OUTSIDE .. "/sim", cohorts = { "external_md" } } end, writing)
  T.raises(function() return nl.atlas.read_roi_table(secret) end, reading)
end)

T.test("the allowed work succeeds", function()
  local nl = require "neurolua"
  local t = nl.table.read(IN .. "/t.csv")
  nl.mkdir(OUT .. "/a/b")
  t:write(OUT .. "/a/b/t.tsv")
  T.eq(#nl.table.read(OUT .. "/a/b/t.tsv"), #t)
  nl.volume.load(IN .. "/v.nii"):save(OUT .. "/v.nii.gz")
  local f = assert(io.open(OUT .. "/note.txt", "w"))
  f:write("ok")
  f:close()
  T.eq(io.open(OUT .. "/note.txt"):read("a"), "ok")
  T.eq(#nl.atlas.load("aal"), 116, "the atlas folder is readable")
end)

T.done()
