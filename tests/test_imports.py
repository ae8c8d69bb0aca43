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
