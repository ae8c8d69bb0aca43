"""Synthetic example trials: a seeded generator, a corruption step, the bundled examples.

``python -m trialkit.examples`` regenerates every folder of ``example_trials/``;
``python -m trialkit.examples --check`` verifies the committed files are byte-identical to a
fresh generation. For tests, :func:`make_small_trial` gives a fresh small clean trial
(definition and frames) for any seed, and :func:`write_small_trial` writes one as a folder;
:func:`write_scaled_trial` writes the multicentre example at any size (benchmarks).
"""

from trialkit.examples.bundled import (
    check,
    example_names,
    load_example,
    make_small_trial,
    regenerate,
    render_example,
    write_scaled_trial,
    write_small_trial,
)
from trialkit.examples.corruptions import apply_corruptions
from trialkit.examples.generator import generate_trial, interim_cutoff, outside_window
from trialkit.examples.io import render_trial, write_trial
from trialkit.examples.scenario import Scenario, load_scenario, parse_scenario

__all__ = [
    "Scenario",
    "apply_corruptions",
    "check",
    "example_names",
    "generate_trial",
    "interim_cutoff",
    "load_example",
    "load_scenario",
    "make_small_trial",
    "outside_window",
    "parse_scenario",
    "regenerate",
    "render_example",
    "render_trial",
    "write_scaled_trial",
    "write_small_trial",
    "write_trial",
]
