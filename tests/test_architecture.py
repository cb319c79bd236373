"""The shape of the code: one seam, one tiling, small modules, no torch in classical.

These read the source instead of running it: they keep the layering that
``docs/architecture.rst`` describes from eroding.
"""

import ast
import re
from pathlib import Path

import pytest

from sklearn_ednn import EDNNRegressor

PACKAGE = Path(__file__).resolve().parent.parent / "sklearn_ednn"
BENCHMARKS = PACKAGE.parent / "benchmarks"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _docstring_lines(tree):
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def code_lines(source, first=1, last=None):
    """Lines of code between ``first`` and ``last``: no blanks, comments, docs."""
    skip = _docstring_lines(ast.parse(source))
    lines = source.splitlines()[first - 1 : last]
    return sum(
        1
        for number, line in enumerate(lines, first)
        if line.strip() and not line.strip().startswith("#") and number not in skip
    )


def _private_members():
    own = vars(EDNNRegressor)
    names = {n for n in own if n.startswith("_") and not n.startswith("__")}
    return names | {"_y_ndim"}


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.name != "_estimator.py"], ids=str
)
def test_no_module_reaches_into_the_estimator(path):
    source = path.read_text()
    used = {m for m in _private_members() if re.search(rf"\.{m}\b", source)}
    assert not used, f"{path.name} uses EDNNRegressor's private {sorted(used)}"


def test_benchmarks_do_not_reach_into_the_estimator():
    for path in sorted(BENCHMARKS.glob("*.py")):
        source = path.read_text()
        used = {m for m in _private_members() if re.search(rf"\.{m}\b", source)}
        assert not used, f"{path.name} uses EDNNRegressor's private {sorted(used)}"


def test_the_tile_window_formula_lives_in_the_tiling_module():
    formula = re.compile(r"\+ 2 \* (c|ci|context)\b(?!`)")
    for path in MODULES:
        if path.name == "_tiling.py":
            continue
        code = [
            line
            for line in path.read_text().splitlines()
            if formula.search(line) and not line.strip().startswith(("#", "``"))
        ]
        assert not code, f"{path.name} computes the tile side itself: {code}"


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:  # top level only: a lazy import is deliberate
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")


@pytest.mark.parametrize(
    "path",
    sorted((PACKAGE / "_classical").glob("*.py"))
    + [PACKAGE / name for name in ("_tiling.py", "_fitted_tiling.py", "_inference.py")]
    + [PACKAGE / "_validation.py"],
    ids=lambda p: p.name,
)
def test_the_classical_side_does_not_import_torch(path):
    torch_imports = [
        name
        for name in _imports(path)
        if name.split(".")[0] in ("torch", "skorch") or "_torch" in name
    ]
    assert not torch_imports, f"{path.name} imports {torch_imports}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    assert code_lines(path.read_text()) <= 400


def test_fit_validates_dispatches_and_stores():
    source = (PACKAGE / "_estimator.py").read_text()
    tree = ast.parse(source)
    (fit,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "fit"
    ]
    assert code_lines(source, fit.lineno, fit.end_lineno) <= 40
