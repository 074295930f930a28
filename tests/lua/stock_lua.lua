-- Run by the stock lua5.4 interpreter with LUA_CPATH pointing at the build directory:
-- the loadable module must work without the neurolua executable.
local T = require "testing"
local nl = require "neurolua"

T.test("module loads in the stock interpreter", function()
  T.eq(type(nl), "table")
  T.eq(type(nl.version), "string")
  T.eq(nl.matrix{{1, 2}, {3, 4}}:det(), -2)
  T.eq(rawget(_G, "nl"), nil, "require sets no globals")
  T.truthy(package.loaded.neurolua == nl)
  T.truthy(require("neurolua.help").text(nl.matrix.eye), "embedded docs reachable")
  T.raises(function() return nl.matrix.ones(2, 2) * nl.matrix.ones(3, 3) end, "do not agree")
end)

T.test("nl.clock is a monotonic wall clock", function()
  local t0 = nl.clock()
  T.eq(type(t0), "number")
  local x = 0
  for i = 1, 200000 do x = x + i end
  local t1 = nl.clock()
  T.truthy(t1 >= t0, "does not go back")
  T.truthy(t1 - t0 < 60, "measures seconds")
end)

T.done()
