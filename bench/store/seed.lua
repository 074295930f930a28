-- bench/store/seed.lua MODE DIR: the seed map of one series from its 4-D Volume and from
-- a store of its frames (see run.sh). One mode per process, so that each peak is its own:
--   volume: load DIR/bold.nii, seed_map on the Volume, save the map (DIR/volume_map.nii)
--   build:  nl.store.build_series(DIR/bold.h5, DIR/bold.nii, DIR/mask.nii)
--   store:  open DIR/bold.h5, seed_map on the store, compare with DIR/volume_map.nii
-- Prints "key value" lines; times in seconds, peaks in MB over the process's start.
local nl = require "neurolua"
local mode, dir = arg[1], arg[2]

local function reset_peak()
  local f = io.open("/proc/self/clear_refs", "w")
  if f then f:write("5") f:close() end
end
local function kb(field)
  for line in io.lines("/proc/self/status") do
    local v = line:match("^" .. field .. ":%s+(%d+)")
    if v then return tonumber(v) end
  end
end
local function out(k, v) print(k, v) io.stdout:flush() end

local mask = nl.volume.load(dir .. "/mask.nii")
collectgarbage()
reset_peak()
local rss0 = kb("VmRSS")
local t0 = nl.clock()
if mode == "volume" then
  local v = nl.volume.load(dir .. "/bold.nii")
  out("volume_load_s", nl.clock() - t0)
  local seed = nl.matrix.randn(v:frames(), 1, 1)
  local t1 = nl.clock()
  local map = nl.fc.seed_map(seed, v, mask)
  out("volume_map_s", nl.clock() - t1)
  out("volume_total_s", nl.clock() - t0)
  out("volume_peak_MB", (kb("VmHWM") - rss0) / 1024)
  out("frames", v:frames())
  out("voxels", mask:values():sum())
  map:save(dir .. "/volume_map.nii")
elseif mode == "build" then
  nl.store.build_series(dir .. "/bold.h5", dir .. "/bold.nii", mask, { progress = false })
  out("build_s", nl.clock() - t0)
  out("build_peak_MB", (kb("VmHWM") - rss0) / 1024)
elseif mode == "store" then
  local s = nl.store.open(dir .. "/bold.h5")
  local seed = nl.matrix.randn(s.n, 1, 1)
  local map = nl.fc.seed_map(seed, s, mask)
  out("store_map_s", nl.clock() - t0)
  out("store_peak_MB", (kb("VmHWM") - rss0) / 1024)
  local ref = nl.volume.load(dir .. "/volume_map.nii")
  out("identical", tostring(map:values() == ref:values()))
end
out("threads", nl.threads())
