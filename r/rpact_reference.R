# Reference values for trialkit.design, computed with rpact.
# Run from the repo root:  Rscript r/rpact_reference.R
# Writes tests/fixtures/design/rpact_designs.json (the tests compare against it, so CI needs no R).
suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})

designs <- list(
  list(id = "of_1s_k3_equal", kMax = 3, typeOfDesign = "asOF", sided = 1, alpha = 0.025),
  list(id = "p_1s_k4_equal", kMax = 4, typeOfDesign = "asP", sided = 1, alpha = 0.025),
  list(id = "hsd_m4_1s_k3_unequal", informationRates = c(0.3, 0.7, 1), typeOfDesign = "asHSD",
       gammaA = -4, sided = 1, alpha = 0.025),
  list(id = "kd_3_1s_k5_unequal", informationRates = c(0.15, 0.35, 0.5, 0.8, 1), typeOfDesign = "asKD",
       gammaA = 3, sided = 1, alpha = 0.025),
  list(id = "of_2s_k2", kMax = 2, typeOfDesign = "asOF", sided = 2, alpha = 0.05),
  list(id = "p_2s_k3_unequal", informationRates = c(0.25, 0.6, 1), typeOfDesign = "asP", sided = 2, alpha = 0.05),
  list(id = "hsd_1_2s_k4_equal", kMax = 4, typeOfDesign = "asHSD", gammaA = 1, sided = 2, alpha = 0.05),
  list(id = "kd_2_2s_k3_equal", kMax = 3, typeOfDesign = "asKD", gammaA = 2, sided = 2, alpha = 0.05),
  list(id = "of_2s_k5_unequal", informationRates = c(0.1, 0.3, 0.55, 0.8, 1), typeOfDesign = "asOF",
       sided = 2, alpha = 0.01),
  list(id = "hsd_m2_2s_k5_unequal", informationRates = c(0.2, 0.35, 0.6, 0.85, 1), typeOfDesign = "asHSD",
       gammaA = -2, sided = 2, alpha = 0.05),
  list(id = "of_bsof_nonbinding_k3", kMax = 3, typeOfDesign = "asOF", typeBetaSpending = "bsOF",
       bindingFutility = FALSE, sided = 1, alpha = 0.025, beta = 0.2),
  list(id = "of_bsof_binding_k3", kMax = 3, typeOfDesign = "asOF", typeBetaSpending = "bsOF",
       bindingFutility = TRUE, sided = 1, alpha = 0.025, beta = 0.2),
  list(id = "p_bsp_nonbinding_k4_unequal", informationRates = c(0.2, 0.45, 0.75, 1), typeOfDesign = "asP",
       typeBetaSpending = "bsP", bindingFutility = FALSE, sided = 1, alpha = 0.025, beta = 0.1),
  list(id = "hsd_bshsd_binding_k3_unequal", informationRates = c(0.4, 0.7, 1), typeOfDesign = "asHSD",
       gammaA = -4, typeBetaSpending = "bsHSD", gammaB = -2, bindingFutility = TRUE, sided = 1,
       alpha = 0.025, beta = 0.2),
  list(id = "kd_bskd_nonbinding_k2", kMax = 2, typeOfDesign = "asKD", gammaA = 3, typeBetaSpending = "bsKD",
       gammaB = 2, bindingFutility = FALSE, sided = 1, alpha = 0.025, beta = 0.2),
  list(id = "of_bsp_binding_k5_equal", kMax = 5, typeOfDesign = "asOF", typeBetaSpending = "bsP",
       bindingFutility = TRUE, sided = 1, alpha = 0.025, beta = 0.2),
  list(id = "hsd_bskd_binding_k4_unequal", informationRates = c(0.25, 0.5, 0.8, 1), typeOfDesign = "asHSD",
       gammaA = -2, typeBetaSpending = "bsKD", gammaB = 3, bindingFutility = TRUE, sided = 1,
       alpha = 0.05, beta = 0.1)
)

out <- list()
for (spec in designs) {
  args <- spec[setdiff(names(spec), "id")]
  d <- do.call(getDesignGroupSequential, args)
  dc <- getDesignCharacteristics(d)
  hasFutility <- !is.null(spec$typeBetaSpending)
  out[[length(out) + 1]] <- list(
    id = spec$id,
    call = args,
    informationRates = d$informationRates,
    sided = d$sided,
    alpha = d$alpha,
    beta = d$beta,
    typeOfDesign = d$typeOfDesign,
    gammaA = if (is.null(spec$gammaA)) NULL else spec$gammaA,
    typeBetaSpending = d$typeBetaSpending,
    gammaB = if (is.null(spec$gammaB)) NULL else spec$gammaB,
    bindingFutility = isTRUE(spec$bindingFutility),
    criticalValues = d$criticalValues,
    alphaSpent = d$alphaSpent,
    stageLevels = d$stageLevels,
    futilityBounds = if (hasFutility) I(d$futilityBounds) else NULL,
    betaSpent = if (hasFutility) d$betaSpent else NULL,
    power = if (hasFutility) d$power else NULL,
    inflationFactor = dc$inflationFactor,
    shift = dc$shift,
    nFixed = dc$nFixed,
    characteristicsPower = dc$power
  )
}

