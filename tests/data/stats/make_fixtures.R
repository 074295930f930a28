# R references (run by make_fixtures.py after it writes classical.txt): t.test and
# cor.test intervals and df, p.adjust(bonferroni), and pROC's ROC, DeLong CI and Youden
# coordinates. Writes r_classical.txt and roc.txt in the same named-matrix format.
suppressMessages(library(pROC))
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))

read_fixture <- function(path) {
  lines <- readLines(path)
  out <- list()
  i <- 1
  while (i <= length(lines)) {
    if (startsWith(lines[i], "matrix ")) {
      f <- strsplit(lines[i], " ")[[1]]
      r <- as.integer(f[3]); c <- as.integer(f[4])
      vals <- if (r > 0) as.numeric(unlist(strsplit(lines[(i + 1):(i + r)], " "))) else numeric(0)
      out[[f[2]]] <- matrix(vals, r, c, byrow = TRUE)
      i <- i + r
    }
    i <- i + 1
  }
  out
}
con <- NULL
put <- function(name, M) {
  M <- as.matrix(M)
  cat(sprintf("matrix %s %d %d\n", name, nrow(M), ncol(M)), file = con)
  for (i in seq_len(nrow(M))) cat(paste(sprintf("%.17g", M[i, ]), collapse = " "), "\n", file = con, sep = "")
}

d <- read_fixture(file.path(here, "classical.txt"))
con <- file(file.path(here, "r_classical.txt"), "w")
cat("# R", R.version$major, ".", R.version$minor, " t.test / cor.test / p.adjust references\n", file = con, sep = "")
# rows two.sided, greater, less; cols: estimate (or mean difference), df, conf low, conf high
tt <- function(f) t(sapply(c("two.sided", "greater", "less"), function(a) {
  r <- f(a)
  est <- if (length(r$estimate) == 2) r$estimate[1] - r$estimate[2] else r$estimate
  c(est, r$parameter, r$conf.int[1], r$conf.int[2])
}))
x <- d$t_x[, 1]; y <- d$t_y[, 1]; z <- d$t_z[, 1]
put("student", tt(function(a) t.test(x, y, var.equal = TRUE, alternative = a)))
put("welch", tt(function(a) t.test(x, y, var.equal = FALSE, alternative = a)))
put("paired", tt(function(a) t.test(x, z, paired = TRUE, alternative = a)))
put("one", tt(function(a) t.test(x, mu = 0.3, alternative = a)))
put("pearson_ci", tt(function(a) cor.test(d$corr_x[, 1], d$corr_y[, 1], alternative = a)))
pb <- d$bonf_p[, 1]; pb[is.nan(pb)] <- NA
b <- p.adjust(pb, "bonferroni"); b[is.na(b)] <- NaN
put("bonferroni", b)
close(con)

con <- file(file.path(here, "roc.txt"), "w")
cat("# pROC ", as.character(packageVersion("pROC")), " references: roc(), ci.auc(method = 'delong'), coords('best', youden)\n",
    file = con, sep = "")
dirs <- list(roc1 = c("<", ">"), roc2 = c("<"), roc3 = c("<"), roc4 = c("auto"))
for (k in names(dirs)) {
  s <- d[[paste0(k, "_s")]][, 1]; lab <- d[[paste0(k, "_y")]][, 1]
  for (dir in dirs[[k]]) {
    r <- roc(lab, s, levels = c(-1, 1), direction = dir, quiet = TRUE)
    tag <- paste0(k, "_", c("<" = "less", ">" = "greater", auto = "auto")[[dir]])
    ci <- as.numeric(ci.auc(r, method = "delong"))
    put(paste0(tag, "_auc"), rbind(c(as.numeric(auc(r)), ci[1], ci[3], sqrt(var(r, method = "delong")),
                                     ifelse(r$direction == "<", 1, -1))))
    put(paste0(tag, "_curve"), cbind(r$thresholds, r$sensitivities, r$specificities))
    b <- coords(r, "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity"),
                transpose = FALSE)
    put(paste0(tag, "_youden"), as.matrix(b))
  }
}
close(con)
cat(sprintf("%s, pROC %s\n", R.version.string, as.character(packageVersion("pROC"))))
