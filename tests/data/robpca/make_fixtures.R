# Reference fixtures for tests/engine/ml/test_robpca.cpp and tests/engine/ml/test_pca.cpp.
#
# Every number checked by those tests comes from R (rrcov::PcaHubert,
# robustbase::covMcd, stats::prcomp), never from neurolua itself.
# Run from this folder:   Rscript make_fixtures.R
# Data are rounded to 10 significant digits *before* fitting, so the CSV files
# hold exactly the matrices R saw.
suppressPackageStartupMessages({
  library(rrcov)       # PcaHubert, loads robustbase (covMcd)
})

wmat <- function(x, file, digits = 17) {
  x <- as.matrix(x)
  out <- matrix(sprintf(paste0("%.", digits, "g"), x), nrow(x), ncol(x))
  cn <- if (is.null(colnames(x))) paste0("V", seq_len(ncol(x))) else colnames(x)
  writeLines(c(paste(cn, collapse = ","), apply(out, 1, paste, collapse = ",")), file)
}
wvec <- function(v, file, name = "value") wmat(matrix(as.numeric(v), ncol = 1,
                                                       dimnames = list(NULL, name)), file)

# ---------------------------------------------------------------- data sets

# (a) 66 x 136: rank-15 signal + noise + 7 planted outliers (the paper's shape:
#     66 training subjects x 136 regions, k = 13).
set.seed(20240611)
n <- 66; p <- 136; r <- 15
P <- qr.Q(qr(matrix(rnorm(p * r), p, r)))
sdev <- c(seq(6, 2.2, length.out = 13), 1.2, 1.0)
Tm <- matrix(rnorm(n * r), n, r) %*% diag(sdev)
mu <- rnorm(p, 5, 1)
X66 <- sweep(Tm %*% t(P), 2, mu, "+") + matrix(rnorm(n * p, sd = 0.3), n, p)
out <- c(3, 11, 19, 27, 40, 52, 61)             # ~10 % outliers
dirs <- qr.Q(qr(cbind(P, matrix(rnorm(p * 3), p, 3))))[, r + 1:3]
X66[out[1:4], ] <- X66[out[1:4], ] + 8 * t(dirs %*% matrix(rnorm(3 * 4), 3, 4))  # orthogonal outliers
X66[out[5:7], ] <- X66[out[5:7], ] + 25 * t(P[, 1:2] %*% matrix(c(1, 1, -1, 1, 1, -1), 2, 3)) +
                   6 * t(dirs[, 1:3])                                          # bad leverage
X66 <- signif(X66, 10)

# (b) 40 x 8 (n > p): rank-3 structure + noise, 4 outliers.
set.seed(7)
X40 <- matrix(rnorm(40 * 3), 40, 3) %*% diag(c(4, 2.5, 1.5)) %*% t(qr.Q(qr(matrix(rnorm(24), 8, 3)))) +
       matrix(rnorm(40 * 8, sd = 0.4), 40, 8)
X40[c(5, 17, 29, 33), ] <- X40[c(5, 17, 29, 33), ] + matrix(rnorm(32, 6, 1), 4, 8)
X40 <- signif(X40, 10)

# (c) 20 x 30: n small enough that all choose(20, 2) = 190 < 250 pairs are used.
set.seed(11)
X20 <- matrix(rnorm(20 * 4), 20, 4) %*% diag(c(5, 3, 2, 1)) %*% t(qr.Q(qr(matrix(rnorm(120), 30, 4)))) +
       matrix(rnorm(600, sd = 0.2), 20, 30)
X20[c(2, 9), ] <- X20[c(2, 9), ] + 4
X20 <- signif(X20, 10)

# (d) octane (rrcov): 39 NIR spectra x 226 wavelengths, outliers 25, 26, 36-39.
data(octane, package = "rrcov")
Xoct <- as.matrix(octane[, -1])
stopifnot(!anyDuplicated(Xoct))

# ---------------------------------------------------------------- ROBPCA
# The last step of PcaHubert is a FAST-MCD from random starts, and for k = 13 with
# n = 66 its local optima differ from seed to seed (eigenvalues by up to ~30 %). The MCD
# is defined by the smallest criterion, so each case is fitted with seeds 1..nseeds and
# the fit with the lowest MCD criterion (log det of the raw h-subset covariance) is kept.
# The criterion is read from trace output (projection branch) or recomputed with the
# same seed (MCD branch, where CovMcd is the first user of the random stream).
mcd_crit <- function(X, k, mcd, seed) {
  set.seed(seed)
  op <- options(digits = 17)   # cat() in the trace prints getOption("digits") digits
  on.exit(options(op))
  out <- capture.output(fit <- PcaHubert(X, k = k, kmax = max(10, k), alpha = 0.75,
                                         mcd = mcd, trace = TRUE))
  line <- grep("MCD crit=", out, value = TRUE)
  crit <- if (length(line)) {
    as.numeric(sub(".*MCD crit= *([-0-9.e+]+).*", "\\1", line))
  } else {
    set.seed(seed)
    Z <- rrcov:::.classPC(X, signflip = TRUE, scores = TRUE)$scores
    CovMcd(as.data.frame(Z), alpha = 0.75)@crit
  }
  list(crit = crit, fit = fit)
}

