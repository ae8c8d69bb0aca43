"""Submission deliverables: ADaM datasets as SAS transport v5 files with Define-XML 2.0 and an
analysis results dataset, built from the output folder of ``trialkit analyze``."""
