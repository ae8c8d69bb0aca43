# Reference values for trialkit.estimators.binary (binary endpoints), computed in R.
# Run from the repo root:  Rscript r/binary_reference.R
# Needs R with jsonlite and brglm2 (Debian: r-cran-jsonlite r-cran-brglm2).
# Reads tests/fixtures/binary/{binary,sparse}.csv (made by make_data.py in that folder) and writes
# tests/fixtures/binary/r_reference.json; the tests compare against it, so CI needs no R.
#
#   logistic  glm(binomial) of RESP ~ ARMCD + BASE + SEX + SEVERITY; risk difference by marginal
#             standardisation (every subject predicted under each arm, averaged) and the
#             model-based delta-method SE of Ge et al. (2011), written out as matrix algebra;
#             odds ratio exp(difference of the arm coefficients) with a Wald CI
#   cmh       Mantel-Haenszel risk difference and Sato variance, MH odds ratio and the
#             Robins-Breslow-Greenland variance, all by hand; CMH test and MH OR CI also from
#             mantelhaen.test(correct = FALSE) as a check of the hand-written ones
#   firth     sparse.csv (CTRL has no responders): Firth logistic regression by brglm2
#             (type = "AS_mean", which is Firth's penalty for the logit link), standardised
#   exact     sparse.csv: Newcombe hybrid score CI coded anew, fisher.test's two-sided p, the
#             conditional MLE odds ratio and its exact CI (fisher.test's method, solved to 1e-13;
#             fisher.test's own figures kept as r_* for comparison)
suppressPackageStartupMessages({
  library(jsonlite)
  library(brglm2)
})

dir <- "tests/fixtures/binary"
arms <- c("CTRL", "MN_MINOX", "MN_PRP")
comparisons <- list(c("MN_PRP", "CTRL"), c("MN_MINOX", "CTRL"), c("MN_PRP", "MN_MINOX"))
z <- qnorm(0.975)
read <- function(name) {
  d <- read.csv(file.path(dir, name), stringsAsFactors = FALSE)
  d$ARMCD <- factor(d$ARMCD, levels = arms)
  d
}

# --- logistic regression + standardisation + delta method ---------------------------------
standardised <- function(fit, data) {
  form <- delete.response(terms(fit))
  beta <- coef(fit)
  V <- vcov(fit)
  means <- list()
  grads <- list()
  for (a in arms) {
    d <- data
    d$ARMCD <- factor(rep(a, nrow(d)), levels = arms)
    X <- model.matrix(form, d, contrasts.arg = fit$contrasts)
    p <- as.vector(plogis(X %*% beta))
    means[[a]] <- mean(p)
    grads[[a]] <- colMeans(p * (1 - p) * X)
  }
  rows <- lapply(comparisons, function(cmp) {
    g <- grads[[cmp[1]]] - grads[[cmp[2]]]
    est <- means[[cmp[1]]] - means[[cmp[2]]]
    se <- sqrt(as.numeric(t(g) %*% V %*% g))
    L <- setNames(rep(0, length(beta)), names(beta))
    for (k in 1:2) {
      nm <- paste0("ARMCD", cmp[k])
      if (nm %in% names(L)) L[nm] <- c(1, -1)[k]
    }
    lor <- sum(L * beta)
    lse <- sqrt(as.numeric(t(L) %*% V %*% L))
    data.frame(arm = cmp[1], versus = cmp[2], estimate = est, se = se,
               lower = est - z * se, upper = est + z * se, statistic = est / se,
               p = 2 * pnorm(-abs(est / se)), odds_ratio = exp(lor),
               or_lower = exp(lor - z * lse), or_upper = exp(lor + z * lse))
  })
  list(contrasts = do.call(rbind, rows), means = means, coef = as.list(beta))
}

main <- read("binary.csv")
fit <- glm(RESP ~ ARMCD + BASE + SEX + SEVERITY, family = binomial, data = main,
           control = glm.control(epsilon = 1e-14, maxit = 100))
out <- list(logistic = standardised(fit, main))

