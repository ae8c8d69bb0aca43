# Reference figures for trialkit's simulation and sample-size code (tests/simulation/).
#
# Run from the repository root:  Rscript r/simulation_reference.R
# Needs longpower and rpact (install from ../shared/r-packages). Writes
# tests/fixtures/simulation/longpower.csv (Lu, Luo & Chen 2008 power and total N of three MMRM
# designs) and tests/fixtures/simulation/rpact_gs.csv (per-look rejection probabilities of a
# two-look O'Brien-Fleming group sequential plan). The designs must match the scenario files in
# tests/fixtures/simulation/.
suppressMessages({
  library(longpower)
  library(rpact)
})
out <- "tests/fixtures/simulation"

ar1 <- function(t, rho) rho^abs(outer(1:t, 1:t, "-"))
cs <- function(t, rho) { m <- matrix(rho, t, t); diag(m) <- 1; m }

designs <- list(
  list(name = "ar1_t3", R = ar1(3, 0.6), sigma = 10, ra = c(1, 0.9, 0.8), rb = c(1, 0.9, 0.8),
       lambda = 1, delta = 6, N = 80),
  list(name = "cs_t4", R = cs(4, 0.5), sigma = 8, ra = c(0.95, 0.9, 0.85, 0.8),
       rb = c(0.95, 0.88, 0.8, 0.7), lambda = 1, delta = 5, N = 100),
  list(name = "ar1_t3_2to1", R = ar1(3, 0.8), sigma = 12, ra = c(0.9, 0.8, 0.75),
       rb = c(0.9, 0.8, 0.75), lambda = 2, delta = 7, N = 90)
)
rows <- lapply(designs, function(d) {
  p <- power.mmrm(N = d$N, Ra = d$R, ra = d$ra, sigmaa = d$sigma, rb = d$rb,
                  lambda = d$lambda, delta = d$delta, sig.level = 0.05)
  n <- power.mmrm(Ra = d$R, ra = d$ra, sigmaa = d$sigma, rb = d$rb, lambda = d$lambda,
                  delta = d$delta, sig.level = 0.05, power = 0.8)
  data.frame(design = d$name, N = d$N, power = p$power, n_total_80 = n$n1 + n$n2,
             n_active_80 = n$n1, n_reference_80 = n$n2)
})
write.csv(do.call(rbind, rows), file.path(out, "longpower.csv"), row.names = FALSE)

# Group sequential: two looks at half and all of 80 subjects, one-sided alpha 0.025,
# O'Brien-Fleming-type spending; change SD 10 at the primary visit, effect 6, no dropout.
design <- getDesignGroupSequential(kMax = 2, alpha = 0.025, sided = 1, typeOfDesign = "asOF",
                                   informationRates = c(0.5, 1))
gs <- getPowerMeans(design, groups = 2, alternative = c(0, 6), stDev = 10,
                    maxNumberOfSubjects = 80, normalApproximation = FALSE)
write.csv(data.frame(effect = rep(c(0, 6), each = 2), look = rep(1:2, 2),
                     rejection = as.vector(gs$rejectPerStage),
                     critical_z = rep(design$criticalValues, 2)),
          file.path(out, "rpact_gs.csv"), row.names = FALSE)
