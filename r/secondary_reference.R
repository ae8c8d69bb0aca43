# Reference values for trialkit.analysis (sensitivity, secondary, responders), computed in R.
# Run from the repo root:  Rscript r/secondary_reference.R
# Reads tests/fixtures/secondary/{adsl,bds}.csv (made by make_data.py in that folder) and writes
# tests/fixtures/secondary/r_reference.json; the tests compare against it, so CI needs no R.
#
#   ancova        lm + emmeans (LS means, trt.vs.ctrl differences)
#   random_slope  lme4::lmer REML + lmerTest::contest (difference at week 85/7)
#   polr          MASS::polr, logistic (P(Y <= k) = plogis(zeta_k - eta))
#   responders    glm binomial; responder flags and Newcombe (method 10) CIs coded here anew
#   nb_indep      NB2 GLM with theta from MASS::theta.mm, alternated to convergence, and a
#                 cluster-robust sandwich coded by hand (= GEE with independence working corr.)
#   nb_exch       GEE with exchangeable working correlation coded by hand (Liang-Zeger scoring,
#                 moment estimator of rho with ddof = p as statsmodels), alpha by theta.mm
suppressPackageStartupMessages({
  library(MASS)
  library(lme4)
  library(lmerTest)
  library(emmeans)
  library(jsonlite)
})

dir <- "tests/fixtures/secondary"
adsl <- read.csv(file.path(dir, "adsl.csv"), stringsAsFactors = FALSE)
bds <- read.csv(file.path(dir, "bds.csv"), stringsAsFactors = FALSE, na.strings = c("", "NA"))
arms <- c("MINOX", "MINOX_MN", "MN_PRP")
bds$ARMCD <- factor(bds$ARMCD, levels = arms)
hc <- merge(bds[bds$PARAMCD == "HAIRCNT" & is.na(bds$ABLFL), ], adsl[, c("USUBJID", "SITEGR1", "AGE")])
hc$SITEGR1 <- factor(hc$SITEGR1)
out <- list()

# --- ANCOVA at WEEK12 ---------------------------------------------------------------------
d12 <- hc[hc$AVISIT == "WEEK12", ]
fit <- lm(CHG ~ ARMCD + BASE + SITEGR1 + AGE, data = d12)
em <- emmeans(fit, "ARMCD")
ems <- summary(em, infer = TRUE)
con <- summary(contrast(em, "trt.vs.ctrl", ref = 1, adjust = "none"), infer = TRUE)
out$ancova <- list(
  lsmeans = data.frame(arm = as.character(ems$ARMCD), estimate = ems$emmean, se = ems$SE,
                       df = ems$df, lower = ems$lower.CL, upper = ems$upper.CL),
  diffs = data.frame(arm = arms[-1], estimate = con$estimate, se = con$SE, df = con$df,
                     lower = con$lower.CL, upper = con$upper.CL, statistic = con$t.ratio,
                     p_value = con$p.value)
)

