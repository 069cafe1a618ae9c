"""Instructors, second round, on the grading side: AD modes, checks that cannot pass by accident, hints.

First on hand-made observations through the whole judge (`judge_exercise`, where the rules that
hold for every kind live), then on real submissions graded in the sandbox.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import en
from grader.judge import judge_exercise
from grader.observations import CallOutcome, CallReport, ModuleReport
from grader.plan import build_plan
from grader.sandbox.references import InProcessReferences
from grader.sandbox.supervisor import RunRecord
from grader.source import Submission
from grader.spec.loader import LoadedExercise, exercise_model, load_exercises
from grader.wire import encode_array

SPEC = {
    "id": "unit",
    "title": "Unit",
    "functions": {"f": {"signature": "(x)", "summary": "f"}, "f_grad": {"signature": "(x)", "summary": "df"}},
    "inputs": {"x": {"kind": "tensor", "shape": [3]}},
    "calls": {"values": {"function": "f", "args": ["x"], "samples": 2},
              "by_hand": {"function": "f_grad", "args": ["x"], "samples": 2}},
}
SOURCE = "def f(x):\n    return x\n\ndef f_grad(x):\n    return x\n"


def tensor(values):
    return {"t": "tensor", "requires_grad": False, **encode_array(np.asarray(values, dtype=np.float64), "float64")}


def events(**overrides):
    return {"ops": [], "watched": {}, "autograd": [], "autograd_count": 0, **overrides}


def run(api, mode, create_graph=False):
    return {"api": api, "mode": mode, "create_graph": create_graph, "retain_graph": False}


def returned(value=None, **extra):
    return {"outcome": "returned", "value": value if value is not None else tensor([1.0, 2.0, 3.0]), **extra}


def raised(kind="ValueError"):
    return {"outcome": "raised", "exception": {"type": kind, "module": "builtins", "origin": "submission",
                                                "message": "no", "frames": [{"line": 2, "function": "f", "text": ""}]}}


def judged(checks, reports, source=SOURCE, **fields):
    """Every check of a one-exercise spec (with `fields` at its top) judged by the judge itself; `reports(call)` gives each call's report."""
    spec = exercise_model().model_validate({**SPEC, **fields, "checks": checks})
    lines = {n: next((i for i, l in enumerate(source.splitlines(), 1) if l.startswith(f"def {n}(")), 1) for n in SPEC["functions"]}
    module = ModuleReport.model_validate({"type": "module", "ok": True, "functions": {
        n: {"defined": True, "callable": True, "line": lines[n]} for n in SPEC["functions"]}})
    plan = build_plan([spec], module, seed=1)
    outcomes = {}
    for call in plan.calls:
        fields = reports(call)
        fields.setdefault("events", events())
        report = CallReport.model_validate_json(json.dumps({"type": "call", "index": call.index, **fields}))
        outcomes[call.index] = CallOutcome(call.index, report.outcome, report)
    submission = Submission(path=Path("s.py"), display="s.py", source=source, kind="python")
    record = RunRecord(module=module, calls=outcomes)
    result, _ = judge_exercise(LoadedExercise(spec, Path("unit.yaml"), None), submission, plan, record,
                               failed_import=None, references=InProcessReferences({}))
    return {c.id: c for c in result.checks}


# -- 1. AD modes ----------------------------------------------------------------------------
FORWARD = {"id": "fwd", "kind": "autograd", "calls": ["values"], "mode": "forward", "points": 2}


