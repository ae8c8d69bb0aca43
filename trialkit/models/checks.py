"""Data problems that stop any MMRM, whatever its covariance: found before a fit and named.

Without these checks such data reach the design or the optimiser and come back as a message
about something else: a constant covariate as "column 'Intercept' is not estimable", a single
subject or an arm without outcomes as "no covariance structure converged". Each check here
says what is wrong with the data (the rows the model uses: outcome and covariates present).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialkit.errors import ModelSpecificationError
from trialkit.models.formula import is_categorical


def check_model_data(
    rows: pd.DataFrame,
    response: str,
    variables: Sequence[str],
    subject: str,
    reference: Mapping[str, str],
) -> None:
    """Refuse ``rows`` (the analysable rows) that no covariance structure could fit.

    At least two subjects; every formula variable in ``variables`` (not the visit) varies:
    a numeric covariate takes two values or more, a factor has two levels or more, and a
    factor's ``reference`` level is among them.
    """
    where = f"among the rows with a non-missing {response!r} and covariates"
    subjects = pd.unique(rows[subject])
    if len(subjects) < 2:
        who = f" ({str(subjects[0])!r})" if len(subjects) else ""
        raise ModelSpecificationError(
            f"only {len(subjects)} subject{who} {where}: a repeated-measures model needs at "
            "least two subjects"
        )
    for v in dict.fromkeys(variables):
        values = rows[v]
        if is_categorical(values):
            levels = sorted({str(x) for x in pd.unique(values)})
            ref = reference.get(v)
            if ref is not None and str(ref) not in levels:
                raise ModelSpecificationError(
                    f"factor {v!r}: its reference level {str(ref)!r} has no row {where} "
                    f"(levels present: {', '.join(levels)})"
                )
            if len(levels) < 2:
                raise ModelSpecificationError(
                    f"factor {v!r} has one level ({levels[0]!r}) {where}: its effect cannot "
                    "be estimated"
                )
        elif values.nunique() < 2:
            raise ModelSpecificationError(
                f"covariate {v!r} is constant ({values.iloc[0]:g}) {where}: its effect cannot "
                "be estimated"
            )


__all__ = ["check_model_data"]
