-- scripts/lib/args.lua: the command line of the study scripts: positional arguments and
-- key=value options, each of a kind ("string", "number" or "boolean").
--
-- Loaded with dofile by scripts/ketamine/common.lua and scripts/lib/fmri_study.lua;
-- returns a table of functions.
local Args = {}

-- Parses argv into o (a new table, or the given one holding defaults) and returns o.
--   spec.options     option name -> "string", "number" or "boolean"
--   spec.names       the option names in the order the unknown-option error lists them
--                    (default: sorted)
--   spec.positional  the fields that take the positional arguments, in order
--   spec.usage       the arguments expected, for the too-many-arguments error, e.g.
--                    "[participants.tsv [atlas]] [key=value ...]"
-- An unknown key, a value not of its option's kind, a positional argument too many or
-- a flag other than -h / --help raises an error without a position. -h or --help prints
-- Args.help (the script's header comment and the options) and exits with status 0.
function Args.parse(argv, spec, o)
  o = o or {}
  local names = spec.names
  if not names then
    names = {}
    for k in pairs(spec.options) do names[#names + 1] = k end
    table.sort(names)
  end
  local pos = 0
  for _, a in ipairs(argv or {}) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if a == "-h" or a == "--help" then
      io.write(Args.help(argv[0], spec, names))
      os.exit(0)
    elseif a:match("^%-%-?%a") then
      error(("unknown flag '%s': options are key=value (--help lists them)"):format(a), 0)
    elseif k then
      local kind = spec.options[k]
      if not kind then
        error(("unknown option '%s' (expected one of: %s)"):format(k, table.concat(names, ", ")), 0)
      end
      if kind == "number" then
        o[k] = tonumber(v)
        if not o[k] then error(("option '%s' must be a number, got '%s'"):format(k, v), 0) end
      elseif kind == "boolean" then
        if v ~= "true" and v ~= "false" then error(("option '%s' must be true or false"):format(k), 0) end
        o[k] = v == "true"
      else
        o[k] = v
      end
    else
      pos = pos + 1
      local field = spec.positional[pos]
      if not field then error("too many arguments: expected " .. spec.usage, 0) end
      o[field] = a
    end
  end
  return o
end

-- The help text of a script: the comment block at the top of the file at `path` (its
-- "-- " prefixes removed), then the usage line and each option with its kind.
function Args.help(path, spec, names)
  local lines = {}
  local f = path and io.open(path)
  if f then
    for line in f:lines() do
      local text = line:match("^%-%- ?(.*)$")
      if not text then break end
      lines[#lines + 1] = text
    end
    f:close()
  end
  if #lines > 0 then lines[#lines + 1] = "" end
  lines[#lines + 1] = ("usage: neurolua %s %s"):format(path or "SCRIPT", spec.usage)
  lines[#lines + 1] = "options (key=value):"
  for _, k in ipairs(names) do lines[#lines + 1] = ("  %-16s %s"):format(k, spec.options[k]) end
  return table.concat(lines, "\n") .. "\n"
end

return Args
