"""trialkit: clinical-trial data management and statistics for hair-loss treatment trials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from trialkit.analysis.run import analyze

__all__ = ["__version__", "analyze"]


def __getattr__(name: str) -> Any:
    """Lazy exports: ``trialkit.analyze`` imports the analysis stack only when used."""
    if name == "analyze":
        from trialkit.analysis.run import analyze

        return analyze
    raise AttributeError(f"module 'trialkit' has no attribute {name!r}")
