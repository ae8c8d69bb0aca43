"""Simulation of a trial's analysis plan: power, type I error and operating characteristics,
and sample size (``trialkit simulate``, ``trialkit sample-size``; see ``docs/simulation.md``)."""