def test_forward_mode_counts_and_can_be_required():
    jvp = judged([FORWARD], lambda c: returned(events=events(autograd_count=2, autograd=[
        run("unpack_dual", "forward"), run("jvp", "forward")])))["fwd"]
    assert jvp.status == "passed" and "torch.func.jvp (forward mode)" in en(jvp.message)
    reverse = judged([FORWARD], lambda c: returned(events=events(autograd_count=1, autograd=[run("grad", "reverse")])))["fwd"]
    assert reverse.status == "failed" and reverse.score == 0
    assert "what ran was torch.autograd.grad (reverse mode)" in en(reverse.message)
    assert "torch.func.jvp" in en(reverse.hint) and "forward" in en(reverse.hint)
    nothing = judged([FORWARD], lambda c: returned())["fwd"]
    assert nothing.status == "failed" and "forward-mode" in en(nothing.message) and "jvp" in en(nothing.hint)
    # `any` counts forward mode as autograd too.
    anyway = judged([{**FORWARD, "mode": "any"}], lambda c: returned(events=events(autograd_count=1, autograd=[
        run("jacfwd", "forward")])))["fwd"]
    assert anyway.status == "passed" and "torch.func.jacfwd (forward mode)" in en(anyway.message)


def test_reverse_mode_can_be_required_and_a_mode_forbidden():
    check = {**FORWARD, "mode": "reverse"}
    forward_only = judged([check], lambda c: returned(events=events(autograd_count=1, autograd=[run("jvp", "forward")])))
    assert forward_only["fwd"].status == "failed" and "backward()" in en(forward_only["fwd"].hint)
    no_reverse = {"id": "nr", "kind": "autograd", "calls": ["values"], "expect": "not_used", "mode": "reverse"}
    fine = judged([no_reverse], lambda c: returned(events=events(autograd_count=1, autograd=[run("jvp", "forward")])))
    used = judged([no_reverse], lambda c: returned(events=events(autograd_count=1, autograd=[run("backward", "reverse")])))
    assert fine["nr"].status == "passed"
    # Forward mode ran: the verdict says what did not run, never that autograd was not used at all.
    assert en(fine["nr"].message) == "f did not run autograd in reverse mode."
    assert used["nr"].status == "failed" and "backward() (reverse mode)" in en(used["nr"].message)


# -- 2. nothing passes by accident ------------------------------------------------------------
ABSENCE = [
    {"id": "by-hand", "kind": "autograd", "calls": ["by_hand"], "expect": "not_used", "points": 1},
    {"id": "no-cos", "kind": "forbid_ops", "calls": ["by_hand"], "ops": ["torch.cos"], "points": 1},
    {"id": "no-cos-src", "kind": "forbid_source", "names": ["cos"], "functions": ["f_grad"], "points": 1},
]


def test_absence_checks_are_errors_when_every_call_raised():
    found = judged(ABSENCE, lambda c: raised() if c.function == "f_grad" else returned())
    assert {c.id: c.status for c in found.values()} == {"by-hand": "error", "no-cos": "error", "no-cos-src": "error"}
    assert all(c.score == 0 and "raised ValueError" in en(c.message) for c in found.values())


def test_absence_checks_earn_nothing_when_every_call_returned_none():
    found = judged(ABSENCE, lambda c: {"outcome": "returned", "value": {"t": "none"}} if c.function == "f_grad" else returned())
    assert {c.id: c.status for c in found.values()} == {"by-hand": "failed", "no-cos": "failed", "no-cos-src": "failed"}
    assert "nothing yet for this check to credit" in en(found["by-hand"].message)
    answered = judged(ABSENCE, lambda c: returned())
    assert {c.status for c in answered.values()} == {"passed"}


def test_a_figure_is_an_answer():
    figure = {"size_inches": [6.0, 4.0], "requested_size_inches": None, "requested_dpi": None, "legends": [],
              "suptitle": "", "axes": [], "png": None}
    found = judged(ABSENCE[:1], lambda c: {"outcome": "returned", "value": {"t": "none"},
                                           "events": events(figures=[figure])})
    assert found["by-hand"].status == "passed"


def test_any_check_whose_every_call_raised_is_an_error_but_raises_passes():
    checks = [{"id": "ad", "kind": "autograd", "calls": ["values"], "points": 1},
              {"id": "rs", "kind": "raises", "calls": "values", "exception": "ValueError", "points": 1}]
    # autograd ran (a failed y.backward() counts as asking for it), and yet nothing was answered.
    found = judged(checks, lambda c: {**raised(), "events": events(autograd_count=1, autograd=[run("backward", "reverse")])})
    assert found["ad"].status == "error" and found["rs"].status == "passed"


