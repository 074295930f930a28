-- Tests of brain-slice figures from Lua: nl.plot.brain, Volume:plot, Atlas:plot. The
-- pixels themselves (orientation for RAS, LAS and oblique affines, thresholds, the
-- colour bar) are checked in tests/engine/plot/test_slices.cpp; here: the options, the
-- files written (PNG size from its header, SVG labels, PDF), and the error messages.
local T = require "testing"
local nl = require "neurolua"

local data = os.getenv("NL_TEST_DATA") .. "/"
local dir = T.tmpname("-slices")
nl.mkdir(dir)

-- A 10 x 10 x 10 grid of 2 mm voxels (x, y, z from -10 to 8 mm) with a blob at voxel
-- (3, 6, 7), world (-6, 0, 2), and a weaker negative one at (8, 3, 3).
local ref = nl.volume.load(data .. "atlas/tiny.nii.gz")
local map = nl.volume.new(ref, 0)
map:set(3, 6, 7, 5.0)
map:set(8, 3, 3, -2.0)

-- Width and height of a PNG file, from its IHDR chunk.
local function png_size(path)
  local s = T.read_file(path)
  T.eq(s:sub(1, 8), "\137PNG\r\n\26\n", path .. " is a PNG")
  return string.unpack(">I4", s, 17), string.unpack(">I4", s, 21)
end

T.test("Volume:plot and nl.plot.brain write PNG, SVG and PDF files", function()
  local png = dir .. "/ortho.png"
  T.eq(map:plot(png, { bg = false }), png)
  local w, h = png_size(png)
  T.eq(w, 750)                         -- 7.5 inches at 100 dpi
  T.truthy(h > 100 and h < 400, "height from the views' aspect, got " .. h)
  w, h = png_size(map:plot(png, { bg = false, width = 4, height = 3, dpi = 50 }))
  T.eq(w, 200)
  T.eq(h, 150)
  -- A file name as the map, the same figure.
  map:save(dir .. "/map.nii.gz")
  T.eq(nl.plot.brain(dir .. "/file.png", dir .. "/map.nii.gz", { bg = false }), dir .. "/file.png")
  T.eq(T.read_file(dir .. "/file.png"), T.read_file(map:plot(dir .. "/again.png", { bg = false })))

  local svg = T.read_file(nl.plot.brain(dir .. "/f.svg", map, { bg = false, coords = { -6, 0, 2 }, title = "A & B" }))
  T.truthy(svg:find("<svg", 1, true), "an SVG document")
  T.truthy(svg:find("<title>A &amp; B</title>", 1, true), "the title, escaped")
  T.truthy(svg:find("sagittal x = -6; coronal y = 0; axial z = 2", 1, true), "the coordinate labels")
  T.truthy(svg:find("</svg>%s*$"), "complete")
  local pdf = T.read_file(map:plot(dir .. "/f.PDF", { bg = false }))
  T.eq(pdf:sub(1, 5), "%PDF-")
  -- no creation date: the same figure gives the same bytes
  T.eq(T.read_file(map:plot(dir .. "/g.pdf", { bg = false })), pdf)
end)

T.test("displays: one view, lightbox with a count or a list of z", function()
  local w1, h1 = png_size(map:plot(dir .. "/x.png", { bg = false, display = "x", coords = -6 }))
  T.eq(w1, 350)                        -- one view: 3.5 inches
  T.truthy(h1 > 50, "height")
  png_size(map:plot(dir .. "/z.png", { bg = false, display = "z", coords = { 0, 0, 2 } }))
  png_size(map:plot(dir .. "/lb.png", { bg = false, display = "lightbox", slices = 4, columns = 2 }))
  png_size(map:plot(dir .. "/lb2.png", { bg = false, display = "lightbox", slices = { -8, 2, 6 } }))
  local w3 = png_size(map:plot(dir .. "/glass.png", { bg = false, display = "glass", peaks = { { -6, 0, 2 } } }))
  T.eq(w3, 750)
  local svg = T.read_file(map:plot(dir .. "/glass.svg", { bg = false, display = "glass" }))
  T.truthy(svg:find("sagittal projection; coronal projection; axial projection", 1, true), "projections")
end)

T.test("options: threshold, limits, colour maps, peaks, contours, the template", function()
  local out = dir .. "/o.png"
  map:plot(out, { bg = false, threshold = 1, vmax = 4, cmap = "RdBu_r", alpha = 0.7, colorbar = false,
                  annotate = false, font_size = 12, title = "t" })
  map:plot(out, { bg = ref, bg_vmin = 0, bg_vmax = 3 })
  map:plot(out, { bg = data .. "atlas/tiny.nii.gz" })
  -- Peaks: a list of {x, y, z}, or a cluster table (columns x, y, z).
  map:plot(out, { bg = false, peaks = { { -6, 0, 2 }, { 4, -6, -6 } } })
  local clusters = nl.table.new{ { "cluster", { 1, 2 } }, { "x", { -6, 4 } }, { "y", { 0, -6 } }, { "z", { 2, -6 } } }
  map:plot(out, { bg = false, peaks = clusters })
  -- Region outlines from an Atlas or a label Volume; an atlas drawn by itself.
  local atlas = nl.atlas.load(data .. "atlas/tiny.nii.gz")
  map:plot(out, { bg = false, contours = atlas })
  map:plot(out, { bg = false, contours = ref })
  T.eq(atlas:plot(dir .. "/atlas.png", { bg = false }), dir .. "/atlas.png")
  -- A positive map with vmin; the MNI-space template (ch2better) when installed.
  local pos = nl.volume.new(ref, 0)
  pos:set(3, 6, 7, 5.0)
  pos:plot(out, { bg = false, vmin = 1, cmap = "viridis" })
  if T.atlas_installed("aal") then
    local w, h = png_size(nl.plot.brain(dir .. "/mni.png", map, { coords = { -6, 0, 2 } }))
    T.eq(w, 750)
    T.truthy(h > 150, "the template's aspect")
  end
end)

