"""The names trialkit accepts, each list once: the definition checks against these, and the
models, the analysis and the report import them (no module spells them again).

Plain data with no heavy imports, so reading ``trial.toml`` stays fast.
"""

from __future__ import annotations

#: Lan-DeMets spending families of group sequential designs (rpact's names).
SPENDING_FUNCTIONS: tuple[str, ...] = ("of", "pocock", "hsd", "kd")
#: Spending families that take a shape parameter gamma.
NEEDS_GAMMA: frozenset[str] = frozenset({"hsd", "kd"})

#: The version of the ``results.json`` contract (``schemas/results.schema.json``): the analysis
#: writes it, the report refuses any other.
RESULTS_SCHEMA_VERSION = "1"
