-- neurolua/report.lua: nl.report, self-contained offline HTML study reports.
--
-- A Report collects blocks (headings, text, tables, figures, NiiVue viewers) and writes
-- one HTML file that needs nothing else: CSS inline, figures as data URIs or inline
-- SVG, volumes as base64 NIfTI bytes loaded by the NiiVue bundle inlined in the file,
-- and a provenance block (version, commit, command, date, threads, host, seeds, and the
-- SHA-256 of every file the engine read: nl.inputs()). Files are read when a block is
-- added, so a later change to a figure does not change the report. The C pieces
-- (hashing, base64, atomic write, installed files) are nl._report
-- (bindings/core/provenance.cpp). Reference: docs/reference/report.md.
local M = {}

local function nl() return require "neurolua" end
local C = function() return nl()._report end

-- ---------------------------------------------------------------- errors and options

local function type_name(x)
  local mt = getmetatable(x)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(x)
end

local closest = require("neurolua.util").closest

local check_options = require("neurolua.util").check_options

local function check_string(v, what, argn, level)
  if type(v) ~= "string" then
    error(("bad argument #%d to '%s' (string expected, got %s)"):format(argn, what, type_name(v)), level + 1)
  end
  return v
end

-- ---------------------------------------------------------------- HTML text

local escapes = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }
local function esc(s) return (tostring(s):gsub("[&<>\"']", escapes)) end

