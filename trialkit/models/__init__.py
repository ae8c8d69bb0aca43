"""Mixed models for repeated measures (MMRM) with SAS-conforming inference.

``MMRM.from_formula(...).fit(method="reml", df="kenward-roger")`` returns an
:class:`MMRMResults` with estimates, LS means, contrasts and type III tests.
"""

from trialkit.models.fit import Convergence
from trialkit.models.mmrm import MMRM
from trialkit.models.results import MMRMResults

__all__ = ["MMRM", "Convergence", "MMRMResults"]