T.test("a 4-D map needs a frame", function()
  local four = nl.volume.load(data .. "nifti/nifti2_4d.nii.gz")
  local err = T.raises(function() four:plot(dir .. "/4d.png", { bg = false }) end,
                       "map: [Volume 5x4x3x2, 2 mm, TR 1 s, float32, LAS] is 4-D with 2 frames")
  T.truthy(err:find("nifti2_4d.nii.gz", 1, true), "names the file: " .. err)
  T.truthy(err:find("option frame", 1, true), "says how: " .. err)
  T.eq(four:plot(dir .. "/4d.png", { bg = false, frame = 2 }), dir .. "/4d.png")
  T.raises(function() four:plot(dir .. "/4d.png", { bg = false, frame = 3 }) end, "frame: 3 out of range [1, 2]")
end)

T.test("bad input raises clear errors", function()
  local out = dir .. "/bad.png"
  T.raises(function() map:plot(out, { thresold = 2 }) end,
           "unknown option 'thresold' for plot; expected one of: display, coords")
  T.raises(function() map:plot(out, { thresold = 2 }) end, "did you mean 'threshold'?")
  T.raises(function() nl.plot.brain(out, map, { colourbar = false }) end, "did you mean 'colorbar'?")
  T.raises(function() map:plot(out, { display = "axial" }) end,
           "option 'display' must be one of ortho, x, y, z, lightbox, glass, got axial")
  T.raises(function() map:plot(out, { coords = { 1, 2 } }) end, "option 'coords' must be {x, y, z} (mm), got table")
  T.raises(function() map:plot(out, { bg = false, coords = { 0, 200, 0 } }) end,
           "coords: (0, 200, 0) mm lies outside the image (y = 200 is not within -11.0 to 9.0 mm")
  T.raises(function() map:plot(out, { slices = 3 }) end, "option 'slices' applies to display = \"lightbox\"")
  T.raises(function() map:plot(out, { bg = false, display = "lightbox", slices = { 0, 50 } }) end,
           "slices: z = 50 mm lies outside the image")
  T.raises(function() map:plot(out, { bg = false, cmap = "jet" }) end, "unknown colour map 'jet'; expected one of: cold_hot")
  T.raises(function() map:plot(out, { bg = false, vmin = 0 }) end, "vmin applies to one-signed maps")
  T.raises(function() map:plot(out, { bg = 3 }) end, "option 'bg' must be \"template\", a Volume, a file name or false, got number")
  T.raises(function() map:plot(out, { peaks = { { 1, 2 } } }) end, "option 'peaks': entry 1 must be {x, y, z} (mm)")
  T.raises(function() map:plot(out, { peaks = nl.table.new{ { "x", { 1 } } } }) end,
           "option 'peaks': the Table needs number columns x, y and z (mm); 'y' is missing")
  T.raises(function() map:plot(out, { alpha = 2 }) end, "option 'alpha' must be between")
  T.raises(function() map:plot(dir .. "/fig.jpg", { bg = false }) end,
           "path: '" .. dir .. "/fig.jpg' has an unsupported extension; use .png, .svg or .pdf")
  T.raises(function() map:plot(dir .. "/no/such/dir/f.png", { bg = false }) end, "no/such/dir/f.png")
  T.raises(function() nl.plot.brain(out, dir .. "/missing.nii.gz") end, "missing.nii.gz")
  T.raises(function() nl.plot.brain(out, 42) end, "bad argument #2 to 'brain' (neurolua.Volume or file name expected, got number)")
  T.raises(function() map:plot() end, "bad argument #1 to 'plot'")
  T.truthy(not T.exists(out), "nothing written by a failed call")
end)

T.test("the sandbox: figures are written only inside --out", function()
  local script = dir .. "/sandboxed.lua"
  local out = dir .. "/sandbox-out"
  nl.mkdir(out)
  T.write_file(script, ([[
    local v = nl.volume.new(nl.volume.load(%q), 0)
    print(v:plot(%q, { bg = false }))
    print(pcall(v.plot, v, %q, { bg = false }))
  ]]):format(data .. "atlas/tiny.nii.gz", out .. "/ok.png", dir .. "/outside.png"))
  local ok, text = T.run("--sandbox --in " .. data .. "atlas --out " .. out .. " " .. script)
  T.truthy(ok, text)
  T.truthy(text:find("ok.png", 1, true), text)
  T.truthy(text:find("writing outside the output folder is not permitted", 1, true), text)
  T.truthy(T.exists(out .. "/ok.png"), "written inside --out")
  T.truthy(not T.exists(dir .. "/outside.png"), "nothing written outside")
end)

T.done()
