# pROC's AUC for every case of scores.csv (run by make_fixtures.py after it writes the
# scores). direction "<": controls (-1) score lower than cases (+1), fixed rather than
# guessed from the data, so a case with AUC < 0.5 stays below 0.5.
suppressMessages(library(pROC))
here <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "scores.csv"))
out <- data.frame(case = unique(d$case))
out$AUC <- sapply(out$case, function(k) {
  x <- d[d$case == k, ]
  as.numeric(auc(roc(x$label, x$score, levels = c(-1, 1), direction = "<", quiet = TRUE)))
})
out$AUC <- sprintf("%.17g", out$AUC)
write.csv(out, file.path(here, "proc_auc.csv"), row.names = FALSE, quote = FALSE)
cat(sprintf("%s, pROC %s\n", R.version.string, as.character(packageVersion("pROC"))))
