"""responder_flags takes the missing-value rules of the vocabulary and refuses any other."""

from __future__ import annotations

import pandas as pd
import pytest

from trialkit.errors import ModelSpecificationError
from trialkit.estimators.responders import responder_flags


def test_an_unknown_missing_rule_is_refused() -> None:
    subjects = pd.DataFrame(columns=["USUBJID", "ARMCD"])
    with pytest.raises(ModelSpecificationError, match="missing: 'drop' is not one of"):
        responder_flags(
            pd.DataFrame(), subjects, param="HC", visit="W12", threshold=20, missing="drop"
        )