# --- random intercept and slope -----------------------------------------------------------
hc$t <- hc$ADY / 7
rs <- lmer(CHG ~ ARMCD * t + BASE + (1 + t | USUBJID), data = hc, REML = TRUE,
           control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
fe <- names(fixef(rs))
at <- 85 / 7
rows <- lapply(arms[-1], function(a) {
  L <- setNames(rep(0, length(fe)), fe)
  L[paste0("ARMCD", a)] <- 1
  L[paste0("ARMCD", a, ":t")] <- at
  ct <- contest(rs, L, joint = FALSE)
  data.frame(arm = a, estimate = ct$Estimate, se = ct$`Std. Error`, df = ct$df,
             statistic = ct$`t value`, p_value = ct$`Pr(>|t|)`)
})
vc <- as.data.frame(VarCorr(rs))
out$random_slope <- list(at_day = 85, diffs = do.call(rbind, rows),
                         fixef = as.list(fixef(rs)), reml_loglik = as.numeric(logLik(rs)),
                         varcorr = vc[, c("grp", "var1", "var2", "vcov")])

# --- proportional odds (GA at WEEK12, no baseline) ----------------------------------------
ga <- bds[bds$PARAMCD == "GA" & bds$AVISIT == "WEEK12", ]
ga$Y <- factor(ga$AVAL, levels = sort(unique(ga$AVAL)), ordered = TRUE)
po <- polr(Y ~ ARMCD, data = ga, Hess = TRUE, method = "logistic")
V <- vcov(po)
b <- coef(po)
out$polr <- list(
  odds_ratios = data.frame(arm = arms[-1], estimate = unname(b), se = unname(sqrt(diag(V))[names(b)]),
                           p_value = unname(2 * pnorm(-abs(b / sqrt(diag(V))[names(b)])))),
  zeta = data.frame(threshold = names(po$zeta), estimate = unname(po$zeta)),
  loglik = as.numeric(logLik(po))
)

# --- responders at WEEK12 (20% increase, missing = non-responder) --------------------------
subj <- adsl[, c("USUBJID", "ARMCD")]
w12 <- bds[bds$PARAMCD == "HAIRCNT" & bds$AVISIT == "WEEK12", c("USUBJID", "AVAL")]
bl <- bds[bds$PARAMCD == "HAIRCNT" & !is.na(bds$ABLFL), c("USUBJID", "BASE")]
r <- merge(merge(subj, bl, all.x = TRUE), w12, all.x = TRUE)
r$RESP <- as.integer(!is.na(r$AVAL) & r$AVAL * 100 >= r$BASE * 120)
r$ARMCD <- factor(r$ARMCD, levels = arms)
lg <- glm(RESP ~ ARMCD + BASE, family = binomial, data = r)
s <- summary(lg)$coefficients
wilson <- function(x, n, z = qnorm(0.975)) {
  p <- x / n
  c((p + z^2 / (2 * n) - z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2))) / (1 + z^2 / n),
    (p + z^2 / (2 * n) + z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2))) / (1 + z^2 / n))
}
newcombe <- function(x1, n1, x2, n2) {
  p1 <- x1 / n1; p2 <- x2 / n2; w1 <- wilson(x1, n1); w2 <- wilson(x2, n2)
  c(p1 - p2, p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
    p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
}
x <- tapply(r$RESP, r$ARMCD, sum); n <- tapply(r$RESP, r$ARMCD, length)
nd <- t(sapply(arms[-1], function(a) newcombe(x[[a]], n[[a]], x[["MINOX"]], n[["MINOX"]])))
out$responders <- list(
  flags = r[order(r$USUBJID), c("USUBJID", "RESP")],
  responders = as.list(x), n = as.list(n),
  differences = data.frame(arm = arms[-1], estimate = nd[, 1], lower = nd[, 2], upper = nd[, 3]),
  odds_ratios = data.frame(arm = arms[-1], estimate = s[paste0("ARMCD", arms[-1]), 1],
                           se = s[paste0("ARMCD", arms[-1]), 2],
                           p_value = s[paste0("ARMCD", arms[-1]), 4]),
  newcombe_1998 = newcombe(56, 70, 48, 80)
)

# --- negative binomial counts --------------------------------------------------------------
nb <- hc[order(hc$USUBJID, hc$AVISITN), ]
nb$AVISIT <- factor(nb$AVISIT, levels = c("WEEK4", "WEEK8", "WEEK12"))
X <- model.matrix(~ ARMCD + log(BASE) + AVISIT, data = nb)
y <- nb$AVAL
id <- nb$USUBJID
p <- ncol(X)
dfr <- length(y) - p

# (a) independence: glm NB2 at fixed theta, theta by theta.mm, alternated; sandwich by hand
pois <- glm(y ~ X - 1, family = poisson)
theta <- theta.mm(y, fitted(pois), dfr)
for (i in 1:200) {
  g <- glm(y ~ X - 1, family = negative.binomial(theta), control = glm.control(epsilon = 1e-12, maxit = 100))
  th <- theta.mm(y, fitted(g), dfr)
  done <- abs(1 / th - 1 / theta) <= 1e-10 * (1 / theta)
  theta <- th
  if (done) break
}
g <- glm(y ~ X - 1, family = negative.binomial(theta), control = glm.control(epsilon = 1e-12, maxit = 100))
mu <- fitted(g)
Vv <- mu + mu^2 / theta
bread <- solve(crossprod(X, X * (mu^2 / Vv)))
U <- rowsum(X * ((y - mu) * mu / Vv), id)
rob <- bread %*% crossprod(U) %*% bread
out$nb_indep <- list(alpha = 1 / theta, coef = unname(coef(g)), se = unname(sqrt(diag(rob))),
                     names = colnames(X))

# (b) exchangeable GEE coded by hand
gee_exch <- function(alpha, beta) {
  ids <- unique(id)
  idx <- split(seq_along(y), factor(id, levels = ids))
  for (it in 1:500) {
    mu <- as.vector(exp(X %*% beta)); v <- mu + alpha * mu^2
    e <- (y - mu) / sqrt(v)
    phi <- sum(e^2) / (length(y) - p)
    num <- 0; npairs <- 0
    for (k in idx) {
      num <- num + (sum(e[k])^2 - sum(e[k]^2)) / 2
      npairs <- npairs + length(k) * (length(k) - 1) / 2
    }
    rho <- (num / phi) / (npairs - p)
    A <- matrix(0, p, p); s <- rep(0, p); B <- matrix(0, p, p)
    for (k in idx) {
      m <- length(k)
      R <- matrix(rho, m, m); diag(R) <- 1
      Vi <- diag(sqrt(v[k]), m) %*% R %*% diag(sqrt(v[k]), m)
      D <- X[k, , drop = FALSE] * mu[k]
      Wi <- solve(Vi)
      A <- A + t(D) %*% Wi %*% D
      u <- t(D) %*% Wi %*% (y[k] - mu[k])
      s <- s + u
      B <- B + u %*% t(u)
    }
    step <- solve(A, s)
    beta <- beta + as.vector(step)
    if (max(abs(step)) < 1e-12) break
  }
  list(beta = beta, rho = rho, cov = solve(A) %*% B %*% solve(A), mu = as.vector(exp(X %*% beta)))
}
beta <- coef(pois)
alpha <- 1 / theta.mm(y, fitted(pois), dfr)
for (i in 1:200) {
  fx <- gee_exch(alpha, beta)
  beta <- fx$beta
  a_new <- 1 / theta.mm(y, fx$mu, dfr)
  done <- abs(a_new - alpha) <= 1e-10 * alpha
  alpha <- a_new
  if (done) break
}
fx <- gee_exch(alpha, beta)
out$nb_exch <- list(alpha = alpha, rho = fx$rho, coef = unname(fx$beta),
                    se = unname(sqrt(diag(fx$cov))), names = colnames(X))

out$R_version <- R.version.string
out$packages <- list(MASS = as.character(packageVersion("MASS")),
                     lme4 = as.character(packageVersion("lme4")),
                     lmerTest = as.character(packageVersion("lmerTest")),
                     emmeans = as.character(packageVersion("emmeans")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(dir, "r_reference.json"))
cat("wrote", file.path(dir, "r_reference.json"), "\n")
