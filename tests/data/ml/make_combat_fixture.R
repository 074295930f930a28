#!/usr/bin/Rscript
# Writes the ComBat reference fixture in tests/data/ml/combat/ (the reference of
# nl.ml.combat: tests/engine/ml/test_combat.cpp, tests/lua/test_combat.lua).
#   Rscript make_combat_fixture.R [abide_fs6_dir]   (Debian r-bioc-sva; run from tests/data/ml)
# Run with R 4.2.2 Patched (2022-11-10 r83330) and sva 3.46.0 (Debian 12 r-base-core,
# r-bioc-sva; the versions are also printed and written to combat/VERSIONS).
#
# Data: a small subset of ABIDE-I FreeSurfer 6 volumes (/work/shared/data/abide_fs6:
# aseg_table.tsv and phenotypes.csv), so that the tests do not need the full data:
# the 20 aseg volumes below of every subject of the training sites CALTECH, LEUVEN_2
# and UM_2 (105 subjects) and of the new site CMU (27), with age (AGE_AT_SCAN) and sex (SEX: 1 = "M",
# 2 = "F", text, so it is coded as a dummy).
# Files (CSV, numbers with 17 significant digits):
#   input.csv            participant_id, site, age, sex, the 20 volumes (training rows
#                        first, then the CMU rows);
#   parametric.csv       sva::ComBat(t(X_train), site, model.matrix(~ age + sex)) (defaults);
#   mean_only.csv        the same with mean.only = TRUE;
#   nonparametric.csv    the same with par.prior = FALSE;
#   new_site.csv         the CMU rows harmonized to the training fit: standardized with
#                        the training grand.mean, var.pooled and covariate effects
#                        (computed here exactly as sva::ComBat computes them), CMU's
#                        gamma*, delta* from sva's own internal it.sol with CMU's priors
#                        (sva:::aprior, sva:::bprior over its features), un-standardized.
suppressPackageStartupMessages(library(sva))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) > 0) args[1] else "/work/shared/data/abide_fs6"
out <- "combat"
dir.create(out, showWarnings = FALSE)

aseg <- read.delim(file.path(dir, "aseg_table.tsv"), check.names = FALSE)
aseg$SUB_ID <- as.integer(sub(".*_0*([0-9]+)$", "\\1", aseg[[1]]))
ph <- read.csv(file.path(dir, "phenotypes.csv"))
d <- merge(aseg, ph, by = "SUB_ID")
features <- c(paste0(rep(c("Left-", "Right-"), each = 10),
                     c("Lateral-Ventricle", "Thalamus-Proper", "Caudate", "Putamen", "Pallidum", "Hippocampus",
                       "Amygdala", "Accumbens-area", "VentralDC", "Cerebellum-Cortex")))
train_sites <- c("CALTECH", "LEUVEN_2", "UM_2")
new_site <- "CMU"
d <- d[d$SITE_ID %in% c(train_sites, new_site), ]
d <- d[order(d$SITE_ID == new_site, d$SUB_ID), ]  # training rows first, each part by SUB_ID
sex <- ifelse(d$SEX == 1, "M", "F")
input <- data.frame(participant_id = sprintf("sub-%07d", d$SUB_ID), site = d$SITE_ID, age = d$AGE_AT_SCAN,
                    sex = sex, check.names = FALSE)
X <- as.matrix(d[, features])
fmt <- function(m) apply(m, 2, function(v) sprintf("%.17g", v))
write_csv <- function(df, m, file) {
  o <- cbind(df, fmt(m))
  colnames(o) <- c(colnames(df), features)
  write.csv(o, file.path(out, file), row.names = FALSE, quote = FALSE)
}
write_csv(input, X, "input.csv")

tr <- d$SITE_ID %in% train_sites
Xt <- t(X[tr, ])  # sva: features x samples
batch <- d$SITE_ID[tr]
mod <- model.matrix(~ age + sex, data = input[tr, ])
id <- input[tr, "participant_id", drop = FALSE]
write_csv(id, t(ComBat(Xt, batch, mod)), "parametric.csv")
write_csv(id, t(ComBat(Xt, batch, mod, mean.only = TRUE)), "mean_only.csv")
write_csv(id, t(ComBat(Xt, batch, mod, par.prior = FALSE)), "nonparametric.csv")

# The training standardization, as in sva::ComBat (no reference batch, no NAs).
bf <- as.factor(batch)
batchmod <- model.matrix(~ -1 + bf)
design <- cbind(batchmod, mod)
design <- as.matrix(design[, !apply(design, 2, function(x) all(x == 1))])
n.batch <- nlevels(bf)
n.batches <- as.vector(table(bf))
n.array <- sum(n.batches)
B.hat <- solve(crossprod(design), tcrossprod(t(design), Xt))
grand.mean <- crossprod(n.batches / n.array, B.hat[1:n.batch, ])
var.pooled <- ((Xt - t(design %*% B.hat))^2) %*% rep(1 / n.array, n.array)
cov.new <- model.matrix(~ age + sex, data = input[!tr, ])[, -1, drop = FALSE]
Xn <- t(X[!tr, ])
stand.mean <- t(grand.mean) %*% t(rep(1, ncol(Xn))) + t(cov.new %*% B.hat[-(1:n.batch), ])
s.new <- (Xn - stand.mean) / (sqrt(var.pooled) %*% t(rep(1, ncol(Xn))))
g.hat <- rowMeans(s.new)
d.hat <- apply(s.new, 1, var)
est <- sva:::it.sol(s.new, g.hat, d.hat, mean(g.hat), var(g.hat), sva:::aprior(d.hat), sva:::bprior(d.hat))
adj <- (s.new - est["g.star", ]) / sqrt(est["d.star", ])
adj <- adj * (sqrt(var.pooled) %*% t(rep(1, ncol(Xn)))) + stand.mean
write_csv(input[!tr, "participant_id", drop = FALSE], t(adj), "new_site.csv")

v <- c(paste("R", R.version.string), paste("sva", as.character(packageVersion("sva"))))
writeLines(v, file.path(out, "VERSIONS"))
print(v)
