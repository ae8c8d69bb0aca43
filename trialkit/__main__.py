"""``python -m trialkit`` runs the command line."""

from trialkit.cli import run

run()
