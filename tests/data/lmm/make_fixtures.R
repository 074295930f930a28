#!/usr/bin/env Rscript
# Fixtures for tests/engine/stats/test_lmm.cpp and tests/lua/test_lmm.lua.
#
#   cd tests/data/lmm && Rscript make_fixtures.R
#
# Writes sleepstudy.csv (lme4's sleepstudy, Belenky et al. 2003, as shipped with
# r-cran-lme4), sim.csv (a simulated longitudinal data set), and lmm.txt: one line per
# quantity, "model.key v1 v2 ...", 17 significant digits.
#
# References are lme4 fits with a tight optimiser (minqa's bobyqa, rhoend 1e-12), so
# they sit at the optimum rather than at lme4's default stopping point; the default
# fits are written too (prefix "default.") to show how far apart the two are.
# Satterthwaite df come from lmerTest (contest1D / summary), which uses numDeriv.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})

tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
out <- file("lmm.txt", "w")
cat(sprintf("# R %s, lme4 %s, lmerTest %s, numDeriv %s, minqa %s\n", getRversion(), packageVersion("lme4"),
            packageVersion("lmerTest"), packageVersion("numDeriv"), packageVersion("minqa")), file = out)
put <- function(key, x) cat(key, sprintf("%.17g", as.numeric(x)), "\n", file = out)

# Everything a test compares, for one fit.
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
  put(paste0(name, ".ranef"), as.matrix(ranef(fit)[[1]]))   # column-major: all intercepts, then slopes
  put(paste0(name, ".fitted"), fitted(fit))
  put(paste0(name, ".n"), nobs(fit))
  cat(name, ":", paste(names(fixef(fit)), collapse = " | "), "\n", file = stdout())
}

fit_both <- function(name, formula, data, REML = TRUE) {
  record(name, lmer(formula, data, REML = REML, control = tight))
  record(paste0("default.", name), lmer(formula, data, REML = REML))
}

# ---------------------------------------------------------------- sleepstudy
data(sleepstudy)
write.csv(data.frame(Reaction = sleepstudy$Reaction, Days = sleepstudy$Days,
                     Subject = paste0("S", sleepstudy$Subject)), "sleepstudy.csv", row.names = FALSE)
ss <- read.csv("sleepstudy.csv")
fit_both("ss_int", Reaction ~ Days + (1 | Subject), ss)
fit_both("ss_slope", Reaction ~ Days + (Days | Subject), ss)
fit_both("ss_slope_ml", Reaction ~ Days + (Days | Subject), ss, REML = FALSE)

# ---------------------------------------------------------------- simulated
set.seed(20240611)
# (a) METHODS.md section 3: FC ~ time + time:response + (1 | subject), 20 subjects x 2.
ns <- 20
subj <- sprintf("P%02d", 1:ns)
resp <- rep(c(TRUE, FALSE), length.out = ns)
a <- expand.grid(time = 0:1, s = 1:ns)
a$subject <- subj[a$s]
a$response <- resp[a$s]
a$fc <- 0.35 - 0.05 * a$time - 0.12 * a$time * a$response + rnorm(ns, 0, 0.08)[a$s] + rnorm(nrow(a), 0, 0.06)
# (b) 30 subjects x 5 visits, correlated random intercept and slope, a 3-level site, a
# two-level group, age; three scores missing.
nb <- 30
bs <- sprintf("Q%02d", 1:nb)
b <- expand.grid(time = 0:4, s = 1:nb)
b$subject <- bs[b$s]
site <- sample(c("A", "B", "C"), nb, replace = TRUE)
group <- rep(c("ctrl", "pat"), length.out = nb)
age <- round(runif(nb, 20, 60))
u <- MASS::mvrnorm(nb, c(0, 0), matrix(c(4, 0.6, 0.6, 0.5), 2))
b$site <- site[b$s]
b$group <- group[b$s]
b$age <- age[b$s]
b$score <- 20 + 0.8 * b$time + 1.5 * (b$group == "pat") - 0.6 * b$time * (b$group == "pat") +
  0.05 * b$age + c(A = 0, B = 1, C = -1)[b$site] + u[b$s, 1] + u[b$s, 2] * b$time + rnorm(nrow(b), 0, 1.2)
