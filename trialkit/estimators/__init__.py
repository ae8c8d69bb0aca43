"""Statistical estimators with public functions, frames in and tidy frames out: ANCOVA
(``linear``), random slopes (``slopes``), negative binomial GEE of counts (``counts``, on the
engine ``gee``), responders, binary endpoints (``binary``, with ``binary_logistic``,
``binary_firth``, ``binary_cmh``, ``binary_exact``), proportional odds (``ordinal``),
multiplicity adjustment and the multivariate t (``multiplicity``, ``mvt``). The analysis
(:mod:`trialkit.analysis`) calls them.
"""
