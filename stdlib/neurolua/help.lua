-- neurolua/help.lua: help(x) prints the reference entry of a function or type.
--
-- The reference pages (docs/reference/*.md) are compiled into the binary. Each entry
-- is a level-3 heading holding a signature, e.g. "### nl.matrix.zeros(rows, cols)",
-- "### Matrix:solve(b)" or "### GLMResult.p" (a field), followed by its text up to the
-- next heading. The key of an entry is its signature up to the first "(" (or "{"). help(x) finds
-- the key of x by name (help "Matrix:solve"), by type (a Matrix userdata or a GLMResult
-- record -> its page or its entries), or by identity: the functions reachable from the
-- nl table and the methods of every neurolua type are indexed once, on first use.
local M = {}

-- Kept from load time: `neurolua --sandbox` removes the debug library afterwards, and
-- help must still find the methods of every type there. It never leaves this file.
local getregistry = debug.getregistry

local pages      -- list of {file, title, type, intro, entries = {...}}
local by_key     -- key -> list of entries
local by_type    -- "Matrix" -> page
local by_value   -- function/table -> key

local function strip(s) return (s:gsub("`", ""):gsub("^%s+", ""):gsub("%s+$", "")) end

-- "nl.report.new{title = }" (a call with a table) has the key "nl.report.new" too.
local function entry_key(heading)
  local k = heading:match("^([^({]-)%s*[({]") or heading
  return strip(k)
end

local function parse_page(file, text)
  local page = { file = file, entries = {} }
  local cur, intro = nil, {}
  local in_code = false
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^```") then in_code = not in_code end
    local h1 = not in_code and line:match("^#%s+(.*)")
    local h2 = not in_code and line:match("^##%s+(.*)")
    local h3 = not in_code and line:match("^###%s+(.*)")
    if h3 then
      cur = { heading = strip(h3), key = entry_key(h3), lines = {}, page = page }
      page.entries[#page.entries + 1] = cur
    elseif h2 then
      cur = nil
      page.seen_section = true
    elseif h1 and not page.title then
      page.title = strip(h1)
      page.type = page.title:match("^([%w_]+)")
    elseif cur then
      cur.lines[#cur.lines + 1] = line
    elseif not page.seen_section and page.title then
      intro[#intro + 1] = line
    end
  end
  page.intro = table.concat(intro, "\n"):gsub("^%s+", ""):gsub("%s+$", "")
  return page
end

local function load_pages()
  if pages then return end
  local nl = require "neurolua"
  pages, by_key, by_type = {}, {}, {}
  local files = nl._files("docs/reference/")
  local names = {}
  for name in pairs(files) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local page = parse_page(name, files[name])
    pages[#pages + 1] = page
    if page.type then by_type[page.type] = page end
    for _, e in ipairs(page.entries) do
      by_key[e.key] = by_key[e.key] or {}
      table.insert(by_key[e.key], e)
    end
  end
end

-- Index every function and table reachable from nl (by qualified name) and every
-- method of the registered neurolua types ("Matrix:solve").
local function load_values()
  if by_value then return end
  by_value = {}
  local nl = require "neurolua"
  local seen = {}
  local function walk(t, prefix, depth)
    if seen[t] or depth > 4 then return end
    seen[t] = true
    for k, v in next, t do
      if type(k) == "string" and not k:match("^_") then
        local name = prefix .. "." .. k
        if (type(v) == "function" or type(v) == "table") and by_value[v] == nil then by_value[v] = name end
        if type(v) == "table" then walk(v, name, depth + 1) end
      end
    end
  end
  by_value[nl] = "nl"
  walk(nl, "nl", 1)
  for name, mt in pairs(getregistry()) do
    if type(name) == "string" and name:match("^neurolua%.") and type(mt) == "table"
       and type(mt.__methods) == "table" then
      local tname = name:match("^neurolua%.(.*)")
      for k, f in pairs(mt.__methods) do
        if by_value[f] == nil then by_value[f] = tname .. ":" .. k end
      end
    end
  end
end

-- The key help() looks up for x (a string is taken as a key).
function M.key_of(x)
  load_values()
  if type(x) == "string" then return x end
  -- A neurolua object: a userdata, or a record (a table whose metatable is a neurolua
  -- type, e.g. Metrics): its type's page.
  local mt = (type(x) == "userdata" or type(x) == "table") and getmetatable(x)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if type(name) == "string" and name:match("^neurolua%.") then return (name:gsub("^neurolua%.", "")) end
  if type(x) == "userdata" then return nil end
  return by_value[x]
end

-- Markdown lines to terminal text: code fences dropped, code indented further.
local function render_lines(lines, indent)
  local out, in_code = {}, false
  for _, line in ipairs(lines) do
    if line:match("^```") then
      in_code = not in_code
    else
      out[#out + 1] = (in_code and indent .. "  " or indent) .. line
    end
  end
  return (table.concat(out, "\n"):gsub("%s+$", ""))
end

local function render_entry(e)
  return e.heading .. "\n" .. render_lines(e.lines, "  ")
end

local function render_page(page)
  local intro = {}
  for line in (page.intro .. "\n"):gmatch("([^\n]*)\n") do intro[#intro + 1] = line end
  local out = { page.title, "", render_lines(intro, ""), "", "Entries (help \"name\" for one):" }
  for _, e in ipairs(page.entries) do out[#out + 1] = "  " .. e.heading end
  return table.concat(out, "\n")
end

local function overview()
  local out = { "neurolua reference. Pages (help \"Type\" for one):" }
  for _, p in ipairs(pages) do
    out[#out + 1] = string.format("  %-10s %s", p.type or "?", p.title)
  end
  out[#out + 1] = 'help(x) also takes a function (help(nl.matrix.zeros)), a method'
  out[#out + 1] = 'name (help "Matrix:solve") or any neurolua object (help(m)).'
  return table.concat(out, "\n")
end

-- The text help(x) prints, or nil and a message when there is no entry.
function M.text(x)
  load_pages()
  if x == nil then return overview() end
  local key = M.key_of(x)
  if not key then return nil, "no reference entry for this " .. type(x) end
  if key == "nl" then return overview() end
  local entries = by_key[key] or by_key[(key:gsub("^neurolua%.", "nl."))]
  if entries then
    local parts = {}
    for _, e in ipairs(entries) do parts[#parts + 1] = render_entry(e) end
    return table.concat(parts, "\n\n")
  end
  if by_type[key] then return render_page(by_type[key]) end
  -- A type documented inside another page: list its entries.
  local parts = {}
  for _, page in ipairs(pages) do
    for _, e in ipairs(page.entries) do
      if e.key:sub(1, #key + 1) == key .. ":" or e.key:sub(1, #key + 1) == key .. "." then
        parts[#parts + 1] = render_entry(e)
      end
    end
  end
  if #parts > 0 then return table.concat(parts, "\n\n") end
  if type(x) == "string" then
    local found = M.search(x)
    if #found > 0 then
      local out = { string.format("no entry named '%s'; entries that mention it (help \"name\" for one):", x) }
      for i, f in ipairs(found) do
        if i > 30 then
          out[#out + 1] = string.format("  ... and %d more", #found - 30)
          break
        end
        out[#out + 1] = string.format("  %-56s %s", f.heading, f.page)
      end
      return table.concat(out, "\n")
    end
  end
  return nil, "no reference entry for '" .. key .. "'"
end

-- search(word) -> the entries whose heading or text mentions word (case-insensitive,
-- plain text): a list of {key, heading, page}, those naming it in the heading first,
-- then by page and order. help "word" falls back to it (apropos).
function M.search(word)
  load_pages()
  if type(word) ~= "string" or word == "" then error("bad argument #1 to 'search' (a non-empty string expected)", 2) end
  local w = word:lower()
  local heads, texts = {}, {}
  for _, page in ipairs(pages) do
    for _, e in ipairs(page.entries) do
      local hit = { key = e.key, heading = e.heading, page = page.file:match("([^/]*)$") }
      if e.heading:lower():find(w, 1, true) then
        heads[#heads + 1] = hit
      elseif table.concat(e.lines, "\n"):lower():find(w, 1, true) then
        texts[#texts + 1] = hit
      end
    end
  end
  for _, h in ipairs(texts) do heads[#heads + 1] = h end
  return heads
end

-- help([x]): prints the reference entry of x, a type page, or the overview; a text
-- longer than the terminal goes through the pager (neurolua.repl.page).
function M.help(x)
  local text, err = M.text(x)
  if text then require("neurolua.repl").page(text) else print(err) end
end

return M
