-- The plot methods of the result objects (stdlib/neurolua/plotting.lua): CVResult and
-- Prediction plot_roc / plot_permutations, CVResult:plot_weights, LMM:plot_effects.
-- Each draws what the object holds (checked through the text an SVG lists in <desc>),
-- passes the style options through to nl.plot, and explains what is missing.
local T = require "testing"
local nl = require "neurolua"

local dir = T.tmpname("_plot_methods")
nl.mkdir(dir)
local function out(name) return dir .. "/" .. name end
local function desc(path)
  local s = T.read_file(path)
  return s:match("<title>(.-)</title>") or "", s:match("<desc>(.-)</desc>") or ""
end
local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

local X = nl.matrix.randn(60, 6, 9)
local y = {}
for i = 1, 60 do y[i] = X:get(i, 1) + 0.5 * nl.matrix.randn(1, 1, 100 + i):get(1, 1) > 0 end
local names = { "Frontal_Sup_L", "Vermis_6", "Amygdala_L", "Insula_R", "Putamen_L", "Precuneus_R" }
local pipe = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.svc{ C = { 0.5, 2 } } }
local r = nl.cv.nested(pipe, nl.table.new{ { names[1], X:col(1) }, { names[2], X:col(2) }, { names[3], X:col(3) },
  { names[4], X:col(4) }, { names[5], X:col(5) }, { names[6], X:col(6) } }, y,
  { outer = { 2, 3 }, inner = { 2, 3 }, seed = 3, permutations = 30 })

T.test("CVResult:plot_roc draws the curve of median_ against y_ with its AUC and DeLong CI", function()
  T.eq(r:plot_roc(out("roc.svg"), { title = "Discovery", boot = 200 }), out("roc.svg"))
  local title, text = desc(out("roc.svg"))
  T.eq(title, "Discovery")
  local roc = nl.stats.roc(r.median_, r.y_)
  local legend = ("nested CV  AUC %.2f [%.2f, %.2f]"):format(roc.auc, roc.ci[1], roc.ci[2])
  T.truthy(text:find(legend, 1, true), "legend '" .. legend .. "' in: " .. text)
  T.near(roc.auc, r.metrics_.auc, 1e-12)
  -- the default title, a PNG, and options reaching nl.plot
  T.eq(r:plot_roc(out("roc.png"), { label = "disc", band = false, width = 4, height = 4, dpi = 50 }), out("roc.png"))
  local s = T.read_file(out("roc.png"))
  local function u32(i) local a, b, c, d = s:byte(i, i + 3) return ((a * 256 + b) * 256 + c) * 256 + d end
  T.eq(u32(17), 200); T.eq(u32(21), 200)
  T.raises(function() r:plot_roc(out("x.png"), { titel = "x" }) end, "did you mean 'title'?")
  T.raises(function() r:plot_roc(out("x.gif")) end, "x.gif")
end)

T.test("the band is seeded: same seed, same file; another seed, another band", function()
  r:plot_roc(out("a.png"), { seed = 5, boot = 300 })
  r:plot_roc(out("b.png"), { seed = 5, boot = 300 })
  r:plot_roc(out("c.png"), { seed = 6, boot = 300 })
  T.eq(T.read_file(out("a.png")), T.read_file(out("b.png")))
  T.truthy(T.read_file(out("a.png")) ~= T.read_file(out("c.png")), "a different seed draws a different band")
end)

T.test("plot_permutations marks the observed BAC and its p; raises without permutations", function()
  r:plot_permutations(out("perm.svg"))
  local title, text = desc(out("perm.svg"))
  T.truthy(title:find(("observed BAC %.1f %%"):format(100 * r.metrics_.bac), 1, true), title)
  -- issue 18: p = (count + 1) / (n + 1), never 0, with the count and n beside it
  T.truthy(title:find(("p = %.3g (%d of 30 reached it)"):format(r.p_, r.permutation_count_), 1, true), title)
  T.near(r.p_, (r.permutation_count_ + 1) / 31, 1e-15)
  T.truthy(text:find(("p = %.3g"):format(r.p_), 1, true), text)
  local plain = nl.cv.nested(pipe, X, y, { outer = { 2, 3 }, inner = { 2, 3 }, seed = 3 })
  T.raises(function() plain:plot_permutations(out("none.png")) end, "CVResult has no permutations")
end)

T.test("plot_weights: the top features by |mean weight|, in rank order, FDR marks", function()
  r:plot_weights(out("w.svg"), { top = 4, sign_labels = { "response", "non-response" } })
  local title, text = desc(out("w.svg"))
  T.eq(title, "Top 4 features")
  local w = r:weights{ top = 4 }
  local listed = lines(text)
  local pos = {}
  for i, l in ipairs(listed) do pos[l] = pos[l] or i end
  for i = 1, 4 do T.truthy(pos[w.name[i]], w.name[i] .. " listed") end
  for i = 5, 6 do
    local all = r:weights()
    T.eq(pos[all.name[i]], nil, all.name[i] .. " is not in the top 4")
  end
  T.truthy(pos["response"] and pos["non-response"], "legend of the signs")
  T.raises(function() r:plot_weights(out("w.png"), { value = "median" }) end, "option 'value' must be")
end)

