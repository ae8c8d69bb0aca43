"""trialkit: clinical-trial data management and statistics for hair-loss treatment trials."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
