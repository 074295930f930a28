#!/usr/bin/env Rscript
# References of the variance-group statistics (tests/engine/stats/test_variance_groups.cpp):
# Welch's two-sample t-test (t.test(var.equal = FALSE)) and Welch's one-way ANOVA
# (oneway.test(var.equal = FALSE)) on simulated columns with unequal group variances.
#
#   cd tests/data/permutation && Rscript make_welch.R > welch.txt
#
# Output: the named-matrix fixture format ("matrix NAME ROWS COLS", then the rows).
set.seed(20261207)
put <- function(name, M) {
  M <- as.matrix(M)
  cat(sprintf("matrix %s %d %d\n", name, nrow(M), ncol(M)))
  for (i in seq_len(nrow(M))) cat(sprintf("%.17g", M[i, ]), "\n")
}
cat(sprintf("# R %s: t.test and oneway.test (stats), var.equal = FALSE; seed 20261207\n", getRversion()))

# Two groups of 7 and 11 rows, sd 1 and 3, five columns (shifted means in some).
g2 <- rep(c(0, 1), c(7, 11))
Y2 <- sapply(1:5, function(j) rnorm(18, mean = ifelse(g2 == 1, 0.4 * (j - 2), 0), sd = ifelse(g2 == 1, 3, 1)))
w2 <- t(sapply(1:5, function(j) {
  r <- t.test(Y2[g2 == 0, j], Y2[g2 == 1, j], var.equal = FALSE)
  c(r$statistic, r$parameter, r$p.value)
}))
put("two_group", g2)
put("two_Y", Y2)
put("two_welch", w2)   # t (group 0 - group 1), df, two-sided p

# Three groups of 6, 9 and 5 rows, sd 1, 2 and 0.5.
g3 <- rep(0:2, c(6, 9, 5))
Y3 <- sapply(1:4, function(j) rnorm(20, mean = c(0, 0.5 * (j - 1), -0.3 * j)[g3 + 1], sd = c(1, 2, 0.5)[g3 + 1]))
w3 <- t(sapply(1:4, function(j) {
  r <- oneway.test(y ~ factor(g), data = data.frame(y = Y3[, j], g = g3), var.equal = FALSE)
  c(r$statistic, r$parameter, r$p.value)
}))
put("three_group", g3)
put("three_Y", Y3)
put("three_welch", w3)  # F, num df, denom df, p
