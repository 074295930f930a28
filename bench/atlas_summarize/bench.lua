-- bench/atlas_summarize/bench.lua DIR EXT: load the maps of DIR and summarize them over
-- AAL (regional volumes in ml). Prints the wall-clock seconds of each phase:
-- loading (nl.volume.load_all, parallel), the first summarize (which puts the atlas on
-- the maps' grid once) and a second summarize (the in-memory rate).
local nl = require "neurolua"
local dir, ext = assert(arg[1], "usage: bench.lua DIR EXT"), arg[2] or "nii.gz"

-- Wall clock (os.clock is CPU time summed over threads).
local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

local paths = {}
local ls = io.popen("ls " .. dir .. "/sub-*." .. ext)
for line in ls:lines() do paths[#paths + 1] = line end
ls:close()
local aal = nl.atlas.load("aal")

local t0 = now()
local maps = nl.volume.load_all(paths)
local t1 = now()
local X = aal:summarize(maps, "volume_ml")
local t2 = now()
X = aal:summarize(maps, "volume_ml")
local t3 = now()
print(string.format("nl_load %.4f", t1 - t0))
print(string.format("nl_summarize_first %.4f", t2 - t1))
print(string.format("nl_summarize %.4f", t3 - t2))
print(string.format("nl_check %.6f", X.Hippocampus_L[1]))
print(string.format("nl_threads %d", nl.threads()))
