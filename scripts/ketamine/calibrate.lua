-- scripts/ketamine/calibrate.lua: the calibration record of nl.sim.ketamine.
--
--   neurolua scripts/ketamine/calibrate.lua [first_seed] [last_seed] [workdir]
--
-- For each simulator seed: simulate the four cohorts (AAL, 3 mm) into workdir/seed<k>,
-- read them back (nl.study.participants, atlas:summarize "volume_ml"), then run the
-- paper's analysis (METHODS.md section 1) exactly as scripts/ketamine/replicate.lua
-- does, without permutations: the discovery model in nested CV (outer {3, 5}, inner
-- {3, 5}, C grid 2^-6..2^4, seed 1), and its 225 base models applied to the saline and
-- the pooled external (MD + NY) cohorts (CVResult:apply). Prints one line per seed and
-- the mean over seeds.
local nl = require "neurolua"
local dir = (arg and arg[0] or ""):match("^(.*/)") or "./"
local K = dofile(dir .. "common.lua")

local first = tonumber(arg and arg[1]) or 1
local last = tonumber(arg and arg[2]) or first + 4
local workdir = (arg and arg[3] or os.getenv("TMPDIR") or "/tmp") .. "/nl_ketamine_calibration"

local results = {}
print(("%-5s %9s %6s %11s %8s %12s %8s"):format("seed", "disc BAC", "AUC", "ext BAC", "AUC", "saline BAC", "AUC"))
for seed = first, last do
  local o = K.args{ "out=" .. ("%s/seed%d"):format(workdir, seed), "permutations=0", "sim_seed=" .. seed }
  os.execute("rm -rf '" .. o.out .. "'")  -- a fresh simulation each time
  local r = K.discovery(o, true)
  local ext = K.validate(o, r, { "external_md", "external_ny" }).metrics_
  local sal = K.validate(o, r, { "saline" }).metrics_
  local m = r.metrics_
  results[#results + 1] = { m.bac, m.auc, ext.bac, ext.auc, sal.bac, sal.auc }
  print(("%-5d %8.1f%% %6.3f %10.1f%% %8.3f %11.1f%% %8.3f"):format(seed, 100 * m.bac, m.auc, 100 * ext.bac, ext.auc,
    100 * sal.bac, sal.auc))
  io.stdout:flush()
end
local mean = { 0, 0, 0, 0, 0, 0 }
for _, r in ipairs(results) do
  for j = 1, 6 do mean[j] = mean[j] + r[j] / #results end
end
print(("%-5s %8.1f%% %6.3f %10.1f%% %8.3f %11.1f%% %8.3f"):format("mean", 100 * mean[1], mean[2], 100 * mean[3],
  mean[4], 100 * mean[5], mean[6]))