def test_forbid_ops_names_the_function_that_made_the_call():
    check = {"id": "no-cos", "kind": "forbid_ops", "calls": ["values", "by_hand"], "ops": ["torch.cos"], "points": 1}
    source = "def f(x):\n    return x\n\n\ndef f_grad(x):\n    return x\n"
    found = judged([check], lambda c: returned(events=events(ops=["torch.cos"] if c.function == "f_grad" else [])), source)
    assert found["no-cos"].status == "failed" and en(found["no-cos"].message) == "f_grad called torch.cos while running."
    assert found["no-cos"].line == 5  # f_grad's line, not f's
    counted = judged([check], lambda c: returned(events=events(watched={"torch.cos": 2} if c.function == "f" else {})), source)
    assert en(counted["no-cos"].message) == "f called torch.cos while running." and counted["no-cos"].line == 1


# -- 6. hints --------------------------------------------------------------------------------

def test_the_instructors_hint_wins_and_the_graders_follows_as_a_tip():
    check = {"id": "ad", "kind": "autograd", "calls": ["values"], "hint": "Use the chain rule.", "points": 1}
    result = judged([check], lambda c: returned())["ad"]
    # No sign of a difference quotient in what came back: the grader's own word is the plain one.
    assert en(result.hint) == "Use the chain rule." and [t.key for t in result.tips] == ["use_autograd_hint"]
    quiet = judged([{**check, "builtin_hints": False}], lambda c: returned())["ad"]
    assert en(quiet.hint) == "Use the chain rule." and quiet.tips == []
    bare = judged([{**check, "hint": None, "builtin_hints": False}], lambda c: returned())["ad"]
    assert bare.hint is None and bare.status == "failed"
    # The exercise's switch turns them off for every check of it.
    whole = judged([check, {**check, "id": "bare", "hint": None}], lambda c: returned(), builtin_hints=False)
    assert en(whole["ad"].hint) == "Use the chain rule." and whole["ad"].tips == []
    assert whole["bare"].hint is None and whole["bare"].tips == [] and whole["bare"].status == "failed"


def test_on_an_error_the_graders_explanation_is_the_hint_and_the_instructors_a_tip():
    # backward() twice raised: the instructor's hint is about wrong values, the grader's about this error.
    check = {"id": "v", "kind": "compare", "calls": "values", "reference": "f", "hint": "Gradients add up.", "points": 1}
    twice = raised("RuntimeError")
    twice["exception"]["message"] = "Trying to backward through the graph a second time"
    found = judged([check], lambda c: twice)["v"]
    assert found.status == "error" and found.hint.key == "backward_twice_hint"
    assert [en(t) for t in found.tips] == ["Gradients add up."]
    # With nothing the grader recognises, the instructor's hint is the hint.
    plain = judged([check], lambda c: raised("ValueError"))["v"]
    assert plain.status == "error" and en(plain.hint) == "Gradients add up." and plain.tips == []


@pytest.mark.parametrize("runs, words", [
    ([run("backward", "reverse")] * 5, "y.sum().backward()"),
    ([run("grad", "reverse")] * 5, "grad_outputs=v"),
    ([run("jvp", "forward")] * 5, "torch.func.jvp(f, (x,), (v,))"),
])
def test_the_loop_tip_speaks_of_the_call_that_ran(runs, words):
    check = {"id": "ad", "kind": "autograd", "calls": ["values"], "loop_tip_above": 2}
    result = judged([check], lambda c: returned(events=events(autograd_count=len(runs), autograd=runs)))["ad"]
    assert result.status == "passed" and len(result.tips) == 1 and words in en(result.tips[0])


