-- Lesson 11: Replicating the ketamine paper end to end
--
-- neurolua scripts/course/11_ketamine.lua runs the whole lesson; in the REPL,
-- neurolua --course and then lesson(11) runs it step by step. Page: docs/course/11_ketamine.md.
local nl = require "neurolua"
local course = nl.course

-- %% cohorts: The study and its four cohorts
-- scripts/ketamine/common.lua holds what the study's scripts share: the options, the
-- loading of a cohort, the paper's pipeline, Table 2 and the paper's values. The options
-- are those of `neurolua scripts/ketamine/replicate.lua`, with 200 permutations instead
-- of 1000 to keep the lesson fast. Without a participants table, the built-in cohort is
-- simulated (simulator seed 9, docs/ketamine.md says why) into <out>/sim.
local K = dofile(course.dir .. "/../ketamine/common.lua")
local o = K.args({}, { out = course.data("ketamine"), permutations = 200 })
local all = K.participants(o)
all.response = nl.study.response(all.madrs_pre, all.madrs_post)
for _, cohort in ipairs{ "discovery", "saline", "external_md", "external_ny" } do
  local t = all:where{ cohort = cohort }
  local sites = t.site:unique()
  table.sort(sites)
  print(("%-12s %3d participants, arm %-8s sites %s"):format(cohort, #t, t.arm[1], table.concat(sites, ", ")))
end

-- %% table1: Table 1
local t1 = nl.study.demographics(all, { by = { "cohort", "response" } })
print(t1:format{ width = 100 })

-- %% discovery: The discovery model: repeated nested CV with permutations
-- K.pipeline is the paper's pipeline; K.discovery runs it in CV2 3 x 5 and CV1 3 x 5 on
-- the discovery cohort, with the methods the paper ran (NeuroMiner 1.3), and saves it.
print(K.pipeline(o))
local r = K.discovery(o, true, K.methods.neurominer)
print(r)
print(("discovery: BAC %s %%, AUC %s, p = %s (%s of %d permutations reached the observed BAC)"):format(
  course.fact("disc_bac", 100 * r.metrics_.bac, "%.1f"), course.fact("disc_auc", r.metrics_.auc, "%.3f"),
  course.fact("disc_p", r.p_, "%.3f"), course.fact("disc_count", r.permutation_count_, "%d"), r.n_permutations_))
-- A p estimated from n permutations has a binomial standard error sqrt(p (1 - p) / n).
print(("standard error of that p with %d permutations: %s"):format(r.n_permutations_,
  course.fact("disc_p_se", math.sqrt(r.p_ * (1 - r.p_) / r.n_permutations_), "%.3f")))

-- %% roc: The ROC curve
-- The out-of-fold median scores against the labels, with a bootstrap band and the AUC's
-- DeLong interval.
r:plot_roc(course.figure("11_roc.png"), { title = "Discovery cohort (nested CV)", label = "discovery" })
print(("ROC of %d subjects, AUC %.3f"):format(r.median_:rows(), r.metrics_.auc))

-- %% saline: The saline control
-- Patients who received saline instead of ketamine. All 225 base models, each with its
-- own preprocessing, score them; a subject's prediction is the median of the 225 scores.
-- The simulated saline cohort carries no response pattern at all: chance is the truth.
local saline = K.validate(o, r, { "saline" })
print(saline)
print(("saline: BAC %s %%, AUC %s, p = %s"):format(course.fact("sal_bac", 100 * saline.metrics_.bac, "%.1f"),
  course.fact("sal_auc", saline.metrics_.auc, "%.3f"), course.fact("sal_p", saline.p_, "%.3f")))
-- The BAC is the mean of sensitivity and specificity: one responder more or less
-- classified correctly moves it by 100 / (2 x responders) points.
local m = saline.metrics_
local responders = m.tp + m.fn
print(("%s responders: one of them moves the BAC by %s points"):format(course.fact("sal_pos", responders, "%d"),
  course.fact("sal_step", 100 / (2 * responders), "%.1f")))

-- %% external: The pooled external validation
-- The two external cohorts, scanned at sites the discovery data never saw, pooled. As in
-- NeuroMiner, a new site is corrected as the reference site of the discovery data.
local external = K.validate(o, r, { "external_md", "external_ny" })
print(external)
print(("external: BAC %s %%, AUC %s, p = %s"):format(course.fact("ext_bac", 100 * external.metrics_.bac, "%.1f"),
  course.fact("ext_auc", external.metrics_.auc, "%.3f"), course.fact("ext_p", external.p_, "%.3f")))
external:plot_roc(course.figure("11_roc_external.png"), { title = "Pooled external cohorts (MD + NY)" })

-- %% table2: Table 2 beside the paper's
local rows = { K.row("discovery (nested CV)", r, K.paper.discovery), K.row("saline control", saline, K.paper.saline),
               K.row("external (pooled)", external, K.paper.external) }
print(K.table2(rows))

-- %% regions: The top regions (the paper's Figure 2)
local text = K.top_regions(r, 25)
print(text)
r:plot_weights(course.figure("11_weights.png"), { top = 25, sign_labels = { "response", "non-response" },
                                                  legend = "lower right", title = "Discovery model: top 25 regions" })

-- %% truth: Against the planted truth
local truth = nl.table.read((K.participants_path(o):gsub("participants%.tsv$", "ground_truth.tsv")))
local w = r:weights()
local rank = {}
for i = 1, #w do rank[w.name[i]] = i end
local top13, top25, marked = 0, 0, 0
for i = 1, #truth do
  local k = rank[truth.name[i]]
  local ok = (w.mean[k] > 0) == (truth.sign[i] > 0)
  if ok and k <= #truth then top13 = top13 + 1 end
  if ok and k <= 25 then top25 = top25 + 1 end
  if ok and w.significant[k] then marked = marked + 1 end
  print(("  %-22s planted %-12s rank %3d  %s"):format(truth.name[i], truth.sign[i] > 0 and "response" or "non-response",
    k, ok and "sign right" or "SIGN WRONG"))
end
print(("planted regions with the planted sign: %s in the top %d, %s in the top 25, %s sign-consistent"):format(
  course.fact("top13", top13, "%d"), #truth, course.fact("top25", top25, "%d"), course.fact("marked", marked, "%d")))

-- %% spread: One cohort is one draw
-- scripts/ketamine/seed_spread.tsv records the same analysis (without permutations) on
-- the built-in cohort of simulator seeds 1 to 20: twenty replications of the whole study
-- with the same planted effect.
local spread = K.read_spread(course.dir .. "/../ketamine/seed_spread.tsv")
local function summary(col, name)
  local m = col:matrix()
  return ("%-10s mean %s %%, SD %s, range %s-%s %%"):format(name,
    course.fact(name .. "_mean", 100 * m:mean(), "%.1f"), course.fact(name .. "_sd", 100 * m:std(), "%.1f"),
    course.fact(name .. "_min", 100 * m:min(), "%.1f"), course.fact(name .. "_max", 100 * m:max(), "%.1f"))
end
print(("BAC over %d simulator seeds:"):format(#spread))
print(summary(spread.discovery_bac, "discovery"))
print(summary(spread.saline_bac, "saline"))
print(summary(spread.external_bac, "external"))

-- %% solution1: Exercise 1 — the same study with leak-free methods
-- K.methods.strict refits the preprocessing of the retrained base models and corrects a
-- new site by the training-average site effect. Without permutations, to stay fast.
local o2 = {}
for k, v in pairs(o) do o2[k] = v end
o2.permutations = 0
local r2 = K.discovery(o2, true, K.methods.strict)
local rows2 = { K.row("discovery (nested CV)", r2), K.row("saline control", (K.validate(o2, r2, { "saline" },
  K.methods.strict))), K.row("external (pooled)", (K.validate(o2, r2, { "external_md", "external_ny" },
  K.methods.strict))) }
print(K.table2(rows2))

-- %% solution2: Exercise 2 — does a better discovery BAC promise a better external one?
print(nl.stats.pearson(spread.discovery_bac, spread.external_bac))
