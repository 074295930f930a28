-- Tests of the REPL helpers: tab completion and help().
local T = require "testing"
local nl = require "neurolua"
local repl = require "neurolua.repl"
local help = require "neurolua.help"

local function has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

T.test("completion of globals, fields and methods", function()
  local env = { nl = nl, print = print, m = nl.matrix{{1}}, plain = { alpha = 1, _hidden = 2 } }
  local c = repl.complete("pr", env)
  T.truthy(has(c, "print"), "global print")
  T.truthy(not has(c, "plain"), "prefix filter")
  T.truthy(has(repl.complete("wh", env), "while"), "keywords")
  T.truthy(has(repl.complete("nl.ma", env), "nl.matrix"))
  T.truthy(has(repl.complete("nl.matrix.ze", env), "nl.matrix.zeros"))
  T.truthy(has(repl.complete("m:so", env), "m:solve"), "methods of a Matrix")
  T.truthy(has(repl.complete("m:", env), "m:transpose"))
  T.truthy(has(repl.complete("plain.", env), "plain.alpha"))
  T.truthy(not has(repl.complete("plain.", env), "plain._hidden"), "private names hidden")
  T.eq(#repl.complete("nosuch.x", env), 0)
  T.eq(#repl.complete("m.rows.x", env), 0, "no completion through a function")
end)

T.test("completion offers the columns of a Table", function()
  if not nl.table.new then print("skip: nl.table.new not available") return end
  local t = nl.table.new{ { "age", { 1, 2 } }, { "site", { "a", "b" } } }
  local c = repl.complete("t.a", { t = t })
  T.truthy(has(c, "t.age"), "column name completed: " .. table.concat(c, ","))
end)

T.test("help finds entries by function, name, object and type", function()
  local s = help.text(nl.matrix.zeros)
  T.truthy(s:find("nl.matrix.zeros(nrows, ncols)", 1, true), s)
  s = help.text(nl.matrix)
  T.truthy(s:find("nl.matrix(rows)", 1, true), "constructor entry")
  s = help.text("Matrix:solve")
  T.truthy(s:find("Solves", 1, true))
  s = help.text(nl.matrix{{1}}.solve)
  T.truthy(s:find("Matrix:solve(b)", 1, true), "method by identity")
  s = help.text(nl.matrix{{1}})
  T.truthy(s:find("Matrix (nl.matrix)", 1, true) and s:find("Matrix:pinv", 1, true), "type page")
  T.truthy(help.text():find("Pages", 1, true), "overview")
  local none, err = help.text("no.such")
  T.eq(none, nil); T.truthy(err:find("no reference entry for 'no.such'", 1, true))
  T.truthy(help.text(nl.seed):find("nl.seed(n)", 1, true))
end)

T.test("every nl function and method has a reference entry", function()
  local missing = {}
  local function check(key)
    if not help.text(key) then missing[#missing + 1] = key end
  end
  local function walk(t, prefix)
    for k, v in pairs(t) do
      if type(k) == "string" and not k:match("^_") then
        if type(v) == "function" then check(prefix .. "." .. k)
        elseif type(v) == "table" and prefix == "nl" then walk(v, prefix .. "." .. k) end
      end
    end
  end
  walk(nl, "nl")
  for name, mt in pairs(debug.getregistry()) do
    if type(name) == "string" and name:match("^neurolua%.") and type(mt) == "table" and mt.__methods then
      local tname = name:match("^neurolua%.(.*)")
      for k in pairs(mt.__methods) do check(tname .. ":" .. k) end
    end
  end
  table.sort(missing)
  T.eq(#missing, 0, "functions without a docs/reference entry: " .. table.concat(missing, ", "))
end)

T.test("nl.show writes out plain tables (the REPL prints results with it)", function()
  T.eq(nl.show({ 0.25, 0.5, 1, 2 }), "{ 0.25, 0.5, 1, 2 }")
  T.eq(nl.show({ C = 0.5, features = { 1, 2, 3 }, name = "x" }), '{ C = 0.5, features = { 1, 2, 3 }, name = "x" }')
  T.eq(nl.show({ w = nl.matrix.eye(2) }), "{ w = [Matrix 2x2] }", "a nested object: its summary line")
  T.eq(nl.show({ ["Left-Hippocampus"] = 4.5 }), '{ ["Left-Hippocampus"] = 4.5 }')
  T.eq(nl.show({ a = { b = { c = 1 } } }), "{ a = { b = {...1 entry} } }", "depth 2 by default")
  T.eq(nl.show({ a = { b = { c = 1 } } }, { depth = 3 }), "{ a = { b = { c = 1 } } }")
  local cyc = {}
  cyc.me = cyc
  T.eq(nl.show(cyc), "{ me = <cycle> }")
  local long = {}
  for i = 1, 30 do long[i] = i end
  local text = nl.show(long)
  T.truthy(text:find("... (10 more)", 1, true), text)
  T.truthy(select(2, text:gsub("\n", "")) <= 3, "short entries share lines: " .. text)
  T.eq(nl.show({}), "{}")
  T.eq(nl.show(3), "3"); T.eq(nl.show("a"), '"a"'); T.eq(nl.show(nil), "nil")
  local m = nl.matrix.eye(2)
  T.eq(nl.show(m), tostring(m), "objects print as with print")
  T.raises(function() nl.show({}, { dept = 1 }) end, "unknown option 'dept' for show")
  T.raises(function() nl.show({}, { depth = 0 }) end, "option 'depth' must be a positive integer")
end)

T.test("help searches the reference when no entry has the name (issue 16: help \"nested\" found nothing)", function()
  local text = require("neurolua.help").text("nested")
  T.truthy(text and text:find("no entry named 'nested'; entries that mention it", 1, true), tostring(text))
  T.truthy(text:find("nl.cv.nested(pipeline, X, y [, options])", 1, true), text)
  local found = nl.apropos("Youden")
  T.truthy(#found >= 1, "entries mentioning Youden")
  local keys = {}
  for _, f in ipairs(found) do keys[f.key] = f.page end
  T.eq(keys["nl.stats.roc"], "stats.md")
  T.eq(#nl.apropos("zzqqxx-not-a-word"), 0)
  local none, msg = require("neurolua.help").text("zzqqxx")
  T.eq(none, nil)
  T.truthy(msg:find("no reference entry for 'zzqqxx'", 1, true), msg)
  T.raises(function() nl.apropos("") end, "non-empty string")
end)

T.done()
