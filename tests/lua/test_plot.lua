-- nl.plot: every chart function writes its file and returns the path; the inputs Lua
-- users pass (lists, Matrices, Columns, Tables, nl.stats.roc results); the error
-- messages; SVG that parses and holds its text; PDF; atomic writes; same bytes twice.
local T = require "testing"
local nl = require "neurolua"

local dir = T.tmpname("_plot")
nl.mkdir(dir)
local function out(name) return dir .. "/" .. name end

local function png(path)
  local s = T.read_file(path)
  T.eq(s:sub(2, 4), "PNG", path)
  -- width and height from the IHDR chunk
  local function u32(i) local a, b, c, d = s:byte(i, i + 3) return ((a * 256 + b) * 256 + c) * 256 + d end
  return u32(17), u32(21)
end

local fpr, tpr = { 0, 0, 0.1, 0.3, 0.6, 1 }, { 0, 0.4, 0.6, 0.8, 0.95, 1 }
local aal = { "Frontal_Sup_Medial_L", "Hippocampus_R", "Amygdala_L", "Insula_R", "Cingulum_Ant_L" }

T.test("every chart writes a PNG of width x dpi pixels and returns its path", function()
  T.eq(nl.plot.lines(out("l.png"), { { x = { 1, 2, 3 }, y = { 1, 4, 9 }, label = "squares", colour = "#ff0000",
    style = "dashed", band = { lo = { 0, 3, 8 }, hi = { 2, 5, 10 } } }, { x = { 1, 2, 3 }, y = { 3, 2, 1 }, step = true } },
    { diagonal = true, title = "lines", legend = "upper left" }), out("l.png"))
  T.eq(nl.plot.lines(out("one.png"), { x = { 1, 2 }, y = { 2, 1 } }), out("one.png"))  -- one series, not in a list
  T.eq(nl.plot.roc(out("r.png"), { fpr = fpr, tpr = tpr, auc = 0.8, ci = { 0.7, 0.9 }, label = "model" }), out("r.png"))
  T.eq(nl.plot.histogram(out("h.png"), { 0.1, 0.2, 0.2, 0.3, 0.35, 0.5 }, { observed = 0.6, p = 0.01, bins = 4 }), out("h.png"))
  T.eq(nl.plot.bars(out("b.png"), aal, { 0.5, -0.3, 0.2, -0.1, 0.05 }, { sign_colours = true,
    sign_labels = { "response", "non-response" }, errors = { 0.1, 0.1, 0.1, 0.1, 0.1 }, marks = { true, false, false, true, false } }), out("b.png"))
  T.eq(nl.plot.scatter(out("s.png"), { 1, 2, 3, 4, 5 }, { 2, 1, 4, 3, 6 }, { fit = "linear", annotate = true,
    groups = { "a", "b", "a", "b", "a" } }), out("s.png"))
  T.eq(nl.plot.box(out("x.png"), { { label = "pre", values = { 1, 2, 3, 4, 12 } }, { label = "post", values = { 2, 3, 4 } } }), out("x.png"))
  local M = nl.matrix.randn(6, 6, 1)
  M = (M + M:t()) / 2
  T.eq(nl.plot.heatmap(out("m.png"), M, { order = "hierarchy", dendrogram = true, colorbar_label = "z" }), out("m.png"))
  T.eq(nl.plot.netmat(out("n.png"), M, { labels = { "a", "b", "c", "d", "e", "f" } }), out("n.png"))
  local w, h = png(out("r.png"))
  T.eq(w, 640)
  T.eq(h, 480)
  nl.plot.roc(out("r2.png"), { fpr = fpr, tpr = tpr }, { width = 3, height = 3, dpi = 200 })
  w, h = png(out("r2.png"))
  T.eq(w, 600)
  T.eq(h, 600)
end)

T.test("vectors as Matrices and Columns; box plots from a Table", function()
  local t = nl.table.new { { "fc", { 1, 2, 3, 4, 5, 6, 7, 8 } }, { "group", { "a", "a", "b", "b", "a", "a", "b", "b" } },
    { "time", { "pre", "post", "pre", "post", "pre", "post", "pre", "post" } } }
  nl.plot.scatter(out("c.png"), t.fc, nl.matrix({ { 1 }, { 3 }, { 2 }, { 5 }, { 4 }, { 6 }, { 8 }, { 7 } }))
  nl.plot.box(out("t.png"), t, { x = "group", y = "fc", hue = "time", ylabel = "FC" })
  T.raises(function() nl.plot.box(out("t.png"), t, { x = "grp", y = "fc" }) end, "no column 'grp' in the table")
  T.raises(function() nl.plot.box(out("t.png"), t, { x = "group" }) end, "option 'y' (the value column) is required")
end)

