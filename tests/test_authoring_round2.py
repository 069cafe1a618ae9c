"""Instructors, second round: the ReLU tutorial of docs/authoring.md, expressions and references in an ordinary
environment, special values and gradient_consistency of any shape on real submissions, starter files and
`grader new`, and the limits of every field stated in the reference.
"""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import annotated_types
import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT, en, run_cli, zh
from grader.checks import BUILTIN_KINDS
from grader.cli import grader as grader_group
from grader.schema import render_schema
from grader.selftest import render, run_selftest
from grader.spec import models
from grader.spec.loader import SpecError, load_exercises

DOC = ROOT / "docs" / "authoring.md"
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
SEED = 20261126


def doc_blocks() -> list[tuple[str, str]]:
    """(info string, body) of every fenced block of docs/authoring.md."""
    return [(m["info"].strip(), m["body"]) for m in FENCE.finditer(DOC.read_text(encoding="utf-8"))]


def write_doc_exercise(directory: Path, prefix: str) -> Path:
    """The files the doc's blocks name under `prefix/` (```python file=relu-at-zero/solution.py), written out."""
    for info, body in doc_blocks():
        if "file=" in info and info.split("file=", 1)[1].strip().startswith(prefix + "/"):
            target = directory / info.split("file=", 1)[1].strip()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
    (directory / "schema.json").write_text(render_schema(), encoding="utf-8")
    return directory


def write_exercise(directory: Path, spec: str, reference: str | None = None) -> list:
    folder = directory / "ex"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exercise.yaml").write_text(spec, encoding="utf-8")
    if reference is not None:
        (folder / "reference.py").write_text(reference, encoding="utf-8")
    return folder


# -- 9. the second tutorial ------------------------------------------------------------------

def test_the_relu_tutorial_passes_selftest_from_the_docs_own_snippets(tmp_path, sandbox):
    directory = write_doc_exercise(tmp_path / "my-exercises", "relu-at-zero")
    (loaded,) = load_exercises(directory, references=sandbox.references)
    assert loaded.spec.id == "relu-at-zero" and loaded.spec.inputs["x"].include == [0.0, -0.0]
    (result,) = run_selftest([loaded], sandbox, SEED)
    assert result.ok, render([result], SEED)
    assert {f.path.name: f.declared for f in result.files} == {
        "solution.py": (), "by_hand.py": ("autograd",), "clamp.py": ("values",)}
    shown = next(body for info, body in doc_blocks() if info == "text" and "✔ relu-at-zero" in body)
    printed = render([result], SEED).replace(str(directory), "my-exercises")
    assert [l for l in shown.splitlines() if "✔" in l] == [l for l in printed.splitlines() if "✔" in l]


def test_the_three_brief_exercises_pass_selftest_from_the_docs_own_snippets(tmp_path, sandbox):
    directory = tmp_path / "my-exercises"
    for prefix in ("chain-rule", "forward-reverse", "detach"):
        write_doc_exercise(directory, prefix)
    loaded = load_exercises(directory, references=sandbox.references)
    assert [e.spec.id for e in loaded] == ["chain-rule", "detach", "forward-reverse"]
    results = run_selftest(loaded, sandbox, SEED)
    assert all(r.ok for r in results), render(results, SEED)
    declared = {(r.exercise, f.path.name): f.declared for r in results for f in r.files}
    assert declared[("forward-reverse", "jacobian_times_v.py")] == ("jvp-forward",)  # reverse mode, right values
    assert declared[("chain-rule", "outer_only.py")] == ("derivative", "consistent")
    assert declared[("detach", "no_detach.py")] == ("values",)


