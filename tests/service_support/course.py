"""A course's own exercise set for tests of a service that grades several sets: one small exercise and its reference."""

from __future__ import annotations

from pathlib import Path

SPEC = """\
id: double-it
title: {en: Double it, zh: 加倍}
functions:
  double: {signature: (x), summary: returns 2 * x}
inputs:
  x: {kind: tensor, shape: [3], low: -1.0, high: 1.0}
calls:
  twice: {function: double, args: [x]}
checks:
  - {id: values, kind: compare, calls: twice, reference: double, points: 2}
"""
REFERENCE = "def double(x):\n    return 2 * x\n"
RIGHT = "def double(x):\n    return 2 * x\n"
WRONG = "def double(x):\n    return 2 * x + 0.5\n"
"""Off by 0.5 everywhere: 0 of the set's 2 points."""


def write_course(parent: Path, name: str = "course") -> Path:
    """The set's directory `parent/name` (served under `name`), with the exercise in a folder of its own."""
    folder = parent / name / "double-it"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exercise.yaml").write_text(SPEC, encoding="utf-8")
    (folder / "reference.py").write_text(REFERENCE, encoding="utf-8")
    return parent / name
