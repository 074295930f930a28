-- Tests of nl.ml.combat from Lua: sva::ComBat's output on ABIDE volumes
-- (tests/data/ml/combat, tests/data/ml/make_combat_fixture.R), the new-site estimate,
-- options and errors, and use in a pipeline and in nl.cv.nested.
local T = require "testing"
local nl = require "neurolua"

local dir = os.getenv("NL_TEST_DATA") .. "/ml/combat/"
local input = nl.table.read(dir .. "input.csv")
local features = {}
for _, c in ipairs(input:columns()) do
  if c ~= "participant_id" and c ~= "site" and c ~= "age" and c ~= "sex" then features[#features + 1] = c end
end
local is_new = input.site:eq("CMU")
local train, new = input:filter(~is_new), input:filter(is_new)
local X, Xnew = train:matrix(features), new:matrix(features)

local function max_rel(got, want)
  local m = 0
  for i = 1, want:rows() do
    for j = 1, want:cols() do
      m = math.max(m, math.abs(got:get(i, j) - want:get(i, j)) / math.abs(want:get(i, j)))
    end
  end
  return m
end

local function reference(file)
  local t = nl.table.read(dir .. file)
  return t:matrix(features)
end

T.test("combat equals sva ComBat (parametric, mean only, non-parametric)", function()
  for _, case in ipairs{ { {}, "parametric.csv" }, { { mean_only = true }, "mean_only.csv" },
                         { { parametric = false }, "nonparametric.csv" } } do
    local o = { batch = "site", covariates = { "age", "sex" } }
    for k, v in pairs(case[1]) do o[k] = v end
    local c = nl.ml.combat(o)
    local Y = c:fit(X, { covariates = train }):transform(X, { covariates = train })
    T.truthy(max_rel(Y, reference(case[2])) < 1e-9, case[2])
  end
end)

T.test("combat estimates an unseen site from its own rows, or refuses it", function()
  local c = nl.ml.combat{ batch = "site", covariates = { "age", "sex" } }
  c:fit(X, { covariates = train })
  local err = T.raises(function() return c:transform(Xnew, { covariates = new }) end,
                       "combat: site column 'site' has a site not seen in the training rows: 'CMU' (27 rows")
  T.truthy(err:find("unseen = \"estimate\"", 1, true), err)
  local e = nl.ml.combat{ batch = "site", covariates = { "age", "sex" }, unseen = "estimate" }
  e:fit(X, { covariates = train })
  T.truthy(max_rel(e:transform(Xnew, { covariates = new }), reference("new_site.csv")) < 1e-9, "new site")
  T.truthy(tostring(e):find('combat{batch = "site", covariates = {"age", "sex"}, unseen = "estimate"}  -- fitted on 20',
                            1, true), tostring(e))
  T.eq(e.gamma_star_:rows(), 3)
  T.eq(e.gamma_star_:cols(), #features)
  T.eq(e.n_:sum(), #train)
end)

T.test("combat options and errors", function()
  T.raises(function() return nl.ml.combat{} end, "option 'batch' must name the site column")
  T.raises(function() return nl.ml.combat{ batch = "site", unseen = "drop" } end, "unseen")
  T.raises(function() return nl.ml.combat{ batch = "site", covariates = { 1 } } end, "not a column name")
  T.raises(function() return nl.ml.combat{ batch = "site", mean_only = "yes" } end, "must be true or false")
  T.raises(function() return nl.ml.combat{ batch = "site", shrink = true } end, "shrink")
  T.raises(function() return nl.ml.combat{ batch = "scanner" }:fit(X, { covariates = train }) end,
           "the site column 'scanner' is not among the covariates")
  T.raises(function() return nl.ml.combat{ batch = "site" }.gamma_star_ end, "not fitted")
  local c = nl.ml.combat{ batch = "site" }:fit(X, { covariates = train })
  T.raises(function() return c:fit(X:rows_at(1, 20), { covariates = train:head(20) }) end,
           "the training rows come from one site")
  T.eq(c:clone():fitted(), false)
end)

T.test("combat in a pipeline and inside nl.cv.nested", function()
  local y = {}
  for i = 1, #train do y[i] = (train.sex[i] == "M") and 1 or -1 end
  local pipe = nl.ml.pipeline{ nl.ml.combat{ batch = "site", covariates = { "age" } }, nl.ml.scale{}, nl.ml.svc{ C = 1 } }
  pipe:fit(X, y, { covariates = train })
  T.eq(pipe:decision(X, { covariates = train }):rows(), #train)
  local r = nl.cv.nested(pipe, X, y, { covariates = train, outer = { 3, 1 }, inner = { 2, 1 }, seed = 1 })
  T.truthy(r.metrics_.bac >= 0 and r.metrics_.bac <= 1)
  -- An external validation on the new site: refused by default, estimated when asked;
  -- a saved result applies it bit for bit.
  T.raises(function() return r:apply(Xnew) end, "covariates")
  T.raises(function() return r:apply(Xnew, nil, { covariates = new }) end, "not seen in the training rows: 'CMU'")
  local est = nl.ml.pipeline{ nl.ml.combat{ batch = "site", covariates = { "age" }, unseen = "estimate" }, nl.ml.scale{},
                              nl.ml.svc{ C = 1 } }
  local re = nl.cv.nested(est, X, y, { covariates = train, outer = { 3, 1 }, inner = { 2, 1 }, seed = 1 })
  local p1 = re:apply(Xnew, nil, { covariates = new })
  local path = T.tmpname(".model")
  re:save(path)
  local p2 = nl.cv.load(path):apply(Xnew, nil, { covariates = new })
  T.truthy(p1.median_ == p2.median_, "loaded result applies the same")
  T.eq(p1.median_:rows(), #new)
end)

T.done()
