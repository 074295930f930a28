#!/usr/bin/env Rscript
# Fixtures for the extended LMM (several random-effect terms, factor random slopes,
# likelihood-ratio and F tests, profile intervals, prediction).
#
#   cd tests/data/lmm && Rscript make_fixtures2.R
#
# Writes penicillin.csv, pastes.csv, cake.csv (lme4's data sets), sleep_phase.csv
# (sleepstudy.csv plus two factors), predict_ss.csv / predict_pen.csv (new data for
# predict), multi.txt ("model.key v1 v2 ...", 17 significant digits, as lmm.txt) and
# multi_names.txt ("model.key s1 s2 ...": names, levels, flags; NA written as NA).
# Reads sleepstudy.csv and sim.csv, written by make_fixtures.R.
#
# All fits use the tight optimiser (minqa's bobyqa, rhoend 1e-12), so they sit at the
# optimum. Every data set is fitted as read back from its CSV, i.e. exactly as a test sees it.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})

tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
out <- file("multi.txt", "w")
nms <- file("multi_names.txt", "w")
cat(sprintf("# R %s, lme4 %s, lmerTest %s, numDeriv %s, minqa %s\n", getRversion(), packageVersion("lme4"),
            packageVersion("lmerTest"), packageVersion("numDeriv"), packageVersion("minqa")), file = out)
put <- function(key, x) cat(key, sprintf("%.17g", as.numeric(x)), "\n", file = out)
putn <- function(key, x) cat(key, ifelse(is.na(x), "NA", as.character(x)), "\n", file = nms)

# Tight lmer fit; warnings and messages (convergence, singularity) are echoed, not fatal.
fit <- function(name, formula, data, REML = TRUE) {
  withCallingHandlers(lmer(formula, data, REML = REML, control = tight),
                      warning = function(w) { cat("WARNING", name, ":", conditionMessage(w), "\n"); invokeRestart("muffleWarning") },
                      message = function(m) { cat("MESSAGE", name, ":", conditionMessage(m)); invokeRestart("muffleMessage") })
}

# Everything a test compares, for one fit (make_fixtures.R's keys; one ranef line per term).
record <- function(name, fit) {
  put(paste0(name, ".beta"), fixef(fit))
  s <- summary(fit, ddf = "Satterthwaite")$coefficients
  put(paste0(name, ".se"), s[, "Std. Error"])
  put(paste0(name, ".t"), s[, "t value"])
  put(paste0(name, ".df_satterthwaite"), s[, "df"])
  put(paste0(name, ".p_satterthwaite"), s[, "Pr(>|t|)"])
  rdf <- nobs(fit) - length(fixef(fit))
  put(paste0(name, ".df_residual"), rdf)
  put(paste0(name, ".p_residual"), 2 * pt(-abs(s[, "t value"]), rdf))
  put(paste0(name, ".theta"), getME(fit, "theta"))
  put(paste0(name, ".sigma"), sigma(fit))
  vc <- as.data.frame(VarCorr(fit))
  put(paste0(name, ".vcov_random"), vc$vcov)   # variances, covariances, residual (lme4's order)
  put(paste0(name, ".criterion"), if (isREML(fit)) REMLcrit(fit) else deviance(fit))
  put(paste0(name, ".loglik"), logLik(fit))
  put(paste0(name, ".aic"), AIC(fit))
  put(paste0(name, ".bic"), BIC(fit))
  re <- ranef(fit)
  for (k in seq_along(re)) {
    put(sprintf("%s.ranef.%d", name, k), as.matrix(re[[k]]))   # column-major: all intercepts, then slopes
    putn(sprintf("%s.ranef_cols.%d", name, k), colnames(re[[k]]))
    putn(sprintf("%s.ranef_levels.%d", name, k), rownames(re[[k]]))
  }
  put(paste0(name, ".fitted"), fitted(fit))
  put(paste0(name, ".n"), nobs(fit))
  putn(paste0(name, ".fixef_names"), names(fixef(fit)))
  putn(paste0(name, ".ranef_names"), names(re))   # grouping factors, lme4's term order
  putn(paste0(name, ".vc_grp"), vc$grp)
  putn(paste0(name, ".vc_var1"), vc$var1)
  putn(paste0(name, ".vc_var2"), vc$var2)
  putn(paste0(name, ".singular"), isSingular(fit))
  cat(name, ":", paste(names(fixef(fit)), collapse = " | "), "; terms", paste(names(re), collapse = " | "),
      if (isSingular(fit)) "; SINGULAR", "\n")
  invisible(fit)
}

