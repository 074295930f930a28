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
  T.raises(function() return require "secret_module" end, reading)
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
