"""The ``trialkit`` console command: stop signals are handled from the first moment, before
the command line's heavy imports, so even an early SIGTERM ends with one line and exit 143."""

from __future__ import annotations

import signal
import sys

from trialkit.processes import STOP_SIGNALS, received_signal, stop_on_signals


def run() -> None:
    """Console-script entry point: the CLI's exit code (see ``trialkit.cli.main``)."""
    with stop_on_signals():
        try:
            from trialkit.cli import main
        except BaseException:  # a stop signal during the imports: nothing has run yet
            stopped = received_signal()
            if stopped is None:
                raise
            # the one print outside trialkit.cli: the command line did not finish importing
            print(f"trialkit: stopped: {stopped}", file=sys.stderr)
            sys.exit(stopped.exit_code)
    code = main()
    for sig in STOP_SIGNALS:  # the command is over: a late signal must not interrupt the exit
        signal.signal(sig, signal.SIG_IGN)
    sys.exit(code)