# lmerTest F tests (Satterthwaite), type 3 and type 1, with their contrast matrices.
# lmerTest zapsmall()s type-3 contrasts to 7 digits (1/3 -> 0.3333333) and tests those.
ftests <- function(name, fit) {
  for (type in c(3, 1)) {
    key <- sprintf("%s.anova%d", name, type)
    a <- anova(fit, type = type)
    put(paste0(key, ".F"), a[, "F value"])
    put(paste0(key, ".numdf"), a[, "NumDF"])
    put(paste0(key, ".dendf"), a[, "DenDF"])
    put(paste0(key, ".p"), a[, "Pr(>F)"])
    put(paste0(key, ".sumsq"), a[, "Sum Sq"])
    put(paste0(key, ".meansq"), a[, "Mean Sq"])
    putn(paste0(key, ".terms"), rownames(a))
    L <- show_tests(a)
    for (i in seq_along(L)) {
      putn(sprintf("%s.L.%d.dim", key, i), dim(L[[i]]))   # rows, columns (columns = fixef_names)
      put(sprintf("%s.L.%d", key, i), t(L[[i]]))          # row-major
    }
  }
}

# lme4's anova(m0, m1) (refits REML fits by ML with lme4's default bobyqa settings).
# loglik/deviance/aic/bic/npar: both rows; chisq/df/p: second row. loglik_tight: the
# same two models fitted by ML with the tight optimiser, for comparison.
lrt <- function(key, f0, f1, data) {
  m0 <- fit(key, f0, data)
  m1 <- fit(key, f1, data)
  a <- anova(m0, m1)
  put(paste0(key, ".loglik"), a$logLik)
  put(paste0(key, ".deviance"), a$deviance)
  put(paste0(key, ".aic"), a$AIC)
  put(paste0(key, ".bic"), a$BIC)
  put(paste0(key, ".npar"), a$npar)
  put(paste0(key, ".chisq"), a$Chisq[2])
  put(paste0(key, ".df"), a$Df[2])
  put(paste0(key, ".p"), a[["Pr(>Chisq)"]][2])
  put(paste0(key, ".loglik_tight"), c(logLik(fit(key, f0, data, FALSE)), logLik(fit(key, f1, data, FALSE))))
}

# Profile and Wald intervals (Wald gives NA, written NaN, for variance parameters).
intervals <- function(name, fit) {
  ci <- tryCatch(suppressWarnings(confint(fit, method = "profile", oldNames = FALSE)),
                 error = function(e) { cat("PROFILE FAILED", name, ":", conditionMessage(e), "\n"); NULL })
  putn(paste0(name, ".profile_ok"), !is.null(ci))
  if (!is.null(ci)) {
    put(paste0(name, ".confint.lower"), ci[, 1])
    put(paste0(name, ".confint.upper"), ci[, 2])
    putn(paste0(name, ".confint.names"), rownames(ci))
  }
  w <- confint(fit, method = "Wald", oldNames = FALSE)
  put(paste0(name, ".confint_wald.lower"), ifelse(is.na(w[, 1]), NaN, w[, 1]))
  put(paste0(name, ".confint_wald.upper"), ifelse(is.na(w[, 2]), NaN, w[, 2]))
  putn(paste0(name, ".confint_wald.names"), rownames(w))
}

predictions <- function(name, fit, newdata) {
  put(paste0(name, ".predict"), predict(fit, newdata, allow.new.levels = TRUE))
  put(paste0(name, ".predict_pop"), predict(fit, newdata, re.form = NA))
}

# ---------------------------------------------------------------- Penicillin (crossed)
data(Penicillin)
write.csv(data.frame(diameter = Penicillin$diameter, plate = as.character(Penicillin$plate),
                     sample = as.character(Penicillin$sample)), "penicillin.csv", row.names = FALSE)
pen <- read.csv("penicillin.csv")
pen_reml <- record("pen_reml", fit("pen_reml", diameter ~ 1 + (1 | plate) + (1 | sample), pen))
pen_ml <- record("pen_ml", fit("pen_ml", diameter ~ 1 + (1 | plate) + (1 | sample), pen, REML = FALSE))

# ---------------------------------------------------------------- Pastes (nested)
data(Pastes)
write.csv(data.frame(strength = Pastes$strength, batch = as.character(Pastes$batch),
                     cask = as.character(Pastes$cask)), "pastes.csv", row.names = FALSE)
