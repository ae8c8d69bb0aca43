"""The code's layout holds: no module imports or reaches into another's underscore names,
each vocabulary list is spelled once, the rule tables keyed by a list have exactly its words
as keys, and only the command line prints."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import trialkit
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
    INTERCURRENT_EVENTS,
    MULTIPLICITY_METHODS,
    PARAMETER_KINDS,
    POPULATIONS,
    RESAMPLING_METHODS,
    RESPONDER_OPERATORS,
    SPENDING_FUNCTIONS,
)

PACKAGE = Path(trialkit.__file__).parent

#: Rule tables keyed by a vocabulary list (one rule per word): the only dict literals outside
#: vocabulary.py whose keys are a list's words, each pinned to its list by a test below.
KEYED_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("cutoff.py", "CUTOFF_DATE_COLUMNS", DATASETS),
    ("datasets.py", "REQUIRED_COLUMNS", DATASETS),
    ("datasets.py", "DATE_COLUMNS", DATASETS),
    ("derive/estimands.py", "ICE_COLUMNS", INTERCURRENT_EVENTS),
    ("responder_rule.py", "_COMPARE", RESPONDER_OPERATORS),
)

#: Where code may write to the terminal: the command line, and the console script's entry
#: point, which prints the one line of a stop signal that arrives while ``trialkit.cli`` is
#: still being imported (it cannot ask the half-imported command line to print it).
PRINTING = ("cli/", "entry.py")

#: Calls that write to the terminal.
PRINT_CALLS = {"print", "pprint", "typer.echo", "typer.secho", "click.echo", "click.secho"}

#: The terminal's streams: writing to them, or handing them to something that does (a
#: progress bar's ``file=``), is printing.
STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}


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


def test_no_module_reads_another_modules_private_attributes() -> None:
    """No ``x._name`` where ``x`` is a name imported from trialkit, or a variable that holds
    one of its classes (annotated with it, or made by calling it)."""
    offences = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _trialkit_imports(tree)
        scopes: list[tuple[ast.AST, set[str]]] = [(tree, imported)]
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                scopes.append((fn, _instances(fn, imported) - imported))
        for scope, names in scopes:
            for node in ast.walk(scope):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in names
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                ):
                    where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
                    offences.append(f"{where}: {node.value.id}.{node.attr}")
    assert offences == [], offences


def _trialkit_imports(tree: ast.Module) -> set[str]:
    """The names a module binds by importing from trialkit."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trialkit"):
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {
                a.asname or a.name.split(".")[0]
                for a in node.names
                if a.name.split(".")[0] == "trialkit"
            }
    return names


def _instances(fn: ast.FunctionDef | ast.AsyncFunctionDef, imported: set[str]) -> set[str]:
    """Parameters and variables of ``fn`` that hold an instance of an imported class."""
    args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    names = {a.arg for a in args if _annotation_names(a.annotation) & imported}
    for node in ast.walk(fn):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if _annotation_names(node.annotation) & imported:
                names.add(node.target.id)
        elif isinstance(node, ast.Assign) and _makes(node.value, imported):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names - {"self", "cls"}


def _makes(value: ast.expr, imported: set[str]) -> bool:
    """Whether ``value`` calls an imported name (a class: an instance of it)."""
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in imported
    )


def _annotation_names(annotation: ast.expr | None) -> set[str]:
    """The classes an annotation names: ``A``, ``"A"``, ``mod.A``, ``A | None``."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return set()
    if isinstance(annotation, ast.Name):
        return {annotation.id}
    if isinstance(annotation, ast.Attribute) and isinstance(annotation.value, ast.Name):
        return {annotation.value.id}
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _annotation_names(annotation.left) | _annotation_names(annotation.right)
    return set()


def test_each_vocabulary_list_is_spelled_once() -> None:
    """The words of each list appear together, in a tuple, list or set literal or as the keys of
    a dict literal, in trialkit/vocabulary.py only (and as the keys of the pinned tables)."""
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
        "intercurrent events": INTERCURRENT_EVENTS,
        "populations": POPULATIONS,
    }
    found = []
    for path in _modules():
        if path.name == "vocabulary.py":
            continue
        module = path.relative_to(PACKAGE).as_posix()
        # ``__all__`` lists function names, which may be words of a list
        allowed = {"__all__", *(table for m, table, _ in KEYED_TABLES if m == module)}
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {
            id(n.value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign | ast.AnnAssign)
            and any(getattr(t, "id", "") in allowed for t in _targets(n))
        }
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            value = _literal_words(node)
            for name, words in lists.items():
                if len(words) > 1 and set(words) <= value:
                    found.append(f"{module}:{getattr(node, 'lineno', '?')}: {name}")
    assert found == [], found


def _literal_words(node: ast.AST) -> set[object]:
    """The constants a tuple, list or set literal holds, or the keys of a dict literal."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items: list[ast.expr | None] = list(node.elts)
    elif isinstance(node, ast.Dict):
        items = list(node.keys)
    else:
        return set()
    words = set()
    for item in items:
        if not isinstance(item, ast.Constant) or not isinstance(item.value, str | int | float):
            return set()
        words.add(item.value)
    return words


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


@pytest.mark.parametrize(("module", "table", "words"), KEYED_TABLES)
def test_keyed_tables_have_exactly_the_list_as_keys(
    module: str, table: str, words: tuple[str, ...]
) -> None:
    name = "trialkit." + module.removesuffix(".py").replace("/", ".")
    assert tuple(getattr(importlib.import_module(name), table)) == words


def test_only_the_command_line_prints() -> None:
    """Library modules return values and raise: no ``print``, ``echo``, ``console.print`` or
    use of ``sys.stdout``/``sys.stderr`` outside :data:`PRINTING`."""
    offences = []
    for path in _modules():
        module = path.relative_to(PACKAGE).as_posix()
        if module.startswith(PRINTING):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name in PRINT_CALLS or name.endswith("console.print"):
                    offences.append(f"{module}:{node.lineno}: {name}(")
            elif isinstance(node, ast.Attribute) and node.attr in STREAMS:
                if _dotted(node.value) == "sys":
                    offences.append(f"{module}:{node.lineno}: sys.{node.attr}")
            elif isinstance(node, ast.ImportFrom) and node.module == "sys":
                streams = sorted({a.name for a in node.names} & STREAMS)
                if streams:
                    offences.append(f"{module}:{node.lineno}: from sys import {streams}")
    assert offences == [], offences


def _dotted(node: ast.expr) -> str:
    """``a.b.c`` of a name or attribute chain (empty for anything else)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""
