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
  local c = m.coefficients
  T.eq(c:nrows(), 2)
  T.eq(c.term[1], "(Intercept)"); T.eq(c.term[2], "Days")
  for j = 1, 2 do
    close(c.estimate[j], ref["ss_slope.beta"][j], 1e-6, "beta")
    close(c.se[j], ref["ss_slope.se"][j], 1e-6, "se")
    close(c.t[j], ref["ss_slope.t"][j], 1e-6, "t")
    T.eq(c.df[j], 178)
  end
  local v = m.variance
  close(v.variance[1], ref["ss_slope.vcov_random"][1], 1e-5, "intercept variance")
  close(v.variance[2], ref["ss_slope.vcov_random"][2], 1e-5, "slope variance")
  close(v.variance[3], ref["ss_slope.vcov_random"][4], 1e-5, "residual variance")
  T.eq(v.group[3], "Residual")
  close(m.criterion, ref["ss_slope.criterion"][1], 1e-9, "REML criterion")
  close(m.loglik, ref["ss_slope.loglik"][1], 1e-9, "logLik")
  close(m.sigma, ref["ss_slope.sigma"][1], 1e-6, "sigma")
  T.eq(m.n, 180); T.eq(m.groups, 18); T.eq(m.reml, true); T.eq(m.converged, true); T.eq(m.singular, false)
  T.eq(m.theta:rows(), 3)
  T.eq(m.ranef:nrows(), 18); T.eq(m.ranef:columns()[1], "Subject")
  T.eq(m.fitted:rows(), 180)
  T.truthy(((m.fitted + m.residuals) - sleep:matrix{ "Reaction" }):abs():max() < 1e-9, "fitted + residuals = y")
  T.eq(m.formula, "Reaction ~ Days + (1 + Days | Subject)")
  T.eq(m.terms[2], "Days")
  local s = tostring(m)
  T.truthy(s:find("Linear mixed model fit by REML", 1, true), s)
  T.truthy(s:find("Fixed effects (residual df = 178):", 1, true), s)
  T.raises(function() return m.nope end, "LMM has no field 'nope'")
end)

T.test("ML and Satterthwaite df equal lme4/lmerTest", function()
  local m = nl.stats.lmm{ y = "Reaction", fixed = "Days", group = "Subject", random = "Days", data = sleep,
                          reml = false, df = "satterthwaite" }
  T.eq(m.reml, false); T.eq(m.df_method, "satterthwaite")
  for j = 1, 2 do
    close(m.coefficients.estimate[j], ref["ss_slope_ml.beta"][j], 1e-6, "beta")
    close(m.coefficients.se[j], ref["ss_slope_ml.se"][j], 1e-6, "se")
    close(m.coefficients.df[j], ref["ss_slope_ml.df_satterthwaite"][j], 1e-4, "df")
  end
  close(m.criterion, ref["ss_slope_ml.criterion"][1], 1e-9, "deviance")
  close(m.aic, ref["ss_slope_ml.aic"][1], 1e-9, "AIC")
end)

T.test("METHODS section 3: FC ~ time + time:response + (1 | subject) has df 37", function()
  local m = nl.stats.lmm{ y = "fc", fixed = { "time", "time:response" }, group = "subject", data = sim_a }
  local c = m.coefficients
  T.eq(c.term[3], "time:response[true]")
  for j = 1, 3 do
    close(c.estimate[j], ref["sim_a.beta"][j], 1e-6, "beta")
    close(c.p[j], ref["sim_a.p_residual"][j], 1e-4, "p")
    T.eq(c.df[j], 37)
  end
  local ms = nl.stats.lmm{ y = "fc", fixed = { "time", "time:response" }, group = "subject", data = sim_a,
                           df = "satterthwaite" }
  for j = 1, 3 do close(ms.coefficients.df[j], ref["sim_a.df_satterthwaite"][j], 1e-4, "satterthwaite df") end
end)

T.test("factors, covariates, missing rows", function()
  local m = nl.stats.lmm{ y = "score", fixed = { "time", "group", "age", "time:group" }, group = "subject",
                          random = { "time" }, data = sim_b }
  T.eq(m.n, 147)
  T.eq(m.notices[1], "3 rows with missing values left out")
  T.eq(#m.rows, 147)
  T.eq(m.terms[3], "group[pat]"); T.eq(m.terms[5], "time:group[pat]")
  for j = 1, 5 do close(m.coefficients.estimate[j], ref["sim_b.beta"][j], 1e-6, "beta " .. j) end
  local noint = nl.stats.lmm{ y = "score", fixed = { "group", "time" }, group = "subject", data = sim_b,
                              intercept = false }
  T.eq(noint.terms[1], "group[ctrl]"); T.eq(noint.terms[2], "group[pat]")
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
