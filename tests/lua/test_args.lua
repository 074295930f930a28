-- Tests of the study scripts' command line (scripts/lib/args.lua): key=value options of
-- a kind, positional arguments, the errors for bad ones, and -h / --help, which prints
-- the script's header comment and its options and exits with status 0.
local T = require "testing"

local Args = dofile("../../scripts/lib/args.lua")
local spec = { options = { out = "string", seed = "number", wrapper = "boolean" },
               positional = { "participants", "atlas" }, usage = "[participants.tsv [atlas]] [key=value ...]" }

T.test("options and positional arguments are parsed by kind", function()
  local o = Args.parse({ "p.tsv", "aal", "seed=7", "wrapper=false", "out=a=b" }, spec, { seed = 1 })
  T.eq(o.participants, "p.tsv")
  T.eq(o.atlas, "aal")
  T.eq(o.seed, 7)
  T.eq(o.wrapper, false)
  T.eq(o.out, "a=b")
  T.eq(Args.parse({}, spec, { seed = 1 }).seed, 1)
end)

T.test("bad arguments are refused with what is wrong", function()
  T.raises(function() Args.parse({ "nosuch=1" }, spec) end, "unknown option 'nosuch' (expected one of: out, seed, wrapper)")
  T.raises(function() Args.parse({ "seed=x" }, spec) end, "option 'seed' must be a number, got 'x'")
  T.raises(function() Args.parse({ "wrapper=1" }, spec) end, "option 'wrapper' must be true or false")
  T.raises(function() Args.parse({ "a", "b", "c" }, spec) end, "too many arguments: expected [participants.tsv [atlas]]")
  T.raises(function() Args.parse({ "--seed=3" }, spec) end, "unknown flag '--seed=3': options are key=value")
  T.raises(function() Args.parse({ "-v" }, spec) end, "unknown flag '-v'")
end)

T.test("the help text is the header comment, the usage and the options", function()
  local path = T.tmpname(".lua")
  T.write_file(path, "-- demo.lua: does a thing.\n--\n--   neurolua demo.lua [x]\nlocal x = 1\n-- not this\n")
  local text = Args.help(path, spec, { "out", "seed", "wrapper" })
  T.truthy(text:find("^demo%.lua: does a thing%.\n\n  neurolua demo%.lua %[x%]\n\nusage: neurolua "), text)
  T.truthy(text:find("  seed             number\n", 1, true), text)
  T.truthy(not text:find("not this", 1, true), text)
  -- Without a readable file: the usage line and the options only.
  T.truthy(Args.help(nil, spec, { "out" }):find("^usage: neurolua SCRIPT %[participants"))
end)

T.test("--help and -h print the help and exit 0; an unknown flag exits non-zero", function()
  for _, s in ipairs{ "../../scripts/ketamine/replicate.lua", "../../scripts/limbic/network_fc.lua",
                      "../../scripts/connectome/connectome.lua", "../../scripts/amygdala/seed_maps.lua",
                      "../../scripts/examples/abide_site_validation.lua" } do
    local ok, text = T.run(s, "--help")
    T.truthy(ok, s .. ": " .. text)
    T.truthy(text:find("usage: neurolua " .. s, 1, true) and text:find("options (key=value):", 1, true), text)
    T.truthy(text:find("^scripts/"), text)  -- the header comment comes first
    ok = T.run(s, "-h")
    T.truthy(ok, s .. " -h")
  end
  local ok, text = T.run("../../scripts/ketamine/replicate.lua", "--nope")
  T.truthy(not ok and text:find("unknown flag '--nope'", 1, true), text)
end)

T.done()
