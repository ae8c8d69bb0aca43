"""Reading a trial definition and starting the command line stay light: no scipy, no pandas."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["trialkit.definition", "trialkit.cli", "trialkit.design.plan"])
def test_light_modules_do_not_import_the_numerics(module: str) -> None:
    code = f"import sys, {module}; print(sorted({{'scipy', 'pandas'}} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_the_help_does_not_import_the_numerics() -> None:
    """``trialkit --help`` builds every command's help without the libraries they use."""
    code = (
        "import sys; from trialkit.cli import main; main(['--help']); "
        "print(sorted({'scipy', 'pandas', 'tqdm'} & set(sys.modules)), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stderr.strip() == "[]"