# -- on real submissions -----------------------------------------------------------------------
MODES_YAML = """\
id: modes
title: {en: Forward mode, zh: 前向模式}
functions:
  directional:
    signature: (x)
    summary: {en: "the derivative of sin along ones, in forward mode", zh: "sin 沿全 1 方向的导数，用前向模式"}
inputs:
  x: {kind: tensor, shape: [5]}
calls:
  values: {function: directional, args: [x], samples: 2}
checks:
  - {id: values, kind: compare, calls: values, reference: directional, rtol: 1.0e-12, atol: 1.0e-14, points: 2}
  - {id: forward, kind: autograd, calls: [values], mode: forward, points: 3}
  - id: no-reverse-entry-points
    kind: forbid_ops
    calls: [values]
    ops: [torch.autograd.grad, torch.autograd.backward, torch.autograd.functional.jacobian, torch.func.grad]
    points: 1
"""
MODES_REFERENCE = """\
import torch


def directional(x):
    return torch.func.jvp(torch.sin, (x,), (torch.ones_like(x),))[1]
"""
SOLUTIONS = {
    "jvp": "import torch\n\ndef directional(x):\n    return torch.func.jvp(torch.sin, (x,), (torch.ones_like(x),))[1]\n",
    "forward_ad": textwrap.dedent("""\
        import torch
        import torch.autograd.forward_ad as fwAD

        def directional(x):
            with fwAD.dual_level():
                dual = fwAD.make_dual(x, torch.ones_like(x))
                return fwAD.unpack_dual(torch.sin(dual)).tangent
        """),
    "jacfwd": "import torch\n\ndef directional(x):\n    return torch.func.jacfwd(torch.sin)(x).sum(0)\n",
    "grad": textwrap.dedent("""\
        import torch

        def directional(x):
            x = x.detach().requires_grad_(True)
            return torch.autograd.grad(torch.sin(x).sum(), x)[0]
        """),
    "backward": textwrap.dedent("""\
        import torch

        def directional(x):
            x = x.detach().requires_grad_(True)
            torch.sin(x).sum().backward()
            return x.grad
        """),
    "jacobian": textwrap.dedent("""\
        import torch

        def directional(x):
            return torch.autograd.functional.jacobian(torch.sin, x).sum(0)
        """),
    "vjp": "import torch\n\ndef directional(x):\n    return torch.func.vjp(torch.sin, x)[1](torch.ones_like(x))[0]\n",
    "func_grad": "import torch\n\ndef directional(x):\n    return torch.func.grad(lambda t: torch.sin(t).sum())(x)\n",
}


COLD = 30.0
"""Call timeout for these gradings: a first child may start before the warm worker has warmed up, and
torch.func's first transform, forward mode's first jvp and a first explicit gradient (sympy) then
cost seconds, more under load; what is tested here is the verdict, not the speed."""


@pytest.fixture(scope="module")
def modes(tmp_path_factory, sandbox):
    folder = tmp_path_factory.mktemp("modes") / "modes"
    folder.mkdir()
    (folder / "exercise.yaml").write_text(MODES_YAML, encoding="utf-8")
    (folder / "reference.py").write_text(MODES_REFERENCE, encoding="utf-8")
    return load_exercises(folder.parent, references=sandbox.references)


@pytest.mark.parametrize("route, words", [("jvp", "torch.func.jvp"), ("forward_ad", "torch.autograd.forward_ad"),
                                          ("jacfwd", "torch.func.jacfwd")])
def test_an_exercise_requiring_forward_mode_passes_forward_mode_solutions(grade_source, modes, route, words):
    card = grade_source(SOLUTIONS[route], modes, timeout=COLD).scorecard
    assert card.score == card.max_score == 6, [(c.id, en(c.message)) for c in card.exercises[0].checks]
    # One route, the one the student called: torch.func.jvp unpacks duals itself, which is not a run of its own.
    forward = next(c for c in card.exercises[0].checks if c.id == "forward")
    assert en(forward.message) == f"directional computed with autograd in every call, through {words} (forward mode)."


@pytest.mark.parametrize("route, seen, words", [
    ("grad", "torch.autograd.grad", "torch.autograd.grad"), ("backward", "torch.autograd.backward", "backward()"),
    ("jacobian", "torch.autograd.functional.jacobian", "torch.autograd.functional"),
    ("vjp", "torch.autograd.grad", "torch.func"), ("func_grad", "torch.func.grad", "torch.func")])
