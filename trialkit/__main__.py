"""``python -m trialkit``: the ``trialkit`` command."""

from trialkit.entry import run

run()