# Note: in "of_2s_k5_unequal" the first boundary is above 7.5 (rpact reports Inf) and rpact's
# grid (91 points capped at +-8) gives the second boundary only to about 3e-4; the tests check that
# look against an independent one-dimensional quadrature instead.

# Conditional power of a two-stage design (one-sample means, normal approximation):
# after stage 1 the only remaining test is the final one, so rpact's value must equal the B-value formula.
cpDesign <- getDesignGroupSequential(kMax = 2, typeOfDesign = "asOF", sided = 1, alpha = 0.025,
                                     informationRates = c(0.5, 1))
cpData <- getDataset(n = 50, means = 0.3, stDevs = 1)
cpStage <- getStageResults(cpDesign, dataInput = cpData, stage = 1, normalApproximation = TRUE)
cpResult <- getConditionalPower(cpStage, nPlanned = 50, thetaH1 = 0.4, assumedStDev = 1)
cpTrend <- getConditionalPower(cpStage, nPlanned = 50, thetaH1 = 0.3, assumedStDev = 1)
conditional <- list(
  informationRates = cpDesign$informationRates,
  criticalValues = cpDesign$criticalValues,
  n1 = 50, mean1 = 0.3, sd = 1, nPlanned2 = 50,
  z1 = cpStage$overallTestStatistics[1],
  thetaH1 = 0.4, conditionalPower = cpResult$conditionalPower[2],
  thetaTrend = 0.3, conditionalPowerTrend = cpTrend$conditionalPower[2]
)

# Conditional power of three-stage designs at stage 1 (rpact's group sequential conditional power:
# the probability of rejecting at stage 2 or 3). nPlanned is chosen so that the stages' subject
# counts give the design's information rates; allocation 1:1 and 2:1.
cpCase <- function(id, n1, n2, means1, means2, sds, nPlanned, ratio, thetaH1, sd) {
  total <- c(n1 + n2, n1 + n2 + cumsum(nPlanned))
  d <- getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF", sided = 1, alpha = 0.025,
                                informationRates = total / total[3])
  data <- getDataset(n1 = n1, n2 = n2, means1 = means1, means2 = means2, stDevs1 = sds, stDevs2 = sds)
  st <- getStageResults(d, dataInput = data, stage = 1, normalApproximation = TRUE)
  observed <- means1 - means2
  pooled <- sds  # equal SDs: the pooled SD
  effect <- getConditionalPower(st, nPlanned = nPlanned, thetaH1 = thetaH1, assumedStDev = sd,
                                allocationRatioPlanned = ratio)
  trend <- getConditionalPower(st, nPlanned = nPlanned, thetaH1 = observed, assumedStDev = pooled,
                               allocationRatioPlanned = ratio)
  list(id = id, informationRates = d$informationRates, criticalValues = d$criticalValues,
       n1 = n1, n2 = n2, observed = observed, pooledSd = pooled, nPlanned = nPlanned, ratio = ratio,
       z1 = st$overallTestStatistics[1], thetaH1 = thetaH1, assumedStDev = sd,
       conditionalPower = effect$conditionalPower[2:3], conditionalPowerTrend = trend$conditionalPower[2:3])
}
conditionalGS <- list(
  cpCase("equal", 50, 50, 3, 0, 10, c(100, 130), 1, 4, 10),
  cpCase("ratio2", 60, 30, 2.5, 0, 8, c(90, 90), 2, 3.5, 9)
)

# Boundaries of the three looks of the end-to-end test (tests/analysis/test_interim_run.py):
# TK-AGA-301 with [interim] information_fractions = [0.3, 0.6, 1.0], max_subjects = 300, O'Brien-
# Fleming-type spending at alpha 0.025 / 3 per comparison. Subjects with the week-24 endpoint:
# 91 at cutoff 2024-01-01 (look 1), 188 at 2024-05-15 (look 2), 244 at the final analysis.
# Looks 1 and 2: the design at the realised information rates (later planned looks kept); the
# final look ends the trial below the planned maximum: the rates are rescaled to the final
# information and the user spending keeps the alpha spent at looks 1 and 2, all alpha at the end.
gsAlpha <- 0.025 / 3
gsN <- c(91, 188, 244)
gsLook1 <- getDesignGroupSequential(typeOfDesign = "asOF", sided = 1, alpha = gsAlpha,
                                    informationRates = c(gsN[1] / 300, 0.6, 1))
gsLook2 <- getDesignGroupSequential(typeOfDesign = "asOF", sided = 1, alpha = gsAlpha,
                                    informationRates = c(gsN[1:2] / 300, 1))
gsFinal <- getDesignGroupSequential(typeOfDesign = "asUser", sided = 1, alpha = gsAlpha,
                                    informationRates = gsN / gsN[3],
                                    userAlphaSpending = c(gsLook2$alphaSpent[1:2], gsAlpha))
realised <- list(
  alpha = gsAlpha, maxSubjects = 300, subjects = gsN,
  looks = lapply(list(gsLook1, gsLook2, gsFinal), function(d) list(
    informationRates = d$informationRates, criticalValues = d$criticalValues,
    alphaSpent = d$alphaSpent))
)

res <- list(rpactVersion = as.character(packageVersion("rpact")), designs = out, conditionalPower = conditional,
            conditionalPowerGroupSequential = conditionalGS, realisedLooks = realised)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           "tests/fixtures/design/rpact_designs.json")
cat("wrote", length(out), "designs\n")