b$score[c(7, 58, 121)] <- NA
sim <- data.frame(subject = c(a$subject, b$subject), set = rep(c("a", "b"), c(nrow(a), nrow(b))),
                  time = c(a$time, b$time), response = c(a$response, rep(NA, nrow(b))),
                  fc = c(a$fc, rep(NA, nrow(b))), site = c(rep(NA, nrow(a)), b$site),
                  group = c(rep(NA, nrow(a)), b$group), age = c(rep(NA, nrow(a)), b$age),
                  score = c(rep(NA, nrow(a)), b$score))
write.csv(sim, "sim.csv", row.names = FALSE, na = "")
sim <- read.csv("sim.csv", na.strings = "")
sa <- subset(sim, set == "a")
sb <- subset(sim, set == "b")
fit_both("sim_a", fc ~ time + time:response + (1 | subject), sa)
fit_both("sim_b", score ~ time + group + age + time:group + (time | subject), sb)
fit_both("sim_b_ml", score ~ time + group + age + time:group + (time | subject), sb, REML = FALSE)
fit_both("sim_b_site", score ~ time + site + (1 | subject), sb)

# ---------------------------------------------------------------- optimiser robustness
# 12 random-slope data sets with zero, small and large intercept and slope variances
# (several fits end on a boundary); the REML criterion and the deviance of the tight
# lme4 fit. The test asks neurolua's optimum to be no worse.
set.seed(1)
robust <- NULL
for (k in 1:12) {
  G <- sample(5:25, 1)
  nt <- sample(3:8, 1)
  d <- expand.grid(time = 0:(nt - 1), g = 1:G)
  d$subject <- sprintf("G%02d", d$g)
  sdi <- c(0, 0.5, 2)[(k %% 3) + 1]
  sds <- c(0, 0.3, 1)[((k %/% 3) %% 3) + 1]
  d$x <- rnorm(nrow(d))
  d$y <- 1 + 0.5 * d$time + 0.3 * d$x + rnorm(G, 0, sdi)[d$g] + rnorm(G, 0, sds)[d$g] * d$time + rnorm(nrow(d))
  d <- d[sample(nrow(d), round(0.9 * nrow(d))), ]
  d$set <- sprintf("c%02d", k)
  robust <- rbind(robust, d[, c("set", "subject", "time", "x", "y")])
  for (reml in c(TRUE, FALSE)) {
    f <- suppressMessages(suppressWarnings(lmer(y ~ time + x + (time | subject), d, REML = reml, control = tight)))
    put(sprintf("robust.c%02d.%s.criterion", k, if (reml) "reml" else "ml"), if (reml) REMLcrit(f) else deviance(f))
  }
}
write.csv(robust, "robust.csv", row.names = FALSE)
close(out)

# ---------------------------------------------------------------- model matrices
# R's model.matrix on the rows of (b) with a score: names and values, for the coding
# rules (treatment contrasts vs indicators, interactions, no intercept).
mm <- file("model_matrix.txt", "w")
sbc <- sb[!is.na(sb$score), ]
formulas <- list(~ time + group + age + time:group, ~ time:group, ~ 0 + group + time, ~ group + group:site,
                 ~ site + time + site:time, ~ age:time + time)
for (i in seq_along(formulas)) {
  X <- model.matrix(formulas[[i]], sbc)
  cat(i, paste(colnames(X), collapse = "|"), "\n", file = mm, sep = "|")
  cat(i, sprintf("%.17g", as.numeric(X)), "\n", file = mm)   # column-major
}
close(mm)
