"""Secondary endpoints keep the SAP's order (trial.toml) in results.json, tables and the
report, although results.json sorts its keys (issue 12)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from trialkit.definition import load_definition


def test_secondary_endpoints_in_sap_order(
    small_trial: Path, analysis_output: Path, html_reports: dict[str, str]
) -> None:
    sap = [ep.name for ep in load_definition(small_trial).secondary]
    assert sap != sorted(sap)  # the check below would pass by accident otherwise
    results = json.loads((analysis_output / "results.json").read_text())
    by_order = sorted(results["secondary"], key=lambda n: results["secondary"][n]["order"])
    assert by_order == sap
    tables = [t["name"] for t in results["tables"] if t["name"].startswith("secondary_")]
    assert [int(t.split("_")[1]) for t in tables] == sorted(int(t.split("_")[1]) for t in tables)
    for kind in ("final", "closed"):
        section = html_reports[kind].split('id="secondary"', 1)[1].split("</section>", 1)[0]
        titles = re.findall(r"<h3>(.*?)</h3>", section)
        assert titles == sap, kind
