-- Tests of the ketamine replication on the built-in simulated cohort (scripts/ketamine):
-- the planted regions come out on top with the right signs, the saline cohort is at
-- chance, a saved model reloads with identical external predictions, and the main
-- script runs end to end.
local T = require "testing"
local nl = require "neurolua"

local K = dofile("../../scripts/ketamine/common.lua")
local out = os.tmpname()
os.remove(out)
local o = K.args{ "out=" .. out, "permutations=50" }
local r = K.discovery(o, true)

T.test("discovery finds the planted regions", function()
  T.truthy(r.metrics_.bac > 0.65, "discovery BAC " .. r.metrics_.bac)
  T.truthy(r.p_ < 0.05, "discovery p " .. r.p_)
  local truth = nl.table.read(out .. "/sim/ground_truth.tsv")
  T.eq(#truth, 13)
  local w = r:weights()
  local rank = {}
  for i = 1, #w do rank[w.name[i]] = i end
  local in_top = 0
  for i = 1, #truth do
    local k = rank[truth.name[i]]
    T.truthy((w.mean[k] > 0) == (truth.sign[i] > 0), truth.name[i] .. " has the planted sign")
    if k <= 25 then in_top = in_top + 1 end
  end
  T.truthy(in_top >= 11, in_top .. " of 13 planted regions in the top 25")
  -- The top 10 are all planted regions.
  local planted = {}
  for i = 1, #truth do planted[truth.name[i]] = true end
  for i = 1, 10 do T.truthy(planted[w.name[i]], w.name[i] .. " (rank " .. i .. ") is planted") end
end)

T.test("the saline cohort is at chance, the external cohorts are not", function()
  local saline = K.validate(o, r, { "saline" })
  T.eq(saline.models_, 225)
  T.truthy(saline.metrics_.bac > 0.3 and saline.metrics_.bac < 0.7, "saline BAC " .. saline.metrics_.bac)
  T.truthy(saline.p_ > 0.05, "saline p " .. saline.p_)
  local ext = K.validate(o, r, { "external_md", "external_ny" })
  T.truthy(ext.metrics_.bac > 0.55, "external BAC " .. ext.metrics_.bac)
end)

T.test("the saved discovery model is reused and predicts identically", function()
  local again = K.discovery(o, false)
  local t, X = K.load(o, { "external_md", "external_ny" })
  T.truthy(again:apply(X, nil, { covariates = t }).median_ == r:apply(X, nil, { covariates = t }).median_)
  T.eq(again.p_, r.p_)
end)

T.test("replicate.lua runs end to end", function()
  local ok, text = T.run("../../scripts/ketamine/replicate.lua", ("out='%s' permutations=20"):format(out))
  T.truthy(ok, "exit status 0:\n" .. text)
  for _, s in ipairs{ "Table 1.", "Table 2.", "discovery (nested CV)", "saline control", "external (pooled)",
                      "Figure 2.", "planted regions are in the top 25" } do
    T.truthy(text:find(s, 1, true), "output has '" .. s .. "'")
  end
  local t2 = nl.table.read(out .. "/table2.tsv")
  T.eq(#t2, 3)
  T.truthy(K.exists(out .. "/discovery_top25_weights.nii.gz"))
  local msg
  ok, msg = T.run("../../scripts/ketamine/discovery.lua", "nosuch=1")
  T.truthy(not ok and msg:find("unknown option 'nosuch'", 1, true), msg)
end)

os.execute("rm -rf '" .. out .. "'")
T.done()