# --- Mantel-Haenszel by hand ----------------------------------------------------------------
mh <- function(data, arm, versus) {
  d <- data[data$ARMCD %in% c(arm, versus), ]
  strata <- sort(unique(d$SEVERITY))
  both <- Filter(function(s) all(c(arm, versus) %in% d$ARMCD[d$SEVERITY == s]), strata)
  tab <- t(sapply(both, function(s) {
    ds <- d[d$SEVERITY == s, ]
    c(a = sum(ds$RESP[ds$ARMCD == arm]), n1 = sum(ds$ARMCD == arm),
      c = sum(ds$RESP[ds$ARMCD == versus]), n0 = sum(ds$ARMCD == versus))
  }))
  a <- tab[, "a"]; n1 <- tab[, "n1"]; c <- tab[, "c"]; n0 <- tab[, "n0"]
  b <- n1 - a; dd <- n0 - c; N <- n1 + n0
  w <- n1 * n0 / N
  rd <- sum((a * n0 - c * n1) / N) / sum(w)
  P <- (n1^2 * c - n0^2 * a + n1 * n0 * (n0 - n1) / 2) / N^2
  Q <- (a * (n0 - c) + c * (n1 - a)) / (2 * N)
  se <- sqrt((rd * sum(P) + sum(Q)) / sum(w)^2)
  R <- a * dd / N; S <- b * c / N; PP <- (a + dd) / N; QQ <- (b + c) / N
  or <- sum(R) / sum(S)
  lse <- sqrt(sum(PP * R) / (2 * sum(R)^2) + sum(PP * S + QQ * R) / (2 * sum(R) * sum(S)) +
                sum(QQ * S) / (2 * sum(S)^2))
  m1 <- a + c
  chi2 <- sum(a - n1 * m1 / N)^2 / sum(n1 * n0 * m1 * (N - m1) / (N^2 * (N - 1)))
  # mantelhaen.test on the same strata (arm in row 1, responder in column 1)
  arr <- array(0, dim = c(2, 2, length(both)))
  arr[1, 1, ] <- a; arr[1, 2, ] <- b; arr[2, 1, ] <- c; arr[2, 2, ] <- dd
  mt <- mantelhaen.test(arr, correct = FALSE)
  data.frame(arm = arm, versus = versus, estimate = rd, se = se, lower = rd - z * se,
             upper = rd + z * se, statistic = chi2, p = pchisq(chi2, 1, lower.tail = FALSE),
             odds_ratio = or, or_lower = exp(log(or) - z * lse), or_upper = exp(log(or) + z * lse),
             r_statistic = unname(mt$statistic), r_p = mt$p.value, r_or = unname(mt$estimate),
             r_or_lower = mt$conf.int[1], r_or_upper = mt$conf.int[2],
             strata_used = length(both))
}
out$cmh <- do.call(rbind, lapply(comparisons, function(cmp) mh(main, cmp[1], cmp[2])))

# --- sparse data: Firth, MH where defined, exact -------------------------------------------
sparse <- read("sparse.csv")
firth <- glm(RESP ~ ARMCD + BASE + SEVERITY, family = binomial, data = sparse,
             method = "brglmFit", type = "AS_mean", control = list(epsilon = 1e-13, maxit = 500))
out$firth <- standardised(firth, sparse)
out$sparse_cmh <- mh(sparse, "MN_PRP", "MN_MINOX")

wilson <- function(x, n) {
  p <- x / n
  centre <- (p + z^2 / (2 * n)) / (1 + z^2 / n)
  half <- z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2)) / (1 + z^2 / n)
  c(max(0, centre - half), min(1, centre + half))
}
# Conditional (noncentral hypergeometric) MLE and exact CI as fisher.test computes them, with
# uniroot run to 1e-13 on log(odds ratio): fisher.test's default uniroot tolerance leaves its
# limits about 1e-4 off.
exact_or <- function(x1, n1, x0, n0) {
  m <- x1 + x0
  support <- max(0, m - n0):min(n1, m)
  logdc <- dhyper(support, n1, n0, m, log = TRUE)
  dens <- function(lor) {
    d <- logdc + lor * support
    d <- exp(d - max(d))
    d / sum(d)
  }
  solve <- function(f) uniroot(f, c(-40, 40), tol = 1e-13)$root
  lo <- support[1]; hi <- support[length(support)]
  mle <- if (x1 == lo) 0 else if (x1 == hi) Inf else
    exp(solve(function(l) sum(support * dens(l)) - x1))
  lower <- if (x1 == lo) 0 else exp(solve(function(l) sum(dens(l)[support >= x1]) - 0.025))
  upper <- if (x1 == hi) Inf else exp(solve(function(l) sum(dens(l)[support <= x1]) - 0.025))
  c(mle, lower, upper)
}
exact <- function(data, arm, versus) {
  x1 <- sum(data$RESP[data$ARMCD == arm]); n1 <- sum(data$ARMCD == arm)
  x0 <- sum(data$RESP[data$ARMCD == versus]); n0 <- sum(data$ARMCD == versus)
  p1 <- x1 / n1; p0 <- x0 / n0
  w1 <- wilson(x1, n1); w0 <- wilson(x0, n0)
  ft <- fisher.test(matrix(c(x1, x0, n1 - x1, n0 - x0), 2))
  or <- exact_or(x1, n1, x0, n0)
  data.frame(arm = arm, versus = versus, estimate = p1 - p0,
             lower = p1 - p0 - sqrt((p1 - w1[1])^2 + (w0[2] - p0)^2),
             upper = p1 - p0 + sqrt((w1[2] - p1)^2 + (p0 - w0[1])^2),
             p = ft$p.value, odds_ratio = or[1], or_lower = or[2], or_upper = or[3],
             r_odds_ratio = unname(ft$estimate), r_or_lower = ft$conf.int[1],
             r_or_upper = ft$conf.int[2])
}
out$exact <- do.call(rbind, lapply(comparisons, function(cmp) exact(sparse, cmp[1], cmp[2])))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string"),
           file.path(dir, "r_reference.json"))