def test_an_exercise_requiring_forward_mode_fails_reverse_mode_ones(grade_source, modes, route, seen, words):
    checks = {c.id: c for c in grade_source(SOLUTIONS[route], modes, timeout=COLD).scorecard.exercises[0].checks}
    assert checks["values"].status == "passed", en(checks["values"].message)
    # The message names the route the student called, not the torch.autograd.grad it calls inside.
    assert checks["forward"].status == "failed"
    assert f"what ran was {words} (reverse mode)." in en(checks["forward"].message), en(checks["forward"].message)
    # forbid_ops sees torch's plain-Python entry points, which torch's function mode does not report,
    # and those called for the student inside a library (torch.func.vjp calls torch.autograd.grad).
    forbidden = checks["no-reverse-entry-points"]
    assert forbidden.status == "failed" and seen in en(forbidden.message)


def test_absence_checks_on_real_submissions(grade_source, only):
    exercises = only("custom-control-flow", "sin-derivative-plot")
    raising = grade_source("""\
        def g(x):
            raise ValueError("not yet")

        def g_grad(x):
            raise ValueError("not yet")

        def sin_and_grad(x):
            raise ValueError("not yet")

        def plot_sin_and_grad(x):
            raise ValueError("not yet")
        """, exercises).scorecard
    none = grade_source("""\
        def g(x):
            return None

        def g_grad(x):
            return None

        def sin_and_grad(x):
            return None

        def plot_sin_and_grad(x):
            return None
        """, exercises).scorecard
    for card, status in ((raising, "error"), (none, "failed")):
        checks = {c.id: c for e in card.exercises for c in e.checks}
        assert card.score == 0, [(c.id, c.status, c.score) for c in checks.values()]
        for name in ("derived-by-hand", "no-cosine-at-run-time", "no-cosine-in-source"):
            assert checks[name].status == status, (name, en(checks[name].message))


FORBID_FORWARD_YAML = MODES_YAML.split("checks:\n", 1)[0] + """\
checks:
  - {id: values, kind: compare, calls: values, reference: directional, rtol: 1.0e-12, atol: 1.0e-14, points: 1}
  - id: no-transforms
    kind: forbid_ops
    calls: [values]
    ops: [torch.func.jvp, torch.func.jacfwd, torch.func.vjp, torch.autograd.forward_ad.make_dual]
    points: 1
"""


@pytest.fixture(scope="module")
def forbid_forward(tmp_path_factory, sandbox):
    folder = tmp_path_factory.mktemp("forbid-forward") / "modes"
    folder.mkdir()
    (folder / "exercise.yaml").write_text(FORBID_FORWARD_YAML, encoding="utf-8")
    (folder / "reference.py").write_text(MODES_REFERENCE, encoding="utf-8")
    return load_exercises(folder.parent, references=sandbox.references)


@pytest.mark.parametrize("route, seen", [
    ("jvp", "torch.func.jvp"), ("forward_ad", "torch.autograd.forward_ad.make_dual"), ("jacfwd", "torch.func.jacfwd"),
    ("vjp", "torch.func.vjp"), ("grad", None)])
def test_forbid_ops_sees_torch_func_and_forward_ad(grade_source, forbid_forward, route, seen):
    source = SOLUTIONS.get(route) or ("import torch\n\ndef directional(x):\n"
                                      "    return torch.func.vjp(torch.sin, x)[1](torch.ones_like(x))[0]\n")
    checks = {c.id: c for c in grade_source(source, forbid_forward, timeout=COLD).scorecard.exercises[0].checks}
    assert checks["values"].status == "passed", en(checks["values"].message)
    if seen is None:  # torch.autograd.grad is none of them
        assert checks["no-transforms"].status == "passed", en(checks["no-transforms"].message)
    else:
        assert checks["no-transforms"].status == "failed" and seen in en(checks["no-transforms"].message)
