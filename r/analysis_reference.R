#!/usr/bin/env Rscript
# Reference figures for trialkit's analysis module (issue 4), written as fixtures so CI needs no R.
#
#   Rscript r/analysis_reference.R dunnett  # -> tests/fixtures/analysis/dunnett_mvtnorm.csv
#   Rscript r/analysis_reference.R mmrm     # reads tests/fixtures/analysis/primary_dataset.csv
#                                           # -> tests/fixtures/analysis/r_*.csv
#
# Packages: mvtnorm, nlme, emmeans, lme4, lmerTest (Debian r-cran-*). Run from the repo root.

suppressPackageStartupMessages({
  library(mvtnorm)
})

fixtures <- file.path("tests", "fixtures", "analysis")
args <- commandArgs(trailingOnly = TRUE)
what <- if (length(args)) args[[1]] else "all"

write_fixture <- function(df, name) {
  path <- file.path(fixtures, name)
  write.csv(df, path, row.names = FALSE)
  cat("wrote", path, "\n")
}

nz <- function(x) if (is.null(x)) 0 else as.numeric(x)

# ---- Dunnett: two-sided multivariate t probabilities and equicoordinate quantiles ----------
# TVPACK (Genz 2004; deterministic, integer df, dimension <= 3) evaluates P(T < upper); the
# rectangle P(-b < T_i < b) follows by inclusion-exclusion over the 2^k corners. The
# quantile solves P(max |T_i| <= q) = 0.95 with uniroot to 1e-12. A GenzBretz qmvt value is
# kept alongside as a cross-check of the route (its own error is ~1e-4).
rect_tvpack <- function(b, corr, df) {
  k <- nrow(corr)
  algo <- TVPACK(abseps = 1e-14)
  total <- 0
  for (m in 0:(2^k - 1)) {
    signs <- bitwAnd(m, 2^(0:(k - 1))) > 0
    up <- ifelse(signs, -b, b)
    p <- if (k == 1) pt(up, df) else pmvt(upper = up, corr = corr, df = df, algorithm = algo)
    total <- total + (-1)^sum(signs) * as.numeric(p)
  }
  total
}

dunnett <- function() {
  cases <- list(
    list(id = "k1", corr = matrix(1, 1)),
    list(id = "k2_r05", corr = matrix(c(1, .5, .5, 1), 2)),
    list(id = "k2_r03", corr = matrix(c(1, .3, .3, 1), 2)),
    list(id = "k2_rm04", corr = matrix(c(1, -.4, -.4, 1), 2)),
    list(id = "k2_r095", corr = matrix(c(1, .95, .95, 1), 2)),
    list(id = "k3_eq", corr = matrix(c(1, .5, .5, .5, 1, .5, .5, .5, 1), 3)),
    list(id = "k3_uneq", corr = matrix(c(1, .45, .52, .45, 1, .38, .52, .38, 1), 3))
  )
  dfs <- c(5, 12, 40, 150, 1000)
  bounds <- c(1.2, 2.0, 2.4, 3.1)
  rows <- list()
  for (cs in cases) {
    k <- nrow(cs$corr)
    corr_txt <- paste(cs$corr[upper.tri(cs$corr)], collapse = ";")
    for (df in dfs) {
      for (b in bounds) {
        rows[[length(rows) + 1]] <- data.frame(
          case = cs$id, k = k, corr = corr_txt, df = df, kind = "pmvt", x = b,
          value = rect_tvpack(b, cs$corr, df), check = NA_real_)
      }
      q <- uniroot(function(c) rect_tvpack(c, cs$corr, df) - 0.95, c(0.5, 8), tol = 1e-13)$root
      set.seed(20240401)
      gb <- qmvt(0.95, tail = "both.tails", corr = cs$corr, df = df)$quantile
      rows[[length(rows) + 1]] <- data.frame(
        case = cs$id, k = k, corr = corr_txt, df = df, kind = "qmvt", x = 0.95,
        value = q, check = gb)
    }
  }
  write_fixture(do.call(rbind, rows), "dunnett_mvtnorm.csv")
}

if (what %in% c("dunnett", "all")) dunnett()

