-- The named-matrix fixture format of tests/data/{glm,permutation,stats,cluster,tfce}:
-- "# comment" lines, then blocks "matrix NAME ROWS COLS" and ROWS lines of numbers
-- ("nan", "inf" allowed). fixture(path) returns { NAME = { {row 1}, {row 2}, ... } }.
local data = os.getenv("NL_TEST_DATA")

return function(path)
  local out, m = {}, nil
  for line in io.lines(data .. "/" .. path) do
    if line:sub(1, 1) ~= "#" then
      local n = line:match("^matrix (%S+) %d+ %d+$")
      if n then
        m = {}
        out[n] = m
      else
        local row = {}
        for tok in line:gmatch("%S+") do
          local low = tok:lower()
          row[#row + 1] = low == "nan" and 0 / 0 or low == "inf" and math.huge or low == "-inf" and -math.huge
                          or tonumber(tok)
        end
        m[#m + 1] = row
      end
    end
  end
  return out
end