robpca_case <- function(name, X, k, mcd = TRUE, nseeds = 100) {
  wmat(X, paste0(name, "_X.csv"), digits = 10)
  runs <- lapply(seq_len(nseeds), function(s) mcd_crit(X, k, mcd, s))
  crits <- sapply(runs, `[[`, "crit")
  best <- which.min(crits)
  fit <- runs[[best]]$fit
  wmat(matrix(getCenter(fit), nrow = 1), paste0(name, "_center.csv"))
  wmat(getLoadings(fit), paste0(name, "_loadings.csv"))
  wvec(getEigenvalues(fit), paste0(name, "_eigenvalues.csv"), "eigenvalue")
  wmat(cbind(sd = fit@sd, od = fit@od, flag = as.numeric(fit@flag)), paste0(name, "_dist.csv"))
  wmat(cbind(k = fit@k, h = fit@quan, rank = fit@rank, cutoff_sd = fit@cutoff.sd,
             cutoff_od = fit@cutoff.od, mcd_crit = crits[best], seed = best),
       paste0(name, "_meta.csv"))
  # Every seed's criterion and eigenvalues: the spread of R's own answers.
  ev <- t(sapply(runs, function(r) getEigenvalues(r$fit)))
  wmat(cbind(crit = crits, ev), paste0(name, "_seeds.csv"))
  cat(sprintf("%-8s n=%d p=%d k=%d h=%d best seed %d crit %.6f (range %.6f..%.6f) outliers: %s\n",
              name, nrow(X), ncol(X), fit@k, fit@quan, best, crits[best], min(crits),
              max(crits), paste(which(!fit@flag), collapse = " ")))
  invisible(fit)
}
robpca_case("sim66", X66, k = 13)
robpca_case("sim40", X40, k = 3, mcd = FALSE)   # projection branch with n > p
robpca_case("sim40mcd", X40, k = 3, mcd = TRUE) # rank 8 <= min(n/5, kmax): MCD branch
robpca_case("sim20", X20, k = 3)
robpca_case("octane", Xoct, k = 2)

# Internals checked exactly: the outlyingness of step 2 (deterministic directions) and
# rrcov's univariate MCD.
Z66 <- rrcov:::.classPC(X66, signflip = TRUE, scores = TRUE)$scores
wvec(rrcov:::outl(Z66, maxdir = 250, h = 53), "sim66_outl.csv", "outl")
Z20 <- rrcov:::.classPC(X20, signflip = TRUE, scores = TRUE)$scores
wvec(rrcov:::outl(Z20, maxdir = 250, h = 16), "sim20_outl.csv", "outl")
set.seed(5)
yu <- signif(c(rnorm(37), rnorm(6, 6)), 10)
wvec(yu, "unimcd_y.csv", "y")
um <- sapply(c(22, 30, 37, 43), function(q) { u <- rrcov:::unimcd(yu, quan = q); c(q, u$tmcd, u$smcd) })
wmat(t(um), "unimcd_ref.csv")

# ---------------------------------------------------------------- plain PCA
pc <- prcomp(X40)
wmat(matrix(pc$center, nrow = 1), "pca40_center.csv")
wmat(pc$rotation[, 1:4], "pca40_rotation.csv")
wvec(pc$sdev^2, "pca40_eigenvalues.csv", "eigenvalue")

# ---------------------------------------------------------------- MCD
mcd_case <- function(name, x, alpha = 0.5) {
  x <- as.matrix(x)
  wmat(x, paste0(name, "_X.csv"), digits = 10)
  # As above: the fit with the lowest criterion over seeds 1..30.
  fits <- lapply(1:30, function(s) { set.seed(s); covMcd(x, alpha = alpha) })
  m <- fits[[which.min(sapply(fits, `[[`, "crit"))]]
  wmat(matrix(m$center, nrow = 1), paste0(name, "_center.csv"))
  wmat(m$cov, paste0(name, "_cov.csv"))
  wmat(matrix(m$raw.center, nrow = 1), paste0(name, "_raw_center.csv"))
  wmat(m$raw.cov, paste0(name, "_raw_cov.csv"))
  wvec(sort(m$best), paste0(name, "_best.csv"), "best")
  wmat(cbind(h = m$quan, crit = m$crit, raw_cnp2_1 = m$raw.cnp2[1], raw_cnp2_2 = m$raw.cnp2[2],
             cnp2_1 = m$cnp2[1], cnp2_2 = m$cnp2[2]), paste0(name, "_meta.csv"))
  wvec(m$mcd.wt, paste0(name, "_wt.csv"), "weight")
  cat(sprintf("%-10s n=%d p=%d h=%d crit=%.6f\n", name, nrow(x), ncol(x), m$quan, m$crit))
}
set.seed(3)
M60 <- matrix(rnorm(60 * 4), 60, 4) %*% chol(matrix(c(4, 1, .5, 0, 1, 2, .3, .2, .5, .3, 1, .1, 0, .2, .1, .5), 4))
M60[1:6, ] <- M60[1:6, ] + matrix(c(8, -6, 5, 4), 6, 4, byrow = TRUE)
M60 <- signif(sweep(M60, 2, c(10, -3, 0, 100), "+"), 10)
mcd_case("mcd60", M60, alpha = 0.5)
mcd_case("mcd60a75", M60, alpha = 0.75)
set.seed(4)
U50 <- signif(c(rnorm(45, 2, 1.5), rnorm(5, 12, 1)), 10)
mcd_case("mcd_uni", matrix(U50, ncol = 1), alpha = 0.5)
data(hbk, package = "robustbase")
mcd_case("mcd_hbk", as.matrix(hbk[, 1:3]), alpha = 0.5)

# ---------------------------------------------------------------- provenance
writeLines(c(R.version.string,
             paste("rrcov", as.character(packageVersion("rrcov"))),
             paste("robustbase", as.character(packageVersion("robustbase")))),
           "versions.txt")
