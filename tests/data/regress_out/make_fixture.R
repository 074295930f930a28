# Reference for nl::ml::RegressOut: residuals of R's lm() on training rows and the
# training coefficients applied to test rows.
#   Rscript tests/data/regress_out/make_fixture.R   (run from the repository root)
set.seed(42)
n <- 30
d <- data.frame(
  age  = round(runif(n, 20, 70), 1),
  sex  = sample(c("F", "M"), n, replace = TRUE),
  site = sample(c("A", "B", "C"), n, replace = TRUE),
  tiv  = round(rnorm(n, 1500, 120), 1)
)
X <- sapply(1:5, function(j) 0.02 * j * d$age + (d$sex == "M") * j + rnorm(n))
colnames(X) <- paste0("f", 1:5)
train <- 1:20
test <- 21:30
fit <- lm(X[train, ] ~ age + sex + site + tiv, data = d[train, ])
G_test <- model.matrix(~ age + sex + site + tiv, data = d[test, ])
res_train <- residuals(fit)
res_test <- X[test, ] - G_test %*% coef(fit)
dir <- "tests/data/regress_out"
write.csv(cbind(d, X), file.path(dir, "data.csv"), row.names = FALSE, quote = FALSE)
write.csv(rbind(res_train, res_test), file.path(dir, "residuals.csv"), row.names = FALSE, quote = FALSE)
writeLines(c(R.version.string, paste("stats", packageVersion("stats"))), file.path(dir, "VERSIONS"))
