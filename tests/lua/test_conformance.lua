-- The estimator contract, checked over every nl.ml step (STYLE.md items 7 and 10):
-- the constructor stores options only; fit returns self and is idempotent; transform
-- and decision refuse an unfitted object and a wrong number of features; clone gives
-- an unfitted copy; learned state does not change when the object is applied.
local T = require "testing"
local nl = require "neurolua"

local X = nl.matrix.randn(40, 12, 3)
local y = {}
for i = 1, 40 do y[i] = (X:get(i, 1) + X:get(i, 2) > 0) and 1 or -1 end
local cov = nl.table.new{ { "age", X:col(5) * 10 + 40 }, { "site", (function()
  local s = {}
  for i = 1, 40 do s[i] = i % 2 == 0 and "A" or "B" end
  return s
end)() } }

local transforms = {
  function() return nl.ml.scale{ range = { -1, 1 } } end,
  function() return nl.ml.prune{} end,
  function() return nl.ml.regress_out{ "age", "site" } end,
}
if nl.ml.pca then transforms[#transforms + 1] = function() return nl.ml.pca{ k = 3 } end end
if nl.ml.robpca then transforms[#transforms + 1] = function() return nl.ml.robpca{ k = 3 } end end

for _, make in ipairs(transforms) do
  local t = make()
  local name = t:name()
  T.test(name .. " follows the transform contract", function()
    T.eq(t:fitted(), false)
    T.eq(next(t:state()), nil, "no state before fit")
    T.raises(function() return t:transform(X, { covariates = cov }) end, "not fitted")
    T.truthy(rawequal(t:fit(X, { covariates = cov }), t), "fit returns self")
    T.eq(t:fitted(), true)
    local a = t:transform(X, { covariates = cov })
    T.eq(a:rows(), 40)
    local state1 = {}
    for k, v in pairs(t:state()) do state1[k] = v end
    t:transform(X:rows_at(1, 5), { covariates = cov:take{ 1, 2, 3, 4, 5 } })
    for k, v in pairs(t:state()) do T.truthy(v == state1[k], name .. " state " .. k .. " unchanged by transform") end
    T.truthy(t:fit(X, { covariates = cov }):transform(X, { covariates = cov }) == a, "fit is idempotent")
    T.raises(function() return t:transform(X:cols_at(1, 11), { covariates = cov }) end, "fitted on 12 features, got 11")
    local c = t:clone()
    T.eq(c:fitted(), false, "clone is unfitted")
    T.eq(c:name(), name)
    T.truthy(tostring(t):find(name, 1, true), "prints its name")
    T.raises(function() return make():fit(nl.matrix.zeros(0, 12)) end, "cannot fit on 0 rows")
  end)
end

T.test("svc follows the estimator contract", function()
  local s = nl.ml.svc{ C = 0.5 }
  T.eq(s:fitted(), false)
  T.raises(function() return s:decision(X) end, "not fitted")
  T.truthy(rawequal(s:fit(X, y), s))
  local w = s.w_
  T.truthy(s:fit(X, y).w_ == w, "idempotent")
  T.raises(function() return s:decision(X:cols_at(1, 11)) end, "fitted on 12 features, got 11")
  T.eq(s:clone():fitted(), false)
end)

T.test("pipeline follows the estimator contract", function()
  local p = nl.ml.pipeline{ nl.ml.scale{}, nl.ml.regress_out{ "age" }, nl.ml.svc{} }
  T.raises(function() return p:decision(X) end, "not fitted")
  T.truthy(rawequal(p:fit(X, y, { covariates = cov }), p))
  local d = p:decision(X, { covariates = cov })
  T.truthy(p:fit(X, y, { covariates = cov }):decision(X, { covariates = cov }) == d, "idempotent")
  T.eq(p:clone():fitted(), false)
end)

T.done()
