# Benjamini-Hochberg reference values for tests/engine/ml/test_oocv.cpp.
# Run: Rscript make_fixture.R  (writes bh.tsv: p, q = p.adjust(p, "BH"))
set.seed(20261122)
p <- c(runif(20)^3, 0.01, 0.01, 0.04, 1, 0)
q <- p.adjust(p, method = "BH")
write.table(data.frame(p = sprintf("%.17g", p), q = sprintf("%.17g", q)), "bh.tsv",
            sep = "\t", quote = FALSE, row.names = FALSE)
cat(R.version.string, "\n")
