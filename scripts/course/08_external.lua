-- Lesson 8: External validation, site effects and harmonization
--
-- neurolua scripts/course/08_external.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(8) runs it step by step. Page: docs/course/08_external.md.
local nl = require "neurolua"
local course = nl.course

-- %% data: Four scanners
-- The discovery cohort (99 patients scanned with two sequences of one trial, sites A and
-- B) and the two external cohorts, scanned elsewhere (sites MD and NY).
local p, truth, vol = nl.sim.ketamine{ seed = 1, cohorts = { "discovery", "external_md", "external_ny" },
                                       dir = course.data("cohorts"), overwrite = true }
p.response = nl.study.response(p.madrs_pre, p.madrs_post)
local discovery = p.cohort:eq("discovery")
local train, test = p:filter(discovery), p:filter(~discovery)
local X, X_ext = vol:filter(discovery), vol:filter(~discovery)
print(nl.study.demographics(p, { by = { "site", "response" } }):select{ "site", "response", "n", "age" })
print(("external MD: %s responders of %d"):format(course.fact("md_responders", test:where{ site = "MD", response = true }:nrows()),
  test:where{ site = "MD" }:nrows()))

-- %% train: A model of the discovery cohort
-- The pipeline of lessons 6 and 7: scaling, regression of age, sex, site and TIV, and a
-- linear SVM with C chosen by the inner CV.
local grid = nl.ml.pow2(-6, 4)
local regress = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age", "sex", "site", "tiv" }, nl.ml.svc{ C = grid } }
local r = nl.cv.nested(regress, X, train.response, { covariates = train, seed = 1 })
print(r)
print(("discovery, nested CV: BAC %s %%"):format(course.fact("disc_bac", 100 * r.metrics_.bac, "%.1f")))

-- %% apply: Applying it to the external cohorts
-- apply runs every one of the 225 base models, each with its own fitted preprocessing, on
-- the new subjects. The covariate regression meets sites it never saw, and says so.
local ok, message = pcall(r.apply, r, X_ext, test.response, { covariates = test })
print(message)
-- unseen = "drop": correct the new sites for age, sex, TIV and the training-average
-- site effect. Their own scanner offset stays in the data.
-- permutations = 500: the training labels are shuffled and the base models retrained, as
-- in the nested CV's NeuroMiner mode; the external labels are never shuffled.
local ext = r:apply(X_ext, test.response, { covariates = test, unseen = "drop", permutations = 500 })
print(ext)
print(("external: BAC %s %%, AUC %s, p = %s"):format(course.fact("ext_bac", 100 * ext.metrics_.bac, "%.1f"),
  course.fact("ext_auc", ext.metrics_.auc, "%.2f"), course.fact("ext_p", ext.p_, "%.3f")))

