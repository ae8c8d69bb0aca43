"""``python -m trialkit.examples [--check]``: the command in :mod:`trialkit.cli.examples`."""

import sys

from trialkit.cli.examples import main

sys.exit(main())
