# Reference figures for trialkit.models (MMRM) on a simulated trial, computed with
# lme4 + lmerTest (Satterthwaite), pbkrtest (Kenward-Roger) and emmeans.
# Run from the repo root:  Rscript r/mmrm_reference.R
# Writes tests/fixtures/mmrm/sim_cs.csv (the data) and tests/fixtures/mmrm/sim_cs_reference.json.
#
# A compound-symmetry MMRM with a positive covariance is the random-intercept model
# y ~ ... + (1 | SUBJ), so lmer's REML fit, df and LS means are reference figures for
# trialkit's covariance = "cs". pbkrtest uses the expected information for W (trialkit:
# fit(information = "expected")); lmerTest uses the observed one (trialkit's default).
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(emmeans)
  library(jsonlite)
})

set.seed(20240611)
n <- 120
visits <- paste0("V", 1:4)
subj <- data.frame(
  SUBJ = sprintf("S%03d", 1:n),
  ARM = sample(c("PBO", "TRT"), n, replace = TRUE),
  SEX = sample(c("F", "M"), n, replace = TRUE),
  BASE = round(rnorm(n, 50, 8), 2),
  b = rnorm(n, 0, 3)
)
d <- merge(subj, data.frame(VISIT = visits, t = 1:4), by = NULL)
d <- d[order(d$SUBJ, d$t), ]
eff <- ifelse(d$ARM == "TRT", 1.2 * d$t, 0)
d$Y <- round(10 + 0.5 * d$BASE + 1.5 * d$t + eff + ifelse(d$SEX == "M", 1, 0) + d$b + rnorm(nrow(d), 0, 4), 3)
# monotone dropout, more likely later
drop_at <- sapply(seq_len(n), function(i) {
  u <- runif(1)
  if (u < 0.08) 2 else if (u < 0.16) 3 else if (u < 0.26) 4 else 5
})
d$Y[d$t >= drop_at[match(d$SUBJ, subj$SUBJ)]] <- NA
# and a few intermittent missing values
d$Y[sample(which(!is.na(d$Y) & d$t == 2), 5)] <- NA
out <- d[, c("SUBJ", "VISIT", "ARM", "SEX", "BASE", "Y")]
dir.create("tests/fixtures/mmrm", showWarnings = FALSE, recursive = TRUE)
write.csv(out, "tests/fixtures/mmrm/sim_cs.csv", row.names = FALSE, na = "")

dd <- out[!is.na(out$Y), ]
dd$ARM <- factor(dd$ARM, levels = c("PBO", "TRT"))
dd$SEX <- factor(dd$SEX, levels = c("F", "M"))
dd$VISIT <- factor(dd$VISIT, levels = visits)
formula <- Y ~ ARM * VISIT + BASE + SEX
m <- lmer(Y ~ ARM * VISIT + BASE + SEX + (1 | SUBJ), data = dd, REML = TRUE)
vc <- as.data.frame(VarCorr(m))

coef_table <- function(ddf) {
  s <- summary(m, ddf = ddf)$coefficients
  data.frame(term = rownames(s), estimate = s[, "Estimate"], se = s[, "Std. Error"],
             df = s[, "df"], row.names = NULL)
}
anova_table <- function(ddf) {
  a <- anova(m, type = 3, ddf = ddf)
  data.frame(term = rownames(a), num_df = a$NumDF, den_df = a$DenDF, F = a[["F value"]], row.names = NULL)
}
emm_table <- function(mode) {
  e <- emmeans(m, ~ ARM | VISIT, lmer.df = mode)
  s <- as.data.frame(summary(e))
  c <- as.data.frame(summary(contrast(e, "trt.vs.ctrl", ref = 1), infer = c(TRUE, TRUE)))
  list(
    lsmeans = data.frame(ARM = as.character(s$ARM), VISIT = as.character(s$VISIT), estimate = s$emmean,
                         se = s$SE, df = s$df, lower = s$lower.CL, upper = s$upper.CL),
    contrasts = data.frame(VISIT = as.character(c$VISIT), estimate = c$estimate, se = c$SE, df = c$df,
                           lower = c$lower.CL, upper = c$upper.CL)
  )
}
# a two-row contrast: arm effect at V3 and V4
L2 <- matrix(0, 2, length(fixef(m)), dimnames = list(NULL, names(fixef(m))))
L2[1, c("ARMTRT", "ARMTRT:VISITV3")] <- 1
L2[2, c("ARMTRT", "ARMTRT:VISITV4")] <- 1
ct_s <- contestMD(m, L2, ddf = "Satterthwaite")
kr2 <- KRmodcomp(m, L2)

ref <- list(
  source = "r/mmrm_reference.R (lme4 random intercept = MMRM cs; lmerTest, pbkrtest, emmeans)",
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  pbkrtest = as.character(packageVersion("pbkrtest")),
                  emmeans = as.character(packageVersion("emmeans"))),
  formula = "Y ~ ARM * VISIT + BASE + SEX",
  subject = "SUBJ", visit = "VISIT", visit_order = visits,
  reference_levels = list(ARM = "PBO", SEX = "F", VISIT = "V1"),
  reml_loglik = as.numeric(logLik(m, REML = TRUE)),
  subject_variance = vc$vcov[vc$grp == "SUBJ"],
  residual_variance = vc$vcov[vc$grp == "Residual"],
  coef_satterthwaite = coef_table("Satterthwaite"),
  coef_kenward_roger = coef_table("Kenward-Roger"),
  anova_satterthwaite = anova_table("Satterthwaite"),
  anova_kenward_roger = anova_table("Kenward-Roger"),
  emmeans_satterthwaite = emm_table("satterthwaite"),
  emmeans_kenward_roger = emm_table("kenward-roger"),
  contrast2 = list(
    L = lapply(seq_len(nrow(L2)), function(i) as.list(L2[i, L2[i, ] != 0])),
    satterthwaite = list(F = ct_s[["F value"]], num_df = ct_s$NumDF, den_df = ct_s$DenDF),
    kenward_roger = list(F = kr2$test["Ftest", "stat"], num_df = kr2$test["Ftest", "ndf"],
                         den_df = kr2$test["Ftest", "ddf"], F_scaling = kr2$test["Ftest", "F.scaling"])
  )
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/fixtures/mmrm/sim_cs_reference.json")
cat("wrote tests/fixtures/mmrm/sim_cs.csv and sim_cs_reference.json\n")