-- %% per_site: Site by site
-- The metrics of each external site, and the mean decision score of its responders and
-- non-responders (the threshold is 0: above, the model says "responder").
local function by_site(pred, t, sites)
  local res = {}
  for _, s in ipairs(sites) do
    local scores, labels, mean = {}, {}, { [true] = 0, [false] = 0 }
    for i = 1, t:nrows() do
      if t.site[i] == s then
        scores[#scores + 1], labels[#labels + 1] = pred.median_:get(i, 1), t.response[i]
        mean[t.response[i]] = mean[t.response[i]] + pred.median_:get(i, 1)
      end
    end
    local m = nl.ml.metrics(nl.matrix(scores, #scores, 1), labels)
    print(("%-3s n = %2d  BAC %5.1f %%  AUC %.2f  mean score: responders %6.3f, non-responders %6.3f"):format(s,
      #scores, 100 * m.bac, m.auc, mean[true] / (m.tp + m.fn), mean[false] / (m.tn + m.fp)))
    res[s] = m
  end
  return res
end
local sites = by_site(ext, test, { "MD", "NY" })
course.fact("ext_bac_MD", 100 * sites.MD.bac, "%.1f")
course.fact("ext_auc_MD", sites.MD.auc, "%.2f")
course.fact("ext_auc_NY", sites.NY.auc, "%.2f")

-- %% combat: Harmonizing the sites with ComBat
-- nl.ml.combat estimates each site's location and scale per region and removes them,
-- keeping the effects of age, sex and TIV, which the next step regresses out. It is
-- fitted on the training rows of every fold, like any step; unseen = "estimate"
-- estimates a new site's location and scale from that site's own rows when the model
-- is applied, without looking at their labels.
local combat = nl.ml.pipeline{ nl.ml.scale{},
  nl.ml.combat{ batch = "site", covariates = { "age", "sex", "tiv" }, unseen = "estimate" },
  nl.ml.regress_out{ "age", "sex", "tiv" }, nl.ml.svc{ C = grid } }
local rc = nl.cv.nested(combat, X, train.response, { covariates = train, seed = 1 })
local extc = rc:apply(X_ext, test.response, { covariates = test })
print(("discovery, nested CV: BAC %s %%; external: BAC %s %%, AUC %s"):format(
  course.fact("combat_disc_bac", 100 * rc.metrics_.bac, "%.1f"), course.fact("combat_ext_bac", 100 * extc.metrics_.bac, "%.1f"),
  course.fact("combat_ext_auc", extc.metrics_.auc, "%.2f")))
by_site(extc, test, { "MD", "NY" })

-- %% offsets: A bigger site effect
-- A scanner or segmentation change multiplies each region's volume by a factor of its
-- own. Give each external site such factors, exp(size x z) with z ~ N(0, 1) per region
-- (size 0.05: regions about 5 % larger or smaller), and apply both models, unchanged.
local names = X_ext:columns()
local z = { MD = nl.matrix.randn(1, #names, 11), NY = nl.matrix.randn(1, #names, 12) }
local function with_offsets(size)
  local cols = {}
  for j, name in ipairs(names) do
    local v = {}
    for i = 1, test:nrows() do v[i] = X_ext[name][i] * math.exp(size * z[test.site[i]]:get(1, j)) end
    cols[j] = { name, v }
  end
  return nl.table.new(cols)
end
local sizes = { 0, 0.02, 0.04, 0.06, 0.08, 0.10 }
local bac_regress, bac_combat = {}, {}
for k, size in ipairs(sizes) do
  local Xs = with_offsets(size)
  bac_regress[k] = r:apply(Xs, test.response, { covariates = test, unseen = "drop" }).metrics_.bac
  bac_combat[k] = rc:apply(Xs, test.response, { covariates = test }).metrics_.bac
  print(("size %.2f: external BAC with regress_out %.1f %%, with ComBat %.1f %%"):format(size, 100 * bac_regress[k],
    100 * bac_combat[k]))
end
course.fact("offset_regress_bac", 100 * bac_regress[#sizes], "%.1f")
course.fact("offset_combat_bac", 100 * bac_combat[#sizes], "%.1f")
nl.plot.lines(course.figure("08_offsets.png"), {
  { x = sizes, y = bac_regress, label = "regress_out (new site: unseen = \"drop\")" },
  { x = sizes, y = bac_combat, label = "ComBat (new site: unseen = \"estimate\")" },
  { x = { 0, 0.1 }, y = { 0.5, 0.5 }, label = "chance", colour = "gray", style = "dashed" },
}, { xlabel = "extra site offset (SD of the log factor per region)", ylabel = "external BAC (MD + NY)",
     title = "A model trained on sites A and B meets other scanners", ylim = { 0.4, 0.7 }, legend = "lower left" })
-- the decision scores at the largest offset, by site and response
local Xbig = with_offsets(sizes[#sizes])
local function scores_table(pred)
  local resp = {}
  for i = 1, test:nrows() do resp[i] = test.response[i] and "responder" or "non-responder" end
  return nl.table.new{ { "site", test.site }, { "response", resp }, { "score", pred.median_ } }
end
nl.plot.figure{ path = course.figure("08_scores.png"), rows = 1, cols = 2, width = 11, height = 4.5,
  title = ("Decision scores of the external subjects, offset size %.2f"):format(sizes[#sizes]),
  panels = {
    { kind = "box", data = scores_table(r:apply(Xbig, test.response, { covariates = test, unseen = "drop" })),
      x = "site", y = "score", hue = "response", title = "regress_out", ylabel = "median decision score" },
    { kind = "box", data = scores_table(rc:apply(Xbig, test.response, { covariates = test })),
      x = "site", y = "score", hue = "response", title = "ComBat", ylabel = "median decision score" },
  } }

-- %% loso: Leave one site out
-- All 150 subjects of the four sites, and each site held out in turn: outer =
-- "leave_one_group_out" with groups = the site. The inner folds are grouped by site
-- too, so a model never sees the site it is tested on, at either level.
local loso_regress = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age", "sex", "site", "tiv", unseen = "drop" },
                                     nl.ml.svc{ C = grid } }
for _, m in ipairs{ { "regress", loso_regress }, { "combat", combat } } do
  local rl = nl.cv.nested(m[2], vol, p.response, { covariates = p, seed = 1, outer = "leave_one_group_out",
                                                   groups = p.site })
  print(("%s: %d CV2 folds, BAC %s %% over all 150 subjects"):format(m[1], rl.folds_.repeat_1:max(),
    course.fact("loso_" .. m[1] .. "_bac", 100 * rl.metrics_.bac, "%.1f")))
  local res = by_site(rl, p, { "A", "B", "MD", "NY" })
  course.fact("loso_" .. m[1] .. "_bac_B", 100 * res.B.bac, "%.1f")
  course.fact("loso_" .. m[1] .. "_bac_MD", 100 * res.MD.bac, "%.1f")
end

-- %% solution1: Exercise 1 — the new sites coded as site A
local ext_a = r:apply(X_ext, test.response, { covariates = test, unseen = { site = "A" } })
print(ext_a)
by_site(ext_a, test, { "MD", "NY" })

-- %% solution2: Exercise 2 — train on one scanner sequence, test on the other
local site_a, site_b = train:where{ site = "A" }, train:where{ site = "B" }
local in_a = train.site:eq("A")
local one_site = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age", "sex", "tiv" }, nl.ml.svc{ C = grid } }
local ra = nl.cv.nested(one_site, X:filter(in_a), site_a.response, { covariates = site_a, seed = 1 })
local on_b = ra:apply(X:filter(~in_a), site_b.response, { covariates = site_b })
print(("trained on A (n = %d): nested CV BAC %.1f %%; applied to B (n = %d): BAC %.1f %%, AUC %.2f"):format(
  site_a:nrows(), 100 * ra.metrics_.bac, site_b:nrows(), 100 * on_b.metrics_.bac, on_b.metrics_.auc))
