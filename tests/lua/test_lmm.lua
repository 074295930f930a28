-- Tests of nl.stats.lmm: options, results, printing and errors through the Lua surface.
-- References: tests/data/lmm/lmm.txt (R lme4 + lmerTest, made by
-- tests/data/lmm/make_fixtures.R).
local T = require "testing"
local nl = require "neurolua"

local data = os.getenv("NL_TEST_DATA") .. "/lmm/"

local ref = T.fixture(data .. "lmm.txt")

local function close(got, want, tol, what)
  T.truthy(math.abs(got - want) <= tol * math.max(math.abs(want), 1e-8),
    string.format("%s: got %.12g, want %.12g (tol %g)", what, got, want, tol))
end

local sleep = nl.table.read(data .. "sleepstudy.csv")
local sim = nl.table.read(data .. "sim.csv")
local sim_a = sim:where{ set = "a" }
local sim_b = sim:where{ set = "b" }

T.test("nl.stats is a table holding lmm", function()
  T.eq(type(nl.stats), "table")
  T.eq(type(nl.stats.lmm), "function")
end)

T.test("sleepstudy with a correlated random slope equals lme4", function()
  local m = nl.stats.lmm{ y = "Reaction", fixed = { "Days" }, group = "Subject", random = { "Days" }, data = sleep }
  local c = m.coefficients_
  T.eq(c:nrows(), 2)
  T.eq(c.term[1], "(Intercept)"); T.eq(c.term[2], "Days")
  for j = 1, 2 do
    close(c.estimate[j], ref["ss_slope.beta"][j], 1e-6, "beta")
    close(c.se[j], ref["ss_slope.se"][j], 1e-6, "se")
    close(c.t[j], ref["ss_slope.t"][j], 1e-6, "t")
    T.eq(c.df[j], 178)
  end
  local v = m.variance_
  close(v.variance[1], ref["ss_slope.vcov_random"][1], 1e-5, "intercept variance")
  close(v.variance[2], ref["ss_slope.vcov_random"][2], 1e-5, "slope variance")
  close(v.variance[3], ref["ss_slope.vcov_random"][4], 1e-5, "residual variance")
  T.eq(v.group[3], "Residual")
  close(m.criterion_, ref["ss_slope.criterion"][1], 1e-9, "REML criterion")
  close(m.loglik_, ref["ss_slope.loglik"][1], 1e-9, "logLik")
  close(m.sigma_, ref["ss_slope.sigma"][1], 1e-6, "sigma")
  T.eq(m.n_, 180); T.eq(m.groups_, 18); T.eq(m.reml, true); T.eq(m.converged_, true); T.eq(m.singular_, false)
  T.eq(m.theta_:rows(), 3)
  T.eq(m.ranef_:nrows(), 18); T.eq(m.ranef_:columns()[1], "Subject")
  T.eq(m.fitted_:rows(), 180)
  T.truthy(((m.fitted_ + m.residuals_) - sleep:matrix{ "Reaction" }):abs():max() < 1e-9, "fitted + residuals = y")
  T.eq(m.formula, "Reaction ~ Days + (1 + Days | Subject)")
  T.eq(m.terms_[2], "Days")
  local s = tostring(m)
  T.truthy(s:find("Linear mixed model fit by REML", 1, true), s)
  T.truthy(s:find("Fixed effects (residual df = 178):", 1, true), s)
  T.raises(function() return m.nope end, "LMM has no field 'nope'")
  T.raises(function() return m.sigam_ end, "did you mean 'sigma_'?")
  -- the names of neurolua 0.1 still read, with one warning each per session
  T.truthy(m.coefficients.estimate[2] == m.coefficients_.estimate[2], "coefficients reads coefficients_")
  T.eq(m.sigma, m.sigma_)
  local n = 0
  for _, w in ipairs(nl.deprecations()) do
    if w:find("LMM.sigma is deprecated; use LMM.sigma_", 1, true) then n = n + 1 end
  end
  T.eq(n, 1)
end)

