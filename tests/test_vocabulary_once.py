"""The population codes are spelled once, in trialkit/vocabulary.py: no other module holds them
together in a tuple, list or set literal or as the keys of a dict literal (a rule keyed by the
population is built from ``POPULATIONS``, as ``POPULATION_FLAGS`` is)."""

from __future__ import annotations

import ast
from pathlib import Path

import trialkit
from trialkit.vocabulary import POPULATIONS

PACKAGE = Path(trialkit.__file__).parent


def literal_words(node: ast.AST) -> set[object]:
    """The constants of a tuple, list or set literal, or the keys of a dict literal."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items: list[ast.expr | None] = list(node.elts)
    elif isinstance(node, ast.Dict):
        items = list(node.keys)
    else:
        return set()
    return {i.value for i in items if isinstance(i, ast.Constant)}


def test_population_codes_are_spelled_once() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module == "vocabulary.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if set(POPULATIONS) <= literal_words(node):
                found.append(f"{module}:{getattr(node, 'lineno', '?')}")
    assert found == [], found