pastes <- read.csv("pastes.csv")
record("pastes_reml", fit("pastes_reml", strength ~ 1 + (1 | batch/cask), pastes))
record("pastes_ml", fit("pastes_ml", strength ~ 1 + (1 | batch/cask), pastes, REML = FALSE))

# ---------------------------------------------------------------- sleepstudy
ss <- read.csv("sleepstudy.csv")
record("ss_uncorr", fit("ss_uncorr", Reaction ~ Days + (Days || Subject), ss))
ss$phase <- ifelse(ss$Days <= 4, "early", "late")
ss$phase3 <- ifelse(ss$Days <= 2, "a", ifelse(ss$Days <= 5, "b", "c"))
write.csv(ss[, c("Reaction", "Days", "Subject", "phase", "phase3")], "sleep_phase.csv", row.names = FALSE)
sp <- read.csv("sleep_phase.csv")
ss_fslope <- record("ss_fslope", fit("ss_fslope", Reaction ~ phase + (1 + phase | Subject), sp))
# lme4 expands || to (1 | Subject) + (0 + phase | Subject): the two indicators stay correlated.
# Over-parameterised (intercept = early + late): same optimum as ss_fslope, theta not unique,
# lme4 warns "failed to converge with 1 negative eigenvalue".
record("ss_fslope_uncorr", fit("ss_fslope_uncorr", Reaction ~ phase + (1 + phase || Subject), sp))
ss_f3 <- record("ss_f3", fit("ss_f3", Reaction ~ Days + phase3 + (1 | Subject), sp))
ss_int <- record("ss_int", fit("ss_int", Reaction ~ Days + (1 | Subject), ss))
ss_int_ml <- record("ss_int_ml", fit("ss_int_ml", Reaction ~ Days + (1 | Subject), ss, REML = FALSE))

# ---------------------------------------------------------------- cake (recipe:replicate)
data(cake)
write.csv(data.frame(replicate = as.character(cake$replicate), recipe = as.character(cake$recipe),
                     temperature = as.character(cake$temperature), angle = cake$angle, temp = cake$temp),
          "cake.csv", row.names = FALSE)
# replicate and temperature are labels: read them as strings (levels then sort "1" < "10" < "2").
ck <- read.csv("cake.csv", colClasses = c(replicate = "character", temperature = "character"))
cake_nested <- record("cake_nested", fit("cake_nested", angle ~ recipe * temp + (1 | recipe:replicate), ck))

# ---------------------------------------------------------------- sim.csv, set "b"
sim <- read.csv("sim.csv", na.strings = "")
sb <- subset(sim, set == "b")   # subject, time, site, group, age, score (3 scores NA)
sim_b_f <- record("sim_b_f", fit("sim_b_f", score ~ time * group + site + (1 + time | subject), sb))

# ---------------------------------------------------------------- likelihood-ratio tests
lrt("lrt_a", Reaction ~ Days + (1 | Subject), Reaction ~ Days + (1 + Days | Subject), ss)
lrt("lrt_b", diameter ~ 1 + (1 | plate), diameter ~ 1 + (1 | plate) + (1 | sample), pen)

# ---------------------------------------------------------------- F tests (Satterthwaite)
ftests("ss_f3", ss_f3)
ftests("cake_nested", cake_nested)
ftests("sim_b_f", sim_b_f)

# ---------------------------------------------------------------- confidence intervals
intervals("pen_ml", pen_ml)
intervals("ss_int_ml", ss_int_ml)
# REML: lme4 1.1-31 does profile it, but devfun2() first refits by ML (refitML, no
# warning), so the profile intervals equal ss_int_ml's; the Wald ones use the REML SEs.
intervals("ss_int", ss_int)

# ---------------------------------------------------------------- prediction
# Existing and new levels ("S999"; plate "new", sample "new") of every grouping factor.
write.csv(data.frame(Days = c(0, 7, 0, 7), Subject = c("S308", "S308", "S999", "S999"),
                     phase = c("early", "late", "early", "late")), "predict_ss.csv", row.names = FALSE)
write.csv(data.frame(plate = c("a", "a", "new", "new"), sample = c("A", "new", "A", "new")),
          "predict_pen.csv", row.names = FALSE)
predictions("ss_fslope", ss_fslope, read.csv("predict_ss.csv"))
predictions("pen_reml", pen_reml, read.csv("predict_pen.csv"))

close(out)
close(nms)
