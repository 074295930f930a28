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

T.done()
