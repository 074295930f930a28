-- The neurolua side of bench/stats/tfce.sh: nl.stats.tfce of the map (6 neighbours,
-- dh 0.1, E 0.5, H 2, right tail), wall time the median of REPEATS runs; the H = 0
-- scores for the agreement check; nl.stats.glm on the edges with TFCE (one-sample sign
-- flipping, dh 0.1, E 0.5, H 2, two-sided) and PERMS rearrangements.
--   neurolua tfce_bench.lua DIR REPEATS PERMS OUT.tsv
local dir, repeats, perms, out = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4]
local map, mask = nl.volume.load(dir .. "/map.nii.gz"), nl.volume.load(dir .. "/mask.nii.gz")
local times = {}
for r = 1, repeats do
  local t0 = nl.clock()
  nl.stats.tfce(map, { mask = mask, connectivity = 6, dh = 0.1, tail = "right" })
  times[r] = nl.clock() - t0
end
table.sort(times)
local h0 = nl.stats.tfce(map, { mask = mask, connectivity = 6, dh = 0.1, H = 0, tail = "right" }):values(mask)
local f = io.open(out .. ".h0", "w")
for k = 1, h0:rows() do f:write(string.format("%.9g\n", h0:get(k, 1))) end
f:close()
local Y = nl.table.read(dir .. "/edges.tsv"):matrix()
local nodes = math.floor((1 + math.sqrt(1 + 8 * Y:cols())) / 2 + 0.5)
local t0 = nl.clock()
local r = nl.stats.glm(Y, nl.stats.design_one_sample(Y:rows()), { permutations = perms, seed = 1, progress = false,
                                                                 tfce = { nodes = nodes, dh = 0.1, E = 0.5 } })
local perm_time = nl.clock() - t0
f = io.open(out .. ".p", "w")
for k = 1, r.p_tfce_fwe:rows() do f:write(string.format("%.17g\n", r.p_tfce_fwe:get(k, 1))) end
f:close()
f = io.open(out, "w")
f:write("tool\tcase\tseconds\n")
f:write(string.format("neurolua\tmap\t%.6f\n", times[(#times + 1) // 2]))
f:write(string.format("neurolua\tedges_perm\t%.6f\n", perm_time))
f:close()
