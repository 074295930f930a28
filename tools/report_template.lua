-- neurolua tools/report_template.lua SOURCE GRID OUT
-- Writes SOURCE (MRIcron's ch2better, 1 mm) resampled by trilinear interpolation onto
-- the grid of GRID (a 2 mm MNI image), rescaled to 0..255 and rounded, as uint8 .nii.gz:
-- the "template" background of nl.report viewers (about 0.35 MB instead of 7 MB).
-- Run at build time (repl/CMakeLists.txt).
local nl = require "neurolua"
local source, grid, out = arg[1], arg[2], arg[3]
assert(source and grid and out, "usage: neurolua report_template.lua SOURCE GRID OUT")
local v = nl.volume.load(source):resample_to(nl.volume.load(grid))
local top = v:stats().max
local dst = nl.volume.new(v)
local d = v:dims()
local nx, ny, nz = d[1], d[2], d[3]
local floor = math.floor
for k = 1, nz do
  for j = 1, ny do
    for i = 1, nx do
      local x = v:get(i, j, k)
      if x > 0 then dst:set(i, j, k, floor(x / top * 255 + 0.5)) end
    end
  end
end
dst:save(out, { datatype = "uint8", compression = 9 })
