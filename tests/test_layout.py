"""The code's layout holds: no module imports another's underscore names, each vocabulary
list is spelled once, and the datasets' column rules cover exactly the vocabulary's datasets."""

from __future__ import annotations

import ast
from pathlib import Path

import trialkit
from trialkit.datasets import REQUIRED_COLUMNS
from trialkit.vocabulary import (
    BINARY_METHODS,
    BOOTSTRAP_INTERVALS,
    CORRELATION_STRUCTURES,
    COVARIANCE_STRUCTURES,
    DATASETS,
    DF_METHODS,
    DROPOUT_MECHANISMS,
    ESTIMAND_STRATEGIES,
    IMPUTATION_METHODS,
    IMPUTATION_STRATEGIES,
    MULTIPLICITY_METHODS,
    PARAMETER_KINDS,
    RESAMPLING_METHODS,
    RESPONDER_OPERATORS,
    SPENDING_FUNCTIONS,
)

PACKAGE = Path(trialkit.__file__).parent


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_imports_another_modules_private_names() -> None:
    offences = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trialkit"):
                private = [
                    a.name
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
                if private:
                    offences.append(f"{path.relative_to(PACKAGE)}: {node.module} {private}")
    assert offences == []


def test_each_vocabulary_list_is_spelled_once() -> None:
    """The literal tuple of each list appears in trialkit/vocabulary.py only."""
    lists = {
        "covariance structures": COVARIANCE_STRUCTURES,
        "df methods": DF_METHODS,
        "multiplicity methods": MULTIPLICITY_METHODS,
        "estimand strategies": ESTIMAND_STRATEGIES,
        "datasets": DATASETS,
        "spending functions": SPENDING_FUNCTIONS,
        "binary methods": BINARY_METHODS,
        "responder operators": RESPONDER_OPERATORS,
        "parameter kinds": PARAMETER_KINDS,
        "correlation structures": CORRELATION_STRUCTURES,
        "dropout mechanisms": DROPOUT_MECHANISMS,
        "imputation strategies": IMPUTATION_STRATEGIES,
        "imputation methods": IMPUTATION_METHODS,
        "resampling methods": RESAMPLING_METHODS,
        "bootstrap intervals": BOOTSTRAP_INTERVALS,
    }
    found = []
    for path in _modules():
        if path.name == "vocabulary.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exports = {  # ``__all__`` lists function names, which may be words of a list
            id(n.value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign)
            and any(getattr(t, "id", "") == "__all__" for t in n.targets)
        }
        for node in ast.walk(tree):
            if id(node) in exports:
                continue
            if isinstance(node, ast.Tuple | ast.List) and node.elts:
                try:
                    value = tuple(ast.literal_eval(node))
                    set(value)
                except (ValueError, TypeError):
                    continue
                for name, words in lists.items():
                    if len(words) > 1 and set(words) <= set(value):
                        found.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert found == []


def test_column_rules_cover_the_vocabulary_datasets() -> None:
    assert tuple(REQUIRED_COLUMNS) == DATASETS
