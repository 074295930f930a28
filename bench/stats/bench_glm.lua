-- bench/stats/bench_glm.lua DATA_DIR PERMS REPEATS OUT.tsv: the connectome benchmark in
-- neurolua: two-sample GLM (control - patient) with age and sex over 14,706 edges,
-- Freedman-Lane permutations with max-T FWE, timed on 1 thread and on all threads
-- (REPEATS runs each after one warm-up; the summary takes the median).
-- Prints `key value` lines (seconds: wall clock, and CPU time summed over threads) and
-- writes edge, t, p_fwe to OUT.tsv.
local nl = require "neurolua"
local dir = assert(arg[1], "usage: bench_glm.lua DATA_DIR PERMS REPEATS OUT.tsv")
local perms, repeats, out = tonumber(arg[2] or 5000), tonumber(arg[3] or 3), arg[4]

local function now()  -- wall clock (os.clock is CPU time summed over threads)
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

local t0 = now()
local p = nl.table.read(dir .. "/participants.tsv")
local edges = nl.table.read(dir .. "/edges.tsv")
local names = edges:columns()
local Y = edges:matrix()
print(string.format("load_seconds %.4f", now() - t0))
print(string.format("edges %d", Y:cols()))
print(string.format("subjects %d", Y:rows()))

local cov = nl.table.new{ { "age", p.age }, { "male", p.sex:eq("M") } }
local design = nl.stats.design_two_sample(p.group, { covariates = cov, levels = { "control", "patient" } })

local all = nl.threads()
local result
for _, threads in ipairs{ 1, all } do
  nl.threads(threads)
  nl.stats.glm(Y, design, { permutations = perms, seed = 1, progress = false })  -- warm-up
  for _ = 1, repeats do
    local w, c = now(), os.clock()
    result = nl.stats.glm(Y, design, { permutations = perms, seed = 1, progress = false })
    print(string.format("nl_threads%d_seconds %.4f", threads, now() - w))
    print(string.format("nl_threads%d_cpu %.4f", threads, os.clock() - c))
  end
end
nl.threads(all)
print(string.format("threads %d", all))
print(string.format("permutations %d", result.permutations))
local sig = 0
for j = 1, result.tests do sig = sig + (result.p_fwe:get(j, 1) < 0.05 and 1 or 0) end
print(string.format("fwe_significant %d", sig))
print(string.format("max_t %.4f", result.max_stat:get(1, 1)))

local f = assert(io.open(out, "w"))
f:write("edge\tt\tp_fwe\n")
for j = 1, result.tests do
  f:write(string.format("%s\t%.10g\t%.10g\n", names[j], result.t:get(j, 1), result.p_fwe:get(j, 1)))
end
f:close()
