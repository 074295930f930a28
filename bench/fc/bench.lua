-- bench/fc/bench.lua DIR [REPEATS]: seed-to-voxel Fisher-z maps of one subject (240
-- frames, 70,000 brain voxels), three ways:
--   volume: nl.fc.seed_map(seed, v, brain), straight from the 4-D image;
--   matrix: nl.fc.seed_corr(seed, Y) on the frames x voxels Matrix (the cleaned data);
--   extract: v:timeseries(brain), the frames x voxels copy the matrix path starts from.
-- Each is repeated REPEATS times (default 10) between two wall-clock readings; prints
-- the seconds per call and a few values for the cross-check with the NumPy peer.
local nl = require "neurolua"
local dir = assert(arg[1], "usage: bench.lua DIR [REPEATS]")
local reps = tonumber(arg[2] or "10")

-- Wall clock (os.clock is CPU time summed over threads); one `date` per reading.
local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

local v = nl.volume.load(dir .. "/bold.nii")
local brain = nl.volume.load(dir .. "/brain.nii")
local seed = nl.fc.mask_means(v, nl.volume.load(dir .. "/seed.nii"))

local map = nl.fc.seed_map(seed, v, brain)   -- warm-up (page cache, threads)
local t0 = now()
for _ = 1, reps do map = nl.fc.seed_map(seed, v, brain) end
local t1 = now()
local Y
for _ = 1, reps do Y = v:timeseries(brain) end
local t2 = now()
local z
for _ = 1, reps do z = nl.fc.seed_corr(seed, Y) end
local t3 = now()
print(string.format("nl_volume %.5f", (t1 - t0) / reps))
print(string.format("nl_extract %.5f", (t2 - t1) / reps))
print(string.format("nl_matrix %.5f", (t3 - t2) / reps))
print(string.format("nl_voxels %d", Y:cols()))
print(string.format("nl_threads %d", nl.threads()))
print(string.format("nl_check %.6f", map:get(30, 30, 20)))
print(string.format("nl_check_matrix %.6f", z:get(1, 1000)))