T.test("ML and Satterthwaite df equal lme4/lmerTest", function()
  local m = nl.stats.lmm{ y = "Reaction", fixed = "Days", group = "Subject", random = "Days", data = sleep,
                          reml = false, df = "satterthwaite" }
  T.eq(m.reml, false); T.eq(m.df_method, "satterthwaite")
  for j = 1, 2 do
    close(m.coefficients_.estimate[j], ref["ss_slope_ml.beta"][j], 1e-6, "beta")
    close(m.coefficients_.se[j], ref["ss_slope_ml.se"][j], 1e-6, "se")
    close(m.coefficients_.df[j], ref["ss_slope_ml.df_satterthwaite"][j], 1e-4, "df")
  end
  close(m.criterion_, ref["ss_slope_ml.criterion"][1], 1e-9, "deviance")
  close(m.aic_, ref["ss_slope_ml.aic"][1], 1e-9, "AIC")
end)

T.test("METHODS section 3: FC ~ time + time:response + (1 | subject) has df 37", function()
  local m = nl.stats.lmm{ y = "fc", fixed = { "time", "time:response" }, group = "subject", data = sim_a }
  local c = m.coefficients_
  T.eq(c.term[3], "time:response[true]")
  for j = 1, 3 do
    close(c.estimate[j], ref["sim_a.beta"][j], 1e-6, "beta")
    close(c.p[j], ref["sim_a.p_residual"][j], 1e-4, "p")
    T.eq(c.df[j], 37)
  end
  local ms = nl.stats.lmm{ y = "fc", fixed = { "time", "time:response" }, group = "subject", data = sim_a,
                           df = "satterthwaite" }
  for j = 1, 3 do close(ms.coefficients_.df[j], ref["sim_a.df_satterthwaite"][j], 1e-4, "satterthwaite df") end
end)

