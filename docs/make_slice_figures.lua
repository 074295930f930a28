-- docs/make_slice_figures.lua: the example images of docs/reference/plot.md (brain slices).
--
--   build/neurolua docs/make_slice_figures.lua [out_dir]     (default: docs/figures)
--
-- A synthetic signed statistic map (three smooth blobs on the 1 mm AAL grid: one positive
-- in the left precentral gyrus, one negative in the right insula, one positive in the
-- right cuneus) drawn over the MNI-space Colin27 template ch2better, and the AAL atlas.
-- Needs Debian's mricron-data (the template and the atlas). Deterministic: running it
-- again gives the same files.
local nl = require "neurolua"

local out = arg and arg[1] or "docs/figures"
nl.mkdir(out)

local aal = nl.atlas.load("aal")
local map = nl.volume.new(aal:volume(), 0)

-- A blob of peak `value` and radius r voxels around the world point (x, y, z).
local function blob(x, y, z, value, r)
  local i0, j0, k0 = map:voxel(x, y, z)
  i0, j0, k0 = math.floor(i0 + 0.5), math.floor(j0 + 0.5), math.floor(k0 + 0.5)
  for di = -r, r do
    for dj = -r, r do
      for dk = -r, r do
        local d = math.sqrt(di * di + dj * dj + dk * dk)
        if d <= r then map:set(i0 + di, j0 + dj, k0 + dk, value * math.exp(-d * d / (r * r))) end
      end
    end
  end
end
blob(-38, -22, 56, 7.2, 9)    -- left precentral gyrus
blob(40, 6, 2, -5.1, 7)       -- right insula
blob(8, -80, 20, 4.3, 6)      -- right cuneus

local peaks = { { -38, -22, 56 }, { 40, 6, 2 }, { 8, -80, 20 } }
local files = {
  nl.plot.brain(out .. "/slices_ortho.png", map, { threshold = 3.1, title = "t map (synthetic), |t| > 3.1" }),
  map:plot(out .. "/slices_lightbox.png", { display = "lightbox", threshold = 3.1, slices = 12 }),
  map:plot(out .. "/slices_peaks.png", { threshold = 3.1, coords = { 40, 6, 2 }, peaks = peaks,
                                         contours = aal, title = "peaks and AAL outlines" }),
  map:plot(out .. "/slices_glass.png", { display = "glass", threshold = 3.1, title = "glass brain" }),
  map:plot(out .. "/slices_z.png", { display = "z", coords = 56, threshold = 3.1, width = 3.5 }),
  aal:plot(out .. "/slices_atlas.png", { coords = { 0, -18, 8 }, title = "AAL (116 regions)" }),
}
for _, f in ipairs(files) do print(f) end
