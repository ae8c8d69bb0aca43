"""Analysis tables whose text columns are all empty (read as floats: no preferred term, no
discontinuation reason) are laid out without a float fillna of text (pandas 4 refuses it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialkit.report.descriptive import ae_by_term, disposition


@pytest.mark.filterwarnings("error")
def test_empty_preferred_terms_are_blank_rows() -> None:
    frame = pd.DataFrame(
        {
            "body_system": ["ANY", "ANY", "ANY"],
            "preferred_term": [np.nan, np.nan, np.nan],
            "arm": ["Total"] * 3,
            "statistic": ["n", "pct", "events"],
            "value": [2.0, 50.0, 3.0],
        }
    )
    header = pd.DataFrame(
        {"variable": ["Subjects"], "arm": ["Total"], "statistic": ["N"], "value": [4.0]}
    )
    table = ae_by_term(frame, [], header, "Adverse events")
    assert "Any adverse event" in str(table)
    assert "All subjects (N=4)" in str(table)


@pytest.mark.filterwarnings("error")
def test_a_disposition_without_reasons_has_none() -> None:
    frame = pd.DataFrame(
        {
            "variable": ["Randomized", "Completed", "Discontinued"],
            "level": [np.nan, np.nan, np.nan],
            "arm": ["Total"] * 3,
            "statistic": ["n"] * 3,
            "value": [4.0, 4.0, 0.0],
        }
    )
    (column,) = disposition(frame, [])
    assert column["randomized"] == "4"
    assert column["completed"] == "4"
