"""The project's own rules, checked on its source: docstrings on public names, one-way layering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "grader"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "_exercises" not in p.parts)

# Data flows one way: spec -> plan -> sandbox -> observations -> judge (checks) -> scorecard -> reporters.
# A module of the left column must not import any module named on its right.
FORBIDDEN = {
    "grader.reporters": ("grader.sandbox", "grader.judge", "grader.checks", "grader.grading", "grader.spec",
                         "grader.plan", "grader.batch", "grader.cli"),
    "grader.sandbox": ("grader.spec", "grader.plan", "grader.checks", "grader.judge", "grader.grading",
                       "grader.reporters", "grader.scorecard", "grader.batch", "grader.cli"),
    "grader.spec.models": ("grader.checks", "grader.sandbox", "grader.judge", "grader.reporters", "grader.cli"),
    "grader.checks": ("grader.grading", "grader.batch", "grader.reporters", "grader.cli", "grader.sandbox"),
    "grader.scorecard": ("grader.sandbox", "grader.judge", "grader.checks", "grader.grading", "grader.reporters", "grader.cli"),
    "grader.wire": ("grader.",),
    "grader.store": ("grader.service", "grader.cli", "grader.sandbox"),
    "grader.service": ("torch",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_public_names_have_docstrings(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{module_name(path)} has no module docstring"
    missing = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            if not ast.get_docstring(node):
                missing.append(node.name)
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if (isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_")
                            and not ast.get_docstring(item)):
                        missing.append(f"{node.name}.{item.name}")
    assert not missing, f"{module_name(path)}: no docstring on {', '.join(missing)}"


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_modules_import_only_to_their_left(path):
    name = module_name(path)
    used = imports(ast.parse(path.read_text(encoding="utf-8")))
    for prefix, forbidden in FORBIDDEN.items():
        if name == prefix or name.startswith(prefix + "."):
            bad = sorted(u for u in used for f in forbidden if u == f.rstrip(".") or u.startswith(f if f.endswith(".") else f + ".") or u == f)
            assert not bad, f"{name} imports {bad}, against the one-way flow"
