-- bench/cv/permutation_calibration.lua: the level of the permutation test under both
-- permutation scorings (docs/methods-notes.md, section 2).
--
--   neurolua bench/cv/permutation_calibration.lua [datasets=200]   (about 200 s on 2 cores)
--
-- Data with nothing to find: the discovery cohort of nl.sim.ketamine{seed = 1,
-- effect = 0} (99 subjects, 116 AAL regions) with random labels (seed 1000 + s for data
-- set s), the pipeline scale, regress_out{age, sex, site, tiv}, linear SVC over
-- C = 2^-6..2^4, default outer and inner CV (3 x 5 each), 200 permutations in NeuroMiner
-- mode scored against the original labels and against the permuted ones. A calibrated
-- test gives p <= 0.05 in 5 % of data sets (binomial SD over 200 data sets: 1.5 %).
-- Prints the rejection rates at 0.05 and 0.10, the mean SD of the null BACs, and the SD
-- of the observed BAC over the data sets.
local nl = require "neurolua"
local N = tonumber(arg and arg[1]) or 200
local dir = os.tmpname()
os.remove(dir)
local p, _, vol = nl.sim.ketamine{ seed = 1, dir = dir, effect = 0, cohorts = { "discovery" } }
local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age", "sex", "site", "tiv" },
                             nl.ml.svc{ C = nl.ml.pow2(-6, 4) } }
local rej, rej10, sd = { original = 0, permuted = 0 }, { original = 0, permuted = 0 }, { original = 0, permuted = 0 }
local bacs = {}
local t0 = nl.clock()
for s = 1, N do
  local u = nl.matrix.rand(99, 1, 1000 + s)
  local y = {}
  for i = 1, 99 do y[i] = u:get(i, 1) < 0.5 end
  for _, sc in ipairs{ "original", "permuted" } do
    local r = nl.cv.nested(pipe, vol, y, { covariates = p, seed = s, permutations = 200, permutation_scoring = sc })
    if r.p_ <= 0.05 then rej[sc] = rej[sc] + 1 end
    if r.p_ <= 0.10 then rej10[sc] = rej10[sc] + 1 end
    sd[sc] = sd[sc] + r.permutation_bac_:std()
    if sc == "original" then bacs[#bacs + 1] = r.metrics_.bac end
  end
end
os.execute("rm -rf '" .. dir .. "'")
local m = nl.matrix(bacs, #bacs, 1)
print(("%d null data sets in %.0f s; observed BAC: mean %.3f, SD %.3f"):format(N, nl.clock() - t0, m:mean(), m:std()))
for _, sc in ipairs{ "original", "permuted" } do
  print(("%-9s p <= 0.05 in %.1f %%, p <= 0.10 in %.1f %%; mean SD of the null BAC %.3f"):format(sc,
    100 * rej[sc] / N, 100 * rej10[sc] / N, sd[sc] / N))
end