# ---- MMRM: the primary model of tk_aga_301 by independent routes ---------------------------
# US: nlme::gls with corSymm + varIdent (REML) + emmeans (model-based SEs: no df adjustment).
# CS: lme4/lmerTest random intercept (REML) + emmeans with Kenward-Roger (pbkrtest) df and SEs.
mmrm_ref <- function() {
  suppressPackageStartupMessages({
    library(nlme); library(emmeans); library(lme4); library(lmerTest)
  })
  d <- read.csv(file.path(fixtures, "primary_dataset.csv"),
                colClasses = c(SITEGR1 = "character", USUBJID = "character"))
  visits <- unique(d$AVISIT[order(d$AVISITN)])
  d$AVISIT <- factor(d$AVISIT, levels = visits)
  d$ARMCD <- relevel(factor(d$ARMCD), ref = "MINOX")
  d$SITEGR1 <- factor(d$SITEGR1)
  d$SEVERITY <- factor(d$SEVERITY)
  d$USUBJID <- factor(d$USUBJID)
  d$VIS <- as.integer(d$AVISIT)
  f <- CHG ~ ARMCD + AVISIT + ARMCD:AVISIT + BASE + BASE:AVISIT + SITEGR1 + SEVERITY
  tidy <- function(df, est_col) {
    out <- data.frame(arm = as.character(df$ARMCD), visit = as.character(df$AVISIT),
                      estimate = df[[est_col]], se = df$SE)
    if ("df" %in% names(df)) out$df <- df$df
    out
  }
  contrasts_of <- function(em) {
    con <- as.data.frame(contrast(em, "trt.vs.ctrl", ref = 1, adjust = "none"))
    data.frame(arm = sub(" - MINOX$", "", as.character(con$contrast)),
               visit = as.character(con$AVISIT), estimate = con$estimate, se = con$SE,
               df = con$df, p = con$p.value)
  }

  ctl <- glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-12, msTol = 1e-12)
  us <- gls(f, data = d, correlation = corSymm(form = ~ VIS | USUBJID),
            weights = varIdent(form = ~ 1 | AVISIT), method = "REML", control = ctl)
  em_us <- emmeans(us, ~ ARMCD | AVISIT, data = d, mode = "asymptotic")
  write_fixture(tidy(as.data.frame(em_us), "emmean"), "r_gls_us_lsmeans.csv")
  con_us <- contrasts_of(em_us)
  write_fixture(con_us[, c("arm", "visit", "estimate", "se")], "r_gls_us_contrasts.csv")
  V <- getVarCov(us, individual = levels(d$USUBJID)[which.max(table(d$USUBJID))])
  cov_df <- data.frame(row = rep(visits, each = length(visits)),
                       col = rep(visits, times = length(visits)), value = as.vector(V))
  write_fixture(cov_df, "r_gls_us_covariance.csv")

  ri <- lmer(update(f, . ~ . + (1 | USUBJID)), data = d, REML = TRUE)
  em_ri <- emmeans(ri, ~ ARMCD | AVISIT, lmer.df = "kenward-roger")
  write_fixture(tidy(as.data.frame(em_ri), "emmean"), "r_lmer_cs_lsmeans.csv")
  write_fixture(contrasts_of(em_ri), "r_lmer_cs_contrasts.csv")
  # subgroup model (SEVERITY): the factor and its interactions with AVISIT, ARMCD, ARMCD:AVISIT
  d$SUBGROUP <- d$SEVERITY
  fsg <- CHG ~ ARMCD + AVISIT + ARMCD:AVISIT + BASE + BASE:AVISIT + SITEGR1 + SUBGROUP +
    AVISIT:SUBGROUP + ARMCD:SUBGROUP + ARMCD:AVISIT:SUBGROUP + (1 | USUBJID)
  sg <- lmer(fsg, data = d, REML = TRUE)
  em_sg <- emmeans(sg, ~ ARMCD | SUBGROUP * AVISIT, at = list(AVISIT = "WEEK24"),
                   lmer.df = "kenward-roger")
  con_sg <- as.data.frame(contrast(em_sg, "trt.vs.ctrl", ref = 1, adjust = "none"))
  write_fixture(data.frame(level = as.character(con_sg$SUBGROUP),
                           arm = sub(" - MINOX$", "", as.character(con_sg$contrast)),
                           estimate = con_sg$estimate, se = con_sg$SE, df = con_sg$df,
                           p = con_sg$p.value), "r_lmer_cs_subgroup_severity.csv")
  vc <- as.data.frame(VarCorr(ri))
  fit <- data.frame(
    key = c("gls_us_m2ll", "gls_us_nobs", "lmer_cs_m2ll", "lmer_cs_subject_var",
            "lmer_cs_residual_var", "lmer_cs_base_coef"),
    value = c(-2 * as.numeric(logLik(us)), nrow(d), as.numeric(REMLcrit(ri)),
              vc$vcov[vc$grp == "USUBJID"], vc$vcov[vc$grp == "Residual"],
              unname(fixef(ri)["BASE"])))
  write_fixture(fit, "r_fit.csv")
}

if (what %in% c("mmrm", "all")) mmrm_ref()