T.test("an nl.stats.roc result plots as a curve", function()
  local r = nl.stats.roc({ 0.1, 0.4, 0.35, 0.8, 0.7, 0.2 }, { 0, 0, 1, 1, 1, 0 })
  nl.plot.roc(out("stats_roc.png"), r)
  nl.plot.roc(out("stats_roc2.png"), { r, { fpr = fpr, tpr = tpr, label = "other" } })
end)

T.test("figure: several panels in one file", function()
  local p = nl.plot.figure { path = out("fig.png"), rows = 1, cols = 2, width = 10, height = 4, title = "Two panels",
    panels = { { kind = "histogram", values = { 1, 2, 2, 3 }, title = "null" },
               { kind = "bars", names = { "x", "y" }, values = { 1, -1 }, horizontal = false } } }
  T.eq(p, out("fig.png"))
  local w, h = png(p)
  T.eq(w, 1000)
  T.eq(h, 400)
  T.raises(function() nl.plot.figure { path = out("f.png"), panels = { { kind = "histgram", values = { 1 } } } } end,
    "did you mean 'histogram'")
  T.raises(function() nl.plot.figure { path = out("f.png"), panels = { { kind = "bars", names = { "x" }, values = { 1 }, colour = 1 } } } end,
    "unknown option 'colour' for a bars panel")
  T.raises(function() nl.plot.figure { path = out("f.png"), panels = { { kind = "roc" }, { kind = "roc" } } } end,
    "2 panels do not fit a 1x1 grid")
end)

T.test("SVG parses and holds its text; PDF is a PDF", function()
  nl.plot.bars(out("b.svg"), aal, { 1, 2, 3, 4, 5 }, { title = "Top regions & <weights>" })
  local s = T.read_file(out("b.svg"))
  T.truthy(s:find("<title>Top regions &amp; &lt;weights&gt;</title>", 1, true), "escaped title")
  for _, name in ipairs(aal) do T.truthy(s:find(name, 1, true), name) end
  local ok = os.execute(("python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' %q 2>/dev/null"):format(out("b.svg")))
  if ok ~= nil then T.truthy(ok, "the SVG parses as XML") end
  nl.plot.roc(out("r.pdf"), { fpr = fpr, tpr = tpr })
  T.eq(T.read_file(out("r.pdf")):sub(1, 5), "%PDF-")
end)

T.test("the same chart gives the same PNG bytes", function()
  local v = {}
  for i = 1, 50 do v[i] = math.sin(i) end
  nl.plot.box(out("d1.png"), { { label = "a", values = v } }, { seed = 3 })
  nl.plot.box(out("d2.png"), { { label = "a", values = v } }, { seed = 3 })
  T.eq(T.read_file(out("d1.png")), T.read_file(out("d2.png")))
end)