def test_the_text_report_shows_check_titles_and_ids_where_there_are_none(tmp_path):
    directory = write_doc_exercise(tmp_path / "my-exercises", "forward-reverse")
    mutant = directory / "forward-reverse" / "mutants" / "jacobian_times_v.py"
    shown = {lang: run_cli("--exercises", str(directory), str(mutant), "--lang", lang, "--seed", "3", "--timeout", "30")
             for lang in ("en", "zh")}  # a fresh grader: its first child starts cold
    assert all(done.returncode == 1 for done in shown.values()), shown["en"].stderr
    lines = {lang: [line.strip() for line in done.stdout.splitlines()] for lang, done in shown.items()}
    assert "✘ Jv in forward mode  0/2" in lines["en"] and "✔ uᵀJ in reverse mode  2/2" in lines["en"]
    assert "✘ 用前向模式计算 Jv  0/2" in lines["zh"]
    assert "✔ jvp-values  3/3" in lines["en"] and "✔ jvp-values  3/3" in lines["zh"]  # no title: the id


def test_without_its_special_values_the_tutorial_cannot_tell_clamp_from_relu(tmp_path, sandbox):
    directory = write_doc_exercise(tmp_path / "my-exercises", "relu-at-zero")
    spec = directory / "relu-at-zero" / "exercise.yaml"
    spec.write_text(spec.read_text().replace(", include: [0.0, -0.0], include_share: 0.25", ""))
    (result,) = run_selftest(load_exercises(directory, references=sandbox.references), sandbox, SEED)
    clamp = next(f for f in result.files if f.path.name == "clamp.py")
    assert not clamp.ok and "is declared to fail values, but it passed" in clamp.problems[0]


def test_the_clamp_students_report_is_the_one_shown(tmp_path, sandbox, grade_source):
    directory = write_doc_exercise(tmp_path / "my-exercises", "relu-at-zero")
    exercises = load_exercises(directory, references=sandbox.references)
    card = grade_source((directory / "relu-at-zero" / "mutants" / "clamp.py").read_text(), exercises).scorecard
    values = card.exercises[0].checks[0]
    shown = next(body for info, body in doc_blocks() if info == "text" and "0/6" in body)
    assert values.status == "failed" and en(values.hint).startswith(shown.splitlines()[-1].split("hint: ")[1].rstrip(". "))
    assert "(got 1.0, expected 0.0; rtol 0, atol 0)" in en(values.message) and "(x=0)" in en(values.message)


ACCUMULATES = """\
import torch

_leaves = {}


def relu_grad(x):
    # One leaf per input kept between calls: its .grad grows with every backward().
    leaf = _leaves.setdefault(tuple(x.tolist()), x.detach().clone().requires_grad_(True))
    torch.relu(leaf).sum().backward()
    return leaf.grad.clone()
"""


def test_an_instructor_hint_is_kept_over_a_builtin_one(tmp_path, sandbox, grade_source):
    # The grader recognises the mistake (gradients accumulating over `repeat: 2`) and has a hint of
    # its own; the tutorial's check has the instructor's, which stays the hint, the grader's a tip.
    directory = write_doc_exercise(tmp_path / "my-exercises", "relu-at-zero")
    values = grade_source(ACCUMULATES, load_exercises(directory, references=sandbox.references)).scorecard.exercises[0].checks[0]
    assert values.status == "failed"
    assert en(values.hint).startswith("At exactly 0 the gradient is a convention") and zh(values.hint).startswith("恰好在 0 处")
    assert len(values.tips) == 1 and "gradients accumulate in .grad" in en(values.tips[0])
    spec = directory / "relu-at-zero" / "exercise.yaml"
    spec.write_text(spec.read_text().replace("reference: reference.py\n", "reference: reference.py\nbuiltin_hints: false\n", 1))
    quiet = grade_source(ACCUMULATES, load_exercises(directory, references=sandbox.references)).scorecard.exercises[0].checks[0]
    assert quiet.status == "failed" and en(quiet.hint) == en(values.hint) and quiet.tips == []


