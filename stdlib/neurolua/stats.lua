-- neurolua/stats.lua: nl.stats.glm_contrasts, several contrasts of one model tested with
-- the same rearrangements, with FWE over all contrasts and tests jointly (PALM
-- -corrcon; Winkler et al. 2016, "Non-parametric combination and related permutation
-- tests for neuroimaging", section on multiple contrasts).
--
-- Each contrast is an ordinary nl.stats.glm run with one seed: rearrangement k is drawn
-- from the stream (seed, k) whatever the contrast, so every run sees the same
-- rearrangements and the joint maximum of rearrangement k is the largest of the runs'
-- maxima. Joint FWE p of test j of contrast c = #{k : max over contrasts and tests of
-- T*_k >= T_cj} / N (ties within a relative 1e-10, as nl.stats.glm).
return function(nl)
  -- Sorted copy of the elementwise maximum of the given N x 1 Matrices.
  local function joint_maxima(fields)
    local out = {}
    for k = 1, fields[1]:rows() do
      local v = -math.huge
      for _, f in ipairs(fields) do
        local x = f:get(k, 1)
        if x == x and x > v then v = x end
      end
      out[k] = v
    end
    table.sort(out)
    return out
  end

  -- #{v in sorted : v >= x} / #sorted, by bisection.
  local function share_at_least(sorted, x)
    local lo, hi = 1, #sorted + 1
    while lo < hi do
      local mid = (lo + hi) // 2
      if sorted[mid] >= x then hi = mid else lo = mid + 1 end
    end
    return (#sorted + 1 - lo) / #sorted
  end

  local function joint_p(stat, sorted)
    local p = nl.matrix.zeros(stat:rows(), 1)
    for j = 1, stat:rows() do
      local t = stat:get(j, 1)
      p:set(j, 1, t == t and share_at_least(sorted, t - 1e-10 * math.abs(t)) or 0 / 0)
    end
    return p
  end

  function nl.stats.glm_contrasts(Y, X, contrasts, options)
    if type(contrasts) ~= "table" or #contrasts < 2 then
      error("bad argument #3 to 'glm_contrasts' (a list of at least two contrasts expected)", 2)
    end
    options = options or {}
    if type(options) ~= "table" then error("bad argument #4 to 'glm_contrasts' (options must be a table)", 2) end
    if not options.permutations or options.permutations < 1 then
      error("bad argument #4 to 'glm_contrasts' (joint FWE needs option 'permutations' >= 1)", 2)
    end
    local results, seed = {}, options.seed
    for c, contrast in ipairs(contrasts) do
      local o = {}
      for key, v in pairs(options) do o[key] = v end
      o.seed = seed
      local ok, r = pcall(nl.stats.glm, Y, X, contrast, o)
      if not ok then error(("contrast %d: %s"):format(c, tostring(r)), 2) end
      seed = r.seed  -- the first run's seed (drawn from the session when not given)
      results[c] = r
    end
    local first = results[1]
    for c, r in ipairs(results) do
      if r.test ~= first.test or ((r.test == "F" or r.test == "G") and r.df1 ~= first.df1) then
        local function kind(x)
          if x.test == "F" or x.test == "G" then return ("%s with %d rows"):format(x.test, math.tointeger(x.df1) or 0) end
          return x.test
        end
        error(("bad argument #3 to 'glm_contrasts' (contrast %d is %s but contrast 1 is %s: the joint maximum needs "
               .. "statistics on one scale)"):format(c, kind(r), kind(first)), 2)
      end
    end
    local stats, tfces = {}, {}
    for c, r in ipairs(results) do
      stats[c] = r.max_stat
      tfces[c] = r.max_tfce
    end
    local sorted = joint_maxima(stats)
    local sorted_tfce = #tfces == #results and joint_maxima(tfces) or nil
    for _, r in ipairs(results) do
      -- The tested scale: |t| two-sided, t or -t one-sided, F (v and G likewise).
      local T = r.stat
      if (r.test == "t" or r.test == "v") and r.tail ~= "right" then
        T = T:clone()
        for j = 1, T:rows() do
          local v = T:get(j, 1)
          T:set(j, 1, r.tail == "two" and math.abs(v) or -v)
        end
      end
      rawset(r, "p_fwe_joint", joint_p(T, sorted))
      if sorted_tfce then rawset(r, "p_tfce_fwe_joint", joint_p(r.tfce, sorted_tfce)) end
      rawset(r, "joint_contrasts", #results)
    end
    return results
  end
end
