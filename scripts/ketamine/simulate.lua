-- scripts/ketamine/simulate.lua: writes the default simulated ketamine cohort and prints
-- its Table 1.
--
--   neurolua scripts/ketamine/simulate.lua [outdir] [seed]
--
-- outdir (default "ketamine_sim") receives participants.tsv, ground_truth.tsv and
-- gm/sub-XXX_gm.nii.gz (AAL, 3 mm). A previous simulator output there is replaced;
-- any other non-empty directory is refused (see docs/reference/sim.md).
local nl = require "neurolua"

local outdir = arg and arg[1] or "ketamine_sim"
local seed = math.tointeger(tonumber(arg and arg[2] or "1"))
if not seed or seed < 0 then
  io.stderr:write("usage: neurolua scripts/ketamine/simulate.lua [outdir] [seed (a non-negative integer)]\n")
  os.exit(2)
end

local _, truth = nl.sim.ketamine{ seed = seed, atlas = "aal", resolution = 3, dir = outdir, overwrite = true }
local s = nl.study.participants(outdir .. "/participants.tsv")
s.response = nl.study.response(s.madrs_pre, s.madrs_post)

print(("Simulated ketamine cohorts, seed %d: %d participants in %s"):format(seed, #s, outdir))
print()
print("Table 1. Demographic and clinical characteristics by cohort and response")
print(nl.study.demographics(s, { by = { "cohort", "response" } }))
print()
print("Planted regions (ground_truth.tsv): sign +1 = larger in responders, -1 = larger in non-responders;")
print("effect size = standardized responder - non-responder difference of log volume (discovery)")
print(("%6s  %-22s %5s %12s %10s"):format("index", "name", "sign", "effect_size", "percent"))
for i = 1, #truth do
  print(("%6d  %-22s %5d %12.3f %9.2f%%"):format(truth.index[i], truth.name[i], truth.sign[i],
    truth.effect_size[i], truth.percent[i]))
end