T.test("bad inputs raise, naming the argument", function()
  T.raises(function() nl.plot.roc(out("x.png"), { fpr = fpr, tpr = tpr }, { titel = "x" }) end,
    "unknown option 'titel' for roc; expected one of: title")
  T.raises(function() nl.plot.roc(out("x.png"), { fpr = fpr, tpr = tpr }, { titel = "x" }) end, "did you mean 'title'?")
  T.raises(function() nl.plot.roc(out("x.jpg"), { fpr = fpr, tpr = tpr }) end,
    "bad argument #1 to 'roc' (cannot tell the format of '" .. out("x.jpg") .. "' from its extension; expected .png, .svg or .pdf)")
  T.raises(function() nl.plot.bars(out("x.png"), aal, { 1, 2 }) end, "bad argument #3 to 'bars' (values: length 2 differs from names (5))")
  T.raises(function() nl.plot.histogram(out("x.png"), {}) end, "bad argument #2 to 'histogram' (values: no values to plot)")
  T.raises(function() nl.plot.histogram(out("x.png"), { 1, 0 / 0, 3 }) end, "values: entry 2 is NaN")
  T.raises(function() nl.plot.histogram(out("x.png"), { 1, "a" }) end, "values: entry 2 is not a number")
  T.raises(function() nl.plot.lines(out("x.png"), { { x = { 1, 2 }, y = { 1 } } }) end, "series[1].y: length 1 differs from x (2)")
  T.raises(function() nl.plot.lines(out("x.png"), { { x = { 1, 2 }, y = { 1, 2 }, colr = "red" } }) end,
    "unknown option 'colr' for a series")
  T.raises(function() nl.plot.lines(out("x.png"), { { x = { 1, 2 }, y = { 1, 2 }, style = "dashd" } }) end,
    "option 'style' must be one of solid, dashed, dotted, got dashd; did you mean 'dashed'?")
  T.raises(function() nl.plot.lines(out("x.png"), { { x = { 1, 2 }, y = { 1, 2 }, colour = "reddish" } }) end,
    "unknown colour 'reddish'")
  T.raises(function() nl.plot.scatter(out("x.png"), { 1, 2, 3 }, { 1, 2, 3 }, { fit = "loess" }) end,
    "option 'fit' must be one of linear, got loess")
  T.raises(function() nl.plot.heatmap(out("x.png"), nl.matrix.ones(2, 2), { cmap = "jet" }) end, "unknown colour map 'jet'")
  T.raises(function() nl.plot.heatmap(out("x.png"), nl.matrix.ones(3, 3), { order = { 1, 1, 2 } }) end, "order: not a permutation")
  T.raises(function() nl.plot.netmat(out("x.png"), nl.matrix.ones(2, 3)) end, "Z: a netmat must be square")
  T.raises(function() nl.plot.roc(out("x.png"), { fpr = fpr, tpr = tpr }, { legend = "top" }) end,
    "option 'legend' must be one of upper right, lower right, upper left, lower left, got top")
  T.raises(function() nl.plot.roc(out("x.png"), { fpr = fpr, tpr = tpr }, { dpi = 5 }) end, "option 'dpi' must be between 10 and 1200")
  T.raises(function() nl.plot.roc(out("nodir/x.png"), { fpr = fpr, tpr = tpr }) end, "nodir/x.png")
end)

T.test("a failed render leaves an existing file untouched, and no temporary file", function()
  T.write_file(out("keep.png"), "old")
  T.raises(function() nl.plot.histogram(out("keep.png"), { 1, 0 / 0 }) end, "NaN")
  T.eq(T.read_file(out("keep.png")), "old")
  -- a failure while drawing (the stream is open, the temporary file exists)
  T.raises(function() nl.plot.bars(out("keep.png"), aal, { 1, 2, 3, 4, 5 }, { width = 1, height = 1, font_size = 40 }) end,
    "too small for its labels")
  T.eq(T.read_file(out("keep.png")), "old")
  local p = io.popen("ls -a '" .. dir .. "'")
  local listing = p:read("a")
  p:close()
  T.truthy(not listing:find(".tmp-", 1, true), "no temporary file left: " .. listing)
end)

T.test("PLplot prints nothing, on success or on failure", function()
  local script = out("quiet.lua")
  T.write_file(script, ([[
local nl = require "neurolua"
nl.plot.roc(%q, { fpr = { 0, 1 }, tpr = { 0, 1 } })
pcall(nl.plot.bars, %q, { "a" }, { 1 }, { width = 1, height = 1, font_size = 60 })
pcall(nl.plot.histogram, %q, { 0 / 0 })
io.write("done")
]]):format(out("q1.svg"), out("q2.png"), out("q3.pdf")))
  local ok, text = T.run(script)
  T.truthy(ok, text)
  T.eq(text, "done")
end)

T.test("colormaps lists the shared maps", function()
  local names = table.concat(nl.plot.colormaps(), " ")
  for _, n in ipairs { "cold_hot", "RdBu_r", "viridis", "hot", "gray" } do T.truthy(names:find(n, 1, true), n) end
end)

T.test("histogram legend: the line's and the bars' labels", function()
  nl.plot.histogram(out("hl.svg"), { 61, 65, 70, 70, 72, 75 }, { observed = 72.2, label_observed = "paper",
    label_values = "simulated cohorts" })
  local text = T.read_file(out("hl.svg")):match("<desc>(.-)</desc>")
  T.truthy(text:find("simulated cohorts", 1, true) and text:find("paper", 1, true), text)
  T.eq(text:find("null distribution", 1, true), nil)
  nl.plot.histogram(out("hn.svg"), { 0.4, 0.5, 0.6 }, { observed = 0.7, label_observed = "observed" })
  T.truthy(T.read_file(out("hn.svg")):match("<desc>(.-)</desc>"):find("null distribution", 1, true))
end)

T.done()
