-- fuzz/api_fuzz.lua: the API fuzzer (issue 17, item 2; docs/reliability.md, "Fuzzing").
--
--   neurolua fuzz/api_fuzz.lua [seed] [seconds] [-v]
--
-- Calls every Lua-visible function of `nl` (found by walking the nl table) and every
-- method and metamethod of every neurolua type (from one small object of each, made
-- from synthetic data written to a fresh temporary folder), each with random
-- arguments: nil, booleans, numbers (NaN, inf, -0, huge and negative integers), strings
-- (empty, long, with NUL), plain tables, lists of objects, option tables whose __index
-- raises, frees an object, collects garbage, modifies an object or returns odd types,
-- lists whose __len does the same, freed objects and objects of the wrong type. A __gc
-- ticker finalizer does the same hostile things at allocations inside the calls. Every
-- call runs under pcall; a Lua error is the expected outcome of most calls. Anything
-- else (a crash, an abort, a sanitizer report) fails the run: run it under the ASan +
-- UBSan build (tools/fuzz.sh does). Deterministic for a seed up to the time bound.
--
-- Run it from a scratch folder: random strings never contain "/", so whatever a call
-- writes (a chart, a report) lands in the working directory.
local nl = require "neurolua"

local seed = tonumber(arg and arg[1]) or 1
local seconds = tonumber(arg and arg[2]) or 5
local verbose = arg and arg[3] == "-v"
math.randomseed(seed)
local R = math.random

-- Functions never called, each with its reason.
local deny = {
  ["nl.sim.ketamine"] = "writes a whole simulated cohort (tens of MB) and takes seconds",
  ["nl.sim.fmri"] = "writes a whole simulated cohort (tens of MB) and takes seconds",
  ["nl.help"] = "prints reference pages (through a pager on a terminal)",
  ["nl.apropos"] = "prints reference pages (through a pager on a terminal)",
  ["nl.course.lesson"] = "reads standard input (it pauses between a lesson's steps)",
  ["nl.course.run"] = "runs a whole lesson (seconds to a minute)",
  ["nl.course.sync"] = "runs a whole lesson and rewrites its page and figures in the source tree's docs/course",
  ["nl.course.site"] = "writes the whole course website (megabytes) and reads every page",
}

-- ---------------------------------------------------------------- synthetic data

local dir = os.tmpname()
os.remove(dir)
nl.mkdir(dir)
local function path(name) return dir .. "/" .. name end