-- Issue 16: sign-consistency marks of a model not shown to beat chance are left out,
-- and the title and axis say why.
T.test("plot_weights of a model not shown to beat chance: a caveat, no marks", function()
  T.eq(r:weights_caveat(), nil, "the signal model beats chance")
  local plain = nl.cv.nested(pipe, X, y, { outer = { 2, 3 }, inner = { 2, 3 }, seed = 3 })
  plain:plot_weights(out("wc.svg"), { top = 6 })
  local title, text = desc(out("wc.svg"))
  T.eq(title, "Top 6 features: no permutation test")
  -- (short enough for the axis of a 6.4-inch figure: the full caveat was cut off)
  T.truthy(text:find("mean back-projected weight (no * marks: not shown to beat chance)", 1, true), text)
  local stars = 0
  for _, l in ipairs(lines(text)) do if l == "*" then stars = stars + 1 end end
  T.eq(stars, 0, "no marks")
  local w, any = plain:weights{ top = 6 }, false
  for i = 1, 6 do any = any or w.significant[i] end
  T.truthy(any, "some feature is sign-consistent: its mark was left out")
  local noise = {}
  for i = 1, 60 do noise[i] = nl.matrix.randn(1, 1, 900 + i):get(1, 1) > 0 end
  local chance = nl.cv.nested(pipe, X, noise, { outer = { 2, 3 }, inner = { 2, 3 }, seed = 3, permutations = 19 })
  chance:plot_weights(out("wn.svg"), { top = 6 })
  title = desc(out("wn.svg"))
  T.eq(title, ("Top 6 features: not better than chance (p = %.2g)"):format(chance.p_plus_one_))
  chance:plot_weights(out("wt.svg"), { top = 6, title = "Null model" })
  T.eq(desc(out("wt.svg")), ("Null model: not better than chance (p = %.2g)"):format(chance.p_plus_one_),
       "the caveat ends a title of the caller's too")
end)

T.test("Prediction:plot_roc needs the labels", function()
  local ext = r:apply(X, y)
  T.eq(ext:plot_roc(out("ext.png"), { boot = 100 }), out("ext.png"))
  local _, text = (function() ext:plot_roc(out("ext.svg"), { boot = 100 }) return desc(out("ext.svg")) end)()
  T.truthy(text:find("external  AUC", 1, true), text)
  local unlabelled = r:apply(X)
  T.raises(function() unlabelled:plot_roc(out("u.png")) end, "Prediction has no labels")
  T.raises(function() unlabelled:plot_permutations(out("u.png")) end, "Prediction has no permutations")
end)

T.test("LMM:plot_effects: one bar per fixed effect, the intercept left out unless asked", function()
  local n = 40
  local subject, time, fc = {}, {}, {}
  for i = 1, n do
    subject[i] = "s" .. ((i - 1) // 2 + 1)
    time[i] = (i - 1) % 2
    fc[i] = 0.3 * time[i] + 0.1 * nl.matrix.randn(1, 1, 500 + i):get(1, 1) + 0.05 * ((i - 1) // 2 % 3)
  end
  local m = nl.stats.lmm{ y = "fc", fixed = { "time" }, group = "subject",
                          data = nl.table.new{ { "subject", subject }, { "time", time }, { "fc", fc } } }
  m:plot_effects(out("e.svg"))
  local title, text = desc(out("e.svg"))
  T.truthy(title:find("Fixed effects", 1, true), title)
  T.truthy(text:find("time", 1, true), text)
  T.eq(text:find("(Intercept)", 1, true), nil)
  m:plot_effects(out("e2.svg"), { intercept = true })
  T.truthy(select(2, desc(out("e2.svg"))):find("(Intercept)", 1, true))
end)

T.test("issue 15's finding: the ROC curve of nl.ml.metrics.roc (a table of matrices) draws directly", function()
  local s = { 0.9, 0.4, 0.75, 0.3, 0.5, 0.1, 0.4 }
  local lab = { 1, 1, 1, -1, -1, -1, -1 }
  local m = nl.ml.metrics.roc(s, lab)
  T.eq(nl.plot.roc(out("metrics_roc.png"), m), out("metrics_roc.png"))
  m.auc, m.label = nl.ml.metrics.auc(s, lab), "model"
  nl.plot.roc(out("metrics_roc.svg"), m)
  local _, text = desc(out("metrics_roc.svg"))
  T.truthy(text:find(("model  AUC %.2f"):format(m.auc), 1, true), text)
end)

T.done()
