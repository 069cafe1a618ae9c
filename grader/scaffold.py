"""`grader new`: a new exercise folder that validates and passes `grader selftest` as generated.

The folder holds exercise.yaml (with the editor schema header, and every text in English and
Chinese), reference.py, a solution.py that reaches the answer another way than the reference, and
one mutant; the JSON Schema is written beside the folder as schema.json, so the header's relative
path `../schema.json` resolves wherever the instructor keeps their exercises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from grader.schema import SCHEMA_FILE, SCHEMA_HEADER, render_schema
from grader.selftest import MUTANTS_DIR, SOLUTION_FILE
from grader.spec.loader import SPEC_FILE
from grader.spec.models import SLUG

SCHEMA_MARK = '"title": "autograd-grader exercise spec"'
"""Text that identifies a schema.json written by the grader (and so safe to refresh)."""

EXERCISE_YAML = SCHEMA_HEADER + """
# A new exercise: the student writes derivative(x), the derivative of x**3, with autograd.
# Replace the function, inputs, calls and checks with your own; see docs/authoring.md.
# Every text students read is given in English (en) and Chinese (zh); zh may be left out.
# Then run: grader validate {parent}   and   grader selftest {parent}
id: {id}
title:
  en: The derivative of x**3 with autograd
  zh: 用自动微分求 x**3 的导数
description:
  en: >-
    Write derivative(x): for a 1-D float tensor x, return the derivative of x**3 at each entry,
    computed with autograd.
  zh: >-
    编写 derivative(x)：对一维浮点张量 x，返回 x**3 在每个元素处的导数，用自动微分计算。
reference: reference.py

functions:
  derivative:
    signature: (x)
    summary:
      en: returns a tensor shaped like x whose i-th entry is the derivative of x**3 at x_i, from autograd.
      zh: 返回与 x 形状相同的张量，其第 i 个元素是 x**3 在 x_i 处的导数，用自动微分计算。

inputs:
  x: {{kind: tensor, shape: [8], low: -2.0, high: 2.0}}

calls:
  values: {{function: derivative, args: [x], samples: 3, repeat: 2}}

checks:
  - id: values
    kind: compare
    title: {{en: derivative matches autograd, zh: 导数与自动微分的结果一致}}
    calls: values
    reference: derivative
    rtol: 1.0e-10
    atol: 1.0e-12
    points: 6
  - id: autograd
    kind: autograd
    title: {{en: the derivative comes from autograd, zh: 导数来自自动微分}}
    calls: [values]
    points: 4
"""

# The reference and the model solution reach the same answer by different routes, so that the
# self-test shows a solution a student might write passing against the instructor's reference.
REFERENCE_PY = '''"""Reference answers for `{id}`, computed with autograd from the same arguments as the student's."""

import torch


def derivative(x):
    """d(x**3)/dx at each entry of x: the gradient of the sum, by torch.autograd.grad."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((x ** 3).sum(), x)
    return grad
'''

SOLUTION_PY = '''"""Model solution of `{id}`: `grader selftest` requires it to pass every check."""

import torch


def derivative(x):
    leaf = x.detach().clone().requires_grad_(True)  # a fresh leaf, so no gradient is left from an earlier call
    y = leaf ** 3
    y.backward(torch.ones_like(y))  # dy_i/dx_i for every i at once: y is elementwise in x
    return leaf.grad
'''

MUTANT_PY = '''# fails: autograd
"""A derivative worked out by hand: the right numbers, but autograd never runs.

`grader selftest` requires a mutant to fail exactly the checks of its `# fails:` line.
"""

import torch


def derivative(x):
    return 3 * x.detach() ** 2
'''


class ScaffoldError(Exception):
    """The exercise cannot be created as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Written:
    """A file `grader new` wrote, and whether it was new or a refreshed schema."""

    path: Path
    action: str


def _schema_file(directory: Path) -> Written:
    path = directory / SCHEMA_FILE
    if path.exists():
        if SCHEMA_MARK not in path.read_text(encoding="utf-8", errors="replace"):
            return Written(path, "left alone (not written by the grader; editors may not check the YAML)")
        path.write_text(render_schema(), encoding="utf-8")
        return Written(path, "updated")
    path.write_text(render_schema(), encoding="utf-8")
    return Written(path, "created")


def scaffold_exercise(directory: Path, exercise_id: str) -> list[Written]:
    """Create `directory/exercise_id/` with a working exercise, and `directory/schema.json`."""
    if not re.match(SLUG, exercise_id):
        raise ScaffoldError(f"{exercise_id!r} is not a valid exercise id: use lower-case letters, digits, '-' and '_', "
                            "starting with a letter or digit (for example relu-at-zero)")
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} is a file, not a directory")
    folder = directory / exercise_id
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists: choose another id or --dir, or remove it")
    (folder / MUTANTS_DIR).mkdir(parents=True)
    files = {
        folder / SPEC_FILE: EXERCISE_YAML.format(id=exercise_id, parent=directory),
        folder / "reference.py": REFERENCE_PY.format(id=exercise_id),
        folder / SOLUTION_FILE: SOLUTION_PY.format(id=exercise_id),
        folder / MUTANTS_DIR / "by_hand.py": MUTANT_PY,
    }
    written = []
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        written.append(Written(path, "created"))
    return written + [_schema_file(directory)]
