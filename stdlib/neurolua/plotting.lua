-- neurolua/plotting.lua: the plot methods of the result objects, written on the public
-- nl.plot functions (docs/reference/plot.md): CVResult and Prediction get plot_roc and
-- plot_permutations, CVResult plot_weights, LMM plot_effects. Each takes the path and
-- the common style options of nl.plot (title, width, height, dpi, font_size, cmap, ...)
-- plus its own, and returns the path.
return function(nl)
  -- Splits opts into the method's own keys (listed in `own`) and the rest (style),
  -- so an unknown key still reaches nl.plot's option check and its did-you-mean.
  local function split(opts, own)
    if opts ~= nil and type(opts) ~= "table" then error("options must be a table", 3) end
    local mine, style = {}, {}
    for k, v in pairs(opts or {}) do
      if own[k] then mine[k] = v else style[k] = v end
    end
    return mine, style
  end

  local function column(m)
    local t = {}
    for i = 1, m:rows() do t[i] = m:get(i, 1) end
    return t
  end

  local function roc_curve(median, y, mine, label)
    local r = nl.stats.roc(median, y, { band = mine.band ~= false, boot = mine.band ~= false and (mine.boot or 2000) or nil,
                                        seed = mine.band ~= false and (mine.seed or 1) or nil, level = mine.level })
    local sens, spec = column(r.curve.sensitivity), column(r.curve.specificity)
    local fpr = {}
    for i = 1, #spec do fpr[i] = 1 - spec[i] end
    local curve = { fpr = fpr, tpr = sens, auc = r.auc, ci = r.ci, label = mine.label or label }
    if r.band then
      local bfpr, bsp = {}, column(r.band.specificity)
      for i = 1, #bsp do bfpr[i] = 1 - bsp[i] end
      curve.band = { fpr = bfpr, lo = column(r.band.lower), hi = column(r.band.upper) }
    end
    return curve
  end

  -- Whether a result's metrics are a regression's.
  local function regression(self)
    local m = self.metrics_
    local mt = m ~= nil and getmetatable(m)
    return type(mt) == "table" and mt.__name == "neurolua.RegressionMetrics"
  end

  local roc_own = { band = true, boot = true, seed = true, level = true, label = true }
  local function plot_roc(self, path, opts, what, label)
    local mine, style = split(opts, roc_own)
    local y = self.y_
    if y == nil then error(what .. " has no labels: give the labels to CVResult:apply to plot its ROC curve", 3) end
    if regression(self) then
      error(what .. " is a regression: it has no ROC curve (plot_predictions draws the predictions against the targets)", 3)
    end
    if style.title == nil then style.title = "ROC curve" end
    return nl.plot.roc(path, { roc_curve(self.median_, y, mine, label) }, style)
  end

  local perm_own = { bins = true }
  local function plot_permutations(self, path, opts, what)
    local mine, style = split(opts, perm_own)
    local null = self.permutation_bac_
    if null == nil then
      error(what .. " has no permutations: run it with the option permutations = n (e.g. 1000)", 3)
    end
    local m = self.metrics_
    local stat = self.permutation_statistic_ or "BAC"
    local key = ({ BAC = "bac", MAE = "mae", RMSE = "rmse", r = "r", ["R^2"] = "r2" })[stat] or "bac"
    style.observed = m[key]
    style.p = self.p_
    style.bins = mine.bins
    if style.xlabel == nil then style.xlabel = stat == "BAC" and "balanced accuracy" or stat end
    if style.ylabel == nil then style.ylabel = "permutations" end
    if style.title == nil then
      local shown = stat == "BAC" and string.format("%.1f %%", 100 * m.bac) or string.format("%.4g", m[key])
      style.title = string.format("Label permutations: observed %s %s, p = %.3g (%d of %d reached it)", stat, shown,
        self.p_, self.permutation_count_, null:rows())
    end
    return nl.plot.histogram(path, column(null), style)
  end

  -- A regression: the median predictions against the targets, with the OLS line and r.
  local function plot_predictions(self, path, opts, what)
    if not regression(self) then
      error(what .. " is a classification: plot_roc draws its scores (plot_predictions is for a regression)", 3)
    end
    local y = self.y_
    if y == nil then error(what .. " has no targets: give them to CVResult:apply to plot its predictions", 3) end
    local style = {}
    for k, v in pairs(opts or {}) do style[k] = v end
    if style.fit == nil then style.fit = "linear" end
    if style.annotate == nil then style.annotate = true end
    if style.xlabel == nil then style.xlabel = "target" end
    if style.ylabel == nil then style.ylabel = "predicted (median over the base models)" end
    if style.title == nil then
      local m = self.metrics_
      style.title = string.format("Predictions: MAE %.4g, R^2 %.3f", m.mae, m.r2)
    end
    return nl.plot.scatter(path, column(y), column(self.median_), style)
  end

  local weights_own = { top = true, units = true, cvr = true, fdr = true, value = true, sign_labels = true }
  local function plot_weights(self, path, opts)
    local mine, style = split(opts, weights_own)
    local w = self:weights{ top = mine.top or 25, units = mine.units, cvr = mine.cvr, fdr = mine.fdr }
    local names, values, marks = {}, {}, {}
    local col = (mine.value or "mean") == "cvr" and w.cvr or w.mean
    if mine.value ~= nil and mine.value ~= "mean" and mine.value ~= "cvr" then
      error("option 'value' must be \"mean\" or \"cvr\", got " .. tostring(mine.value), 2)
    end
    -- A model not shown to beat chance (permutation p >= 0.05, or no permutations) gets
    -- no sign-consistency marks and says why in the title and the axis label.
    local caveat = self:weights_caveat()
    for i = 1, #w do
      names[i], values[i], marks[i] = w.name[i], col[i], (not caveat and w.significant[i]) and true or false
    end
    style.sign_colours = true
    style.sign_labels = mine.sign_labels or { "positive class (+1)", "negative class (-1)" }
    style.marks = marks
    if style.xlabel == nil then
      style.xlabel = (mine.value == "cvr" and "CV ratio of the weight" or "mean back-projected weight")
        .. (caveat and " (no * marks: not shown to beat chance)" or " (* = sign-consistent, FDR)")
    end
    -- The caveat ends the title, a title of the caller's too: a figure of a chance-level
    -- model's weights must say so wherever it is shown.
    style.title = style.title or string.format("Top %d features", #w)
    if caveat then
      local p = self.p_plus_one_
      style.title = style.title .. (p and string.format(": not better than chance (p = %.2g)", p)
                                    or ": no permutation test")
    end
    return nl.plot.bars(path, names, values, style)
  end

  -- LMM: the fixed effects with their 95 % Wald intervals (estimate -+ 1.96 se, lme4's
  -- confint(method = "Wald")), the intercept left out unless asked.
  local effects_own = { intercept = true }
  local function plot_effects(self, path, opts)
    local mine, style = split(opts, effects_own)
    local c = self.coefficients_
    local names, values, errors, marks = {}, {}, {}, {}
    for i = 1, #c do
      if mine.intercept or c.term[i] ~= "(Intercept)" then
        names[#names + 1] = c.term[i]
        values[#values + 1] = c.estimate[i]
        errors[#errors + 1] = 1.959963984540054 * c.se[i]
        marks[#marks + 1] = c.p[i] == c.p[i] and c.p[i] < 0.05
      end
    end
    if #names == 0 then error("LMM:plot_effects: the model has no fixed effect besides the intercept", 2) end
    style.errors = errors
    style.marks = marks
    if style.xlabel == nil then style.xlabel = "estimate with 95 % Wald interval (* = p < 0.05)" end
    if style.title == nil then style.title = "Fixed effects: " .. tostring(self.formula) end
    return nl.plot.bars(path, names, values, style)
  end
  nl._methods("LMM").plot_effects = plot_effects

  local cv = nl._methods("CVResult")
  cv.plot_roc = function(self, path, opts) return plot_roc(self, path, opts, "CVResult", "nested CV") end
  cv.plot_permutations = function(self, path, opts) return plot_permutations(self, path, opts, "CVResult") end
  cv.plot_weights = plot_weights
  cv.plot_predictions = function(self, path, opts) return plot_predictions(self, path, opts, "CVResult") end
  local pr = nl._methods("Prediction")
  pr.plot_predictions = function(self, path, opts) return plot_predictions(self, path, opts, "Prediction") end
  pr.plot_roc = function(self, path, opts) return plot_roc(self, path, opts, "Prediction", "external") end
  pr.plot_permutations = function(self, path, opts) return plot_permutations(self, path, opts, "Prediction") end
end