T.test("factors, covariates, missing rows", function()
  local m = nl.stats.lmm{ y = "score", fixed = { "time", "group", "age", "time:group" }, group = "subject",
                          random = { "time" }, data = sim_b }
  T.eq(m.n_, 147)
  T.eq(m.notices_[1], "3 rows with missing values left out")
  T.eq(#m.rows_, 147)
  T.eq(m.terms_[3], "group[pat]"); T.eq(m.terms_[5], "time:group[pat]")
  for j = 1, 5 do close(m.coefficients_.estimate[j], ref["sim_b.beta"][j], 1e-6, "beta " .. j) end
  local noint = nl.stats.lmm{ y = "score", fixed = { "group", "time" }, group = "subject", data = sim_b,
                              intercept = false }
  T.eq(noint.terms_[1], "group[ctrl]"); T.eq(noint.terms_[2], "group[pat]")
end)

T.test("errors name the option or the column", function()
  T.raises(function() nl.stats.lmm{ fixed = { "Days" }, group = "Subject", data = sleep } end,
    "option 'y' must be a column name (a non-empty string) and is required")
  T.raises(function() nl.stats.lmm{ y = "Reaction", group = "Subject" } end, "option 'data' must be a neurolua.Table")
  T.raises(function() nl.stats.lmm{ y = "Reaction", group = "Subject", data = sleep, df = "kr" } end,
    "option 'df' must be \"residual\" or \"satterthwaite\"")
  T.raises(function() nl.stats.lmm{ y = "Reaction", group = "Subject", data = sleep, fixd = {} } end,
    "unknown option 'fixd' for lmm")
  T.raises(function() nl.stats.lmm{ y = "Reaction", fixed = { "Day" }, group = "Subject", data = sleep } end,
    "lmm: fixed-effect column 'Day': no column 'Day'")
  T.raises(function() nl.stats.lmm{ y = "Reaction", fixed = { "Days", 3 }, group = "Subject", data = sleep } end,
    "fixed[2] must be a term")
  T.raises(function() nl.stats.lmm{ y = "Subject", group = "Subject", data = sleep } end,
    "the response column 'Subject' must be numeric, it is string")
end)


-- Issue 20, item 3: formulas, several random terms, tests, intervals and predictions.
-- References: tests/data/lmm/multi.txt (make_fixtures2.R).
local multi = T.fixture(data .. "multi.txt")
local pen = nl.table.read(data .. "penicillin.csv")
local cake = nl.table.read(data .. "cake.csv")
local phase = nl.table.read(data .. "sleep_phase.csv")

T.test("a formula string fits crossed random effects as lme4", function()
  local m = nl.stats.lmm("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
  close(m.criterion_, multi["pen_reml.criterion"][1], 1e-9, "REML criterion")
  close(m.theta_[1][1], multi["pen_reml.theta"][1], 1e-5, "theta plate")
  close(m.theta_[2][1], multi["pen_reml.theta"][2], 1e-5, "theta sample")
  -- several terms: per-term fields are keyed by the terms' labels
  T.eq(m.groups_.plate, 24); T.eq(m.groups_.sample, 6)
  close(m.random_cov_.sample[1][1], multi["pen_reml.vcov_random"][2], 1e-5, "sample variance")
  T.eq(m.ranef_.plate:nrows(), 24)
  T.eq(m.variance_.group[1], "plate")
  T.truthy(tostring(m):find("groups: plate 24, sample 6", 1, true), tostring(m))
  -- the options form with `formula`, and ML
  local ml = nl.stats.lmm{ formula = "diameter ~ (1 | plate) + (1 | sample)", data = pen, reml = false }
  close(ml.loglik_, multi["pen_ml.loglik"][1], 1e-9, "ML logLik")
  T.raises(function() nl.stats.lmm{ formula = "diameter ~ (1 | plate)", y = "diameter", data = pen } end,
    "option 'y' cannot be given with a formula")
  T.raises(function() nl.stats.lmm("diameter ~ 1 + (1 | plate", pen) end, "expected ')' at character 26")
  T.raises(function() nl.stats.lmm("diameter ~ (1 | plate)", {}) end, "the data must be a neurolua.Table")
  T.raises(function() nl.stats.lmm("diameter ~ (1 | plate)", pen, { reml = false, fixed = {} }) end,
    "unknown option 'fixed' for lmm")
end)

T.test("anova, contrast, lrt, confint and predict equal lmerTest and lme4", function()
  local c = nl.stats.lmm("angle ~ recipe * temp + (1 | recipe:replicate)", cake)
  for _, type in ipairs{ 3, 1 } do
    local a = c:anova(type)
    local key = "cake_nested.anova" .. type
    T.eq(a:nrows(), 3)
    for i = 1, 3 do
      close(a.F[i], multi[key .. ".F"][i], 1e-5, key .. " F " .. i)
      close(a.dendf[i], multi[key .. ".dendf"][i], 1e-4, key .. " dendf " .. i)
      close(a.p[i], multi[key .. ".p"][i], 1e-4, key .. " p " .. i)
    end
  end
  T.raises(function() c:anova(2) end, "type must be 1 or 3, got 2")
  -- the temp row of type 3 as an explicit contrast
  local ct = c:contrast{ 0, 0, 0, 1, 0, 0 }
  T.truthy(ct.F[1] > 0 and ct.numdf[1] == 1)
  T.raises(function() c:contrast{ 1, 2 } end, "2 columns; the model has 6 fixed effects")
  -- likelihood-ratio test, either order
  local m1 = nl.stats.lmm("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
  local m0 = nl.stats.lmm("diameter ~ 1 + (1 | plate)", pen)
  for _, r in ipairs{ m0:lrt(m1), m1:lrt(m0) } do
    close(r.chisq[2], multi["lrt_b.chisq"][1], 1e-6, "LRT chisq")
    close(r.p[2], multi["lrt_b.p"][1], 1e-5, "LRT p")
    T.eq(r.npar[1], 3)
  end
  T.raises(function() m0:lrt(c) end, "fitted to different observations")
  -- profile and Wald intervals
  local ml = nl.stats.lmm("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, { reml = false })
  local ci = ml:confint()
  T.eq(ci.parameter[1], "sd_(Intercept)|plate")
  for i = 1, 4 do
    close(ci.lower[i], multi["pen_ml.confint.lower"][i], 2e-4, "profile lower " .. i)
    close(ci.upper[i], multi["pen_ml.confint.upper"][i], 2e-4, "profile upper " .. i)
  end
  local w = ml:confint{ method = "Wald", level = 0.95 }
  close(w.lower[4], multi["pen_ml.confint_wald.lower"][4], 1e-8, "Wald lower")
  T.raises(function() ml:confint{ method = "boot" } end, "option 'method' must be one of profile, Wald")
  -- predictions, with a new subject and without random effects
  local f = nl.stats.lmm("Reaction ~ phase + (1 + phase | Subject)", phase)
  local new = nl.table.read(data .. "predict_ss.csv")
  local p, pp = f:predict(new), f:predict(new, { random = false })
  for i = 1, 4 do
    close(p[i][1], multi["ss_fslope.predict"][i], 1e-6, "predict " .. i)
    close(pp[i][1], multi["ss_fslope.predict_pop"][i], 1e-6, "population prediction " .. i)
  end
  T.raises(function() f:predict(new:select{ "Days", "Subject" }) end, "no column 'phase'")
end)

T.done()
