-- neurolua/init.lua: the Lua side of `require "neurolua"`.
-- Receives the table assembled by the C module and adds the pure-Lua pieces.
return function(nl)
  local help = require "neurolua.help"
  nl.help = help.help
  nl.apropos = help.search
  nl.study = require "neurolua.study"
  nl.show = require("neurolua.repl").show
  nl.report = require "neurolua.report"
  nl.course = require "neurolua.course"
  require "neurolua.plotting"(nl)
  require "neurolua.explore"(nl)
  require "neurolua.stats"(nl)
  return nl
end