def test_the_docs_yaml_error_example_is_what_validate_says(tmp_path):
    directory = tmp_path / "my-exercises"
    for info, body in doc_blocks():
        if info == "yaml file=softmax-jacobian/exercise.yaml":
            (directory / "softmax-jacobian").mkdir(parents=True)
            lines = body.splitlines()
            number = next(i for i, l in enumerate(lines) if l.strip() == "calls: small")
            lines[number] = lines[number][1:]  # a key one space to the left of its mapping
            (directory / "softmax-jacobian" / "exercise.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(SpecError) as caught:
        load_exercises(directory)
    said = str(caught.value.issues[0]).replace(str(directory), "my-exercises")
    shown = next(body for info, body in doc_blocks() if info == "text" and "not valid YAML" in body).strip()
    assert said.startswith(shown.removesuffix("(...)").rstrip()), (said, shown)


# -- 3. expressions and references run in an ordinary environment -------------------------------

EXPRESSIONS = ["torch.where(x > 0, x, -x)", "torch.tensor([[1.0], [2.0]], dtype=x.dtype) * x", "x * (x > 0.5)",
               "sum(k * x ** k for k in range(3))"]  # a comprehension sees x too


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_any_torch_expression_builds_first_thing_in_a_fresh_interpreter(expr):
    # Whether these broke depended on what had run before (an import done once is cached), so each
    # runs first thing in a process of its own; and a submission's tampering with builtins is not seen.
    script = f"""
import builtins
import numpy as np
import torch  # imported, as in the warm worker, but none of its lazy imports done yet
from grader.arguments import build_argument
from grader.wire import encode_array
builtins.__import__ = None  # what a submission may do before its functions are called
leaf = encode_array(np.array([0.25, 0.75, -0.5]), "float64")
value = build_argument({{"kind": "graph", "leaf": leaf, "expr": {expr!r}}})
function = build_argument({{"kind": "function", "expr": {expr!r}}})
print(value.requires_grad, tuple(function(value.detach()).shape))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("True (")


ENVIRONMENT_YAML = """\
id: environment
title: {en: Inputs built by torch expressions, zh: 由 torch 表达式构造的输入}
functions:
  value_of: {signature: (t), summary: returns t without its graph}
  apply: {signature: "(f, x)", summary: returns f(x)}
inputs:
  x: {kind: tensor, shape: [4], low: 0.0, high: 1.0}
  folded: {kind: graph, leaf: x, expr: "torch.where(x > 0.5, x, -x)"}
  gated: {kind: graph, leaf: x, expr: "x * (x > 0.5)"}
  outer: {kind: function, expr: "torch.tensor([[1.0], [2.0]], dtype=x.dtype) * x"}
calls:
  graphs: {function: value_of, cases: [[folded], [gated]], samples: 2}
  functions: {function: apply, args: [outer, x], samples: 2}
checks:
  - {id: graphs, kind: compare, calls: graphs, reference: value_of, points: 1}
  - {id: functions, kind: compare, calls: functions, reference: apply, points: 1}
"""
ENVIRONMENT_REFERENCE = "def value_of(t):\n    return t.detach()\n\ndef apply(f, x):\n    return f(x)\n"


def test_torch_expressions_in_inputs_grade_on_both_sides(tmp_path, sandbox, grade_source):
    folder = write_exercise(tmp_path, ENVIRONMENT_YAML, ENVIRONMENT_REFERENCE)
    exercises = load_exercises(folder.parent, references=sandbox.references)
    card = grade_source("""\
        import torch

        torch.tensor([1.0])  # what ran before no longer matters

        def value_of(t):
            return t.detach()

        def apply(f, x):
            return f(x)
        """, exercises).scorecard
    assert card.score == 2, [(c.id, en(c.message)) for c in card.exercises[0].checks]


RARE_FAILURE_YAML = """\
id: rare
title: {en: An input that fails on the student's range, zh: 在学生的区间上构造失败的输入}
variables:
  X_DOMAIN: {summary: the range of x, example: "(0.0, 1.0)"}
functions:
  value_of: {signature: (t), summary: returns t without its graph}
inputs:
  x: {kind: tensor, shape: [3], low: 0.0, high: 1.0, domain_from: X_DOMAIN}
  root: {kind: graph, leaf: x, expr: "torch.sqrt(x) if bool((x >= 0).all()) else x @ torch.ones(7, dtype=x.dtype)"}
calls:
  values: {function: value_of, args: [root], samples: 2}
checks:
  - {id: values, kind: compare, calls: values, reference: value_of, points: 1}
  - {id: raises, kind: raises, calls: values, exception: RuntimeError, points: 1}
"""


def test_an_input_that_fails_at_grade_time_is_the_exercises_mistake_not_the_students(tmp_path, sandbox, grade_source):
    # validate tries its draws on low..high, where it builds; the student's own range makes it raise.
    exercises = load_exercises(write_exercise(tmp_path, RARE_FAILURE_YAML, ENVIRONMENT_REFERENCE).parent,
                               references=sandbox.references)
    card = grade_source("X_DOMAIN = (-2.0, -1.0)\n\ndef value_of(t):\n    return t.detach()\n", exercises).scorecard
    values, raises = card.exercises[0].checks
    for check in (values, raises):  # the RuntimeError is the spec's: it answers no `raises` check either
        assert check.status == "error" and check.score == 0 and check.hint is None and check.traceback == []
        assert "building its inputs from the exercise's spec raised RuntimeError" in en(check.message)
        assert "not in your code; please tell your instructor" in en(check.message) and "请告诉你的老师" in zh(check.message)
    assert "exit status" not in en(values.message) and "sys.exit" not in en(values.message)  # the child went on
    # With a range where it builds, the same exercise grades as usual.
    fine = grade_source("X_DOMAIN = (0.0, 1.0)\n\ndef value_of(t):\n    return t.detach()\n", exercises).scorecard
    assert fine.exercises[0].checks[0].status == "passed"


# -- 4. special values: the child and the reference see the same ones ----------------------------

SIGNS_YAML = """\
id: signs
title: {en: Signed zeros, zh: 带符号的零}
functions:
  negative: {signature: (x), summary: "1.0 where x has its sign bit set (-0.0 too), else 0.0"}
inputs:
  x: {kind: tensor, shape: [6], include: [0.0, -0.0], include_share: 0.5}
calls:
  values: {function: negative, args: [x], samples: 3}
checks:
  - {id: values, kind: compare, calls: values, reference: negative, rtol: 0.0, atol: 0.0, points: 1}
"""
SIGNS_REFERENCE = "import torch\n\ndef negative(x):\n    return torch.signbit(x).to(x.dtype)\n"


def test_included_values_reach_the_student_exactly_sign_of_zero_included(tmp_path, sandbox, grade_source):
    exercises = load_exercises(write_exercise(tmp_path, SIGNS_YAML, SIGNS_REFERENCE).parent, references=sandbox.references)
    same = grade_source("import torch\n\ndef negative(x):\n    return torch.signbit(x).to(x.dtype)\n", exercises)
    loses_sign = grade_source("import torch\n\ndef negative(x):\n    return (x < 0).to(x.dtype)\n", exercises)
    assert same.scorecard.score == 1
    assert loses_sign.scorecard.score == 0 and "(x=-0)" in en(loses_sign.scorecard.exercises[0].checks[0].message)


# -- 5. gradient_consistency of any shape, cross-checked against g's own values ------------------

CONSISTENCY_YAML = """\
id: shapes
title: {en: Gradients of any shape, zh: 任意形状的梯度}
reference: null
functions:
  g: {signature: (x), summary: a function of a vector}
  g_grad: {signature: (x), summary: its derivative by hand}
inputs:
  x: {kind: tensor, shape: [4], low: -2.0, high: 2.0, include: [0.0]}
calls:
  g_autograd: {function: g, args: [x], samples: 6, grad: true}
  by_hand: {function: g_grad, args: [x], samples: 6}
checks:
  - {id: agrees, kind: gradient_consistency, calls: g_autograd, against: by_hand, rtol: 1.0e-9, atol: 1.0e-12, points: 1}
"""
CASES = {
    "elementwise": ("torch.sin(x) * x", "torch.cos(x) * x + torch.sin(x)", "passed", ""),
    "jacobian": ("torch.stack([x.sum(), (x ** 2).sum()])", "torch.stack([torch.ones_like(x), 2 * x])", "passed", ""),
    "relu kink at 0": ("torch.relu(x) * 3", "3.0 * (x > 0).to(x.dtype)", "passed", ""),
    "wrong hand gradient": ("x ** 3", "3 * x", "failed", "differs from autograd's gradient of g"),
    "straight-through": ("torch.sin(x).detach() + x ** 2 - (x ** 2).detach()", "2 * x", "failed",
                         "does not follow g's own values"),
    "wrong shape": ("torch.sin(x)", "torch.cos(x)[:2]", "failed", "expected x's shape [4]"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_gradient_consistency_of_any_shape(tmp_path, grade_source, case):
    g, g_grad, status, words = CASES[case]
    exercises = load_exercises(write_exercise(tmp_path, CONSISTENCY_YAML).parent)
    source = f"import torch\n\ndef g(x):\n    return {g}\n\ndef g_grad(x):\n    return {g_grad}\n"
    check = grade_source(source, exercises).scorecard.exercises[0].checks[0]
    assert check.status == status and words in en(check.message), en(check.message)
    if case == "relu kink at 0":
        assert check.details["finite_difference_skipped"] >= 1  # the draw with an exact 0 sits on the kink
    if case == "straight-through":
        assert "detach" in en(check.hint)


STRAIGHT_THROUGH = """\
import torch


def g(x):
    if x > 0:
        y = torch.sin(x)
    else:
        y = x ** 3
    {tail}


def g_grad(x):
    {grad}
"""


def test_a_detached_g_cannot_vouch_for_a_wrong_g_grad_in_the_builtin_exercise(grade_source, only):
    # g returns sin or x**3, but its graph is that of 2x (a straight-through trick): autograd says 2,
    # and a g_grad of 2 "agrees with autograd". g's own values say otherwise.
    exercises = only("custom-control-flow")
    tricked = grade_source(STRAIGHT_THROUGH.format(tail="return y.detach() + 2 * x - (2 * x).detach()",
                                                   grad="return torch.tensor(2.0, dtype=x.dtype)"), exercises)
    honest = grade_source(STRAIGHT_THROUGH.format(
        tail="return y", grad="return torch.cos(x) if x > 0 else 3 * x ** 2"), exercises)
    checks = {c.id: c for c in tricked.scorecard.exercises[0].checks}
    assert checks["gradient-agrees"].status == "failed" and checks["gradient-agrees"].score == 0
    assert "does not follow g's own values" in en(checks["gradient-agrees"].message), en(checks["gradient-agrees"].message)
    assert honest.scorecard.score == honest.scorecard.max_score, [
        (c.id, en(c.message)) for c in honest.scorecard.exercises[0].checks]


def test_the_branch_hint_only_where_there_are_branches(tmp_path, grade_source):
    exercises = load_exercises(write_exercise(tmp_path, CONSISTENCY_YAML).parent)
    smooth = grade_source("import torch\n\ndef g(x):\n    return x ** 3\n\ndef g_grad(x):\n    return 3 * x\n", exercises)
    branchy = grade_source("import torch\n\ndef g(x):\n    if x.sum() > 0:\n        return x ** 3\n    return x ** 3\n\n"
                           "def g_grad(x):\n    return 3 * x\n", exercises)
    assert "chain rule" in en(smooth.scorecard.exercises[0].checks[0].hint)
    assert "each branch" in en(branchy.scorecard.exercises[0].checks[0].hint)


# -- 8. starter files and `grader new` -----------------------------------------------------------

def test_a_starter_for_an_exercise_directory_names_it_in_its_next_step(tmp_path):
    directory = write_doc_exercise(tmp_path / "my exercises", "relu-at-zero")
    target = tmp_path / "hw.py"
    done = run_cli("--starter", str(target), "--exercises", str(directory), "--lang", "en")
    assert done.returncode == 0, done.stderr
    quoted = f"'{directory}'"  # a directory with a space is quoted, so the command can be pasted
    assert f"grade --exercises {quoted} {target}" in done.stdout
    assert f"`grade --exercises {quoted} hw.py`" in target.read_text().split("\n\n")[0]
    chinese = run_cli("--starter", "-", "--exercises", str(directory), "--lang", "zh")
    assert f"`grade --exercises {quoted} solution.py`" in chinese.stdout  # a command is never broken across lines
    builtin = run_cli("--starter", "-", "--lang", "en")
    assert "--exercises" not in builtin.stdout and "run `grade solution.py`" in builtin.stdout


def test_grader_new_writes_both_languages_and_a_solution_of_its_own(tmp_path):
    assert CliRunner().invoke(grader_group, ["new", "cube", "--dir", str(tmp_path)]).exit_code == 0
    folder = tmp_path / "cube"
    (loaded,) = load_exercises(tmp_path)
    spec = loaded.spec
    texts = [spec.title, spec.description, *(f.summary for f in spec.functions.values()), *(c.title for c in spec.checks)]
    assert all(t is not None and t.zh for t in texts)
    assert zh(spec.title) != en(spec.title)
    reference, solution = (folder / "reference.py").read_text(), (folder / "solution.py").read_text()
    body = lambda text: text.split("def derivative", 1)[1]  # noqa: E731
    assert body(reference) != body(solution) and "autograd.grad" in reference and "backward" in solution


# -- 9. every limit of a field is stated in the reference -----------------------------------------

def _bounds(annotation: typing.Any, metadata: list[typing.Any]) -> list[float]:
    """The numbers a field is bounded by: ge/gt/le/lt and list lengths, its items' too."""
    found = []
    for item in metadata:
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if isinstance(item, annotated_types.BaseMetadata) and hasattr(item, name):
                found.append(getattr(item, name))
    for argument in typing.get_args(annotation):
        found += _bounds(argument, list(getattr(argument, "__metadata__", ())))
        found += _bounds(argument, [m for f in getattr(argument, "__metadata__", ()) for m in getattr(f, "metadata", [])])
    return found


def _units(text: str) -> list[str]:
    """Paragraphs of the doc, each table row on its own."""
    units = []
    for paragraph in text.split("\n\n"):
        rows = [line for line in paragraph.splitlines() if line.startswith("|")]
        units += rows if rows else [paragraph]
    return units


def _states(units: list[str], field: str, bound: float) -> bool:
    number = str(int(bound)) if float(bound).is_integer() else repr(bound)
    words = {number} | ({"one"} if number == "1" else set())
    return any((f"`{field}`" in unit or f"`{field}:" in unit) and any(re.search(rf"(?<![\w.]){w}(?![\w.])", unit) for w in words) for unit in units)


def test_every_limit_of_a_field_is_stated_in_the_reference():
    doc = DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^#### `(\w+)`\n(.*?)(?=^#{2,4} )", doc, flags=re.MULTILINE | re.DOTALL))
    owned = {"tensor": models.TensorInput, "calls": models.CallSet, "checks": models.CheckBase}
    kinds = ["compare", "raises", "forbid_source", "forbid_ops", "autograd", "control_flow", "gradient_consistency", "plot"]
    texts = {"tensor": sections["tensor"], "calls": doc.split("### Calls", 1)[1].split("### Checks", 1)[0],
             "checks": doc.split("### Checks", 1)[1].split("#### `compare`", 1)[0]}
    missing = []
    for where, model in [*owned.items(), *((k, BUILTIN_KINDS[k].model) for k in kinds)]:
        units = _units(texts.get(where) or sections[where])
        for name, info in model.model_fields.items():
            if where in kinds and name in models.CheckBase.model_fields:
                continue  # the common fields are stated once, in the table of the checks
            for bound in _bounds(info.annotation, list(info.metadata)):
                if not _states(units, name, bound):
                    missing.append(f"{where}.{name} {bound}")
    assert not missing, f"docs/authoring.md does not state these limits: {missing}"


def test_gradient_consistency_shapes_and_the_cross_check_are_documented():
    section = DOC.read_text(encoding="utf-8").split("#### `gradient_consistency`", 1)[1].split("#### `plot`", 1)[0]
    for words in ("g(x).shape + x.shape", "vector-Jacobian product", "`finite_differences`", "straight-through", "skipped"):
        assert words in section, words
    assert yaml.safe_load(section.split("```yaml checks\n", 1)[1].split("```", 1)[0])[0]["finite_differences"] is True