-- A 4x4x4 int16 NIfTI-1 label image (labels 0..3) and its mricron label table.
local function write_nifti(p)
  local h = string.pack("<i4", 348) .. string.rep("\0", 36)
    .. string.pack("<i2i2i2i2i2i2i2i2", 3, 4, 4, 4, 1, 1, 1, 1) .. string.rep("\0", 14)
    .. string.pack("<i2i2", 4, 16) .. string.rep("\0", 2)
    .. string.pack("<ffffffff", 1, 2, 2, 2, 1, 1, 1, 1) .. string.pack("<f", 352)
    .. string.pack("<ff", 1, 0) .. string.rep("\0", 140)
  h = h .. string.rep("\0", 252 - #h) .. string.pack("<i2i2", 0, 2)
    .. string.pack("<ffffff", 0, 0, 0, -4, -4, -4)
    .. string.pack("<ffff", 2, 0, 0, -4) .. string.pack("<ffff", 0, 2, 0, -4) .. string.pack("<ffff", 0, 0, 2, -4)
  h = h .. string.rep("\0", 344 - #h) .. "n+1\0" .. string.rep("\0", 4)
  assert(#h == 352)
  local vox = {}
  for i = 0, 63 do vox[#vox + 1] = string.pack("<i2", i % 4) end
  local f = assert(io.open(p, "wb"))
  f:write(h, table.concat(vox))
  f:close()
end
write_nifti(path("lab.nii"))
do
  local f = assert(io.open(path("lab.nii.txt"), "w"))
  f:write("1 Alpha_L\n2 Beta_R\n3 Gamma\n")
  f:close()
  f = assert(io.open(path("t.csv"), "w"))
  f:write("id,age,site\n1,30,A\n2,40,B\n3,,A\n")
  f:close()
end

local X = nl.matrix.randn(10, 3, 1)
local y = { 1, -1, 1, -1, 1, -1, 1, -1, 1, -1 }
local function ids()
  local t = {}
  for i = 1, 10 do t[i] = "s" .. i end
  return t
end

-- Makers of one object of every userdata type (and a record or two).
local makers = {
  function() return nl.matrix.randn(R(0, 4), R(0, 4), R(1, 9)) end,
  function() return nl.matrix.eye(3) end,
  function() return nl.table.new{ { "id", ids() }, { "age", X:col(1) * 10 + 40 }, { "g", y } } end,
  function() return nl.table.read(path("t.csv")) end,
  function() return nl.table.new{ { "age", { 30, 40 } } }.age end,
  function() return nl.table.new{ { "site", { "A", "B", "A" } } }.site end,
  function() return nl.table.new{ { "site", { "A", "B", "A" } }, { "v", { 1, 2, 3 } } }:group_by("site") end,
  function() return nl.volume.load(path("lab.nii")) end,
  function() return nl.atlas.load(path("lab.nii")) end,
  function() return nl.ml.scale{} end,
  function() return nl.ml.pca{ k = 2 }:fit(X) end,
  function() return nl.ml.svc{}:fit(X, y) end,
  function() return nl.ml.svr{}:fit(X, X:col(1)) end,
  function() return nl.ml.logistic{}:fit(X, y) end,
  function() return nl.ml.kernel_svc{ gamma = 0.5 }:fit(X, y) end,
  function() return nl.ml.kernel_ridge{}:fit(X, X:col(2)) end,
  function() return nl.ml.filter{ k = 1 }:fit(X, y) end,
  function() return nl.ml.metrics.regression(X:col(1), X:col(2)) end,
  function()
    local step = { name = "id", fit = function() end, transform = function(_, M) return M end }
    return nl.cv.nested(nl.ml.pipeline{ step, nl.ml.ridge{} }, X, X:col(1), { outer = { 2, 1 }, inner = { 2, 1 }, seed = 1 })
  end,
  function() return nl.ml.forward_select{} end,
  function() return nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{} } end,
  function()
    return nl.cv.nested(nl.ml.pipeline{ nl.ml.svc{} }, X, y, { outer = { 2, 1 }, inner = { 2, 1 }, seed = 1 })
  end,
  function()
    local cv = nl.cv.nested(nl.ml.pipeline{ nl.ml.svc{} }, X, y, { outer = { 2, 1 }, inner = { 2, 1 }, seed = 1 })
    return cv:apply(X, y)
  end,
  function()
    local subject, time, score = {}, {}, {}
    for i = 1, 10 do subject[i] = "s" .. ((i - 1) // 2 + 1); time[i] = (i - 1) % 2; score[i] = X:get(i, 1) + time[i] end
    return nl.stats.lmm{ y = "score", fixed = { "time" }, group = "subject",
                         data = nl.table.new{ { "subject", subject }, { "time", time }, { "score", score } } }
  end,
  function() return nl.stats.ttest_one(X:col(1)) end,
  function() return nl.stats.glm(X:cols_at(1, 2), nl.matrix.ones(10, 1), { 1 }) end,
  function() return nl.ml.metrics(X:col(1), y) end,
  function() return nl.report.new{ title = "r" } end,
  function() return nl.table.NA end,
}

-- ---------------------------------------------------------------- the object pool

local pool = {}
local function fresh()
  local ok, o = pcall(makers[R(#makers)])
  return ok and o or nil
end
for _ = 1, 40 do pool[#pool + 1] = fresh() end
local function any_object()
  local o = pool[R(#pool)]
  if R(8) == 1 then pool[R(#pool)] = fresh() or o end  -- replenish
  return o
end
-- An object of the named type from the pool (freed ones included), or any object.
local function object_of(name)
  for _ = 1, 20 do
    local o = pool[R(#pool)]
    local mt = getmetatable(o)
    if type(mt) == "table" and mt.__name == name then return o end
  end
  return any_object()
end

local gcs = {}  -- type name -> the real __gc (from the registry, as a script outside the sandbox can)
for k, v in pairs(debug.getregistry()) do
  if type(k) == "string" and type(v) == "table" and rawget(v, "__gc") then gcs[k] = rawget(v, "__gc") end
end
local function free_one()
  local o = pool[R(#pool)]
  local mt = debug.getmetatable(o)
  local gc = mt and rawget(mt, "__gc")
  if gc then pcall(gc, o) end
end

-- ---------------------------------------------------------------- hostile values

local strings = { "", "x", "age", "id", "site", "mean", "two", "corr", "A", "%", "%f[", "(", "\0a", "nan",
                  string.rep("a", 5000), "lab.nii", "t.csv", "out.png", "r.html", "1e999", "-", "s1" }
local numbers = { 0, 1, 2, 3, 7, 50, -1, -7, 0.5, -0.0, 1 / 0, -1 / 0, 0 / 0, 1e308, 2 ^ 53,
                  math.maxinteger, math.mininteger, 1e-320 }
local option_keys = { "k", "seed", "C", "range", "method", "stat", "tail", "covariates", "outer", "inner",
                      "permutations", "folds", "positive", "strict", "sep", "types", "na", "width", "rows",
                      "all", "title", "levels", "threshold", "display", "cmap", "z", "rho", "detrend", "tr",
                      "motion", "bandpass", "y", "fixed", "group", "random", "data", "df", "file", "dpi" }

local value  -- forward

-- What hostile metamethods do before answering.
local function mischief()
  local r = R(8)
  if r == 1 then error("boom from a metamethod") end
  if r == 2 then free_one() end
  if r == 3 then collectgarbage() end
  if r == 4 then pcall(function() pool[R(#pool)]:set(1, 1, 1) end) end
  if r == 5 then pool[R(#pool)] = fresh() or pool[1] end
  if r == 6 then pcall(function() local o = any_object(); o.x = { 1, 2 } end) end
end

local function hostile_table(depth)
  local t = {}
  for _ = 1, R(0, 3) do t[option_keys[R(#option_keys)]] = value(depth + 1) end
  for i = 1, R(0, 3) do t[i] = value(depth + 1) end
  local mt = {}
  if R(2) == 1 then mt.__index = function(_, k) mischief(); return value(depth + 1) end end
  if R(3) == 1 then mt.__len = function() mischief(); return ({ 0, 1, 2, 1e9, -1, 2.5 })[R(6)] end end
  if R(4) == 1 then mt.__tostring = function() mischief(); return "odd" end end
  if R(5) == 1 then mt.__eq = function() mischief(); return true end end
  if R(5) == 1 then mt.__newindex = function() mischief() end end
  return setmetatable(t, mt)
end

function value(depth)
  depth = depth or 0
  local r = R(depth > 2 and 6 or 12)
  if r == 1 then return nil end
  if r == 2 then return R(2) == 1 end
  if r == 3 then return numbers[R(#numbers)] end
  if r == 4 then return R(-2, 12) end
  if r == 5 then return strings[R(#strings)] end
  if r == 6 then return any_object() end
  if r == 7 then  -- a list of objects (of one kind or mixed)
    local t, o = {}, any_object()
    for i = 1, R(0, 4) do t[i] = R(3) == 1 and any_object() or o end
    return t
  end
  if r == 8 then  -- a list of numbers
    local t = {}
    for i = 1, R(0, 12) do t[i] = R(4) == 1 and numbers[R(#numbers)] or R(-1, 10) end
    return t
  end
  if r == 9 then  -- rows
    local t = {}
    for i = 1, R(0, 4) do
      t[i] = {}
      for j = 1, R(0, 4) do t[i][j] = R(0, 5) end
    end
    return t
  end
  if r == 10 then return { { "age", { 1, 2, 3 } }, { "g", { "a", "b", "a" } } } end
  if r == 11 then return function(...) mischief(); return value(depth + 1) end end
  return hostile_table(depth)
end

-- ---------------------------------------------------------------- what to call

local targets = {}  -- { name, fn, type name of self or nil }
local seen = {}
local function walk(t, prefix, d)
  if seen[t] or d > 4 then return end
  seen[t] = true
  for k, v in pairs(t) do
    if type(k) == "string" then
      local name = prefix .. "." .. k
      if type(v) == "function" and not deny[name] then targets[#targets + 1] = { name, v }
      elseif type(v) == "table" then walk(v, name, d + 1) end
    end
  end
end
walk(nl, "nl", 1)
local types = {}
for _, make in ipairs(makers) do
  local ok, o = pcall(make)
  local mt = ok and getmetatable(o)
  if type(mt) == "table" and mt.__name and not types[mt.__name] then
    types[mt.__name] = true
    for k, f in pairs(mt.__methods or {}) do targets[#targets + 1] = { mt.__name .. ":" .. k, f, mt.__name } end
    for k, f in pairs(mt) do
      if type(f) == "function" then targets[#targets + 1] = { mt.__name .. "." .. k, f, mt.__name } end
    end
  end
end
table.sort(targets, function(a, b) return a[1] < b[1] end)  -- a seed means the same run

-- ---------------------------------------------------------------- the ticker

local active = true
local function ticker()
  setmetatable({}, { __gc = function()
    if not active then return end
    if R(3) == 1 then pcall(mischief) end
    ticker()
  end })
end
ticker()

-- ---------------------------------------------------------------- the loop

local start = os.clock()
local calls, failures = 0, 0
local per = {}
io.stderr:write(("api_fuzz: seed %d, %g s, %d functions, %d types, scratch %s\n"):format(
  seed, seconds, #targets, (function() local n = 0 for _ in pairs(types) do n = n + 1 end return n end)(), dir))
while os.clock() - start < seconds do
  if R(50) == 1 then collectgarbage(({ "collect", "step", "incremental", "generational" })[R(4)]) end
  if R(20) == 1 then free_one() end
  local target = targets[R(#targets)]
  local args, n = {}, R(0, 5)
  if target[3] and R(5) > 1 then args[1] = object_of(target[3])  -- methods: mostly a self of their type
  elseif R(3) == 1 then args[1] = any_object() end
  for i = (args[1] ~= nil and 2 or 1), n do args[i] = value() end
  if verbose then io.stderr:write(target[1], "\n") end
  local ok = pcall(target[2], table.unpack(args, 1, n))
  calls = calls + 1
  if not ok then failures = failures + 1 end
  per[target[1]] = (per[target[1]] or 0) + 1
end
active = false
collectgarbage("incremental")
collectgarbage()

local called = 0
for _ in pairs(per) do called = called + 1 end
io.stderr:write(("api_fuzz: %d calls (%d raised a Lua error) of %d of %d functions in %.1f s: no crash\n"):format(
  calls, failures, called, #targets, os.clock() - start))
for _, f in ipairs{ "lab.nii", "lab.nii.txt", "t.csv" } do os.remove(path(f)) end
os.remove(dir)
