-- Long runs (issue 16 item 6): nl.progress, nl.warnings, and the warnings of solvers that
-- stop at their iteration limit, printed when the fit runs rather than only when the
-- model is printed. Progress lines themselves need a terminal: tests/cli/test_progress.py.
local T = require "testing"

-- Hard for 5 passes of the SVC solver: overlapping classes, a large C, a tight tolerance.
local function hard_problem()
  local X = nl.matrix.randn(80, 12, 11)
  local y = {}
  for i = 1, 80 do y[i] = X:get(i, 1) + 0.8 * X:get(i, 2) + 0.5 * X:get(i, 3) > 0 end
  return X, y
end

local function new_warnings(before)
  local all = nl.warnings()
  local out = {}
  for i = before + 1, #all do out[#out + 1] = all[i] end
  return out
end

T.test("nl.progress switches progress lines and returns the setting", function()
  T.eq(nl.progress(), true)
  T.eq(nl.progress(false), false)
  T.eq(nl.progress(), false)
  T.eq(nl.progress(true), true)
  T.raises(function() nl.progress("no") end, "boolean expected")
end)

T.test("nl.progress_line returns a step function and checks its arguments", function()
  local step = nl.progress_line("loop", 3, "runs")
  T.eq(type(step), "function")
  step()
  step(3)  -- off a terminal nothing is drawn; the counts are still checked
  T.raises(function() step(4) end, "the count must be between 0 and the total")
  T.raises(function() nl.progress_line("loop", -1) end, "the total must not be negative")
  local none = nl.progress_line("loop", 0)  -- a loop over nothing: a step function all the same
  none(0)
  T.raises(function() none() end, "the count must be between 0 and the total")
  T.raises(function() nl.progress_line(nil, 3) end, "string expected")
end)

T.test("an SVC that stops at max_iter warns when it is fitted", function()
  local X, y = hard_problem()
  local before = #nl.warnings()
  local m = nl.ml.svc { C = 100, tol = 1e-10, max_iter = 5 }:fit(X, y)
  T.eq(m.converged_, false)
  local w = new_warnings(before)
  T.eq(#w, 1, "one warning")
  T.eq(w[1], "SVC did not converge (max_iter 5); raise max_iter or scale the features (nl.ml.scale)")
end)

T.test("a converged SVC says nothing", function()
  local X, y = hard_problem()
  local before = #nl.warnings()
  local m = nl.ml.svc { C = 0.1 }:fit(X, y)
  T.eq(m.converged_, true)
  T.eq(#new_warnings(before), 0)
end)

T.test("a nested CV sums its unconverged SVC fits up in one line", function()
  local X, y = hard_problem()
  local pipe = nl.ml.pipeline { nl.ml.svc { C = { 16, 64, 256 }, tol = 1e-10, max_iter = 5 } }
  local before = #nl.warnings()
  nl.cv.nested(pipe, X, y, { outer = { 3, 2 }, inner = { 3, 1 }, seed = 1 })
  local w = new_warnings(before)
  T.eq(#w, 1, "one warning for the whole run")
  local failed, fits = w[1]:match("^(%d+) of (%d+) SVC fits in the nested CV did not converge %(max_iter 5%); raise max_iter")
  T.truthy(failed, "the summary line: " .. tostring(w[1]))
  -- 6 outer folds x 3 CV1 partitions x 3 C values, and per outer fold one final model
  -- (refit_preprocessing: its 3 base models train on the same rows, one fit).
  T.eq(tonumber(fits), 6 * 3 * 3 + 6)
  T.truthy(tonumber(failed) >= 1 and tonumber(failed) <= tonumber(fits))
  -- The same run converged: nothing.
  local ok = nl.ml.pipeline { nl.ml.scale {}, nl.ml.svc { C = { 1 / 16, 1 / 4, 1 } } }
  before = #nl.warnings()
  nl.cv.nested(ok, X, y, { outer = { 3, 2 }, inner = { 3, 1 }, seed = 1 })
  T.eq(#new_warnings(before), 0)
end)

T.test("warnings go to standard error, and nl.warnings(false) silences them but keeps them", function()
  local script = T.tmpname(".lua")
  T.write_file(script, [[
    local X = nl.matrix.randn(80, 12, 11)
    local y = {}
    for i = 1, 80 do y[i] = X:get(i, 1) + 0.8 * X:get(i, 2) + 0.5 * X:get(i, 3) > 0 end
    if arg[1] == "quiet" then nl.warnings(false) end
    nl.ml.svc { C = 100, tol = 1e-10, max_iter = 5 }:fit(X, y)
    nl.ml.svc { C = 0.1 }:fit(X, y)
    print("kept " .. #nl.warnings())
  ]])
  local ok, text = T.run(script)
  T.truthy(ok, text)
  T.truthy(text:find("neurolua: warning: SVC did not converge (max_iter 5)", 1, true), text)
  local _, count = text:gsub("warning:", "")
  T.eq(count, 1, "only the unconverged fit warns")
  ok, text = T.run(script, "quiet")
  T.truthy(ok, text)
  T.truthy(not text:find("warning", 1, true), text)
  T.truthy(text:find("kept 1", 1, true), text)
end)

T.test("nl.warnings rejects a non-boolean", function()
  T.raises(function() nl.warnings(1) end, "boolean expected")
end)

T.done()
