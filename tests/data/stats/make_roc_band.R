# pROC references for the ROC confidence band (nl::stats::sensitivity_at and roc_band):
#   Rscript tests/data/stats/make_roc_band.R
# reads the scores and labels roc1..roc4 of classical.txt (written by make_fixtures.py)
# and writes roc_band.txt in the same named-matrix format:
#   <tag>_coords: specificity, coords(r, x = specificity, input = "specificity",
#                 ret = "sensitivity") -- exact, no randomness;
#   <tag>_cise:   specificity, lower, median, upper of ci.se(r, specificities,
#                 boot.n = 20000, boot.stratified = TRUE), set.seed(20261206) -- a
#                 Monte-Carlo reference: neurolua's band must agree within sampling error.
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
d <- read_fixture(file.path(here, "classical.txt"))
con <- file(file.path(here, "roc_band.txt"), "w")
put <- function(name, m) {
  m <- as.matrix(m)
  cat(sprintf("matrix %s %d %d\n", name, nrow(m), ncol(m)), file = con)
  for (i in seq_len(nrow(m))) cat(paste(sprintf("%.17g", m[i, ]), collapse = " "), "\n", file = con, sep = "")
}
cat("# pROC ", as.character(packageVersion("pROC")), " references: coords(input = 'specificity') and ci.se (stratified, 20000 replicates)\n",
    file = con, sep = "")
dirs <- list(roc1 = c("<", ">"), roc2 = c("<"))
sp <- c(0, 0.05, 0.1, 0.25, 1 / 3, 0.5, 0.6, 0.75, 0.9, 0.95, 1)
set.seed(20261206)
for (k in names(dirs)) {
  s <- d[[paste0(k, "_s")]][, 1]; lab <- d[[paste0(k, "_y")]][, 1]
  for (dir in dirs[[k]]) {
    r <- roc(lab, s, levels = c(-1, 1), direction = dir, quiet = TRUE)
    tag <- paste0(k, "_", c("<" = "less", ">" = "greater")[[dir]])
    # every curve point's specificity, plus values between them
    xs <- sort(unique(c(sp, r$specificities)))
    put(paste0(tag, "_coords"), cbind(xs, coords(r, xs, input = "specificity", ret = "sensitivity", transpose = FALSE)[, 1]))
    ci <- suppressWarnings(ci.se(r, specificities = sp, boot.n = 20000, boot.stratified = TRUE, progress = "none"))
    put(paste0(tag, "_cise"), cbind(sp, unclass(ci)[, 1], unclass(ci)[, 2], unclass(ci)[, 3]))
  }
}
close(con)
cat(sprintf("%s, pROC %s\n", R.version.string, as.character(packageVersion("pROC"))))