-- Inline markup of one line of escaped-later text: `code`, **bold**, *em*. Code spans
-- are taken first, so their content is shown literally.
local function inline(s)
  local out, pos = {}, 1
  while true do
    local a, b, code = s:find("`([^`]+)`", pos)
    local text = s:sub(pos, (a or 0) - 1)
    if not a then text = s:sub(pos) end
    text = esc(text):gsub("%*%*(.-)%*%*", "<strong>%1</strong>"):gsub("%*([^%*%s][^%*]-)%*", "<em>%1</em>")
    out[#out + 1] = text
    if not a then break end
    out[#out + 1] = "<code>" .. esc(code) .. "</code>"
    pos = b + 1
  end
  return table.concat(out)
end

-- The small markdown subset of Report:text: blank lines separate blocks; a block whose
-- lines all start with "- " is a list, any other block a paragraph.
local function markdown(str)
  local html = {}
  str = str:gsub("\r\n", "\n")
  for block in (str .. "\n\n"):gmatch("(.-)\n[ \t]*\n") do
    local lines = {}
    for line in (block .. "\n"):gmatch("([^\n]*)\n") do
      if line:match("%S") then lines[#lines + 1] = line end
    end
    if #lines > 0 then
      local list = true
      for _, l in ipairs(lines) do list = list and l:match("^%s*%- ") ~= nil end
      if list then
        html[#html + 1] = "<ul>"
        for _, l in ipairs(lines) do html[#html + 1] = "<li>" .. inline(l:gsub("^%s*%- ", "")) .. "</li>" end
        html[#html + 1] = "</ul>"
      else
        for i, l in ipairs(lines) do lines[i] = inline((l:gsub("^%s+", ""):gsub("%s+$", ""))) end
        html[#html + 1] = "<p>" .. table.concat(lines, "\n") .. "</p>"
      end
    end
  end
  return table.concat(html, "\n")
end

-- ---------------------------------------------------------------- tables

local function format_cell(v, digits)
  if v == nil or v == nl().table.NA then return '<td class="na">NA</td>' end
  if type(v) == "number" then
    local s
    if v ~= v then s = "NaN"
    elseif v == math.huge then s = "Inf"
    elseif v == -math.huge then s = "-Inf"
    elseif math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 1e15) then s = ("%d"):format(v)
    else s = ("%." .. digits .. "g"):format(v) end
    return '<td class="num">' .. s .. "</td>"
  elseif type(v) == "boolean" then
    return '<td class="bool">' .. tostring(v) .. "</td>"
  end
  return "<td>" .. esc(tostring(v)) .. "</td>"
end

-- A Table (its columns, with their types) or a list of row tables (opts.columns names
-- and orders the columns; default: the sorted keys of the first row) as HTML rows.
local function table_html(t, o, level)
  local digits = o.digits or 4
  if math.type(digits) ~= "integer" or digits < 1 or digits > 17 then
    error(("bad argument #2 to 'table' (option 'digits' must be an integer in [1, 17], got %s)"):format(tostring(digits)),
          level + 1)
  end
  local names, types, cols, nrows = {}, {}, {}, 0
  if type_name(t) == "neurolua.Table" then
    if o.columns then error("bad argument #2 to 'table' (option 'columns' is for a list of rows; use t:select for a Table)", level + 1) end
    names = t:columns()
    local ty = t:types()
    for i, n in ipairs(names) do
      types[i] = ty[n]
      cols[i] = t:column(n)
    end
    nrows = #t
  elseif type(t) == "table" then
    nrows = #t
    for i = 1, nrows do
      if type(t[i]) ~= "table" then
        error(("bad argument #1 to 'table' (row %d is a %s, not a table)"):format(i, type_name(t[i])), level + 1)
      end
    end
    if o.columns then
      names = o.columns
    elseif nrows > 0 then
      for k in pairs(t[1]) do names[#names + 1] = tostring(k) end
      table.sort(names)
    end
    for i, n in ipairs(names) do
      local col = {}
      for r = 1, nrows do col[r] = t[r][n] end
      cols[i] = col
    end
  else
    error(("bad argument #1 to 'table' (a neurolua.Table or a list of rows expected, got %s)"):format(type_name(t)),
          level + 1)
  end
  -- The caption stays outside the sideways-scrolling box, so it wraps at the page's
  -- width even when the table is wider than the page.
  local h = {}
  if o.caption then h[#h + 1] = '<p class="table-caption">' .. inline(o.caption) .. "</p>" end
  h[#h + 1] = '<div class="table-wrap"><table class="dataframe">'
  local head = { "<thead><tr><th></th>" }
  for i, n in ipairs(names) do
    head[#head + 1] = "<th>" .. esc(n) .. (types[i] and ('<span class="type">' .. esc(types[i]) .. "</span>") or "")
                      .. "</th>"
  end
  h[#h + 1] = table.concat(head) .. "</tr></thead><tbody>"
  for r = 1, nrows do
    local row = { "<tr><th>" .. r .. "</th>" }
    for i = 1, #names do row[#row + 1] = format_cell(cols[i][r], digits) end
    row[#row + 1] = "</tr>"
    h[#h + 1] = table.concat(row)
  end
  h[#h + 1] = "</tbody></table>"
  h[#h + 1] = ('<p class="table-shape">%d rows &times; %d columns</p></div>'):format(nrows, #names)
  return table.concat(h, "\n")
end

-- ---------------------------------------------------------------- figures

local function extension(path) return (path:match("%.([%w]+)$") or ""):lower() end

-- An SVG made safe to inline: no prolog, doctype, comments, scripts, foreignObject,
-- event-handler attributes or references to anything but the SVG itself or data:
-- URIs; ids prefixed with `prefix` so that two inlined figures (cairo names its
-- glyphs glyph0-1 in every file) cannot collide.
local function ci(word) return (word:gsub("%a", function(c) return "[" .. c:lower() .. c:upper() .. "]" end)) end
local function sanitize_svg(svg, prefix)
  svg = svg:gsub("<%?.-%?>", ""):gsub("<!DOCTYPE.->", ""):gsub("<!%-%-.-%-%->", "")
  for _, el in ipairs{ "script", "foreignObject", "iframe", "object", "embed" } do
    local p = ci(el)
    svg = svg:gsub("<" .. p .. "[^>]-/>", ""):gsub("<" .. p .. ".-</" .. p .. "%s*>", "")
  end
  -- attributes: on*="..." handlers, javascript: values, and href/src to anything
  -- outside the file. The HTML parser that reads an inlined SVG also accepts unquoted
  -- values (invalid XML), so those go first.
  svg = svg:gsub("(%s)([%w:_%-]+)%s*=%s*([^%s\"'>][^%s>]*)", function(sp, name, value)
    if name:lower():match("^on") or value:lower():find("javascript:", 1, true) then return sp end
    return sp .. name .. '="' .. value:gsub('"', "&quot;") .. '"'
  end)
  svg = svg:gsub("(%s)([%w:_%-]+)(%s*=%s*)([\"'])(.-)%4", function(sp, name, eq, q, value)
    local lname = name:lower()
    if lname:match("^on") or value:lower():gsub("[%s%c]", ""):find("javascript:", 1, true) then return "" end
    if lname == "href" or lname == "xlink:href" or lname == "src" then
      if value:match("^#") then return sp .. name .. eq .. q .. "#" .. prefix .. value:sub(2) .. q end
      if value:match("^data:image/") then return sp .. name .. eq .. q .. value .. q end
      return ""
    end
    if lname == "id" then return sp .. name .. eq .. q .. prefix .. value .. q end
    return sp .. name .. eq .. q .. value .. q
  end)
  -- url(#id) references (attributes and <style>) follow the ids; others are dropped
  svg = svg:gsub("url%(%s*#", "url(#" .. prefix):gsub("url%(%s*['\"]?[%a][%w+.-]*:[^)]*%)", function(u)
    return u:match("^url%(%s*['\"]?data:image/") and u or "none"
  end)
  return svg
end

-- ---------------------------------------------------------------- the Report type

local Report = {}   -- methods
local state = setmetatable({}, { __mode = "k" })  -- report -> its private state
local mt = { __name = "neurolua.Report", __methods = Report }
local method_names = {}

local function self_of(r, fname)
  local s = state[r]
  if not s then
    error(("bad argument #1 to '%s' (neurolua.Report expected, got %s; call it as rep:%s(...))")
          :format(fname, type_name(r), fname), 3)
  end
  return s
end

mt.__index = function(r, key)
  local m = Report[key]
  if m then return m end
  local msg = ("Report has no field '%s'"):format(tostring(key))
  local near = type(key) == "string" and closest(key, method_names)
  if near then msg = msg .. ("; did you mean '%s'?"):format(near) end
  error(msg .. " (fields: none; methods: " .. table.concat(method_names, ", ") .. ")", 2)
end
mt.__newindex = function(_, key)
  error(("cannot set field '%s' of a Report (use its methods)"):format(tostring(key)), 2)
end
mt.__fields = function() return {} end

local function counts(s)
  local n = { figure = 0, viewer = 0, table = 0 }
  for _, b in ipairs(s.blocks) do n[b.kind] = (n[b.kind] or 0) + 1 end
  return n
end

local function plural(k, word) return ("%d %s%s"):format(k, word, k == 1 and "" or "s") end

mt.__tostring = function(r)
  local s = state[r]
  local n = counts(s)
  return ("Report '%s': %s, %s, %s, %s"):format(s.title, plural(#s.blocks, "section"), plural(n.table, "table"),
                                                plural(n.figure, "figure"), plural(n.viewer, "viewer"))
end

-- nl.report.new{title = , subtitle = }
function M.new(o)
  check_options(o, "new", { "title", "subtitle" }, 1, 2)
  o = o or {}
  if o.title ~= nil then check_string(o.title, "new", 1, 2) end
  if o.subtitle ~= nil then check_string(o.subtitle, "new", 1, 2) end
  local r = setmetatable({}, mt)
  state[r] = { title = o.title or "Report", subtitle = o.subtitle, blocks = {}, anchors = {}, seeds = {}, facts = {},
               embedded = {}, nviewers = 0, nfigures = 0, created = os.time() }
  return r
end

-- A unique anchor for a heading: its words in lower case joined by "-".
local function anchor(s, text)
  local base = text:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  if base == "" then base = "section" end
  local id, k = base, 1
  while s.anchors[id] or id == "provenance" or id == "contents" do
    k = k + 1
    id = base .. "-" .. k
  end
  s.anchors[id] = true
  return id
end

function Report:heading(text, level)
  local s = self_of(self, "heading")
  check_string(text, "heading", 2, 2)
  level = level or 1
  if math.type(level) ~= "integer" or level < 1 or level > 3 then
    error(("bad argument #3 to 'heading' (level must be 1, 2 or 3, got %s)"):format(tostring(level)), 2)
  end
  s.blocks[#s.blocks + 1] = { kind = "heading", text = text, level = level, id = anchor(s, text) }
  return self
end

function Report:text(str)
  local s = self_of(self, "text")
  check_string(str, "text", 2, 2)
  s.blocks[#s.blocks + 1] = { kind = "text", html = markdown(str) }
  return self
end

-- Report:markdown(str [, {html = true}]): CommonMark with GitHub tables (cmark-gfm).
function Report:markdown(str, o)
  local s = self_of(self, "markdown")
  check_string(str, "markdown", 2, 2)
  o = check_options(o, "markdown", { "html" }, 3, 2)
  s.blocks[#s.blocks + 1] = { kind = "text", html = C().markdown(str, o.html == true) }
  return self
end

-- nl.report.markdown(str [, {html = true}]) -> the HTML of a CommonMark text.
function M.markdown(str, o)
  check_string(str, "markdown", 1, 2)
  o = check_options(o, "markdown", { "html" }, 2, 2)
  return C().markdown(str, o.html == true)
end

function Report:table(t, o)
  local s = self_of(self, "table")
  o = check_options(o, "table", { "caption", "digits", "columns" }, 3, 2)
  if o.caption ~= nil then check_string(o.caption, "table", 3, 2) end
  s.blocks[#s.blocks + 1] = { kind = "table", html = table_html(t, o, 2) }
  return self
end

-- Records a file embedded in the report (for the provenance block).
local function embed(s, kind, path, bytes)
  s.embedded[#s.embedded + 1] = { kind = kind, path = path, bytes = #bytes, sha256 = C().sha256(bytes) }
end

local function read_or_raise(path, what, level)
  local ok, data = pcall(C().read, path)
  if not ok then error(("%s: %s"):format(what, tostring(data)), level + 1) end
  return data
end

local function css_width(w, level)
  if w == nil then return nil end
  if type(w) == "number" and w > 0 then return ("%dpx"):format(math.floor(w + 0.5)) end
  if type(w) == "string" and w:match("^%d+%.?%d*%%$") then return w end
  if type(w) == "string" and w:match("^%d+px$") then return w end
  error(("bad argument #3 (option 'width' must be a number of pixels or a string like \"80%%\", got %s)")
        :format(tostring(w)), level + 1)
end

function Report:figure(path, o)
  local s = self_of(self, "figure")
  check_string(path, "figure", 2, 2)
  o = check_options(o, "figure", { "caption", "width" }, 3, 2)
  if o.caption ~= nil then check_string(o.caption, "figure", 3, 2) end
  local width = css_width(o.width, 2)
  local ext = extension(path)
  if ext == "pdf" then
    error(("figure '%s': a PDF cannot be embedded in a self-contained HTML report (a link to it would not travel "
           .. "with the file, and browsers show no PDF inline offline); save the figure as .png or .svg")
          :format(path), 2)
  end
  if ext ~= "png" and ext ~= "svg" and ext ~= "jpg" and ext ~= "jpeg" then
    error(("figure '%s': unsupported kind '.%s'; a report embeds .png, .svg and .jpg files"):format(path, ext), 2)
  end
  local data = read_or_raise(path, "figure", 2)
  s.nfigures = s.nfigures + 1
  local style = width and (' style="width:%s"'):format(width) or ""
  local body
  if ext == "svg" then
    if not data:find("<svg", 1, true) then error(("figure '%s': not an SVG file (no <svg> element)"):format(path), 2) end
    body = '<div class="svg"' .. style .. ">" .. sanitize_svg(data, ("f%d-"):format(s.nfigures)) .. "</div>"
  else
    local mime = ext == "png" and "image/png" or "image/jpeg"
    if ext == "png" and data:sub(1, 8) ~= "\137PNG\r\n\26\n" then
      error(("figure '%s': not a PNG file (bad signature)"):format(path), 2)
    end
    if mime == "image/jpeg" and data:sub(1, 3) ~= "\255\216\255" then
      error(("figure '%s': not a JPEG file (bad signature)"):format(path), 2)
    end
    body = ('<img alt="%s" src="data:%s;base64,%s"%s>'):format(esc(o.caption or path:match("[^/]*$")), mime,
                                                              C().base64(data), style)
  end
  embed(s, "figure", path, data)
  s.blocks[#s.blocks + 1] = { kind = "figure", caption = o.caption, body = body }
  return self
end

-- NiiVue colour maps offered by Report:viewer (a subset of the bundle's cmaps).
local colormaps = { "gray", "hot", "warm", "cool", "winter", "red", "green", "blue", "redyell", "viridis", "plasma",
                    "inferno", "magma", "jet", "turbo", "bone", "copper", "actc", "electric_blue", "blue2red" }

local function volume_path(v, what, argn, level)
  if type(v) == "string" then return v end
  if type_name(v) == "neurolua.Volume" then
    local p = v:path()
    if p and p ~= "" then return p end
    error(("bad argument #%d to 'viewer' (%s: a computed Volume has no file; save it first and pass the path)")
          :format(argn, what), level + 1)
  end
  error(("bad argument #%d to 'viewer' (%s: a NIfTI path or a Volume expected, got %s)"):format(argn, what, type_name(v)),
        level + 1)
end

-- The bytes of a NIfTI file, checked by loading it (which also logs it in nl.inputs()),
-- and its value range.
local function nifti(path, what, level)
  local ok, v = pcall(nl().volume.load, path)
  if not ok then error(("viewer %s: %s"):format(what, tostring(v)), level + 1) end
  local st = v:stats()
  local data = read_or_raise(path, "viewer " .. what, level + 1)
  return data, st
end

function Report:viewer(volume, o)
  local s = self_of(self, "viewer")
  o = check_options(o, "viewer", { "background", "cmap", "threshold", "caption", "max" }, 3, 2)
  local path = volume_path(volume, "volume", 2, 2)
  if o.caption ~= nil then check_string(o.caption, "viewer", 3, 2) end
  local cmap = o.cmap or "warm"
  local known = false
  for _, c in ipairs(colormaps) do known = known or c == cmap end
  if not known then
    local near = type(cmap) == "string" and closest(cmap, colormaps)
    error(("bad argument #3 to 'viewer' (option 'cmap' must be one of %s, got %s%s)")
          :format(table.concat(colormaps, ", "), tostring(cmap), near and ("; did you mean '" .. near .. "'?") or ""), 2)
  end
  if o.threshold ~= nil and type(o.threshold) ~= "number" then
    error("bad argument #3 to 'viewer' (option 'threshold' must be a number)", 2)
  end
  if o.max ~= nil and type(o.max) ~= "number" then error("bad argument #3 to 'viewer' (option 'max' must be a number)", 2) end
  -- the bundle first: without it there is nothing to show (no silent fallback)
  if not s.niivue then
    local ok, js = pcall(C().niivue)
    if not ok then error("viewer: " .. tostring(js), 2) end
    s.niivue = js
  end
  local data, st = nifti(path, "volume", 2)
  local bg, bg_name
  if o.background == "template" then
    local ok, bytes, tpath = pcall(C().template)
    if not ok then error("viewer: " .. tostring(bytes), 2) end
    bg, bg_name = bytes, "template (MRIcron ch2better, Colin27 in MNI space, 2 mm)"
    embed(s, "viewer background", tpath, bg)
  elseif o.background ~= nil then
    local bpath = volume_path(o.background, "background", 3, 2)
    bg = nifti(bpath, "background", 2)
    bg_name = bpath
    embed(s, "viewer background", bpath, bg)
  end
  embed(s, "viewer volume", path, data)
  local lo, hi = st.min, st.max
  local top = o.max or math.max(math.abs(lo), math.abs(hi))
  if top == 0 or top ~= top then top = 1 end
  local thr = o.threshold or (bg and 0 or lo)
  local negative = bg ~= nil and lo < -math.abs(thr) and lo < 0
  s.nviewers = s.nviewers + 1
  s.blocks[#s.blocks + 1] = {
    kind = "viewer", caption = o.caption, id = ("nlv%d"):format(s.nviewers), path = path,
    volume = C().base64(data), gz = data:sub(1, 2) == "\31\139",
    background = bg and C().base64(bg), background_gz = bg and bg:sub(1, 2) == "\31\139", background_name = bg_name,
    cmap = cmap, cal_min = bg and math.abs(thr) or thr, cal_max = top, negative = negative,
  }
  return self
end

function Report:provenance(o)
  local s = self_of(self, "provenance")
  o = check_options(o, "provenance", { "seeds", "command", "facts" }, 2, 2)
  if o.command ~= nil then
    if type(o.command) == "table" then
      for i, w in ipairs(o.command) do check_string(w, "provenance", 2, 2); o.command[i] = w end
      s.command = table.concat(o.command, " ")
    else
      s.command = check_string(o.command, "provenance", 2, 2)
    end
  end
  for _, key in ipairs{ "seeds", "facts" } do
    local t = o[key]
    if t ~= nil then
      if type(t) ~= "table" then
        error(("bad argument #2 to 'provenance' (option '%s' must be a table {name = value}, got %s)")
              :format(key, type_name(t)), 2)
      end
      for k, v in pairs(t) do s[key][tostring(k)] = v end
    end
  end
  return self
end

-- ---------------------------------------------------------------- writing

local CSS = [[
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--head:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);
  line-height:1.5;margin:0;background:#fff}
main,header,nav,footer{max-width:60rem;margin:0 auto;padding:0 1.5rem}
header{padding-top:2rem;border-bottom:1px solid var(--line);padding-bottom:1rem}
h1.report-title{font-size:2rem;margin:0 0 .25rem}
p.subtitle{font-size:1.15rem;color:var(--muted);margin:0}
p.meta{color:var(--muted);font-size:.85rem;margin:.5rem 0 0}
h1,h2,h3{line-height:1.25;margin:2rem 0 .75rem}
main h1{font-size:1.6rem;border-bottom:1px solid var(--line);padding-bottom:.3rem}
main h2{font-size:1.3rem}main h3{font-size:1.1rem}
a.anchor{color:var(--line);text-decoration:none;margin-left:.4rem;font-weight:400}
h1:hover a.anchor,h2:hover a.anchor,h3:hover a.anchor{color:var(--accent)}
nav.toc{margin-top:1rem}nav.toc h2{font-size:1rem;margin:.5rem 0}
nav.toc ol{list-style:none;padding-left:0;margin:0}nav.toc li.l2{padding-left:1.25rem}nav.toc li.l3{padding-left:2.5rem}
nav.toc a{color:var(--accent);text-decoration:none}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:var(--head);
  padding:.1em .3em;border-radius:4px}
pre{background:var(--head);border:1px solid var(--line);border-radius:6px;padding:.75rem 1rem;overflow-x:auto;
  line-height:1.4}
pre code{background:none;padding:0;font-size:.85rem}
main table:not(.dataframe){border-collapse:collapse;margin:1rem 0;font-size:.9rem}
main table:not(.dataframe) th,main table:not(.dataframe) td{border:1px solid var(--line);padding:.3rem .6rem;
  text-align:left;vertical-align:top}
main table:not(.dataframe) thead th{background:var(--head)}
details{margin:1rem 0;border:1px solid var(--line);border-radius:6px;padding:.5rem 1rem}
summary{cursor:pointer;font-weight:600}
blockquote{margin:1rem 0;padding:0 1rem;color:var(--muted);border-left:4px solid var(--line)}
.table-wrap{overflow-x:auto;margin:1rem 0}
table.dataframe{border-collapse:collapse;border:none;font-size:.85rem;font-variant-numeric:tabular-nums}
.table-caption{color:var(--muted);margin:1rem 0 -.5rem;font-size:.95rem}
table.dataframe th,table.dataframe td{padding:.3rem .6rem;border:none;text-align:right;vertical-align:top;
  white-space:nowrap}
table.dataframe td:not(.num){text-align:left}
table.dataframe thead th{border-bottom:1px solid #000;font-weight:600;text-align:left}
table.dataframe tbody th{font-weight:600;color:var(--muted)}
table.dataframe tbody tr:nth-child(odd){background:#f5f5f5}
table.dataframe tbody tr:hover{background:#e8f0fe}
table.dataframe td.na{color:#999;font-style:italic}
span.type{display:block;font-weight:400;font-size:.75em;color:var(--muted)}
p.table-shape{font-size:.8rem;color:var(--muted);margin:.25rem 0}
figure{margin:1.25rem 0;text-align:center}
figure img,figure .svg{max-width:100%;height:auto}figure .svg svg{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.9rem;margin-top:.4rem}
figure.viewer .canvas-box{width:100%;height:26rem;background:#000;border-radius:6px;overflow:hidden}
figure.viewer canvas{width:100%;height:100%;display:block}
figure.viewer p.print-note{display:none}
p.viewer-error{color:#b00020}
section.provenance{margin-top:3rem;border-top:2px solid var(--line);font-size:.85rem}
section.provenance dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
section.provenance dt{font-weight:600}section.provenance dd{margin:0;word-break:break-all}
section.provenance table.dataframe td{white-space:normal;word-break:break-all}
footer{color:var(--muted);font-size:.8rem;padding-bottom:2rem}
@media print{
  body{font-size:10pt}main,header,nav,footer{max-width:none;padding:0}
  a.anchor{display:none}a{color:inherit;text-decoration:none}
  h1,h2,h3{break-after:avoid}figure,table,.table-wrap{break-inside:avoid}
  table.dataframe tbody tr:nth-child(odd){background:none}
  figure.viewer .canvas-box{display:none}figure.viewer p.print-note{display:block}
  section.provenance{break-before:page}
}
]]

-- The viewers' start-up script: one NiiVue instance per canvas, volumes from base64.
-- window.neuroluaViewers counts those drawn (the browser test waits on it).
local VIEWER_JS = [[
(function () {
  "use strict";
  var state = window.neuroluaViewers = { total: 0, ready: 0, errors: [] };
  var boxes = document.querySelectorAll("figure.viewer");
  state.total = boxes.length;
  function text(id) { var e = document.getElementById(id); return e ? e.textContent.trim() : ""; }
  function fail(fig, err) {
    state.errors.push(String(err));
    console.error("neurolua viewer: " + err);
    var p = document.createElement("p");
    p.className = "viewer-error";
    p.textContent = "The viewer could not start: " + err;
    fig.appendChild(p);
  }
  // Puts the crosshair on the voxel of largest absolute value (the first frame), so the
  // slices show the volume's peak rather than the centre of the grid. Optional: a
  // volume whose header NiiVue describes differently keeps the default view.
  function peak(nv, vol) {
    try {
      var img = vol.img, h = vol.hdr, nx = h.dims[1], ny = h.dims[2], n = nx * ny * h.dims[3];
      var best = 0, at = -1;
      for (var i = 0; i < n && i < img.length; i++) {
        var a = Math.abs(img[i]);
        if (a > best) { best = a; at = i; }
      }
      if (at < 0 || !h.affine) return;
      var v = [at % nx, Math.floor(at / nx) % ny, Math.floor(at / (nx * ny)), 1], A = h.affine, mm = [0, 0, 0];
      for (var r = 0; r < 3; r++) mm[r] = A[r][0] * v[0] + A[r][1] * v[1] + A[r][2] * v[2] + A[r][3];
      nv.scene.crosshairPos = nv.mm2frac(mm);
    } catch (e) { /* keep the default view */ }
  }
  if (typeof niivue === "undefined") {
    boxes.forEach(function (fig) { fail(fig, "the NiiVue bundle did not load"); });
    return;
  }
  boxes.forEach(async function (fig) {
    try {
      var cfg = JSON.parse(text(fig.id + "-config"));
      var canvas = fig.querySelector("canvas");
      var nv = new niivue.Niivue({ backColor: [0, 0, 0, 1], show3Dcrosshair: true, isColorbar: true,
                                   loadingText: "loading..." });
      await nv.attachToCanvas(canvas);
      var vols = [];
      if (cfg.background) {
        vols.push(await niivue.NVImage.loadFromBase64({ base64: text(fig.id + "-background"),
          name: cfg.background, colormap: "gray", colorbarVisible: false }));
      }
      var o = { base64: text(fig.id + "-volume"), name: cfg.name, colormap: cfg.cmap,
                cal_min: cfg.cal_min, cal_max: cfg.cal_max };
      if (cfg.negative) { o.colormapNegative = "winter"; o.cal_minNeg = -cfg.cal_max; o.cal_maxNeg = -cfg.cal_min; }
      vols.push(await niivue.NVImage.loadFromBase64(o));
      vols.forEach(function (v) { nv.addVolume(v); });
      nv.setSliceType(nv.sliceTypeMultiplanar);
      peak(nv, vols[vols.length - 1]);
      nv.drawScene();
      canvas.dataset.ready = "1";
      state.ready += 1;
    } catch (err) {
      fail(fig, err && err.message ? err.message : err);
    }
  });
})();
]]

local function iso_now()
  local t = os.time()
  local z = os.date("%z", t)  -- +0100
  return os.date("%Y-%m-%dT%H:%M:%S", t) .. z:sub(1, 3) .. ":" .. z:sub(4, 5)
end

-- A shell-like rendering of the words (quoted where needed).
local function shell_words(words)
  local out = {}
  for _, w in ipairs(words) do
    if w:match("^[%w%._/=:,+@%-]+$") then out[#out + 1] = w else out[#out + 1] = "'" .. w:gsub("'", "'\\''") .. "'" end
  end
  return table.concat(out, " ")
end

-- The command line: the interpreter, its options, the script and its arguments (the
-- global `arg` of neurolua and lua5.4); nil in a REPL without a script.
local function command_line()
  local a = rawget(_G, "arg")
  if type(a) ~= "table" or a[0] == nil then return nil end
  local lo = 0
  while a[lo - 1] ~= nil do lo = lo - 1 end
  local words = {}
  for i = lo, #a do words[#words + 1] = tostring(a[i]) end
  return shell_words(words)
end

local function fmt_bytes(n)
  if n < 1024 then return n .. " B" end
  if n < 1024 ^ 2 then return ("%.1f KiB"):format(n / 1024) end
  if n < 1024 ^ 3 then return ("%.1f MiB"):format(n / 1024 ^ 2) end
  return ("%.2f GiB"):format(n / 1024 ^ 3)
end

local function provenance_html(s)
  local nlm = nl()
  local h = { '<section class="provenance" id="provenance">', '<h2>Provenance</h2>', "<dl>" }
  local function row(k, v) h[#h + 1] = "<dt>" .. esc(k) .. "</dt><dd>" .. v .. "</dd>" end
  row("neurolua", esc(nlm.version) .. " (commit <code>" .. esc(nlm.commit) .. "</code>)")
  row("command", s.command and ("<code>" .. esc(s.command) .. "</code>")
                  or (command_line() and ("<code>" .. esc(command_line()) .. "</code>") or "interactive session"))
  row("date", esc(iso_now()))
  row("threads", esc(nlm.threads()))
  row("host", esc(C().host()))
  local keys = {}
  for k in pairs(s.seeds) do keys[#keys + 1] = k end
  table.sort(keys)
  local seeds = {}
  for _, k in ipairs(keys) do seeds[#seeds + 1] = "<code>" .. esc(k) .. " = " .. esc(tostring(s.seeds[k])) .. "</code>" end
  row("seeds", #seeds > 0 and table.concat(seeds, ", ") or "none given")
  keys = {}
  for k in pairs(s.facts) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do row(k, esc(tostring(s.facts[k]))) end
  h[#h + 1] = "</dl>"
  local inputs = nlm.inputs()
  h[#h + 1] = ("<h3>Input files read (%d)</h3>"):format(#inputs)
  if #inputs == 0 then
    h[#h + 1] = "<p>The engine read no file in this session.</p>"
  else
    h[#h + 1] = '<div class="table-wrap"><table class="dataframe inputs"><thead><tr><th></th><th>path</th>'
                .. "<th>bytes</th><th>SHA-256 (at read time)</th></tr></thead><tbody>"
    for i, r in ipairs(inputs) do
      h[#h + 1] = ("<tr><th>%d</th><td>%s%s</td><td class=\"num\">%d</td><td><code>%s</code></td></tr>")
                  :format(i, esc(r.path), r.changed and ' <strong class="changed">(changed or removed since it was read)</strong>' or "",
                          r.bytes, esc(r.sha256 ~= "" and r.sha256 or "unreadable"))
    end
    h[#h + 1] = "</tbody></table></div>"
  end
  if #s.embedded > 0 then
    h[#h + 1] = ("<h3>Files embedded in this report (%d)</h3>"):format(#s.embedded)
    h[#h + 1] = '<div class="table-wrap"><table class="dataframe embedded"><thead><tr><th></th><th>kind</th>'
                .. "<th>path</th><th>bytes</th><th>SHA-256</th></tr></thead><tbody>"
    for i, e in ipairs(s.embedded) do
      h[#h + 1] = ("<tr><th>%d</th><td>%s</td><td>%s</td><td class=\"num\">%d</td><td><code>%s</code></td></tr>")
                  :format(i, esc(e.kind), esc(e.path), e.bytes, esc(e.sha256))
    end
    h[#h + 1] = "</tbody></table></div>"
  end
  h[#h + 1] = "</section>"
  return table.concat(h, "\n")
end

local function viewer_html(b)
  local cfg = ('{"name":"%s","cmap":"%s","cal_min":%.17g,"cal_max":%.17g,"negative":%s%s}'):format(
    b.gz and "volume.nii.gz" or "volume.nii", b.cmap, b.cal_min, b.cal_max, tostring(b.negative),
    b.background and (',"background":"%s"'):format(b.background_gz and "background.nii.gz" or "background.nii") or "")
  local h = {
    ('<figure class="viewer" id="%s">'):format(b.id),
    '<div class="canvas-box"><canvas></canvas></div>',
    '<p class="print-note">Interactive viewer of <code>' .. esc(b.path) .. "</code>: open the HTML file to explore it.</p>",
  }
  local cap = (b.caption and inline(b.caption) or ("<code>" .. esc(b.path) .. "</code>"))
  if b.background_name then cap = cap .. " (over " .. esc(b.background_name) .. ")" end
  h[#h + 1] = "<figcaption>" .. cap .. "</figcaption>"
  -- base64 has no "<", so these data blocks cannot end their script element early
  h[#h + 1] = ('<script type="application/json" id="%s-config">%s</script>'):format(b.id, cfg)
  h[#h + 1] = ('<script type="application/octet-stream" id="%s-volume">%s</script>'):format(b.id, b.volume)
  if b.background then
    h[#h + 1] = ('<script type="application/octet-stream" id="%s-background">%s</script>'):format(b.id, b.background)
  end
  h[#h + 1] = "</figure>"
  return table.concat(h, "\n")
end

-- The bundle inside a <script> element: "</script" would end it and "<!--" change how
-- the HTML parser reads it; NiiVue 0.69's bundle has neither, and one that does is refused.
local function inline_script(js)
  if js:lower():find("</script", 1, true) or js:find("<!--", 1, true) then
    error("the NiiVue bundle contains '</script' or '<!--' and cannot be inlined", 3)
  end
  return "<script>\n" .. js .. "\n</script>"
end

local function render(s)
  local nlm = nl()
  local h = {
    "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ('<meta name="generator" content="neurolua %s (%s)">'):format(esc(nlm.version), esc(nlm.commit)),
    "<title>" .. esc(s.title) .. "</title>", "<style>" .. CSS .. "</style>", "</head>", "<body>", "<header>",
    '<h1 class="report-title">' .. esc(s.title) .. "</h1>",
  }
  if s.subtitle then h[#h + 1] = '<p class="subtitle">' .. esc(s.subtitle) .. "</p>" end
  h[#h + 1] = ('<p class="meta">%s &middot; neurolua %s &middot; <a href="#provenance">provenance</a></p>')
              :format(esc(iso_now()), esc(nlm.version))
  h[#h + 1] = "</header>"
  local toc = {}
  for _, b in ipairs(s.blocks) do
    if b.kind == "heading" then
      toc[#toc + 1] = ('<li class="l%d"><a href="#%s">%s</a></li>'):format(b.level, b.id, esc(b.text))
    end
  end
  toc[#toc + 1] = '<li class="l1"><a href="#provenance">Provenance</a></li>'
  h[#h + 1] = '<nav class="toc" id="contents"><h2>Contents</h2><ol>' .. table.concat(toc) .. "</ol></nav>"
  h[#h + 1] = "<main>"
  for _, b in ipairs(s.blocks) do
    if b.kind == "heading" then
      h[#h + 1] = ('<h%d id="%s">%s<a class="anchor" href="#%s" aria-label="link to this section">#</a></h%d>')
                  :format(b.level, b.id, esc(b.text), b.id, b.level)
    elseif b.kind == "text" or b.kind == "table" then
      h[#h + 1] = b.html
    elseif b.kind == "figure" then
      h[#h + 1] = "<figure>" .. b.body .. (b.caption and ("<figcaption>" .. inline(b.caption) .. "</figcaption>") or "")
                  .. "</figure>"
    elseif b.kind == "viewer" then
      h[#h + 1] = viewer_html(b)
    end
  end
  h[#h + 1] = "</main>"
  h[#h + 1] = "<footer>" .. provenance_html(s) .. "</footer>"
  if s.nviewers > 0 then
    h[#h + 1] = inline_script(s.niivue)
    h[#h + 1] = "<script>" .. VIEWER_JS .. "</script>"
  end
  h[#h + 1] = "</body>\n</html>\n"
  return table.concat(h, "\n")
end

function Report:write(path)
  local s = self_of(self, "write")
  check_string(path, "write", 2, 2)
  local html = render(s)
  local ok, err = pcall(C().write, path, html)
  if not ok then error(tostring(err), 2) end
  return path
end

for k in pairs(Report) do method_names[#method_names + 1] = k end
table.sort(method_names)

-- ---------------------------------------------------------------- one call

local section_kinds = { "heading", "text", "table", "figure", "viewer", "provenance" }

-- nl.report.write(path, {title=, subtitle=, sections = {{heading = "..", level = 2}, {text = ".."},
-- {table = t, caption = ..}, {figure = path, ...}, {viewer = path, ...}, {provenance = {...}}}})
function M.write(path, o)
  check_string(path, "write", 1, 2)
  o = check_options(o, "write", { "title", "subtitle", "sections", "seeds", "command" }, 2, 2)
  local r = M.new{ title = o.title, subtitle = o.subtitle }
  if o.seeds or o.command then r:provenance{ seeds = o.seeds, command = o.command } end
  for i, sec in ipairs(o.sections or {}) do
    local kind
    for _, k in ipairs(section_kinds) do
      if sec[k] ~= nil then
        if kind then error(("section %d has both '%s' and '%s'"):format(i, kind, k), 2) end
        kind = k
      end
    end
    if not kind then error(("section %d: expected one of the keys %s"):format(i, table.concat(section_kinds, ", ")), 2) end
    local opts = {}
    for k, v in pairs(sec) do if k ~= kind then opts[k] = v end end
    local extra = kind == "heading" and { "level" } or {}
    if kind == "heading" or kind == "text" or kind == "provenance" then
      for k in pairs(opts) do
        local ok = false
        for _, e in ipairs(extra) do ok = ok or k == e end
        if not ok then error(("section %d: unknown key '%s' for a %s section"):format(i, tostring(k), kind), 2) end
      end
    end
    local ok, err
    if kind == "heading" then ok, err = pcall(r.heading, r, sec.heading, sec.level)
    elseif kind == "text" then ok, err = pcall(r.text, r, sec.text)
    elseif kind == "provenance" then ok, err = pcall(r.provenance, r, sec.provenance)
    else ok, err = pcall(r[kind], r, sec[kind], next(opts) and opts or nil) end
    if not ok then error(("section %d: %s"):format(i, tostring(err)), 2) end
  end
  return r:write(path)
end

return M
