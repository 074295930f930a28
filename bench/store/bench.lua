-- bench/store/bench.lua MAPS_DIR WORK_DIR PERMUTATIONS: the voxel store's build, reads
-- and chunked GLM (see run.sh). Prints "key value" lines.
local nl = require "neurolua"
local maps_dir, work, perms = arg[1], arg[2], tonumber(arg[3] or "100")

-- Peak resident memory since the last reset (Linux: /proc/self/clear_refs resets VmHWM).
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

local maps = {}
local p = io.popen("ls '" .. maps_dir .. "'")
for name in p:lines() do maps[#maps + 1] = maps_dir .. "/" .. name end
p:close()
local n = #maps
local mask = nl.volume.load(maps[1]):gt(0)
out("n", n)
out("threads", nl.threads())
out("grid", table.concat(mask:dims(), "x"))

-- Build: deflate 0, 1 and 6; time per map, size, peak memory over the start.
for _, level in ipairs{ 0, 1, 6 } do
  local path = ("%s/store%d.h5"):format(work, level)
  collectgarbage()
  reset_peak()
  local rss0 = kb("VmRSS")
  local t0 = nl.clock()
  local s = nl.store.build(path, maps, mask, { compress = level, progress = false })
  local dt = nl.clock() - t0
  out("voxels", s.voxels)
  out(("build%d_s"):format(level), dt)
  out(("build%d_ms_per_map"):format(level), 1000 * dt / n)
  out(("build%d_MB"):format(level), s.stored_bytes / 1e6)
  out(("build%d_peak_MB"):format(level), (kb("VmHWM") - rss0) / 1024)
  s = nil
  collectgarbage()
end
out("raw_MB", 4 * n * nl.store.open(work .. "/store1.h5").voxels / 1e6)

-- Reads: every 4096-voxel block in order (drop the page cache's effect by reading each
-- file once before: both are then warm; the figure is decompression + copy).
for _, level in ipairs{ 0, 1 } do
  local s = nl.store.open(("%s/store%d.h5"):format(work, level))
  s:read(1, s.voxels)  -- warm
  local t0 = nl.clock()
  local blocks = 0
  for a = 1, s.voxels, 4096 do
    s:read(a, math.min(a + 4095, s.voxels))
    blocks = blocks + 1
  end
  local dt = nl.clock() - t0
  out(("read%d_ms_per_block"):format(level), 1000 * dt / blocks)
  out(("read%d_MBps"):format(level), 4 * n * s.voxels / 1e6 / dt)
  collectgarbage()
end

-- The GLM: two groups and a covariate; on the store (chunked) and in memory.
local s = nl.store.open(work .. "/store1.h5")
local X = nl.matrix.ones(n, 3)
for i = 1, n do
  X:set(i, 2, i % 2)
  X:set(i, 3, (i * 37 % 101) / 101)
end
local opts = { permutations = perms, seed = 1, progress = false }
collectgarbage()
reset_peak()
local rss0 = kb("VmRSS")
local t0 = nl.clock()
local r = s:glm(X, { 0, 1, 0 }, opts)
out("glm_store_s", nl.clock() - t0)
out("glm_store_peak_MB", (kb("VmHWM") - rss0) / 1024)
out("glm_store_blocks", r.blocks_read)
collectgarbage()
reset_peak()
rss0 = kb("VmRSS")
t0 = nl.clock()
local Y = s:read()
out("read_all_s", nl.clock() - t0)
local m = nl.stats.glm(Y, X, { 0, 1, 0 }, opts)
out("glm_memory_s", nl.clock() - t0)
out("glm_memory_peak_MB", (kb("VmHWM") - rss0) / 1024)
out("identical", tostring(m.p_fwe == r.p_fwe and m.stat == r.stat and m.max_stat == r.max_stat))
out("permutations", perms)
Y, m = nil, nil
-- TFCE and clusters on the store: every rearranged map whole, in passes bounded by
-- `memory` (default 1 GiB), each pass one read of the store.
collectgarbage()
reset_peak()
rss0 = kb("VmRSS")
t0 = nl.clock()
local tf = s:glm(X, { 0, 1, 0 }, { permutations = perms, seed = 1, progress = false, tfce = true })
out("tfce_store_s", nl.clock() - t0)
out("tfce_store_peak_MB", (kb("VmHWM") - rss0) / 1024)
out("tfce_store_passes", tf.passes)
